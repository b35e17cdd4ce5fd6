//! `galley-bench site-build`: Galley (its Tera site, and Jekyll's Liquid site unchanged),
//! Zola, Hugo and Jekyll build the same synthetic blog in one interleaved run; then
//! Galley's rebuild after a one-post edit into the output it already wrote, in each of its
//! ways of treating the previous output (kept as a spare, removed in the background or
//! before returning).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::measure::{self, Sample, Tool};
use crate::{generate, version};

pub struct Options {
    pub counts: Vec<usize>,
    pub runs: usize,
    pub galley: PathBuf,
    pub work: PathBuf,
    pub output: PathBuf,
    pub skip_jekyll: bool,
    pub skip_hugo: bool,
    /// The `zola` binary (built from its source: see the README's bench section).
    pub zola: Option<PathBuf>,
}

/// Jekyll above this many posts takes hours (its list pages grow with the site), so it
/// is measured up to here only.
const JEKYLL_MAX_POSTS: usize = 10_000;

pub fn run(o: &Options) -> Result<()> {
    let galley = o
        .galley
        .canonicalize()
        .context("the galley binary (build it with `cargo build --release -p galley-cli`)")?;
    let zola = o.zola.as_ref().filter(|z| {
        let found = Command::new(z).arg("--version").output().is_ok();
        if !found {
            eprintln!("zola not found at {}: its row is left out", z.display());
        }
        found
    });
    let hugo_version = version("hugo", &["version"]);
    let jekyll_version = version("jekyll", &["--version"]);
    let zola_version = zola.map(|z| version(&z.to_string_lossy(), &["--version"]));
    println!(
        "| posts | tool | wall time | peak memory | output | time vs Galley | memory vs Galley |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let mut outputs = measure::Outputs::new(&o.output)?;
    if !outputs.on_tmpfs() {
        eprintln!(
            "outputs on disk: every run writes a new folder, all removed when the bench ends"
        );
    }
    for &n in &o.counts {
        let sites = generate(n, &o.work)?;
        let galley_on = |site: PathBuf| {
            let galley = galley.clone();
            move |out: &Path| {
                let mut c = Command::new(&galley);
                c.arg("build").arg(&site).arg("--destination").arg(out);
                c
            }
        };
        let mut tools = vec![
            Tool {
                label: "Galley".into(),
                runs: o.runs,
                make: Box::new(galley_on(sites.galley.clone())),
            },
            Tool {
                label: "Galley (Jekyll's Liquid site)".into(),
                runs: o.runs,
                make: Box::new(galley_on(sites.jekyll.clone())),
            },
        ];
        if let (Some(zola), Some(v)) = (zola, &zola_version) {
            let (zola, site) = (zola.clone(), sites.zola.clone());
            tools.push(Tool {
                label: format!("Zola {v}"),
                runs: o.runs,
                make: Box::new(move |out: &Path| {
                    let mut c = Command::new(&zola);
                    c.arg("--root")
                        .arg(&site)
                        .arg("build")
                        .arg("--output-dir")
                        .arg(out)
                        .arg("--force");
                    c
                }),
            });
        }
        if !o.skip_hugo {
            let site = sites.hugo.clone();
            tools.push(Tool {
                label: format!("Hugo {hugo_version}"),
                runs: o.runs,
                make: Box::new(move |out: &Path| {
                    let mut c = Command::new("hugo");
                    c.arg("--quiet").arg("-s").arg(&site).arg("-d").arg(out);
                    c
                }),
            });
        }
        if !o.skip_jekyll && n <= JEKYLL_MAX_POSTS {
            let site = sites.jekyll.clone();
            tools.push(Tool {
                label: format!("Jekyll {jekyll_version}"),
                runs: if n > 2000 { 1 } else { o.runs },
                make: Box::new(move |out: &Path| {
                    let mut c = Command::new("jekyll");
                    c.arg("build")
                        .arg("--quiet")
                        .arg("-s")
                        .arg(&site)
                        .arg("-d")
                        .arg(out);
                    c
                }),
            });
        } else if n > JEKYLL_MAX_POSTS {
            eprintln!(
                "{n} posts: Jekyll left out (over {JEKYLL_MAX_POSTS} posts it runs for hours)"
            );
        }
        let samples = measure::interleaved(&tools, &mut outputs)?;
        for (tool, sample) in tools.iter().zip(&samples) {
            row(n, &tool.label, *sample, samples[0]);
        }
        let galley_time = samples[0].wall.as_secs_f64();
        if let Some((label, fastest)) = tools
            .iter()
            .zip(&samples)
            .skip(2)
            .min_by_key(|(_, s)| s.wall)
        {
            println!(
                "\n{n} posts: the fastest peer, {}, takes {:.2}× Galley's time.\n",
                label.label,
                fastest.wall.as_secs_f64() / galley_time
            );
        }
        let out = outputs.fresh("Galley rebuild");
        let r = rebuild(&galley, &sites.galley, &out, o.runs)?;
        outputs.done_with(&out);
        println!(
            "{n} posts, Galley: first build into an empty folder {galley_time:.2} s; rebuild after a one-post edit into that output, by default (updating the spare) {:.2} s ({:.2}×), {:.0} MiB; with --no-spare {:.2} s ({:.2}×), its previous output's removal going on {:.2} s in the background after it returned; with --wait-for-removal {:.2} s ({:.2}×)\n",
            r.spare.wall.as_secs_f64(),
            r.spare.wall.as_secs_f64() / galley_time,
            r.spare.max_rss_kib as f64 / 1024.0,
            r.background.wall.as_secs_f64(),
            r.background.wall.as_secs_f64() / galley_time,
            r.removal.as_secs_f64(),
            r.waiting.wall.as_secs_f64(),
            r.waiting.wall.as_secs_f64() / galley_time,
        );
    }
    Ok(())
}

fn row(n: usize, label: &str, s: Sample, galley: Sample) {
    println!(
        "| {n} | {label} | {:.2} s | {:.0} MiB | {:.0} MB | {:.2}× | {:.2}× |",
        s.wall.as_secs_f64(),
        s.max_rss_kib as f64 / 1024.0,
        s.output_bytes as f64 / 1e6,
        s.wall.as_secs_f64() / galley.wall.as_secs_f64(),
        s.max_rss_kib as f64 / galley.max_rss_kib.max(1) as f64,
    );
}

/// Galley's rebuilds in its three ways of treating the previous output: kept as the spare
/// the next build updates (the default), removed in the background (`--no-spare`), removed
/// before returning (`--wait-for-removal`).
struct Rebuilds {
    spare: Sample,
    background: Sample,
    waiting: Sample,
    /// The median time a background removal went on after its command returned.
    removal: std::time::Duration,
}

/// How a rebuild treats the previous output.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Spare,
    NoSpare,
    Wait,
}

