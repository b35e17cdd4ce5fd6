//! `galley build [SITE] [--destination DIR] [--drafts] [--future] [--base-url URL]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use galley_site_builder::{build, BuildOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Where to write the site (default: SITE/_site).
    #[arg(short, long)]
    pub destination: Option<PathBuf>,
    /// Config files to read instead of the site's _config.yml, merged in order (Jekyll's
    /// `--config a.yml,b.yml`).
    #[arg(long = "config", value_delimiter = ',')]
    pub config_files: Vec<PathBuf>,
    /// A local copy of the repository that `remote_theme:` names (Galley never downloads).
    #[arg(long = "remote-theme")]
    pub remote_theme: Option<PathBuf>,
    /// Include drafts and unpublished posts.
    #[arg(long)]
    pub drafts: bool,
    /// Include posts dated in the future.
    #[arg(long)]
    pub future: bool,
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
}

impl Args {
    pub fn options(&self) -> Result<BuildOptions, ExitCode> {
        Ok(BuildOptions {
            drafts: self.drafts,
            future: self.future,
            base_url: self.base_url.clone(),
            destination: None,
            now: None,
            force: self.force,
            source_date_epoch: crate::edge::source_date_epoch()?,
            environment: crate::edge::jekyll_env(),
            gem_dirs: crate::edge::gem_dirs(),
            config_files: self.config_files.clone(),
            remote_theme: self.remote_theme.clone(),
        })
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
