//! `publish`: build the site, bake it into an image, push it and put it live, health-gated
//! and rolled back on failure, on AWS or in local containers. `deploy` and `rollback` are
//! the last step alone, for an image already pushed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use galley_image::registry::{self, Client};
use galley_image::Layout;
use galley_infra::aws::deploy::{self as aws_deploy, Request};
use galley_infra::aws::Aws;
use galley_infra::deployment::{Report, Timing};
use galley_infra::local::deploy as local_deploy;
use galley_infra::rollout::{self, Progress};
use galley_infra::Target;
use galley_site_builder::BuildOptions;
use serde::Serialize;

use crate::bake::{bake, Recipe};
use crate::destination::{self, Destination};
use crate::failure::Failure;
use crate::invalidation;
use crate::services::Services;
use crate::steps::{Step, Steps};
use crate::target;

/// What to publish and how.
pub struct PublishRequest<'a> {
    pub site: &'a Path,
    pub target: Target,
    /// The static galley-server to put in the image (`None`: beside the running program).
    pub server_binary: Option<PathBuf>,
    /// Push over plain HTTP (loopback registries only).
    pub insecure: bool,
    /// Local target: the loopback port to serve on (default: the running balancer's, else
    /// 8080).
    pub port: Option<u16>,
    /// How the site is built (dates, environment, gem folders).
    pub build: BuildOptions,
}

/// A release that went live.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub url: String,
    /// The release's id.
    pub release: String,
    pub digest: String,
    /// Where instances pulled it from, by digest.
    pub image: String,
    pub targets: Vec<rollout::Target>,
    pub previous: Option<rollout::Live>,
    /// The CDN paths invalidated (none without `deploy: cdn:`).
    pub invalidated: Vec<String>,
    pub steps: Vec<Step>,
    pub seconds: f64,
}

impl Published {
    fn from_report(report: Report, steps: &Steps) -> Published {
        let (steps, seconds) = steps.finish();
        let release = report.outcome.release;
        Published {
            url: report.url,
            release: release.id,
            digest: release.digest,
            image: release.image,
            targets: report.outcome.targets,
            previous: report.outcome.previous,
            invalidated: report.invalidated,
            steps,
            seconds,
        }
    }
}

/// What a dry run would do on AWS; nothing was changed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub site: String,
    pub lines: Vec<String>,
}

/// Builds, bakes, pushes and puts the site live; every step is shown on `progress` as it
/// runs and listed with its time in the report.
pub async fn publish(
    request: &PublishRequest<'_>,
    services: &Services,
    progress: &dyn Progress,
) -> Result<Published, Failure> {
    let steps = Steps::new(progress);
    match request.target {
        Target::Local => {
            let local = target::local(request.site, request.port, services)?;
            let (out, _) = bake_into_site(request, &local.site, services, &steps)?;
            let layout = Layout::open(&out).map_err(Failure::site)?;
            let report =
                local_deploy::deploy(&local, &layout, &timing(services, true), &steps).await?;
            Ok(Published::from_report(report, &steps))
        }
        Target::Aws => {
            if request.port.is_some() {
                return Err(Failure::usage(
                    "--port is for --target local (on AWS the load balancer listens on 80/443)",
                ));
            }
            let aws = target::aws(request.site, services).await?;
            let (out, digest) = bake_into_site(request, aws.site(), services, &steps)?;
            let dest = push(&aws, services, (&out, &digest), request.insecure, &steps).await?;
            let invalidate = if aws.settings.cdn {
                let layout = Layout::open(&out).map_err(Failure::site)?;
                let client = Client::new(
                    dest.reference.clone(),
                    dest.credentials.clone(),
                    request.insecure,
                )
                .map_err(Failure::usage)?;
                invalidation::changed_paths(&aws, &client, &layout, |line| steps.waiting(line))
                    .await
            } else {
                None
            };
            let request = Request {
                digest,
                repository: dest.repository(),
                pull: dest.pull,
                invalidate,
            };
            go_live(&aws, &request, services, &steps).await
        }
    }
}

/// What `publish` would create, change and delete on AWS, changing nothing.
pub async fn plan(site: &Path, services: &Services) -> Result<Plan, Failure> {
    let aws = target::aws(site, services).await?;
    let lines = galley_infra::aws::plan::plan(&aws)
        .await
        .map_err(|e| Failure::service_chain(&e))?;
    Ok(Plan {
        site: aws.site().to_string(),
        lines,
    })
}

