//! `publish|status|releases|destroy --target local`, and `galley balancer`, the local load
//! balancer process that `publish --target local` starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use galley_image::Layout;
use galley_infra::local::deploy::{self, LocalTarget};
use galley_infra::local::{balancer, state, state::StateDir};
use galley_infra::DeploySettings;

use super::publish::{
    bake_for, deploy_error, finish, print_json_or_live, timing, Lines, PublishArgs, Site,
};
use super::{fail, EXIT_SERVICE, EXIT_SITE_ERROR};

#[derive(clap::Args)]
pub struct BalancerArgs {
    /// The site's local state folder (routes, address and token are kept there).
    #[arg(long)]
    pub state: PathBuf,
    /// Where to serve the site.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// What the balancer asks each container for, to take it out while it fails.
    #[arg(long, default_value = "/healthz")]
    pub health_path: String,
}

/// Where local state lives: `GALLEY_STATE_DIR`, else `$XDG_STATE_HOME`, else
/// `~/.local/state` (read here, at the edge).
fn state_home() -> state::Where {
    match std::env::var_os("GALLEY_STATE_DIR") {
        Some(dir) => state::Where::Exactly(dir.into()),
        None => state::Where::Under(
            std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state"))
                }),
        ),
    }
}

fn target(site: &Path, port: Option<u16>) -> Result<LocalTarget, ExitCode> {
    let settings: DeploySettings =
        crate::deploy_config::load_local(site).map_err(|e| fail(EXIT_SITE_ERROR, e))?;
    let state = StateDir::for_site(&settings.site, state_home())
        .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
    let program = std::env::current_exe().map_err(|e| {
        fail(
            EXIT_SERVICE,
            format!("cannot find the galley executable: {e}"),
        )
    })?;
    Ok(LocalTarget {
        site: settings.site.clone(),
        state,
        port,
        program,
        containers: settings.instance_count,
        health_path: settings.health_check_path.clone(),
        health_timeout: Duration::from_secs(settings.health_timeout),
        canary: settings
            .canary
            .map(|c| (c.percent, Duration::from_secs(c.seconds))),
    })
}

pub fn publish(args: &PublishArgs) -> Result<(), ExitCode> {
    if args.dry_run {
        return Err(fail(
            super::EXIT_USAGE,
            "--dry-run is for AWS; the local target has nothing to plan",
        ));
    }
    let local = target(&args.site, args.port)?;
    let lines = Lines::new();
    let (out, _digest) = bake_for(args, &local.site, &lines)?;
    let layout = Layout::open(&out).map_err(|e| fail(EXIT_SITE_ERROR, e))?;
    super::image::runtime()?.block_on(async {
        // Containers start in well under a second: poll their health often (AWS's target
        // health only changes every few seconds, hence its slower default).
        let mut timing = timing();
        if std::env::var_os("GALLEY_POLL_MS").is_none() {
            timing.poll = Duration::from_millis(100);
        }
        let report = deploy::deploy(&local, &layout, &timing, &lines)
            .await
            .map_err(deploy_error)?;
        finish(&lines, &report, args.json);
        Ok(())
    })
}

pub fn status(args: &Site) -> Result<(), ExitCode> {
    let local = target(&args.site, None)?;
    super::image::runtime()?.block_on(async {
        let status = deploy::status(&local)
            .await
            .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
        if print_json_or_live(
            args.json,
            &status,
            status.url.as_deref(),
            status.live.as_ref(),
            &format!("site {} is not running locally", local.site),
        ) {
            return Ok(());
        }
        for c in &status.containers {
            println!(
                "  {} {:<40} {:<10} {:<26} {}",
                galley_image::blob::short(&c.container.id),
                c.container.name,
                c.container.state,
                c.container.release,
                c.health.as_deref().unwrap_or("-")
            );
        }
        Ok(())
    })
}

pub fn releases(args: &Site) -> Result<(), ExitCode> {
    let local = target(&args.site, None)?;
    let list = local
        .state
        .releases()
        .map_err(|e| super::fail(super::EXIT_SITE_ERROR, format!("{e:#}")))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"releases": list}))
                .unwrap_or_default()
        );
        return Ok(());
    }
    for r in &list {
        println!("{} {} {}", r.id, r.created, r.digest);
    }
    Ok(())
}

pub fn destroy(args: &Site) -> Result<(), ExitCode> {
    let local = target(&args.site, None)?;
    super::image::runtime()?.block_on(async {
        deploy::destroy(&local, |line| eprintln!("{line}"))
            .await
            .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
        println!(
            "stopped site {} locally: balancer, containers and images removed (the release history stays)",
            local.site
        );
        Ok(())
    })
}

pub fn balancer(args: BalancerArgs) -> Result<(), ExitCode> {
    let config = balancer::Config {
        listen: args.listen,
        state: StateDir { dir: args.state },
        health_path: args.health_path,
    };
    super::image::runtime()?
        .block_on(balancer::run(config))
        .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))
}
