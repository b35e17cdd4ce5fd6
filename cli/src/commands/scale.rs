//! `galley scale --site S N`: the live release's instance count, changed without a release.

use std::path::PathBuf;
use std::process::ExitCode;

use galley_pipeline::scale;

use super::{exit, print_json, runtime};
use crate::edge;
use crate::progress::Lines;

#[derive(clap::Args)]
pub struct Args {
    /// The site folder (its `_config.yml` has the `deploy:` settings).
    #[arg(long, default_value = ".")]
    pub site: PathBuf,
    /// Instances the live release should run (at least 2). A later publish keeps this count
    /// until `deploy: instance_count` changes.
    pub count: usize,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let services = edge::services(None)?;
    let scaled = runtime()?
        .block_on(scale::scale(
            &args.site,
            args.count,
            &services,
            &Lines::new(),
        ))
        .map_err(exit)?;
    if args.json {
        print_json(&scaled);
    } else {
        println!(
            "release {} ({}): {} → {} instances, {} healthy",
            scaled.release, scaled.group, scaled.from, scaled.to, scaled.healthy
        );
    }
    Ok(())
}
