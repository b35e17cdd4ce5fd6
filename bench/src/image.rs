//! `galley-bench image`: baking and pushing the synthetic blog.
//!
//! Per site size: `galley image build` (render + layers + variants) against `tar czf` of the
//! same built site (the floor), image size against that tarball, then pushes to a loopback
//! `docker-registry`: first, again with no change, and after a one-post edit, with bytes
//! uploaded each time.

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

pub fn run(o: &Options) -> Result<()> {
    println!("| posts | `tar czf` (floor) | `galley image build` | ratio | tarball | image | image − tarball |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut push_rows = Vec::new();
    for &n in &o.counts {
        let base = o.work.join(format!("image-{n}"));
        let _ = std::fs::remove_dir_all(&base);
        let site = base.join("site");
        let posts = crate::synth::posts(n);
        crate::sites::galley(&site, &posts)?;
        let built = base.join("built");
        let mut b = Command::new(&o.galley);
        b.arg("build").arg(&site).arg("--destination").arg(&built);
        measure::run(b, "galley build")?;
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
        let (doc, took) = json(&mut image_cmd(), "galley image build")?;
        let image_size = doc["size"].as_u64().unwrap_or(0);
        let tar_size = std::fs::metadata(&tarball)?.len();
        println!(
            "| {n} | {:.2} s | {:.2} s | {:.1}× | {:.1} MB | {:.1} MB | {:+.1} MB |",
            tar.wall.as_secs_f64(),
            took.as_secs_f64(),
            took.as_secs_f64() / tar.wall.as_secs_f64(),
            tar_size as f64 / 1e6,
            image_size as f64 / 1e6,
            (image_size as f64 - tar_size as f64) / 1e6,
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
        let (first, t1) = push("v1")?;
        let (again, t2) = push("v1")?;
        let post = std::fs::read_dir(site.join("_posts"))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .min()
            .context("no posts")?;
        let text = std::fs::read_to_string(&post)?;
        std::fs::write(&post, format!("{text}\nEdited for the benchmark.\n"))?;
        let (_, rebuild) = json(&mut image_cmd(), "galley image build (edit)")?;
        let (edited, t3) = push("v2")?;
        for (label, r, t) in [
            ("first push", &first, t1),
            ("no change", &again, t2),
            ("one-post edit", &edited, t3),
        ] {
            push_rows.push(format!(
                "| {n} | {label} | {:.2} s | {} of {} | {:.2} MB |",
                t.as_secs_f64(),
                r["blobs_uploaded"],
                r["blobs"],
                r["bytes_uploaded"].as_u64().unwrap_or(0) as f64 / 1e6
            ));
        }
        push_rows.push(format!(
            "| {n} | (rebuild after the edit) | {:.2} s | | |",
            rebuild.as_secs_f64()
        ));
    }
    println!();
    println!("| posts | push | time | blobs uploaded | bytes uploaded |");
    println!("|---:|---|---:|---:|---:|");
    for r in push_rows {
        println!("{r}");
    }
    Ok(())
}
