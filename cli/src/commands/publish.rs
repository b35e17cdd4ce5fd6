//! `galley publish|deploy|rollback`: put the site live on AWS (or, for `publish`, in local
//! containers), health-gated and rolled back on failure.
//!
//! Exit codes, for CI: 0 live and healthy; 1 a problem in the site or its `deploy:` settings;
//! 2 a wrong command line; 3 a service failed (AWS, the registry, Docker); 4 the new release
//! never got healthy and was rolled back (the old one still serves); 5 another publish holds
//! the lock; 6 AWS cannot be used from here (region, credentials).

use std::path::PathBuf;
use std::process::ExitCode;

use galley_pipeline::publish::{self, Plan, PublishRequest, Published};

use super::site::{Site, TargetArg};
use super::{exit, fail, print_json, runtime, EXIT_USAGE};
use crate::edge;
use crate::progress::Lines;

#[derive(clap::Args)]
pub struct PublishArgs {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Print what would be created, changed and deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
    /// The static galley-server to put in the image (default: beside `galley`).
    #[arg(long, env = "GALLEY_SERVER_BINARY")]
    pub server_binary: Option<PathBuf>,
    /// Push over plain HTTP (loopback registries only).
    #[arg(long)]
    pub insecure: bool,
    /// With ECR, push to this registry host instead (tests, mirrors).
    #[arg(long, env = "GALLEY_ECR_REGISTRY")]
    pub ecr_registry: Option<String>,
    /// `aws` (default) or `local`: containers in the local Docker engine behind Galley's
    /// own load balancer.
    #[arg(long, value_enum, default_value_t = TargetArg::Aws)]
    pub target: TargetArg,
    /// With `--target local`: the loopback port to serve on (default: the running
    /// balancer's, else 8080).
    #[arg(long, env = "GALLEY_LOCAL_PORT")]
    pub port: Option<u16>,
}

#[derive(clap::Args)]
pub struct DeployArgs {
    /// The image digest (`sha256:…`), already pushed.
    pub digest: String,
    #[command(flatten)]
    pub site: Site,
    #[arg(long, env = "GALLEY_ECR_REGISTRY")]
    pub ecr_registry: Option<String>,
}

#[derive(clap::Args)]
pub struct RollbackArgs {
    /// Release id or digest (default: the newest release that is not live).
    pub release: Option<String>,
    #[command(flatten)]
    pub site: Site,
    #[arg(long, env = "GALLEY_ECR_REGISTRY")]
    pub ecr_registry: Option<String>,
}

pub fn publish(args: PublishArgs) -> Result<(), ExitCode> {
    let target = args.target.into();
    let services = edge::services(args.ecr_registry.clone())?;
    if args.dry_run {
        if args.target == TargetArg::Local {
            return Err(fail(
                EXIT_USAGE,
                "--dry-run is for AWS; the local target has nothing to plan",
            ));
        }
        let plan = runtime()?
            .block_on(publish::plan(&args.site, &services))
            .map_err(exit)?;
        print_plan(&plan, args.json);
        return Ok(());
    }
    let request = PublishRequest {
        site: &args.site,
        target,
        server_binary: args.server_binary.clone(),
        insecure: args.insecure,
        port: args.port,
        build: edge::build_options()?,
    };
    let published = runtime()?
        .block_on(publish::publish(&request, &services, &Lines::new()))
        .map_err(exit)?;
    print_published(&published, args.json);
    Ok(())
}

pub fn deploy_digest(args: DeployArgs) -> Result<(), ExitCode> {
    if args.site.target == TargetArg::Local {
        return Err(fail(
            EXIT_USAGE,
            "deploy DIGEST is for AWS; with --target local, run publish",
        ));
    }
    let services = edge::services(args.ecr_registry.clone())?;
    let published = runtime()?
        .block_on(publish::deploy_digest(
            &args.site.site,
            &args.digest,
            &services,
            &Lines::new(),
        ))
        .map_err(exit)?;
    print_published(&published, args.site.json);
    Ok(())
}

pub fn rollback(args: RollbackArgs) -> Result<(), ExitCode> {
    if args.site.target == TargetArg::Local {
        return Err(fail(
            EXIT_USAGE,
            "rollback is not available for --target local yet: publish the earlier version of the site instead",
        ));
    }
    let services = edge::services(args.ecr_registry.clone())?;
    let published = runtime()?
        .block_on(publish::rollback(
            &args.site.site,
            args.release.as_deref(),
            &services,
            &Lines::new(),
        ))
        .map_err(exit)?;
    print_published(&published, args.site.json);
    Ok(())
}

fn print_published(published: &Published, json: bool) {
    if json {
        print_json(published);
        return;
    }
    println!("live: {}", published.url);
    println!("release {} ({})", published.release, published.digest);
    match published.invalidated.as_slice() {
        [] => {}
        [all] if all == "/*" => println!("invalidated every CDN path (/*)"),
        paths => println!("invalidated {} CDN paths", paths.len()),
    }
    for step in &published.steps {
        println!("  {:<45} {:>6.1}s", step.step, step.seconds);
    }
    println!("  {:<45} {:>6.1}s", "total", published.seconds);
}

fn print_plan(plan: &Plan, json: bool) {
    if json {
        print_json(&plan.lines);
        return;
    }
    println!("plan for site {} (nothing changed):", plan.site);
    for line in &plan.lines {
        println!("  {line}");
    }
}