impl Mode {
    fn flag(self) -> Option<&'static str> {
        match self {
            Mode::Spare => None,
            Mode::NoSpare => Some("--no-spare"),
            Mode::Wait => Some("--wait-for-removal"),
        }
    }
}

/// Galley's Tera site rebuilt into its own previous output after one post's edit (each
/// edit different), `runs` times in each mode; median times, highest memory. The two modes
/// that remove the previous output alternate, so that both meet the same disk, and each run
/// waits for the removal to end, so no run pays for the one before while it runs. Then the
/// default: one build keeps a spare (it costs what `--no-spare` does, not counted), and
/// `runs` more each update the spare the one before kept.
fn rebuild(galley: &Path, site: &Path, out: &Path, runs: usize) -> Result<Rebuilds> {
    let build = |mode: Mode| {
        let mut c = Command::new(galley);
        c.arg("build").arg(site).arg("--destination").arg(out);
        c.args(mode.flag());
        c
    };
    measure::run(build(Mode::Wait), "Galley first build")?;
    let post = std::fs::read_dir(site.join("_posts"))?
        .flatten()
        .map(|e| e.path())
        .max()
        .context("a post to edit")?;
    let original = std::fs::read_to_string(&post)?;
    let (mut spare, mut background, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    let mut removals = Vec::new();
    let runs = runs.max(1);
    let modes = (0..runs * 2)
        .map(|i| {
            if i % 2 == 1 {
                Mode::Wait
            } else {
                Mode::NoSpare
            }
        })
        .chain(std::iter::repeat_n(Mode::Spare, runs + 1));
    for (i, mode) in modes.enumerate() {
        std::fs::write(&post, format!("{original}\nEdited for rebuild {i}.\n"))?;
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
        let label = match mode.flag() {
            Some(flag) => format!("Galley rebuild {flag}"),
            None => "Galley rebuild".to_string(),
        };
        let s = measure::run(build(mode), &label)?;
        let returned = std::time::Instant::now();
        galley_atomic::wait_for_background_removal(out)
            .with_context(|| format!("waiting for the removal beside {}", out.display()))?;
        let after = returned.elapsed();
        eprintln!(
            "{label}: {:.2} s, {} KiB, then {:.2} s removing the previous output",
            s.wall.as_secs_f64(),
            s.max_rss_kib,
            after.as_secs_f64()
        );
        match mode {
            Mode::Wait => waiting.push(s),
            Mode::NoSpare => {
                removals.push(after);
                background.push(s);
            }
            Mode::Spare => spare.push(s),
        }
    }
    std::fs::write(&post, original)?;
    removals.sort();
    // The first default build found no spare to update.
    spare.remove(0);
    Ok(Rebuilds {
        spare: median(spare),
        background: median(background),
        waiting: median(waiting),
        removal: removals[removals.len() / 2],
    })
}

/// The median wall time and the highest memory of `samples` (not empty).
fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort_by_key(|s| s.wall);
    Sample {
        wall: samples[samples.len() / 2].wall,
        max_rss_kib: samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0),
        output_bytes: 0,
    }
}