/// Puts an image already pushed (by digest) live on AWS.
pub async fn deploy_digest(
    site: &Path,
    digest: &str,
    services: &Services,
    progress: &dyn Progress,
) -> Result<Published, Failure> {
    if !galley_image::blob::is_sha256_digest(digest) {
        return Err(Failure::usage(format!(
            "{digest:?} is not an image digest (sha256:<64 hex>)"
        )));
    }
    let steps = Steps::new(progress);
    let aws = target::aws(site, services).await?;
    let dest = destination::resolve(&aws, services).await?;
    let request = Request {
        digest: digest.to_string(),
        repository: dest.repository(),
        pull: dest.pull,
        invalidate: None,
    };
    go_live(&aws, &request, services, &steps).await
}

/// Puts an earlier release live again: `wanted` (id or digest), else the newest release
/// whose image differs from the live one.
pub async fn rollback(
    site: &Path,
    wanted: Option<&str>,
    services: &Services,
    progress: &dyn Progress,
) -> Result<Published, Failure> {
    let steps = Steps::new(progress);
    let aws = target::aws(site, services).await?;
    let target = galley_infra::aws::status::rollback_target(&aws, wanted)
        .await
        .map_err(|e| Failure::site(format!("{e:#}")))?;
    steps.waiting(&format!(
        "rolling back to {} ({})",
        target.id, target.digest
    ));
    let (repository, _) = target.image.split_once('@').unwrap_or((&target.image, ""));
    let request = Request {
        digest: target.digest.clone(),
        repository: repository.to_string(),
        pull: destination::pull_for(&aws),
        invalidate: None,
    };
    go_live(&aws, &request, services, &steps).await
}

async fn go_live(
    aws: &Aws,
    request: &Request,
    services: &Services,
    steps: &Steps<'_>,
) -> Result<Published, Failure> {
    let report = aws_deploy::deploy(aws, request, None, &timing(services, false), steps).await?;
    Ok(Published::from_report(report, steps))
}

/// Builds the site and its image into `SITE/_image`; returns the folder and the digest.
fn bake_into_site(
    request: &PublishRequest,
    site_name: &str,
    services: &Services,
    steps: &Steps,
) -> Result<(PathBuf, String), Failure> {
    steps.step("building the image");
    let started = Instant::now();
    let out = request.site.join("_image");
    let recipe = Recipe {
        site: request.site,
        out: &out,
        tag: Some(format!("galley/{site_name}:latest")),
        server_binary: request.server_binary.clone(),
        program: Some(services.program.clone()),
        brotli_quality: 11,
        precompress_above: galley_image::input::PRECOMPRESS_ABOVE,
        precompress_up_to: galley_image::input::PRECOMPRESS_UP_TO,
        reuse: true,
        options: request.build.clone(),
    };
    let baked = bake(&recipe)?;
    steps.done("building the image", started.elapsed());
    if baked.epoch.source == galley_image::epoch::EpochSource::Fixed {
        steps.waiting(&format!("image created {}", baked.epoch.describe()));
    }
    Ok((out, baked.image.digest().to_string()))
}

/// Pushes the image in `out` (tagged by its digest) to the site's registry; returns where
/// it went.
async fn push(
    aws: &Aws,
    services: &Services,
    (out, digest): (&Path, &str),
    insecure: bool,
    steps: &Steps<'_>,
) -> Result<Destination, Failure> {
    steps.step("pushing");
    let started = Instant::now();
    let dest = destination::resolve(aws, services).await?;
    let layout = Layout::open(out).map_err(Failure::site)?;
    let tag = galley_image::blob::digest_tag(digest);
    let client = Client::new(dest.reference.clone(), dest.credentials.clone(), insecure)
        .map_err(Failure::usage)?;
    let pushed = registry::push(&layout, &client, &tag, |_| {})
        .await
        .map_err(Failure::service)?;
    steps.done("pushing", started.elapsed());
    steps.waiting(&format!(
        "uploaded {} of {} blobs ({} bytes)",
        pushed.blobs_uploaded, pushed.blobs, pushed.bytes_uploaded
    ));
    Ok(dest)
}

/// Polling: the caller's interval if it gave one, else the target's own. Containers start
/// in well under a second, so the local target polls often; AWS's target health only
/// changes every few seconds.
pub(crate) fn timing(services: &Services, local: bool) -> Timing {
    let mut t = Timing::default();
    match services.poll {
        Some(poll) => {
            t.poll = poll;
            t.report_every = poll * 5;
        }
        None if local => t.poll = Duration::from_millis(100),
        None => {}
    }
    t
}
