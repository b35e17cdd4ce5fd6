//! `publish`'s side of the local load balancer: start it if it is not running (as a
//! detached `galley balancer` process), and drive it through its control API as the rollout
//! engine's [`LoadBalancer`].

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_trait::async_trait;
use galley_image::docker::{self, Docker};

use super::routes::Routes;
use super::state::{BalancerInfo, StateDir};
use crate::release::Release;
use crate::rollout::{Live, LoadBalancer, Target};

/// How long a freshly started balancer gets to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one running balancer.
#[derive(Debug, Clone)]
pub struct Admin {
    pub info: BalancerInfo,
    http: reqwest::Client,
}

/// What the control API reports.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Snapshot {
    pub routes: Routes,
    #[serde(default)]
    pub inflight: std::collections::HashMap<String, usize>,
}

impl Admin {
    fn new(info: BalancerInfo) -> Result<Admin> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(super::balancer::DRAIN_TIMEOUT + Duration::from_secs(5))
            .build()?;
        Ok(Admin { info, http })
    }

    /// The balancer's URL for the site.
    pub fn url(&self) -> String {
        format!("http://{}/", self.info.listen)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let url = format!("http://{}{path}", self.info.admin);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.info.token);
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let response = req
            .send()
            .await
            .with_context(|| format!("local load balancer: {method} {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "local load balancer: {method} {path}: {status}: {}",
                text.trim()
            );
        }
        serde_json::from_str(&text).with_context(|| format!("local load balancer: {path}"))
    }

    pub async fn snapshot(&self) -> Result<Snapshot> {
        let v = self.call(reqwest::Method::GET, "/routes", None).await?;
        Ok(serde_json::from_value(v)?)
    }

    /// Asks the balancer to stop (after in-flight requests finish).
    pub async fn shutdown(&self) -> Result<()> {
        self.call(reqwest::Method::POST, "/shutdown", None)
            .await
            .map(|_| ())
    }
}

/// The running balancer for this state folder, if one answers, with what it answered.
pub async fn find(state: &StateDir) -> Option<(Admin, Snapshot)> {
    let admin = Admin::new(state.balancer()?).ok()?;
    let snapshot = admin.snapshot().await.ok()?;
    Some((admin, snapshot))
}

/// Finds the site's balancer or starts one with `program balancer --state DIR --listen ADDR
/// --health-path PATH --site SITE` (it probes each container there and keeps the live
/// ones running). `port` must match a running balancer's (restarting it would drop the
/// site).
pub async fn ensure(
    state: &StateDir,
    program: &Path,
    port: Option<u16>,
    health_path: &str,
    site: &str,
) -> Result<Admin> {
    if let Some((admin, _)) = find(state).await {
        if let Some(p) = port.filter(|p| *p != admin.info.listen.port()) {
            anyhow::bail!(
                "the local load balancer already serves this site on {} (not port {p}); \
                 run `galley destroy --target local` first or leave out --port",
                admin.info.listen
            );
        }
        return Ok(admin);
    }
    let listen = SocketAddr::from((
        [127, 0, 0, 1],
        port.or_else(|| state.balancer().map(|b| b.listen.port()))
            .unwrap_or(super::balancer::DEFAULT_LISTEN.port()),
    ));
    let log_path = state.log_path();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut child = Command::new(program)
        .arg("balancer")
        .arg("--state")
        .arg(&state.dir)
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--health-path")
        .arg(health_path)
        .arg("--site")
        .arg(site)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Its own process group: Ctrl-C on `publish` must not take the site down.
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} balancer", program.display()))?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let last: Vec<&str> = log.lines().rev().take(5).collect();
            anyhow::bail!(
                "the local load balancer exited ({status}) at start:\n{}",
                last.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if let Some((admin, _)) = find(state).await.filter(|(a, _)| a.info.pid == child.id()) {
            return Ok(admin);
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            anyhow::bail!(
                "the local load balancer did not answer within {START_TIMEOUT:?}; see {}",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The rollout engine's load balancer for the local target: one group per release, named
/// by the release id.
pub struct LocalBalancer {
    pub admin: Admin,
    pub docker: Docker,
}

#[async_trait]
impl LoadBalancer for LocalBalancer {
    async fn create_group(&self, release: &Release) -> Result<String> {
        let path = format!("/groups/{}", release.id);
        self.admin
            .call(reqwest::Method::PUT, &path, Some(serde_json::json!([])))
            .await?;
        Ok(release.id.clone())
    }

    async fn register(&self, group: &str, targets: &[Target]) -> Result<()> {
        // A container whose server already exited has no port: it cannot take traffic,
        // and the health gate reports why, so it is left out here rather than failing as
        // an engine error.
        let mut backends = Vec::new();
        for t in targets {
            if let Ok(port) = docker::port_of(&self.docker, &t.id).await {
                backends.push(SocketAddr::from(([127, 0, 0, 1], port)));
            }
        }
        self.admin
            .call(
                reqwest::Method::PUT,
                &format!("/groups/{group}"),
                Some(serde_json::to_value(backends)?),
            )
            .await
            .map(|_| ())
    }

    async fn forward(&self, weights: &[(String, u8)]) -> Result<()> {
        self.admin
            .call(
                reqwest::Method::PUT,
                "/forward",
                Some(serde_json::to_value(weights)?),
            )
            .await
            .map(|_| ())
    }

    async fn live(&self) -> Result<Option<Live>> {
        let snapshot = self.admin.snapshot().await?;
        Ok(snapshot.routes.live().map(|g| Live {
            group: g.to_string(),
            release_id: g.to_string(),
        }))
    }

    async fn drain(&self, group: &str) -> Result<()> {
        let v = self
            .admin
            .call(
                reqwest::Method::POST,
                &format!("/groups/{group}/drain"),
                None,
            )
            .await?;
        if v.get("drained") != Some(&serde_json::Value::Bool(true)) {
            anyhow::bail!("{group} did not drain: {v}");
        }
        Ok(())
    }

    async fn delete_group(&self, group: &str) -> Result<()> {
        self.admin
            .call(reqwest::Method::DELETE, &format!("/groups/{group}"), None)
            .await
            .map(|_| ())
    }
}
