//! `galley build [SITE] [--destination DIR] [--drafts] [--future] [--base-url URL] [--wait-for-removal]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use galley_site_builder::{build, BuildOptions, Removal};

#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Where to write the site (default: SITE/_site).
    #[arg(short, long)]
    pub destination: Option<PathBuf>,
    #[command(flatten)]
    pub sources: super::sources::SourceArgs,
    /// Override `url` and `baseurl`, e.g. https://example.com/blog.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Print how long each step took.
    #[arg(long)]
    pub timings: bool,
    /// Replace a destination folder with files Galley did not write (never the site, a
    /// parent of it, or a folder it reads).
    #[arg(long)]
    pub force: bool,
    /// Remove the previous site before returning, instead of leaving it to a background
    /// process (for a script that reads the destination's parent folder next).
    #[arg(long)]
    pub wait_for_removal: bool,
}

impl Args {
    pub fn options(&self) -> Result<BuildOptions, ExitCode> {
        Ok(self.sources.apply(BuildOptions {
            base_url: self.base_url.clone(),
            force: self.force,
            // The command returns once the new site is in place; a process of its own
            // removes the previous one.
            remove_previous: if self.wait_for_removal {
                Removal::Wait
            } else {
                Removal::Background
            },
            ..crate::edge::build_options()?
        }))
    }
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let started = Instant::now();
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| args.site.join("_site"));
    let built = build(&args.site, &destination, &args.options()?).map_err(super::report)?;
    if args.timings {
        for (step, took) in &built.timings {
            eprintln!("  {step:<10} {:>8.1} ms", took.as_secs_f64() * 1000.0);
        }
    }
    for warning in &built.warnings {
        eprintln!("warning: {warning}");
    }
    let s = &built.site.stats;
    println!(
        "built {} posts, {} pages, {} files in {} ms -> {}",
        s.posts,
        s.pages,
        built.site.files.len(),
        started.elapsed().as_millis(),
        destination.display()
    );
    Ok(())
}
