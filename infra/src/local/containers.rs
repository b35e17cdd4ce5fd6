//! The local target's compute and health gate: each release runs as containers in the
//! local Docker engine (run as production runs them: read-only, no capabilities, restarted
//! unless stopped), and health is real HTTP against each container's own port, never the
//! load balancer's answer.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use galley_image::blob::short;
use galley_image::docker::{self, Docker, RunOptions};

use crate::release::Release;
use crate::rollout::{Compute, HealthGate, HealthState, Target, TargetHealth};

pub const LABEL_SITE: &str = "galley.site";
pub const LABEL_RELEASE: &str = "galley.release";
pub const LABEL_DIGEST: &str = "galley.digest";

pub struct Containers {
    pub docker: Docker,
    pub site: String,
    /// Containers per release.
    pub count: usize,
}

/// A container of the site, as listed by the engine.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SiteContainer {
    pub id: String,
    pub name: String,
    pub release: String,
    pub state: String,
}

/// The site's containers (every release, running or not; `release` narrows it).
pub async fn list(
    docker: &Docker,
    site: &str,
    release: Option<&str>,
) -> Result<Vec<SiteContainer>> {
    let mut labels = vec![format!("{LABEL_SITE}={site}")];
    if let Some(r) = release {
        labels.push(format!("{LABEL_RELEASE}={r}"));
    }
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label".to_string(), labels)]))
        .build();
    let found = docker
        .list_containers(Some(options))
        .await
        .context("listing the site's containers")?;
    Ok(found
        .into_iter()
        .map(|c| SiteContainer {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.first().cloned())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            release: c
                .labels
                .and_then(|mut l| l.remove(LABEL_RELEASE))
                .unwrap_or_default(),
            state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        })
        .collect())
}

/// Tries for a free port that another process takes between our check and Docker's bind.
const PORT_ATTEMPTS: usize = 3;

impl Containers {
    /// Starts container `n` of `release` on a host port chosen here, not by the engine: a
    /// crashed container that Docker restarts comes back on the same port, so the balancer's
    /// route to it stays right.
    async fn start_on_a_fixed_port(&self, release: &Release, n: usize) -> Result<String> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            let options = RunOptions {
                name: Some(format!("galley-{}-{}-{n}", self.site, release.id)),
                labels: HashMap::from([
                    (LABEL_SITE.to_string(), self.site.clone()),
                    (LABEL_RELEASE.to_string(), release.id.clone()),
                    (LABEL_DIGEST.to_string(), release.digest.clone()),
                ]),
                restart: true,
                port: free_loopback_port()?,
                ..RunOptions::default()
            };
            match docker::start(&self.docker, &release.image, &options).await {
                Ok(id) => return Ok(id),
                Err(e)
                    if e.to_string().contains("already allocated")
                        || e.to_string().contains("in use") =>
                {
                    // Someone took the port meanwhile: remove the half-made container, retry.
                    for c in list(&self.docker, &self.site, Some(&release.id)).await? {
                        if c.name.ends_with(&format!("-{n}")) {
                            docker::remove(&self.docker, &c.id).await?;
                        }
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(|| anyhow::anyhow!("no free port"), Into::into))
    }
}

/// A loopback port nothing listens on now.
fn free_loopback_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

#[async_trait]
impl Compute for Containers {
    async fn launch(&self, release: &Release, _group: &str) -> Result<Vec<Target>> {
        let mut targets = Vec::new();
        for n in 1..=self.count {
            let id = self.start_on_a_fixed_port(release, n).await?;
            targets.push(Target {
                id,
                zone: format!("local-{n}"),
            });
        }
        Ok(targets)
    }

    /// Started is as far as a container gets without its server; whether the server runs
    /// is the health gate's question (so a crash counts as unhealthy, not as an engine
    /// error).
    async fn wait_running(&self, targets: &[Target]) -> Result<()> {
        for t in targets {
            self.docker
                .inspect_container(&t.id, None::<InspectContainerOptions>)
                .await
                .with_context(|| format!("inspecting container {}", short(&t.id)))?;
        }
        Ok(())
    }

    async fn terminate(&self, release_id: &str) -> Result<()> {
        for c in list(&self.docker, &self.site, Some(release_id)).await? {
            docker::remove(&self.docker, &c.id).await?;
        }
        Ok(())
    }

    async fn diagnostics(&self, targets: &[Target]) -> String {
        let mut out = String::new();
        for t in targets {
            let log = docker::logs(&self.docker, &t.id).await;
            out.push_str(&format!(
                "container {}:\n{}\n",
                short(&t.id),
                log.trim_end()
            ));
        }
        out
    }
}

/// Health from the containers themselves: the engine's view (exited, restarting) first,
/// then an HTTP GET of the health path on the container's port.
pub struct HttpHealth {
    pub docker: Docker,
    pub path: String,
    pub http: reqwest::Client,
    /// For a release being rolled out, any restart means it crashed: failed. For `status`,
    /// a container Docker restarted and that answers again is healthy (its restarts shown).
    pub restarts_fail: bool,
}

impl HttpHealth {
    pub fn new(docker: Docker, path: &str) -> Result<HttpHealth> {
        Ok(HttpHealth {
            docker,
            path: path.to_string(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(2))
                .build()?,
            restarts_fail: true,
        })
    }

    /// The view `status` wants (see `restarts_fail`).
    pub fn for_status(mut self) -> HttpHealth {
        self.restarts_fail = false;
        self
    }

    async fn probe(&self, target: &Target) -> TargetHealth {
        let health = |state, reason: Option<String>| TargetHealth {
            id: target.id.clone(),
            state,
            reason,
        };
        let info = match self
            .docker
            .inspect_container(&target.id, None::<InspectContainerOptions>)
            .await
        {
            Ok(i) => i,
            Err(e) => return health(HealthState::Failed, Some(format!("gone: {e}"))),
        };
        let restarts = info.restart_count.unwrap_or(0);
        if let Some(s) = &info.state {
            let exit = s.exit_code.unwrap_or_default();
            let down = s.running != Some(true) || s.restarting == Some(true);
            if down || (restarts > 0 && self.restarts_fail) {
                return health(
                    HealthState::Failed,
                    Some(format!(
                        "the server exited (code {exit}, restarted {restarts} times)"
                    )),
                );
            }
        }
        let port = match docker::port_of(&self.docker, &target.id).await {
            Ok(p) => p,
            Err(e) => return health(HealthState::Unhealthy, Some(e.to_string())),
        };
        let url = format!("http://127.0.0.1:{port}{}", self.path);
        match self.http.get(&url).send().await {
            Ok(r) if r.status().is_success() => health(
                HealthState::Healthy,
                (restarts > 0).then(|| format!("restarted {restarts} times")),
            ),
            Ok(r) => health(
                HealthState::Unhealthy,
                Some(format!("{url} answered {}", r.status())),
            ),
            Err(e) => health(HealthState::Unhealthy, Some(format!("{url}: {e}"))),
        }
    }
}

#[async_trait]
impl HealthGate for HttpHealth {
    async fn health(&self, _group: &str, targets: &[Target]) -> Result<Vec<TargetHealth>> {
        let mut out = Vec::new();
        for t in targets {
            out.push(self.probe(t).await);
        }
        Ok(out)
    }
}
