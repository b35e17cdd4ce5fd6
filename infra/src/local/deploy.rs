//! `publish --target local`, `status --target local`, `destroy --target local`: the same
//! rollout engine as on AWS, with containers for instances and Galley's own balancer for the
//! ALB. Take the lock, load the image, make sure the balancer runs, remove what a killed
//! publish left, roll out, record.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use bollard::query_parameters::TagImageOptionsBuilder;
use galley_image::docker::{self, Docker};
use galley_image::Layout;

use super::containers::{self, Containers, HttpHealth};
use super::control::{self, LocalBalancer};
use super::state::StateDir;
use crate::deployment::{DeployError, Report, Timing};
use crate::release::Release;
use crate::rollout::{self, HealthGate, LoadBalancer, Plan, Progress};
use crate::status::{Member, Releases, Status, Target as StatusTarget};

/// Everything the local target needs to know.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    pub site: String,
    pub state: StateDir,
    /// Loopback port the balancer serves on (default: the running one's, else 8080).
    pub port: Option<u16>,
    /// The `galley` executable, started as `galley balancer` when none runs.
    pub program: PathBuf,
    pub containers: usize,
    pub health_path: String,
    pub health_timeout: Duration,
    pub canary: Option<(u8, Duration)>,
}

fn infra(e: impl Into<anyhow::Error>) -> DeployError {
    DeployError::Infra(e.into())
}

