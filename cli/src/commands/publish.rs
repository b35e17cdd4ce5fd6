//! `galley publish|deploy|status|releases|rollback|destroy`: ship the site to AWS.
//!
//! Exit codes, for CI: 0 live and healthy; 1 a problem in the site or its `deploy:` settings;
//! 2 a wrong command line; 3 a service failed (AWS, the registry, Docker); 4 the new release
//! never got healthy and was rolled back (the old one still serves); 5 another publish holds
//! the lock.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use galley_image::registry::{self, Client, Reference};
use galley_image::Layout;
use galley_infra::aws::access::Timeouts;
use galley_infra::aws::deploy::{self, DeployError, Request, Timing};
use galley_infra::aws::{self as aws_infra, Aws};
use galley_infra::rollout::Progress;
use galley_infra::user_data::Pull;
use galley_infra::DeploySettings;
use galley_site_builder::BuildOptions;

use super::{fail, EXIT_SERVICE, EXIT_SITE_ERROR};
use crate::bake::{bake, BakeError, Recipe};

pub const EXIT_UNHEALTHY: u8 = 4;
pub const EXIT_LOCKED: u8 = 5;
/// AWS cannot be used from here: no region, no credentials, or credentials it refuses.
pub const EXIT_AWS_SETUP: u8 = 6;

/// Where a release goes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// EC2 instances in two AZs behind an ALB.
    #[default]
    Aws,
    /// Containers in the local Docker engine behind Galley's own load balancer on loopback.
    Local,
}

#[derive(clap::Args)]
pub struct Site {
    /// The site folder (its `_config.yml` has the `deploy:` settings).
    #[arg(long, default_value = ".")]
    pub site: PathBuf,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
}

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
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
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

/// Progress lines on stderr, each with the time since the command started.
pub(super) struct Lines {
    started: Instant,
    steps: Mutex<Vec<(String, f64)>>,
}

