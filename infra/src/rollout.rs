//! The rollout engine: puts a release live behind a load balancer, health-gated, with
//! rollback. It knows nothing of AWS or Docker; it drives three traits, so the same engine
//! deploys to EC2 behind an ALB and to containers behind Galley's local load balancer, and
//! tests can fail the health gate on purpose.
//!
//! new group and targets -> running -> registered -> all healthy (timeout) -> optional
//! canary (weighted, gated again) -> switch -> drain old -> terminate old.
//! Any failure before the switch removes what it created and leaves the listener as it was.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;

use crate::release::Release;

/// One instance or container serving a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: String,
    /// Availability zone (or `local`).
    pub zone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Initial,
    Healthy,
    Unhealthy,
    /// The target is gone (terminated, exited): waiting longer will not help.
    Failed,
    Draining,
    Unused,
}

impl std::fmt::Display for HealthState {
    /// Lowercase, as serialized.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HealthState::Initial => "initial",
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Failed => "failed",
            HealthState::Draining => "draining",
            HealthState::Unused => "unused",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetHealth {
    pub id: String,
    pub state: HealthState,
    /// Why, when not healthy (AWS reason code and description, or the probe's error).
    pub reason: Option<String>,
}

impl TargetHealth {
    /// `state (reason)`, or just the state: the health column of `status`.
    pub fn summary(&self) -> String {
        match &self.reason {
            Some(r) => format!("{} ({r})", self.state),
            None => self.state.to_string(),
        }
    }
}

/// The release the listener sends traffic to now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Live {
    pub group: String,
    pub release_id: String,
}

#[async_trait]
pub trait Compute: Send + Sync {
    /// Starts the release's targets, spread over zones, for `group` (a target group that
    /// may take them in by itself, as an Auto Scaling group does); returns them as soon as
    /// they exist.
    async fn launch(&self, release: &Release, group: &str) -> anyhow::Result<Vec<Target>>;
    /// Returns when every target is running.
    async fn wait_running(&self, targets: &[Target]) -> anyhow::Result<()>;
    /// Removes every target of the release (found by its tag, so it also converges after a
    /// crash).
    async fn terminate(&self, release_id: &str) -> anyhow::Result<()>;
    /// What the targets said while failing (console output, container log), if anything.
    async fn diagnostics(&self, targets: &[Target]) -> String;
}

#[async_trait]
pub trait LoadBalancer: Send + Sync {
    /// A target group for the release.
    async fn create_group(&self, release: &Release) -> anyhow::Result<String>;
    async fn register(&self, group: &str, targets: &[Target]) -> anyhow::Result<()>;
    /// Sends traffic by weight (percent) to groups; one group at 100 is a plain forward.
    async fn forward(&self, weights: &[(String, u8)]) -> anyhow::Result<()>;
    async fn live(&self) -> anyhow::Result<Option<Live>>;
    /// Deregisters every target and returns once connections have drained.
    async fn drain(&self, group: &str) -> anyhow::Result<()>;
    async fn delete_group(&self, group: &str) -> anyhow::Result<()>;
}

#[async_trait]
pub trait HealthGate: Send + Sync {
    async fn health(&self, group: &str, targets: &[Target]) -> anyhow::Result<Vec<TargetHealth>>;
}

/// Progress lines for people (and CI logs).
pub trait Progress: Send + Sync {
    fn step(&self, name: &str);
    fn done(&self, name: &str, took: Duration);
    fn waiting(&self, line: &str);
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub release: Release,
    pub health_timeout: Duration,
    /// How often health is polled.
    pub poll: Duration,
    /// How often a "waiting for" line is printed.
    pub report_every: Duration,
    pub canary: Option<(u8, Duration)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub release: Release,
    pub group: String,
    pub targets: Vec<Target>,
    pub previous: Option<Live>,
}

#[derive(Debug, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct RolloutError {
    pub step: String,
    pub detail: String,
    /// True when the engine removed what it had created and the old release still serves.
    pub rolled_back: bool,
    /// Whether the failure was the release's health (vs. an infrastructure error).
    pub unhealthy: bool,
}

/// A step that runs longer than this has hung (each AWS call has its own, shorter
/// timeouts; a step is several calls and waits).
pub const STEP_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// How often a step that is still running says so.
pub const STILL_WAITING_EVERY: Duration = Duration::from_secs(15);

