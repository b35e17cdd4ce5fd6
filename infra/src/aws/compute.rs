//! A release's instances as the rollout engine's `Compute`: a launch template and an Auto
//! Scaling group attached to the release's target group. Launching returns the instances
//! the group started; terminating deletes the group (AWS terminates its instances), the
//! template, and any instance of the release outside a group (releases made before groups,
//! or what a crash left).

use std::time::Duration;

use anyhow::{bail, Result};
use async_trait::async_trait;
use aws_sdk_ec2::types::InstanceStateName;
use base64::Engine;

use super::launch_template::{self, Spec};
use super::network::Subnet;
use super::scaling_group::{self, Shape};
use super::{instances, Aws};
use crate::release::Release;
use crate::rollout::{Compute, Target};

pub struct GroupCompute {
    pub aws: Aws,
    pub subnets: Vec<Subnet>,
    pub spec: Spec,
    /// Instances the new group starts with.
    pub capacity: usize,
    pub grace_seconds: u64,
    /// How often to poll for the group's instances and their states.
    pub poll: Duration,
    /// How long the group may take to start its instances.
    pub launch_timeout: Duration,
}

#[async_trait]
impl Compute for GroupCompute {
    async fn launch(&self, release: &Release, group: &str) -> Result<Vec<Target>> {
        let template = launch_template::ensure(&self.aws, release, &self.spec).await?;
        let shape = Shape {
            launch_template: template,
            subnets: self.subnets.clone(),
            target_group: group.to_string(),
            capacity: self.capacity,
            grace_seconds: self.grace_seconds,
        };
        let name = scaling_group::ensure(&self.aws, release, &shape).await?;
        // Auto Scaling starts the instances asynchronously: wait until it has them all.
        let started = tokio::time::Instant::now();
        loop {
            let group = scaling_group::find(&self.aws, Some(&release.id))
                .await?
                .into_iter()
                .next();
            let instances = group.map(|g| g.instances).unwrap_or_default();
            if instances.len() >= self.capacity {
                return Ok(instances
                    .into_iter()
                    .map(|i| Target {
                        id: i.id,
                        zone: i.zone,
                    })
                    .collect());
            }
            if started.elapsed() >= self.launch_timeout {
                let why = scaling_group::activity(&self.aws, &name)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "no scaling activity reported".into());
                bail!(
                    "the Auto Scaling group {name} started {} of {} instances within {}s: {why}",
                    instances.len(),
                    self.capacity,
                    self.launch_timeout.as_secs()
                );
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    async fn wait_running(&self, targets: &[Target]) -> Result<()> {
        let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        let started = tokio::time::Instant::now();
        loop {
            let states = instances::states(&self.aws, &ids).await?;
            if let Some((id, s)) = states.iter().find(|(_, s)| {
                !matches!(s, InstanceStateName::Pending | InstanceStateName::Running)
            }) {
                bail!("instance {id} is {} instead of starting", s.as_str());
            }
            if states.len() == ids.len()
                && states.iter().all(|(_, s)| *s == InstanceStateName::Running)
            {
                return Ok(());
            }
            if started.elapsed() >= self.launch_timeout {
                bail!(
                    "instances did not reach running within {}s",
                    self.launch_timeout.as_secs()
                );
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    async fn terminate(&self, release_id: &str) -> Result<()> {
        remove_release(&self.aws, Some(release_id)).await
    }

    async fn diagnostics(&self, targets: &[Target]) -> String {
        let mut out = String::new();
        for t in targets {
            let console = self
                .aws
                .ec2
                .get_console_output()
                .instance_id(&t.id)
                .latest(true)
                .send()
                .await;
            let text = console.ok().and_then(|c| {
                c.output()
                    .and_then(|o| base64::engine::general_purpose::STANDARD.decode(o).ok())
            });
            if let Some(text) = text {
                let text = String::from_utf8_lossy(&text);
                let tail: Vec<&str> = text.lines().rev().take(20).collect();
                out.push_str(&format!("{} console (last lines):\n", t.id));
                for line in tail.into_iter().rev() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
        out
    }
}

/// Removes a release's compute (or all of the site's): its group with its instances, its
/// launch template, and instances of it outside any group.
pub async fn remove_release(aws: &Aws, release: Option<&str>) -> Result<()> {
    scaling_group::delete(aws, release).await?;
    instances::terminate_release(aws, release).await?;
    launch_template::delete(aws, release).await
}
