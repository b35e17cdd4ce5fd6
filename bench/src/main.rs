//! `galley-bench`: Galley side by side with its peers, in one run, reported as ratios.
//!
//! `galley-bench site-build --posts 1000,10000` generates the synthetic blog for Galley,
//! Hugo and Jekyll and builds each, printing a markdown table for BENCHMARKS.md.

mod image;
mod measure;
mod paced;
mod serving;
mod sites;
mod synth;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the synthetic blog with Galley (its Tera site, and Jekyll's Liquid site
    /// unchanged), Hugo and Jekyll; wall time and peak memory.
    SiteBuild {
        /// Post counts to run, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        posts: Vec<usize>,
        /// Runs per tool (the median is reported); Jekyll gets one run above 2,000 posts.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The galley binary to measure (a release build).
        #[arg(long, default_value = "target/release/galley")]
        galley: PathBuf,
        /// Scratch folder for the generated sites and outputs.
        #[arg(long, default_value = "bench/out")]
        work: PathBuf,
        /// Leave Jekyll out (it takes minutes at 10k posts).
        #[arg(long)]
        skip_jekyll: bool,
        /// Where the tools write their output. The default is tmpfs: this VM's disk slows
        /// down with every delete-and-rewrite cycle, which would measure the disk, not the
        /// generators. Pass a folder on disk to include disk writes.
        #[arg(long, default_value = "/dev/shm/galley-bench-out")]
        output: PathBuf,
    },
    /// galley-server against nginx with wrk (10 KB page, 1 MB asset, 404; with and without
    /// Accept-Encoding).
    Serve {
        /// The galley-server to measure (`scripts/build-server` builds it).
        #[arg(
            long,
            default_value = "target/x86_64-unknown-linux-gnu/dist/galley-server"
        )]
        galley_server: PathBuf,
        #[arg(long, default_value = "bench/out")]
        work: PathBuf,
        /// Seconds per wrk run.
        #[arg(long, default_value_t = 8)]
        seconds: u32,
        /// Open connections per wrk run.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// Extra flags for galley-server, e.g. `--server-arg=--sendfile`.
        #[arg(long = "server-arg", allow_hyphen_values = true)]
        server_args: Vec<String>,
        /// wrk runs per server and row, alternating the servers; the table gives medians.
        #[arg(long, default_value_t = 3)]
        trials: u32,
        /// Rate of the open-loop runs (the same schedule for both servers), as a fraction of
        /// nginx's req/s in each row; 0 skips them.
        #[arg(long, default_value_t = 0.7)]
        paced_load: f64,
        /// Let wrk share the servers' CPUs instead of giving it CPUs of its own.
        #[arg(long)]
        no_pin: bool,
        /// Both servers write their access logs (to /dev/null), as deployed.
        #[arg(long)]
        access_log: bool,
    },
    /// `galley image build` against `tar czf` of the same site, image size, and pushes to a
    /// loopback registry (first, no change, one-post edit).
    Image {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        posts: Vec<usize>,
        #[arg(long, default_value = "target/release/galley")]
        galley: PathBuf,
        #[arg(
            long,
            default_value = "target/x86_64-unknown-linux-gnu/dist/galley-server"
        )]
        galley_server: PathBuf,
        #[arg(long, default_value = "bench/out")]
        work: PathBuf,
        #[arg(long, default_value_t = 11)]
        brotli_quality: u32,
    },
    /// Only write the synthetic sites (for trying a peer by hand).
    Generate {
        #[arg(long, default_value_t = 1000)]
        posts: usize,
        #[arg(long, default_value = "bench/out")]
        work: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::SiteBuild {
            posts,
            runs,
            galley,
            work,
            skip_jekyll,
            output,
        } => site_build(&posts, runs, &galley, &work, skip_jekyll, &output),
        Cmd::Serve {
            galley_server,
            work,
            seconds,
            connections,
            server_args,
            trials,
            paced_load,
            no_pin,
            access_log,
        } => serving::run(&serving::Options {
            galley_server: galley_server
                .canonicalize()
                .context("the galley-server binary (run scripts/build-server)")?,
            work,
            seconds,
            connections,
            server_args,
            trials,
            paced_load,
            pin: !no_pin,
            access_log,
        }),
        Cmd::Image {
            posts,
            galley,
            galley_server,
            work,
            brotli_quality,
        } => image::run(&image::Options {
            galley: galley
                .canonicalize()
                .context("the galley binary (cargo build --release -p galley-cli)")?,
            server_binary: galley_server
                .canonicalize()
                .context("the galley-server binary (run scripts/build-server)")?,
            work,
            counts: posts,
            brotli_quality,
        }),
        Cmd::Generate { posts, work } => generate(posts, &work).map(|_| ()),
    }
}

