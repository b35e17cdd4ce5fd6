//! `galley check [SITE]`: every problem at once, non-zero exit if there is any.

use std::path::PathBuf;
use std::process::ExitCode;

use galley_site_builder::{check, BuildOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    #[command(flatten)]
    pub sources: super::sources::SourceArgs,
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let options = args.sources.apply(BuildOptions {
        destination: Some(args.site.join("_site")),
        ..crate::edge::build_options()?
    });
    let report = check(&args.site, &options).map_err(super::report)?;
    println!(
        "ok: {} pages, {} internal links checked",
        report.pages, report.links
    );
    Ok(())
}