/// Runs one named step, reporting its start and, if it succeeds, its time through
/// `Progress` (the one record of step times, for the rollout and the deploys around it).
/// A long step says every [`STILL_WAITING_EVERY`] what it is still waiting for, and fails
/// at [`STEP_DEADLINE`].
pub async fn timed<T>(
    progress: &dyn Progress,
    name: &str,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    timed_within(progress, name, STEP_DEADLINE, work).await
}

/// [`timed`] with a deadline of the step's own.
pub async fn timed_within<T>(
    progress: &dyn Progress,
    name: &str,
    deadline: Duration,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    progress.step(name);
    let started = Instant::now();
    tokio::pin!(work);
    let give_up = tokio::time::sleep(deadline);
    tokio::pin!(give_up);
    let mut still = tokio::time::interval_at(
        tokio::time::Instant::now() + STILL_WAITING_EVERY,
        STILL_WAITING_EVERY,
    );
    let out = loop {
        tokio::select! {
            out = &mut work => break out?,
            () = &mut give_up => anyhow::bail!(
                "gave up after {}s: the step did not finish within its deadline",
                deadline.as_secs()
            ),
            _ = still.tick() => progress.waiting(&format!(
                "still {name} ({}s so far)",
                started.elapsed().as_secs()
            )),
        }
    };
    progress.done(name, started.elapsed());
    Ok(out)
}

/// The rollout's steps: [`timed`], with the failing step's name kept for the error.
struct Steps<'a> {
    progress: &'a dyn Progress,
}