struct Sites {
    galley: PathBuf,
    hugo: PathBuf,
    jekyll: PathBuf,
}

fn generate(n: usize, work: &std::path::Path) -> Result<Sites> {
    let base = work.join(format!("{n}"));
    let _ = std::fs::remove_dir_all(&base);
    let posts = synth::posts(n);
    let s = Sites {
        galley: base.join("galley"),
        hugo: base.join("hugo"),
        jekyll: base.join("jekyll"),
    };
    sites::galley(&s.galley, &posts)?;
    sites::hugo(&s.hugo, &posts)?;
    sites::jekyll(&s.jekyll, &posts)?;
    Ok(s)
}

fn site_build(
    counts: &[usize],
    runs: usize,
    galley: &std::path::Path,
    work: &std::path::Path,
    skip_jekyll: bool,
    output: &std::path::Path,
) -> Result<()> {
    let galley = galley
        .canonicalize()
        .context("the galley binary (build it with `cargo build --release -p galley-cli`)")?;
    let hugo_version = version("hugo", &["version"]);
    let jekyll_version = version("jekyll", &["--version"]);
    println!("| posts | tool | wall time | peak memory | time vs Galley | memory vs Galley |");
    println!("|---:|---|---:|---:|---:|---:|");
    for &n in counts {
        let sites = generate(n, work)?;
        let out = output.join(format!("{n}"));
        let mut tools = vec![
            measure::Tool {
                label: "Galley".into(),
                runs,
                make: Box::new(|| {
                    let mut c = Command::new(&galley);
                    c.arg("build")
                        .arg(&sites.galley)
                        .arg("--destination")
                        .arg(&out);
                    c
                }),
            },
            // The very site Jekyll builds (Liquid templates, jekyll-feed), unchanged.
            measure::Tool {
                label: "Galley (Jekyll's Liquid site)".into(),
                runs,
                make: Box::new(|| {
                    let mut c = Command::new(&galley);
                    c.arg("build")
                        .arg(&sites.jekyll)
                        .arg("--destination")
                        .arg(&out);
                    c
                }),
            },
            measure::Tool {
                label: format!("Hugo {hugo_version}"),
                runs,
                make: Box::new(|| {
                    let mut c = Command::new("hugo");
                    c.arg("--quiet")
                        .arg("-s")
                        .arg(&sites.hugo)
                        .arg("-d")
                        .arg(std::path::absolute(&out).unwrap_or(out.clone()));
                    c
                }),
            },
        ];
        if !skip_jekyll {
            tools.push(measure::Tool {
                label: format!("Jekyll {jekyll_version}"),
                runs: if n > 2000 { 1 } else { runs },
                make: Box::new(|| {
                    let mut c = Command::new("jekyll");
                    c.arg("build")
                        .arg("--quiet")
                        .arg("-s")
                        .arg(&sites.jekyll)
                        .arg("-d")
                        .arg(&out);
                    c
                }),
            });
        }
        let samples = measure::interleaved(&tools, &out)?;
        for (tool, sample) in tools.iter().zip(&samples) {
            row(n, &tool.label, *sample, samples[0]);
        }
        if let (Some(liquid), Some(jekyll)) = (samples.get(1), samples.get(3)) {
            // The same Liquid site: Jekyll's time and memory against Galley's.
            eprintln!(
                "{n} posts, Jekyll's site: Jekyll {:.2}x Galley's time, {:.2}x its memory; Galley Liquid {:.2}x Galley Tera",
                jekyll.wall.as_secs_f64() / liquid.wall.as_secs_f64(),
                jekyll.max_rss_kib as f64 / liquid.max_rss_kib.max(1) as f64,
                liquid.wall.as_secs_f64() / samples[0].wall.as_secs_f64(),
            );
        }
    }
    Ok(())
}

fn row(n: usize, tool: &str, s: measure::Sample, galley: measure::Sample) {
    println!(
        "| {n} | {tool} | {:.2} s | {:.0} MiB | {:.2}× | {:.2}× |",
        s.wall.as_secs_f64(),
        s.max_rss_kib as f64 / 1024.0,
        s.wall.as_secs_f64() / galley.wall.as_secs_f64(),
        s.max_rss_kib as f64 / galley.max_rss_kib.max(1) as f64,
    );
}

fn version(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .and_then(|s| {
            s.split_whitespace()
                .find(|w| {
                    w.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || c == 'v')
                })
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".to_string())
}
