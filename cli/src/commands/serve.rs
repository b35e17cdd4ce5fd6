//! `galley serve [SITE] [--port P] [--open]`: preview the site on 127.0.0.1 with live
//! reload (the loop itself is `galley_pipeline::preview`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use galley_pipeline::preview::{self, Event, PreviewRequest};
use galley_site_builder::BuildOptions;

use super::exit;
use crate::edge;

#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Open the site in a browser.
    #[arg(long)]
    pub open: bool,
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
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let request = PreviewRequest {
        site: args.site.clone(),
        host: args.host,
        port: args.port,
        build: BuildOptions {
            drafts: args.drafts,
            future: args.future,
            config_files: args.config_files.clone(),
            remote_theme: args.remote_theme.clone(),
            ..edge::build_options()?
        },
    };
    let preview = preview::start(request).map_err(exit)?;
    for warning in &preview.warnings {
        eprintln!("warning: {warning}");
    }
    println!("built {} pages in {} ms", preview.files, preview.millis);
    println!("serving {} (Ctrl-C to stop)", preview.url);
    if args.open {
        let _ = std::process::Command::new("xdg-open")
            .arg(&preview.url)
            .spawn();
    }
    preview.run(print_event).map_err(exit)
}

fn print_event(event: Event) {
    match event {
        Event::Rebuilt {
            full,
            files,
            millis,
            changed,
        } => {
            let what = match full {
                Some(reason) => format!("everything: {reason}"),
                None => format!("{files} files"),
            };
            println!("rebuilt {what} in {millis} ms ({})", changed.join(", "));
        }
        Event::Failed(e) => eprintln!("{e}"),
    }
}