impl Steps<'_> {
    async fn run<T>(
        &self,
        name: &str,
        work: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> Result<T, (String, String)> {
        self.run_within(name, STEP_DEADLINE, work).await
    }

    async fn run_within<T>(
        &self,
        name: &str,
        deadline: Duration,
        work: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> Result<T, (String, String)> {
        timed_within(self.progress, name, deadline, work)
            .await
            .map_err(|e| (name.to_string(), format!("{e:#}")))
    }
}

/// Runs the rollout. On failure before the switch everything new is removed and the
/// listener is restored; the error says so.
pub async fn rollout(
    plan: &Plan,
    compute: &dyn Compute,
    lb: &dyn LoadBalancer,
    gate: &dyn HealthGate,
    progress: &dyn Progress,
) -> Result<Outcome, RolloutError> {
    let steps = Steps { progress };
    let previous = lb.live().await.map_err(|e| RolloutError {
        step: "reading the live release".into(),
        detail: format!("{e:#}"),
        rolled_back: false,
        unhealthy: false,
    })?;
    let mut group = None;
    let mut targets = Vec::new();
    let attempt = bring_up(
        plan,
        compute,
        lb,
        gate,
        &steps,
        previous.as_ref(),
        &mut group,
        &mut targets,
    )
    .await;
    if let Err((step, detail, unhealthy)) = attempt {
        let diagnostics = if unhealthy {
            compute.diagnostics(&targets).await
        } else {
            String::new()
        };
        progress.step("rolling back");
        let restored = restore(plan, compute, lb, previous.as_ref(), group.as_deref()).await;
        let mut detail = detail;
        if !diagnostics.trim().is_empty() {
            detail.push_str("\n--- from the new targets ---\n");
            detail.push_str(diagnostics.trim_end());
        }
        if let Err(e) = &restored {
            detail.push_str(&format!(
                "\nrollback incomplete: {e:#}; the next publish or destroy will finish it"
            ));
        }
        return Err(RolloutError {
            step,
            detail,
            rolled_back: restored.is_ok(),
            unhealthy,
        });
    }
    let group = group.unwrap_or_default();
    // The new release is live: from here on failures only leave old resources behind,
    // which the next publish converges.
    if let Some(old) = &previous {
        let cleanup = async {
            lb.drain(&old.group).await?;
            compute.terminate(&old.release_id).await?;
            lb.delete_group(&old.group).await
        };
        if let Err((step, detail)) = steps.run("retiring the old release", cleanup).await {
            progress.waiting(&format!(
                "{step}: {detail} (left for the next publish to clean up)"
            ));
        }
    }
    Ok(Outcome {
        release: plan.release.clone(),
        group,
        targets,
        previous,
    })
}

#[allow(clippy::too_many_arguments)]
async fn bring_up(
    plan: &Plan,
    compute: &dyn Compute,
    lb: &dyn LoadBalancer,
    gate: &dyn HealthGate,
    steps: &Steps<'_>,
    previous: Option<&Live>,
    group_out: &mut Option<String>,
    targets_out: &mut Vec<Target>,
) -> Result<(), (String, String, bool)> {
    let infra = |(s, d): (String, String)| (s, d, false);
    let group = steps
        .run("creating the target group", lb.create_group(&plan.release))
        .await
        .map_err(infra)?;
    *group_out = Some(group.clone());
    let targets = steps
        .run("launching", compute.launch(&plan.release, &group))
        .await
        .map_err(infra)?;
    *targets_out = targets.clone();
    steps
        .run("waiting until running", compute.wait_running(&targets))
        .await
        .map_err(infra)?;
    steps
        .run("registering", lb.register(&group, &targets))
        .await
        .map_err(infra)?;
    gate_step(plan, gate, steps, &group, &targets, "health gate").await?;
    if let (Some((percent, hold)), Some(old)) = (plan.canary, previous) {
        let weights = vec![(group.clone(), percent), (old.group.clone(), 100 - percent)];
        steps
            .run(&format!("canary at {percent}%"), lb.forward(&weights))
            .await
            .map_err(infra)?;
        let held = Instant::now();
        while held.elapsed() < hold {
            gate_once(gate, &group, &targets)
                .await
                .map_err(|d| ("canary".to_string(), d, true))?;
            tokio::time::sleep(plan.poll.min(hold.saturating_sub(held.elapsed()))).await;
        }
        gate_step(plan, gate, steps, &group, &targets, "canary health gate").await?;
    }
    steps
        .run(
            "switching the listener",
            lb.forward(&[(group.clone(), 100)]),
        )
        .await
        .map_err(infra)?;
    Ok(())
}

/// Fails at once if any target is not healthy now.
async fn gate_once(gate: &dyn HealthGate, group: &str, targets: &[Target]) -> Result<(), String> {
    let health = gate
        .health(group, targets)
        .await
        .map_err(|e| format!("{e:#}"))?;
    match health.iter().find(|h| h.state != HealthState::Healthy) {
        None => Ok(()),
        Some(h) => Err(format!(
            "{} became {:?}: {}",
            h.id,
            h.state,
            h.reason.as_deref().unwrap_or("-")
        )),
    }
}

/// Waits until every target is healthy, saying what it waits for; fails on timeout or on
/// a target that is gone.
async fn gate_step(
    plan: &Plan,
    gate: &dyn HealthGate,
    steps: &Steps<'_>,
    group: &str,
    targets: &[Target],
    name: &str,
) -> Result<(), (String, String, bool)> {
    let progress = steps.progress;
    let wait = async {
        let started = Instant::now();
        let mut last_report = Instant::now();
        loop {
            let health = gate.health(group, targets).await?;
            let waiting: Vec<&TargetHealth> = health
                .iter()
                .filter(|h| h.state != HealthState::Healthy)
                .collect();
            if waiting.is_empty() && health.len() >= targets.len() {
                return Ok(());
            }
            let summary = describe(&waiting);
            if let Some(gone) = waiting.iter().find(|h| h.state == HealthState::Failed) {
                anyhow::bail!(
                    "{} failed: {}",
                    gone.id,
                    gone.reason.as_deref().unwrap_or("it stopped")
                );
            }
            if started.elapsed() >= plan.health_timeout {
                anyhow::bail!(
                    "not every target healthy after {}s: {summary}",
                    plan.health_timeout.as_secs()
                );
            }
            if last_report.elapsed() >= plan.report_every {
                progress.waiting(&format!(
                    "waiting {}s for {} of {} targets: {summary}",
                    started.elapsed().as_secs(),
                    waiting.len().max(targets.len() - health.len()),
                    targets.len()
                ));
                last_report = Instant::now();
            }
            tokio::time::sleep(plan.poll).await;
        }
    };
    // The gate ends itself at the health timeout; the deadline only catches a hung call.
    steps
        .run_within(name, plan.health_timeout + STEP_DEADLINE, wait)
        .await
        .map_err(|(s, d)| (s, d, true))
}

fn describe(waiting: &[&TargetHealth]) -> String {
    waiting
        .iter()
        .map(|h| {
            format!(
                "{} {} ({})",
                h.id,
                h.state,
                h.reason.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Puts traffic back on the previous release and removes the new one.
async fn restore(
    plan: &Plan,
    compute: &dyn Compute,
    lb: &dyn LoadBalancer,
    previous: Option<&Live>,
    group: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(old) = previous {
        lb.forward(&[(old.group.clone(), 100)]).await?;
    }
    compute.terminate(&plan.release.id).await?;
    if let Some(g) = group {
        lb.delete_group(g).await?;
    }
    Ok(())
}
