//! The image beyond its folder: load it into the local Docker engine, run it there until
//! healthy, or push it to a registry or to ECR.

use std::path::Path;
use std::time::Instant;

use galley_image::layout::split_tag;
use galley_image::registry::{self, push::Event, Client, PushReport, Reference};
use galley_image::Layout;
use galley_infra::aws;

use crate::failure::Failure;
use crate::services::Services;

/// An image in the local engine.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The name it was loaded as.
    pub name: String,
    /// The manifest's digest.
    pub digest: String,
}

/// A container of the image that answers its health check.
#[derive(Debug, Clone)]
pub struct Started {
    pub name: String,
    pub container: String,
    pub url: String,
}

/// Where a push goes.
pub enum PushTo<'a> {
    /// `REGISTRY/REPOSITORY[:TAG]`, with the services' registry credentials.
    Registry(&'a str),
    /// ECR in the AWS chain's account and region: this repository (default: the image's
    /// name), created when missing.
    Ecr(Option<&'a str>),
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub report: PushReport,
    /// The ECR repository the push created, if it had to.
    pub created: Option<String>,
    pub seconds: f64,
}

fn open(out: &Path) -> Result<Layout, Failure> {
    Layout::open(out).map_err(Failure::site)
}

async fn open_and_load(
    out: &Path,
) -> Result<(galley_image::docker::Docker, Layout, String), Failure> {
    let layout = open(out)?;
    let docker = galley_image::docker::connect()
        .await
        .map_err(Failure::service)?;
    let name = galley_image::docker::load(&docker, &layout)
        .await
        .map_err(Failure::service)?;
    Ok((docker, layout, name))
}

/// Loads the image folder `out` into the local engine.
pub async fn load(out: &Path) -> Result<Loaded, Failure> {
    let (_, layout, name) = open_and_load(out).await?;
    Ok(Loaded {
        name,
        digest: layout.manifest_digest,
    })
}

/// Loads the image and starts it on `port` of 127.0.0.1 (0: any free port), returning once
/// it is healthy.
pub async fn run(out: &Path, port: u16) -> Result<Started, Failure> {
    let (docker, layout, name) = open_and_load(out).await?;
    let options = galley_image::docker::RunOptions {
        port,
        labels: [("galley.image".to_string(), layout.manifest_digest.clone())].into(),
        ..Default::default()
    };
    let running = galley_image::docker::run(&docker, &name, &options)
        .await
        .map_err(Failure::service)?;
    Ok(Started {
        name,
        container: running.id,
        url: running.url,
    })
}

/// Pushes the image folder `out`; `on_event` hears each blob skipped or uploaded.
pub async fn push(
    out: &Path,
    to: PushTo<'_>,
    insecure: bool,
    services: &Services,
    on_event: impl FnMut(Event<'_>),
) -> Result<Pushed, Failure> {
    let started = Instant::now();
    let layout = open(out)?;
    let image_name = layout.tag.clone().unwrap_or_else(|| "site:latest".into());
    let mut created = None;
    let (target, credentials) = match to {
        PushTo::Ecr(repository) => {
            let (repo, tag) = split_tag(repository.unwrap_or(&image_name));
            let sdk = aws::sdk_config(None, services.aws_timeouts).await;
            let ecr =
                galley_image::ecr::prepare(&sdk, repo, &[("galley:site".into(), repo.into())])
                    .await
                    .map_err(Failure::service)?;
            if ecr.created {
                created = Some(repo.to_string());
            }
            let host = services.ecr_registry.clone().unwrap_or(ecr.registry);
            let reference =
                Reference::parse(&format!("{host}/{repo}:{tag}")).map_err(Failure::usage)?;
            (reference, Some(ecr.credentials))
        }
        PushTo::Registry(text) => {
            let reference = Reference::parse(text).map_err(Failure::usage)?;
            (reference, services.registry_credentials.clone())
        }
    };
    let tag = target
        .tag
        .clone()
        .unwrap_or_else(|| split_tag(&image_name).1.to_string());
    let client = Client::new(target, credentials, insecure).map_err(Failure::usage)?;
    let report = registry::push(&layout, &client, &tag, on_event)
        .await
        .map_err(Failure::service)?;
    Ok(Pushed {
        report,
        created,
        seconds: started.elapsed().as_secs_f64(),
    })
}