impl Lines {
    pub(super) fn new() -> Lines {
        Lines {
            started: Instant::now(),
            steps: Mutex::new(Vec::new()),
        }
    }
    fn stamp(&self) -> String {
        format!("[{:>6.1}s]", self.started.elapsed().as_secs_f64())
    }
    fn record(&self, name: &str, took: Duration) {
        if let Ok(mut s) = self.steps.lock() {
            s.push((name.to_string(), took.as_secs_f64()));
        }
    }
    fn steps(&self) -> Vec<(String, f64)> {
        self.steps.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Progress for Lines {
    fn step(&self, name: &str) {
        eprintln!("{} {name} …", self.stamp());
    }
    fn done(&self, name: &str, took: Duration) {
        eprintln!(
            "{} {name}: done in {:.1}s",
            self.stamp(),
            took.as_secs_f64()
        );
        self.record(name, took);
    }
    fn waiting(&self, line: &str) {
        eprintln!("{} {line}", self.stamp());
    }
}

fn settings(site: &std::path::Path) -> Result<DeploySettings, ExitCode> {
    crate::deploy_config::load(site).map_err(|e| fail(EXIT_SITE_ERROR, e))
}

/// AWS for one command: connected with timeouts and checked (region, credentials,
/// endpoint) before anything else happens. `GALLEY_AWS_TIMEOUT` (seconds per call attempt,
/// default 30) is read here, at the edge.
async fn connect(settings: &DeploySettings) -> Result<Aws, ExitCode> {
    let timeouts = std::env::var("GALLEY_AWS_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or_else(Timeouts::default, |s| {
            Timeouts::with_attempt(Duration::from_secs_f64(s))
        });
    Aws::connect(settings, timeouts).await.map_err(|e| {
        let code = if e.is_setup() {
            EXIT_AWS_SETUP
        } else {
            EXIT_SERVICE
        };
        fail(code, e)
    })
}

pub(super) fn deploy_error(e: DeployError) -> ExitCode {
    let code = match &e {
        DeployError::Locked(_) => EXIT_LOCKED,
        DeployError::Rollout(r) if r.unhealthy => EXIT_UNHEALTHY,
        _ => EXIT_SERVICE,
    };
    fail(code, e)
}

/// Where the site's images go: the `registry` override, else ECR (`galley/<site>`).
struct Destination {
    reference: Reference,
    credentials: Option<registry::Credentials>,
    pull: Pull,
}

async fn destination(
    aws: &Aws,
    settings: &DeploySettings,
    ecr_registry: Option<&str>,
) -> Result<Destination, ExitCode> {
    if let Some(r) = &settings.registry {
        let reference = Reference::parse(r)
            .map_err(|e| fail(EXIT_SITE_ERROR, format!("deploy.registry: {e}")))?;
        let credentials = std::env::var("GALLEY_REGISTRY_USERNAME")
            .ok()
            .zip(std::env::var("GALLEY_REGISTRY_PASSWORD").ok())
            .map(|(username, password)| registry::Credentials { username, password });
        return Ok(Destination {
            reference,
            credentials,
            pull: Pull::Anonymous,
        });
    }
    let repo = format!("galley/{}", settings.site);
    let tags = [(aws_infra::TAG_SITE.to_string(), settings.site.clone())];
    let ecr = galley_image::ecr::prepare(&aws.sdk, &repo, &tags)
        .await
        .map_err(|e| fail(EXIT_SERVICE, e))?;
    let host = ecr_registry.map(str::to_string).unwrap_or(ecr.registry);
    let reference =
        Reference::parse(&format!("{host}/{repo}")).map_err(|e| fail(EXIT_SERVICE, e))?;
    Ok(Destination {
        reference,
        credentials: Some(ecr.credentials),
        pull: Pull::Ecr {
            region: aws.region(),
        },
    })
}

fn repository(d: &Destination) -> String {
    format!("{}/{}", d.reference.registry, d.reference.repository)
}

pub fn publish(args: PublishArgs) -> Result<(), ExitCode> {
    if args.target == Target::Local {
        return super::local::publish(&args);
    }
    if args.port.is_some() {
        return Err(fail(
            super::EXIT_USAGE,
            "--port is for --target local (on AWS the load balancer listens on 80/443)",
        ));
    }
    let settings = settings(&args.site)?;
    let runtime = super::image::runtime()?;
    runtime.block_on(async {
        let lines = Lines::new();
        let aws = connect(&settings).await?;
        if args.dry_run {
            return dry_run(&aws, args.json).await;
        }
        let (out, digest) = bake_for(&args, &settings.site, &lines)?;

        lines.step("pushing");
        let started = Instant::now();
        let dest = destination(&aws, &settings, args.ecr_registry.as_deref()).await?;
        let layout = Layout::open(&out).map_err(|e| fail(EXIT_SITE_ERROR, e))?;
        let tag = galley_image::blob::digest_tag(&digest);
        let client = Client::new(
            dest.reference.clone(),
            dest.credentials.clone(),
            args.insecure,
        )
        .map_err(|e| fail(super::EXIT_USAGE, e))?;
        let pushed = registry::push(&layout, &client, &tag, |_| {})
            .await
            .map_err(|e| fail(EXIT_SERVICE, e))?;
        lines.done("pushing", started.elapsed());
        lines.waiting(&format!(
            "uploaded {} of {} blobs ({} bytes)",
            pushed.blobs_uploaded, pushed.blobs, pushed.bytes_uploaded
        ));
        let request = Request {
            digest: digest.clone(),
            repository: repository(&dest),
            pull: dest.pull.clone(),
        };
        let report = deploy::deploy(&aws, &request, None, &timing(), &lines)
            .await
            .map_err(deploy_error)?;
        finish(&lines, &report, args.json);
        Ok(())
    })
}

/// Builds the site and its image into `SITE/_image`; returns the folder and the digest.
pub(super) fn bake_for(
    args: &PublishArgs,
    site_name: &str,
    lines: &Lines,
) -> Result<(PathBuf, String), ExitCode> {
    lines.step("building the image");
    let started = Instant::now();
    let out = args.site.join("_image");
    let recipe = Recipe {
        site: &args.site,
        out: &out,
        tag: Some(format!("galley/{site_name}:latest")),
        server_binary: args.server_binary.clone(),
        brotli_quality: 11,
        precompress_above: galley_image::input::PRECOMPRESS_ABOVE,
        options: BuildOptions {
            source_date_epoch: super::source_date_epoch()?,
            environment: super::jekyll_env(),
            gem_dirs: super::gem_dirs(),
            ..BuildOptions::default()
        },
    };
    let baked = bake(&recipe).map_err(|e| match e {
        BakeError::Site(e) => super::report(&e),
        BakeError::Image(e) => fail(EXIT_SITE_ERROR, e),
    })?;
    lines.done("building the image", started.elapsed());
    if baked.epoch.source == galley_image::epoch::EpochSource::Fixed {
        lines.waiting(&format!("image created {}", baked.epoch.describe()));
    }
    Ok((out, baked.image.digest().to_string()))
}

/// Polling knobs: `GALLEY_POLL_MS` lets tests against moto run without waiting seconds.
pub(super) fn timing() -> Timing {
    let mut t = Timing::default();
    if let Some(ms) = std::env::var("GALLEY_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        t.poll = Duration::from_millis(ms);
        t.report_every = Duration::from_millis(ms * 5);
    }
    t
}

pub(super) fn finish(lines: &Lines, report: &deploy::Report, json: bool) {
    // Every step reported its time to `lines` as it finished (the rollout's too).
    let steps = lines.steps();
    if json {
        let doc = serde_json::json!({
            "url": report.url,
            "release": report.outcome.release.id,
            "digest": report.outcome.release.digest,
            "image": report.outcome.release.image,
            "targets": report.outcome.targets,
            "previous": report.outcome.previous,
            "steps": steps.iter().map(|(n, s)| serde_json::json!({"step": n, "seconds": s})).collect::<Vec<_>>(),
            "seconds": lines.started.elapsed().as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    println!("live: {}", report.url);
    println!(
        "release {} ({})",
        report.outcome.release.id, report.outcome.release.digest
    );
    for (name, secs) in steps {
        println!("  {name:<45} {secs:>6.1}s");
    }
    println!(
        "  {:<45} {:>6.1}s",
        "total",
        lines.started.elapsed().as_secs_f64()
    );
}

async fn dry_run(aws: &Aws, json: bool) -> Result<(), ExitCode> {
    let plan = deploy::plan(aws)
        .await
        .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        );
    } else {
        println!("plan for site {} (nothing changed):", aws.site());
        for line in plan {
            println!("  {line}");
        }
    }
    Ok(())
}

pub fn deploy_digest(args: DeployArgs) -> Result<(), ExitCode> {
    if !galley_image::blob::is_sha256_digest(&args.digest) {
        return Err(fail(
            super::EXIT_USAGE,
            format!("{:?} is not an image digest (sha256:<64 hex>)", args.digest),
        ));
    }
    let settings = settings(&args.site.site)?;
    if args.site.target == Target::Local {
        return Err(fail(
            super::EXIT_USAGE,
            "deploy DIGEST is for AWS; with --target local, run publish",
        ));
    }
    super::image::runtime()?.block_on(async {
        let lines = Lines::new();
        let aws = connect(&settings).await?;
        let dest = destination(&aws, &settings, args.ecr_registry.as_deref()).await?;
        let request = Request {
            digest: args.digest.clone(),
            repository: repository(&dest),
            pull: dest.pull,
        };
        let report = deploy::deploy(&aws, &request, None, &timing(), &lines)
            .await
            .map_err(deploy_error)?;
        finish(&lines, &report, args.site.json);
        Ok(())
    })
}

pub fn rollback(args: RollbackArgs) -> Result<(), ExitCode> {
    if args.site.target == Target::Local {
        return Err(fail(
            super::EXIT_USAGE,
            "rollback is not available for --target local yet: publish the earlier version of the site instead",
        ));
    }
    let settings = settings(&args.site.site)?;
    super::image::runtime()?.block_on(async {
        let lines = Lines::new();
        let aws = connect(&settings).await?;
        let target = deploy::rollback_target(&aws, args.release.as_deref())
            .await
            .map_err(|e| fail(EXIT_SITE_ERROR, format!("{e:#}")))?;
        lines.waiting(&format!(
            "rolling back to {} ({})",
            target.id, target.digest
        ));
        let (repository, _) = target.image.split_once('@').unwrap_or((&target.image, ""));
        let pull = if settings.registry.is_some() {
            Pull::Anonymous
        } else {
            Pull::Ecr {
                region: aws.region(),
            }
        };
        let request = Request {
            digest: target.digest.clone(),
            repository: repository.to_string(),
            pull,
        };
        let report = deploy::deploy(&aws, &request, None, &timing(), &lines)
            .await
            .map_err(deploy_error)?;
        finish(&lines, &report, args.site.json);
        Ok(())
    })
}

pub fn status(args: Site) -> Result<(), ExitCode> {
    if args.target == Target::Local {
        return super::local::status(&args);
    }
    let settings = settings(&args.site)?;
    super::image::runtime()?.block_on(async {
        let aws = connect(&settings).await?;
        let status = deploy::status(&aws)
            .await
            .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
        if print_json_or_live(
            args.json,
            &status,
            status.url.as_deref(),
            status.live.as_ref(),
            &format!("site {} is not deployed", settings.site),
        ) {
            return Ok(());
        }
        for i in &status.instances {
            println!(
                "  {} {:<12} {:<10} {:<26} {}",
                i.id,
                i.zone,
                i.state,
                i.release,
                i.health.as_deref().unwrap_or("-")
            );
        }
        Ok(())
    })
}

/// `status`'s head: the whole status as JSON (returns true), or the live line for people.
pub(super) fn print_json_or_live(
    json: bool,
    status: &impl serde::Serialize,
    url: Option<&str>,
    live: Option<&galley_infra::Release>,
    absent: &str,
) -> bool {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(status).unwrap_or_default()
        );
        return true;
    }
    match (url, live) {
        (Some(url), Some(live)) => println!("live: {url}\nrelease {} ({})", live.id, live.digest),
        (Some(url), None) => println!("{url}: no release is live"),
        _ => println!("{absent}"),
    }
    false
}