pub async fn deploy(
    target: &LocalTarget,
    layout: &Layout,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Report, DeployError> {
    let holder = format!(
        "pid {} since {}",
        std::process::id(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let _lock = target.state.lock(&holder).map_err(DeployError::Locked)?;
    let docker = docker::connect().await.map_err(infra)?;

    let release = rollout::timed(
        progress,
        "loading the image into Docker",
        load(&docker, target, layout),
    )
    .await
    .map_err(infra)?;
    let admin = rollout::timed(
        progress,
        "starting the local load balancer",
        control::ensure(
            &target.state,
            &target.program,
            target.port,
            &target.health_path,
            &target.site,
        ),
    )
    .await
    .map_err(infra)?;

    let balancer = LocalBalancer {
        admin: admin.clone(),
        docker: docker.clone(),
    };
    let compute = Containers {
        docker: docker.clone(),
        site: target.site.clone(),
        count: target.containers,
    };
    converge(&balancer, &compute, progress)
        .await
        .map_err(infra)?;
    let gate = HttpHealth::new(docker.clone(), &target.health_path).map_err(infra)?;
    let plan = Plan {
        release: release.clone(),
        health_timeout: target.health_timeout,
        poll: timing.poll,
        report_every: timing.report_every,
        canary: target.canary,
    };
    let outcome = rollout::rollout(&plan, &compute, &balancer, &gate, progress)
        .await
        .map_err(DeployError::Rollout)?;
    target.state.record(&release).map_err(infra)?;
    Ok(Report {
        url: admin.url(),
        outcome,
        invalidated: Vec::new(),
    })
}

/// Loads the layout and tags it `galley/<site>:sha-<12 hex>`, so every release keeps its
/// own image while its containers exist.
async fn load(docker: &Docker, target: &LocalTarget, layout: &Layout) -> Result<Release> {
    let loaded = docker::load(docker, layout).await?;
    let digest = layout.manifest_digest.clone();
    let repo = format!("galley/{}", target.site);
    let tag = galley_image::blob::digest_tag(&digest);
    docker
        .tag_image(
            &loaded,
            Some(
                TagImageOptionsBuilder::default()
                    .repo(&repo)
                    .tag(&tag)
                    .build(),
            ),
        )
        .await
        .map_err(|e| anyhow::anyhow!("docker tag {loaded} {repo}:{tag}: {e}"))?;
    let mut release = Release::new(&digest, &repo, chrono::Utc::now());
    release.image = format!("{repo}:{tag}");
    Ok(release)
}

/// Puts all traffic on the live release (a killed canary may have left a split) and
/// removes every other release's containers and group.
async fn converge(
    balancer: &LocalBalancer,
    compute: &Containers,
    progress: &dyn Progress,
) -> Result<()> {
    use crate::rollout::Compute;
    let snapshot = balancer.admin.snapshot().await?;
    let live = snapshot.routes.live().map(str::to_string);
    if let Some(l) = &live {
        if snapshot.routes.forward.len() > 1 {
            progress.waiting(&format!("putting all traffic back on {l}"));
            balancer.forward(&[(l.clone(), 100)]).await?;
        }
    }
    for group in snapshot.routes.groups.keys() {
        if Some(group) != live.as_ref() {
            progress.waiting(&format!("removing leftover release {group}"));
            compute.terminate(group).await?;
            balancer.delete_group(group).await?;
        }
    }
    for c in containers::list(&compute.docker, &compute.site, None).await? {
        if Some(&c.release) != live.as_ref() {
            progress.waiting(&format!("removing leftover container {}", c.name));
            docker::remove(&compute.docker, &c.id).await?;
        }
    }
    Ok(())
}

/// The balancer, its live release and every container of the site with its health.
pub async fn status(target: &LocalTarget) -> Result<Status> {
    let docker = docker::connect().await?;
    let balancer = control::find(&target.state).await;
    let live = balancer
        .as_ref()
        .and_then(|(_, snapshot)| snapshot.routes.live())
        .and_then(|id| {
            target
                .state
                .releases()
                .ok()
                .and_then(|list| list.into_iter().find(|r| r.id == id))
        });
    let gate = HttpHealth::new(docker.clone(), &target.health_path)?.for_status();
    let found = containers::list(&docker, &target.site, None).await?;
    let targets: Vec<crate::rollout::Target> = found
        .iter()
        .map(|c| crate::rollout::Target {
            id: c.id.clone(),
            zone: String::new(),
        })
        .collect();
    let health = gate.health("", &targets).await?;
    let out = found
        .into_iter()
        .zip(health)
        .map(|(container, h)| Member {
            id: container.id,
            name: Some(container.name),
            zone: None,
            state: container.state,
            release: container.release,
            health: Some(h.summary()),
        })
        .collect();
    Ok(Status {
        target: StatusTarget::Local,
        url: balancer.map(|(a, _)| a.url()),
        live,
        members: out,
        groups: Vec::new(),
    })
}

/// The site's local release history, newest first, and which release the balancer serves.
pub async fn releases(target: &LocalTarget) -> Result<Releases> {
    let releases = target.state.releases()?;
    let live = control::find(&target.state)
        .await
        .and_then(|(_, snapshot)| snapshot.routes.live().map(str::to_string));
    Ok(Releases { live, releases })
}

/// Stops the balancer and removes every container of the site; the images and the
/// release history stay.
pub async fn destroy(target: &LocalTarget, say: impl Fn(&str)) -> Result<()> {
    let _lock = target
        .state
        .lock(&format!("destroy, pid {}", std::process::id()))?;
    if let Some((admin, _)) = control::find(&target.state).await {
        say(&format!(
            "stopping the local load balancer on {}",
            admin.info.listen
        ));
        admin.shutdown().await?;
    }
    let docker = docker::connect().await?;
    for c in containers::list(&docker, &target.site, None).await? {
        say(&format!("removing container {}", c.name));
        docker::remove(&docker, &c.id).await?;
    }
    remove_images(&docker, &target.site, &say).await?;
    target.state.clear()
}

/// Untags every `galley/<site>:…` image publish loaded (the layers go when no other tag
/// holds them).
async fn remove_images(docker: &Docker, site: &str, say: &impl Fn(&str)) -> Result<()> {
    use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
    let repo = format!("galley/{site}");
    let filters = std::collections::HashMap::from([("reference".to_string(), vec![repo.clone()])]);
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| anyhow::anyhow!("listing images of {repo}: {e}"))?;
    for tag in images
        .iter()
        .flat_map(|i| i.repo_tags.iter())
        .filter(|t| t.starts_with(&format!("{repo}:")))
    {
        say(&format!("removing image {tag}"));
        docker
            .remove_image(
                tag,
                Some(RemoveImageOptionsBuilder::default().build()),
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("removing image {tag}: {e}"))?;
    }
    Ok(())
}
