//! `galley-bench image`: baking and pushing the synthetic blog.
//!
//! Per site size: `galley image build` from nothing (render + layers + variants) and again
//! after a one-post edit (unchanged layers taken from the previous image), each against
//! `galley build` of the same site and `tar czf` of its output (the floor); then pushes to a
//! loopback `docker-registry`: first, again with no change, after an edit of the newest and
//! of the oldest post and after a new post, with bytes uploaded each time.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::measure;

pub struct Options {
    pub galley: PathBuf,
    pub server_binary: PathBuf,
    pub work: PathBuf,
    pub counts: Vec<usize>,
    pub brotli_quality: u32,
    /// Runs of each build (the median is reported).
    pub runs: usize,
}

struct Registry(Child, u16);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn registry(dir: &Path) -> Result<Registry> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    std::fs::create_dir_all(dir)?;
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        ),
    )?;
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting docker-registry (apt install docker-registry)")?;
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("docker-registry did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Registry(child, port))
}

fn json(cmd: &mut Command, label: &str) -> Result<(serde_json::Value, Duration)> {
    let started = Instant::now();
    let out = cmd.output().with_context(|| format!("running {label}"))?;
    let took = started.elapsed();
    if !out.status.success() {
        bail!("{label} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((serde_json::from_slice(&out.stdout)?, took))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Appends a line to a post, so its page (and the lists showing it) change.
fn edit(post: &Path, note: &str) -> Result<()> {
    let text = std::fs::read_to_string(post)?;
    std::fs::write(post, format!("{text}\n{note}\n"))?;
    Ok(())
}

pub fn run(o: &Options) -> Result<()> {
    println!("| posts | `galley build` | `tar czf` of it | image build, cold | vs site build | rebuild after a one-post edit | vs site build | tarball | image |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut push_rows = Vec::new();
    for &n in &o.counts {
        let base = o.work.join(format!("image-{n}"));
        let _ = std::fs::remove_dir_all(&base);
        let site = base.join("site");
        let posts = crate::synth::posts(n);
        crate::sites::galley(&site, &posts)?;
        let built = base.join("built");
        let mut builds = Vec::new();
        for _ in 0..o.runs {
            let _ = std::fs::remove_dir_all(&built);
            let mut b = Command::new(&o.galley);
            b.arg("build").arg(&site).arg("--destination").arg(&built);
            builds.push(measure::run(b, "galley build")?.wall);
        }
        let site_build = median(builds);
        let tarball = base.join("site.tar.gz");
        let mut t = Command::new("tar");
        t.arg("czf").arg(&tarball).arg("-C").arg(&built).arg(".");
        let tar = measure::run(t, "tar czf")?;
        let out = base.join("image");
        let image_cmd = || {
            let mut c = Command::new(&o.galley);
            c.args(["image", "build"])
                .arg(&site)
                .arg("--out")
                .arg(&out)
                .arg("--json")
                .arg("--brotli-quality")
                .arg(o.brotli_quality.to_string())
                .env("GALLEY_SERVER_BINARY", &o.server_binary)
                .env("SOURCE_DATE_EPOCH", "1700000000");
            c
        };
        let mut colds = Vec::new();
        let mut doc = serde_json::Value::Null;
        for _ in 0..o.runs {
            let _ = std::fs::remove_dir_all(&out);
            let (d, took) = json(&mut image_cmd(), "galley image build")?;
            colds.push(took);
            doc = d;
        }
        let cold = median(colds);
        let mut post_paths: Vec<PathBuf> = std::fs::read_dir(site.join("_posts"))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        post_paths.sort();
        let newest = post_paths.last().context("no posts")?.clone();
        let oldest = post_paths.first().context("no posts")?.clone();
        let mut rebuilds = Vec::new();
        for i in 0..o.runs {
            edit(&newest, &format!("Rebuild {i}."))?;
            rebuilds.push(json(&mut image_cmd(), "galley image build (edit)")?.1);
        }
        let rebuild = median(rebuilds);
        let image_size = doc["size"].as_u64().unwrap_or(0);
        let tar_size = std::fs::metadata(&tarball)?.len();
        let secs = |d: Duration| d.as_secs_f64();
        println!(
            "| {n} | {:.2} s | {:.2} s | {:.2} s | {:.2}× | {:.2} s | {:.2}× | {:.1} MB | {:.1} MB |",
            secs(site_build),
            secs(tar.wall),
            secs(cold),
            secs(cold) / secs(site_build),
            secs(rebuild),
            secs(rebuild) / secs(site_build),
            tar_size as f64 / 1e6,
            image_size as f64 / 1e6,
        );

        let reg = registry(&base.join("registry"))?;
        let reference = format!("127.0.0.1:{}/bench/blog", reg.1);
        let push = |tag: &str| {
            let mut c = Command::new(&o.galley);
            c.args([
                "image",
                "push",
                &format!("{reference}:{tag}"),
                "--insecure",
                "--json",
                "--out",
            ])
            .arg(&out);
            json(&mut c, "galley image push")
        };
        let mut pushes = vec![("first push", push("v1")?), ("no change", push("v1")?)];
        edit(&newest, "Edited for the benchmark.")?;
        json(&mut image_cmd(), "galley image build (newest post edited)")?;
        pushes.push(("edit of the newest post", push("v2")?));
        edit(&oldest, "Edited for the benchmark.")?;
        json(&mut image_cmd(), "galley image build (oldest post edited)")?;
        pushes.push(("edit of the oldest post", push("v3")?));
        let new_post = newest.with_file_name(format!(
            "{}-a-new-post.md",
            newest
                .file_name()
                .and_then(|f| f.to_str())
                .and_then(|f| f.get(..10))
                .context("a dated post name")?
        ));
        std::fs::write(
            &new_post,
            "---\ntitle: A new post\ntags: [rust]\ncategories: [notes]\n---\n\nJust published.\n",
        )?;
        json(&mut image_cmd(), "galley image build (new post)")?;
        pushes.push(("a new post", push("v4")?));
        for (label, (r, t)) in &pushes {
            push_rows.push(format!(
                "| {n} | {label} | {:.2} s | {} of {} | {:.2} MB |",
                t.as_secs_f64(),
                r["blobs_uploaded"],
                r["blobs"],
                r["bytes_uploaded"].as_u64().unwrap_or(0) as f64 / 1e6
            ));
        }
    }
    println!();
    println!("| posts | push | time | blobs uploaded | bytes uploaded |");
    println!("|---:|---|---:|---:|---:|");
    for r in push_rows {
        println!("{r}");
    }
    Ok(())
}
