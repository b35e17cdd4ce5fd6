//! `galley build [SITE] [--destination DIR] [--drafts] [--future] [--base-url URL] [--no-spare] [--wait-for-removal]`

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
    /// Do not keep the previous site as the destination's spare (`.NAME.galley-spare`, its
    /// folders and links to unchanged files) for the next build to update: a background
    /// process removes it, and any spare an earlier build kept.
    #[arg(long)]
    pub no_spare: bool,
    /// As `--no-spare`, and remove the previous site before returning (for a script that
    /// reads the destination's parent folder next).
    #[arg(long)]
    pub wait_for_removal: bool,
}

impl Args {
    pub fn options(&self) -> Result<BuildOptions, ExitCode> {
        Ok(self.sources.apply(BuildOptions {
            base_url: self.base_url.clone(),
            force: self.force,
            // The previous site becomes the spare the next build updates: a rebuild then
            // writes what changed and deletes nothing.
            remove_previous: if self.wait_for_removal {
                Removal::Wait
            } else if self.no_spare {
                Removal::Background
            } else {
                Removal::Spare
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
