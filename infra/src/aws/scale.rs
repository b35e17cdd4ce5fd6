//! `galley scale`: changes how many instances the live release runs, without a new
//! release. The live release's Auto Scaling group is resized (min, max and desired alike)
//! under the publish lock, then Galley waits until the group has that many instances in
//! service and healthy in the live target group, as a publish's health gate would.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde::Serialize;

use super::alb::{self, AlbHealth};
use super::scaling_group;
use super::status::serving_listener;
use super::{lock, Aws};
use crate::deployment::Timing;
use crate::rollout::{HealthGate, HealthState, Progress, Target};
use crate::settings::validate_count;

#[derive(Debug, Clone, Serialize)]
pub struct Scaled {
    pub release: String,
    pub group: String,
    pub from: usize,
    pub to: usize,
    /// Instances healthy in the live target group when Galley stopped waiting.
    pub healthy: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    /// The count asked for is not one Galley runs (fewer than two instances).
    #[error("{0}")]
    Invalid(String),
    /// Nothing to scale: no release is live, or it runs outside an Auto Scaling group.
    #[error("{0}")]
    NotScalable(String),
    #[error("the publish lock is held: {0}")]
    Locked(String),
    /// The group never reached the new count healthy within the health timeout; it keeps
    /// trying (the count stays as asked).
    #[error("{0}")]
    Unhealthy(String),
    #[error("{0:#}")]
    Infra(anyhow::Error),
}

/// Resizes the live release's group to `count` and waits until it is there.
pub async fn scale(
    aws: &Aws,
    count: usize,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Scaled, ScaleError> {
    validate_count("the instance count", count).map_err(ScaleError::Invalid)?;
    lock::acquire(aws, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            lock::LockError::Held(text) => ScaleError::Locked(text),
            lock::LockError::Service(e) => ScaleError::Infra(e),
        })?;
    let result = scale_locked(aws, count, timing, progress).await;
    let unlocked = lock::release(aws).await;
    let scaled = result?;
    unlocked.map_err(ScaleError::Infra)?;
    Ok(scaled)
}

async fn scale_locked(
    aws: &Aws,
    count: usize,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Scaled, ScaleError> {
    let infra = ScaleError::Infra;
    let live = match alb::find(aws).await.map_err(infra)? {
        Some((arn, _)) => match serving_listener(aws, &arn).await.map_err(infra)? {
            Some(listener) => alb::live(aws, &listener).await.map_err(infra)?,
            None => None,
        },
        None => None,
    };
    let live = live.ok_or_else(|| {
        ScaleError::NotScalable(format!(
            "site {} has no live release to scale: run `galley publish` first",
            aws.site()
        ))
    })?;
    let group = scaling_group::find(aws, Some(&live.release_id))
        .await
        .map_err(infra)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ScaleError::NotScalable(format!(
                "the live release {} runs outside an Auto Scaling group (it was published by an older Galley): publish once to move it onto one, then scale",
                live.release_id
            ))
        })?;
    progress.step(&format!(
        "scaling {} from {} to {count} instances",
        live.release_id, group.desired
    ));
    scaling_group::resize(aws, &group.name, count)
        .await
        .map_err(infra)?;
    let timeout = Duration::from_secs(aws.settings.health_timeout);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let gate = AlbHealth { aws: aws.clone() };
    loop {
        let now = scaling_group::find(aws, Some(&live.release_id))
            .await
            .map_err(infra)?
            .into_iter()
            .next()
            .ok_or_else(|| ScaleError::Infra(anyhow!("the group {} is gone", group.name)))?;
        let serving: Vec<Target> = now
            .instances
            .iter()
            .filter(|i| i.in_service())
            .map(|i| Target {
                id: i.id.clone(),
                zone: i.zone.clone(),
            })
            .collect();
        let healthy = gate
            .health(&live.group, &serving)
            .await
            .map_err(infra)?
            .iter()
            .filter(|h| h.state == HealthState::Healthy)
            .count();
        if now.instances.len() == count && serving.len() == count && healthy == count {
            progress.done(
                &format!("scaled {} to {count} instances", live.release_id),
                started.elapsed(),
            );
            return Ok(Scaled {
                release: live.release_id,
                group: group.name,
                from: group.desired,
                to: count,
                healthy,
            });
        }
        let summary = format!(
            "{} instances, {} in service, {healthy} healthy of {count}",
            now.instances.len(),
            serving.len()
        );
        if started.elapsed() >= timeout {
            return Err(ScaleError::Unhealthy(format!(
                "{} asked for {count} instances but has {summary} after {}s; Auto Scaling keeps trying (see `galley status`)",
                group.name,
                timeout.as_secs()
            )));
        }
        if last_report.elapsed() >= timing.report_every {
            progress.waiting(&format!(
                "waiting {}s: {summary}",
                started.elapsed().as_secs()
            ));
            last_report = Instant::now();
        }
        tokio::time::sleep(timing.poll).await;
    }
}
