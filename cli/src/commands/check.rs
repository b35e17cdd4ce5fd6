//! `galley check [SITE]`: every problem at once, non-zero exit if there is any.

use std::path::PathBuf;
use std::process::ExitCode;

use galley_site_builder::{check, BuildOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Config files to read instead of the site's _config.yml, merged in order (Jekyll's
    /// `--config a.yml,b.yml`).
    #[arg(long = "config", value_delimiter = ',')]
    pub config_files: Vec<PathBuf>,
    /// A local copy of the repository that `remote_theme:` names (Galley never downloads).
    #[arg(long = "remote-theme")]
    pub remote_theme: Option<PathBuf>,
    /// Check drafts too.
    #[arg(long)]
    pub drafts: bool,
    /// Check future posts too.
    #[arg(long)]
    pub future: bool,
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let options = BuildOptions {
        drafts: args.drafts,
        future: args.future,
        destination: Some(args.site.join("_site")),
        source_date_epoch: crate::edge::source_date_epoch()?,
        environment: crate::edge::jekyll_env(),
        gem_dirs: crate::edge::gem_dirs(),
        config_files: args.config_files.clone(),
        remote_theme: args.remote_theme.clone(),
        ..BuildOptions::default()
    };
    let report = check(&args.site, &options).map_err(super::report)?;
    println!(
        "ok: {} pages, {} internal links checked",
        report.pages, report.links
    );
    Ok(())
}
