//! `galley balancer`: the local load balancer process that `publish --target local`
//! starts (hidden; runs until stopped).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use galley_infra::local::{balancer, state::StateDir};

use super::{fail, runtime, EXIT_SERVICE};

#[derive(clap::Args)]
pub struct BalancerArgs {
    /// The site's local state folder (routes, address and token are kept there).
    #[arg(long)]
    pub state: PathBuf,
    /// Where to serve the site.
    #[arg(long, default_value_t = balancer::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// What the balancer asks each container for, to take it out while it fails.
    #[arg(long, default_value = galley_infra::settings::DEFAULT_HEALTH_PATH)]
    pub health_path: String,
    /// The site whose live containers it keeps running (restarting any stopped from outside).
    #[arg(long)]
    pub site: Option<String>,
}

pub fn balancer(args: BalancerArgs) -> Result<(), ExitCode> {
    let config = balancer::Config {
        listen: args.listen,
        state: StateDir { dir: args.state },
        health_path: args.health_path,
        site: args.site,
    };
    runtime()?
        .block_on(balancer::run(config))
        .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))
}
