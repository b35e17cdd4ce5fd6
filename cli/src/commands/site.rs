//! `galley status|releases|destroy`: what a site has live, its release history, and
//! tearing it down, on either target, printed through one path.

use std::path::PathBuf;
use std::process::ExitCode;

use galley_infra::{Releases, Status, Target};
use galley_pipeline::target;

use super::{exit, print_json, runtime};
use crate::edge;

/// Where a release goes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetArg {
    /// EC2 instances in two AZs behind an ALB.
    #[default]
    Aws,
    /// Containers in the local Docker engine behind Galley's own load balancer.
    Local,
}

impl From<TargetArg> for Target {
    fn from(t: TargetArg) -> Target {
        match t {
            TargetArg::Aws => Target::Aws,
            TargetArg::Local => Target::Local,
        }
    }
}

#[derive(clap::Args)]
pub struct Site {
    /// The site folder (its `_config.yml` has the `deploy:` settings).
    #[arg(long, default_value = ".")]
    pub site: PathBuf,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t = TargetArg::Aws)]
    pub target: TargetArg,
}

pub fn status(args: Site) -> Result<(), ExitCode> {
    let services = edge::services(None)?;
    let (site, status) = runtime()?
        .block_on(async {
            let opened = target::open(&args.site, args.target.into(), &services).await?;
            Ok((opened.site().to_string(), opened.status().await?))
        })
        .map_err(exit)?;
    if args.json {
        print_json(&status);
    } else {
        print_status(&site, &status);
    }
    Ok(())
}

fn print_status(site: &str, status: &Status) {
    match (&status.url, &status.live) {
        (Some(url), Some(live)) => println!("live: {url}\nrelease {} ({})", live.id, live.digest),
        (Some(url), None) => println!("{url}: no release is live"),
        _ => match status.target {
            Target::Aws => println!("site {site} is not deployed"),
            Target::Local => println!("site {site} is not running locally"),
        },
    }
    // Instance ids are short already; container ids are cut to Docker's 12 digits.
    let width = match status.target {
        Target::Aws => 12,
        Target::Local => 40,
    };
    for m in &status.members {
        let id = match status.target {
            Target::Aws => m.id.as_str(),
            Target::Local => galley_image::blob::short(&m.id),
        };
        println!(
            "  {id} {:<width$} {:<10} {:<26} {}",
            m.place(),
            m.state,
            m.release,
            m.health.as_deref().unwrap_or("-")
        );
    }
    for g in &status.groups {
        let healthy = g
            .healthy
            .map(|h| format!(", {h} healthy"))
            .unwrap_or_default();
        println!(
            "group {} ({}): {} desired, {} in service{healthy} in {}",
            g.name,
            g.release,
            g.desired,
            g.in_service,
            g.zones.join(", ")
        );
        for line in &g.replacing {
            println!("  replacing: {line}");
        }
    }
}

pub fn releases(args: Site) -> Result<(), ExitCode> {
    let services = edge::services(None)?;
    let releases = runtime()?
        .block_on(async {
            target::open(&args.site, args.target.into(), &services)
                .await?
                .releases()
                .await
        })
        .map_err(exit)?;
    if args.json {
        print_json(&releases);
    } else {
        print_releases(&releases);
    }
    Ok(())
}

fn print_releases(releases: &Releases) {
    for r in &releases.releases {
        let mark = if Some(&r.id) == releases.live.as_ref() {
            "*"
        } else {
            " "
        };
        println!("{mark} {} {} {}", r.id, r.created, r.digest);
    }
}

pub fn destroy(args: Site) -> Result<(), ExitCode> {
    let services = edge::services(None)?;
    let summary = runtime()?
        .block_on(async {
            target::open(&args.site, args.target.into(), &services)
                .await?
                .destroy(|line| eprintln!("{line}"))
                .await
        })
        .map_err(exit)?;
    println!("{summary}");
    Ok(())
}
