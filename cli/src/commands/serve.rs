//! `galley serve [SITE] [--port P] [--open]`: preview the site on 127.0.0.1 with live
//! reload (the loop itself is `galley_pipeline::preview`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use galley_pipeline::preview::{self, Event, PreviewRequest};

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
    #[command(flatten)]
    pub sources: super::sources::SourceArgs,
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let request = PreviewRequest {
        site: args.site.clone(),
        host: args.host,
        port: args.port,
        build: args.sources.apply(edge::build_options()?),
    };
    let preview = preview::start(request).map_err(exit)?;
    for warning in &preview.warnings {
        eprintln!("warning: {warning}");
    }
    println!("built {} pages in {} ms", preview.files, preview.millis);
    crate::hold_freed_memory();
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