pub fn releases(args: Site) -> Result<(), ExitCode> {
    if args.target == Target::Local {
        return super::local::releases(&args);
    }
    let settings = settings(&args.site)?;
    super::image::runtime()?.block_on(async {
        let aws = connect(&settings).await?;
        let list = aws_infra::history::list(&aws)
            .await
            .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
        let live = deploy::status(&aws)
            .await
            .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?
            .live
            .map(|r| r.id);
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"live": live, "releases": list}))
                    .unwrap_or_default()
            );
            return Ok(());
        }
        for r in &list {
            let mark = if Some(&r.id) == live.as_ref() {
                "*"
            } else {
                " "
            };
            println!("{mark} {} {} {}", r.id, r.created, r.digest);
        }
        Ok(())
    })
}

pub fn destroy(args: Site) -> Result<(), ExitCode> {
    if args.target == Target::Local {
        return super::local::destroy(&args);
    }
    let settings = settings(&args.site)?;
    super::image::runtime()?.block_on(async {
        let aws = connect(&settings).await?;
        aws_infra::lock::acquire(&aws, chrono::Utc::now())
            .await
            .map_err(|e| match e {
                aws_infra::lock::LockError::Held(_) => fail(EXIT_LOCKED, e),
                aws_infra::lock::LockError::Service(_) => fail(EXIT_SERVICE, e),
            })?;
        aws_infra::destroy::destroy(&aws, |line| eprintln!("{line}"))
            .await
            .map_err(|e| fail(EXIT_SERVICE, format!("{e:#}")))?;
        println!("destroyed everything Galley created for site {} (the ECR repository and its images stay)", settings.site);
        Ok(())
    })
}
