//! `galley-bench`: Galley side by side with its peers, in one run, reported as ratios.
//!
//! `galley-bench site-build --posts 1000,10000` generates the synthetic blog for Galley,
//! Zola, Hugo and Jekyll and builds each, printing a markdown table for BENCHMARKS.md.

mod image;
mod measure;
mod paced;
mod serving;
mod site_build;
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
        /// Leave Jekyll out (it takes minutes at 10k posts; above 10k it is always left out).
        #[arg(long)]
        skip_jekyll: bool,
        /// Leave Hugo out (at 100k posts it needs ~15 GB).
        #[arg(long)]
        skip_hugo: bool,
        /// The zola binary, built from its source (see the README's bench section); its
        /// row is left out if it is not there.
        #[arg(long, default_value = "zola")]
        zola: PathBuf,
        /// Where the tools write their output. The default is tmpfs. Pass a folder on disk to
        /// include disk writes: every run then writes a new folder, and all are removed
        /// when the bench ends, so no run pays for deleting another's output.
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
        /// Runs of each build (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
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
            skip_hugo,
            zola,
            output,
        } => site_build::run(&site_build::Options {
            counts: posts,
            runs,
            galley,
            work,
            output,
            skip_jekyll,
            skip_hugo,
            zola: Some(zola),
        }),
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
            runs,
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
            runs: runs.max(1),
        }),
        Cmd::Generate { posts, work } => generate(posts, &work).map(|_| ()),
    }
}

pub(crate) struct Sites {
    galley: PathBuf,
    hugo: PathBuf,
    jekyll: PathBuf,
    zola: PathBuf,
}

pub(crate) fn generate(n: usize, work: &std::path::Path) -> Result<Sites> {
    let base = work.join(format!("{n}"));
    let _ = std::fs::remove_dir_all(&base);
    let posts = synth::posts(n);
    let s = Sites {
        galley: base.join("galley"),
        hugo: base.join("hugo"),
        jekyll: base.join("jekyll"),
        zola: base.join("zola"),
    };
    sites::galley(&s.galley, &posts)?;
    sites::hugo(&s.hugo, &posts)?;
    sites::jekyll(&s.jekyll, &posts)?;
    sites::zola(&s.zola, &posts)?;
    Ok(s)
}

pub(crate) fn version(cmd: &str, args: &[&str]) -> String {
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
