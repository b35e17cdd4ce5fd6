//! A release's Auto Scaling group: its instances, spread over the site's availability
//! zones and attached to the release's target group, with ELB health checks, so that AWS
//! replaces an instance that dies or stops answering the health check (what keeps a
//! release at capacity between publishes). One group per release keeps blue/green as it
//! was: the new group comes up beside the old one and the old one is deleted after the
//! switch.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use aws_sdk_autoscaling::types::{Filter, LaunchTemplateSpecification, LifecycleState, Tag};

use super::network::Subnet;
use super::{sdk_error, tag_pairs, Aws, TAG_RELEASE, TAG_SITE};
use crate::release::Release;

/// The `instance_count` in `deploy:` when the group was made: a later publish keeps a
/// capacity set by `galley scale` as long as `deploy:` still says what it said then.
pub const TAG_CONFIGURED: &str = "galley:configured-count";

/// What a new group is made with.
#[derive(Debug, Clone)]
pub struct Shape {
    pub launch_template: String,
    pub subnets: Vec<Subnet>,
    pub target_group: String,
    pub capacity: usize,
    /// Seconds after launch before a failing ELB health check gets an instance replaced:
    /// time to boot, install Docker and pull the image.
    pub grace_seconds: u64,
}

/// A group as Galley reads it back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    pub name: String,
    pub release: String,
    pub desired: usize,
    pub min: usize,
    pub max: usize,
    pub zones: Vec<String>,
    pub health_check_type: String,
    pub grace_seconds: u64,
    pub target_groups: Vec<String>,
    /// `deploy: instance_count` when the group was made.
    #[serde(skip)]
    pub configured: Option<usize>,
    pub instances: Vec<GroupInstance>,
    /// Set while AWS deletes the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupInstance {
    pub id: String,
    pub zone: String,
    /// `Pending`, `InService`, `Terminating`, …
    pub lifecycle: String,
    /// What Auto Scaling thinks: `Healthy` or `Unhealthy`.
    pub health: String,
}

impl GroupInstance {
    pub fn in_service(&self) -> bool {
        self.lifecycle == LifecycleState::InService.as_str() && self.health == "Healthy"
    }
}

/// `galley-<site>-<release>`, like the release's launch template.
pub fn name(aws: &Aws, release_id: &str) -> String {
    aws.name(release_id)
}

/// Creates the release's group (or finds the one a crashed attempt made) and returns its
/// name. Auto Scaling starts the instances on its own from here.
pub async fn ensure(aws: &Aws, release: &Release, shape: &Shape) -> Result<String> {
    let name = name(aws, &release.id);
    if find(aws, Some(&release.id))
        .await?
        .into_iter()
        .next()
        .is_some()
    {
        return Ok(name);
    }
    let capacity = i32::try_from(shape.capacity).context("instance count too large")?;
    let zones = shape
        .subnets
        .iter()
        .map(|s| s.id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut tags: Vec<Tag> = tag_pairs(aws.site(), "instance", Some(&release.id))
        .into_iter()
        .map(|(k, v)| tag(&name, k, v, true))
        .collect();
    tags.push(tag(
        &name,
        TAG_CONFIGURED.into(),
        aws.settings.instance_count.to_string(),
        false,
    ));
    aws.autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(&name)
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id(&shape.launch_template)
                .version("$Latest")
                .build(),
        )
        .min_size(capacity)
        .max_size(capacity)
        .desired_capacity(capacity)
        .vpc_zone_identifier(zones)
        .health_check_type("ELB")
        .health_check_grace_period(i32::try_from(shape.grace_seconds).unwrap_or(i32::MAX))
        .target_group_arns(&shape.target_group)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(sdk_error("creating the Auto Scaling group"))?;
    Ok(name)
}

fn tag(group: &str, key: String, value: String, propagate: bool) -> Tag {
    Tag::builder()
        .resource_id(group)
        .resource_type("auto-scaling-group")
        .key(key)
        .value(value)
        .propagate_at_launch(propagate)
        .build()
}

/// The site's groups (of one release, or all), oldest release first.
pub async fn find(aws: &Aws, release: Option<&str>) -> Result<Vec<Group>> {
    let mut request = aws.autoscaling.describe_auto_scaling_groups().filters(
        Filter::builder()
            .name(format!("tag:{TAG_SITE}"))
            .values(aws.site())
            .build(),
    );
    if let Some(r) = release {
        request = request.filters(
            Filter::builder()
                .name(format!("tag:{TAG_RELEASE}"))
                .values(r)
                .build(),
        );
    }
    let mut groups = Vec::new();
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_error("listing Auto Scaling groups"))?;
        groups.extend(page.auto_scaling_groups().iter().filter_map(read));
    }
    groups.sort_by(|a, b| a.release.cmp(&b.release));
    Ok(groups)
}

fn read(g: &aws_sdk_autoscaling::types::AutoScalingGroup) -> Option<Group> {
    let tag = |key: &str| {
        g.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
    };
    let count = |n: Option<i32>| usize::try_from(n.unwrap_or(0)).unwrap_or(0);
    let zones: BTreeSet<String> = g.availability_zones().iter().cloned().collect();
    Some(Group {
        name: g.auto_scaling_group_name()?.to_string(),
        release: tag(TAG_RELEASE)?.to_string(),
        desired: count(g.desired_capacity()),
        min: count(g.min_size()),
        max: count(g.max_size()),
        zones: zones.into_iter().collect(),
        health_check_type: g.health_check_type().unwrap_or_default().to_string(),
        grace_seconds: u64::try_from(g.health_check_grace_period().unwrap_or(0)).unwrap_or(0),
        target_groups: g.target_group_arns().to_vec(),
        configured: tag(TAG_CONFIGURED).and_then(|v| v.parse().ok()),
        instances: g
            .instances()
            .iter()
            .filter_map(|i| {
                Some(GroupInstance {
                    id: i.instance_id()?.to_string(),
                    zone: i.availability_zone().unwrap_or_default().to_string(),
                    lifecycle: i
                        .lifecycle_state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    health: i.health_status().unwrap_or_default().to_string(),
                })
            })
            .collect(),
        status: g.status().map(str::to_string),
    })
}

/// Sets the group's size: min, max and desired all to `capacity`, so Auto Scaling keeps
/// exactly that many (replacing, never adding beyond it).
pub async fn resize(aws: &Aws, group: &str, capacity: usize) -> Result<()> {
    let capacity = i32::try_from(capacity).context("instance count too large")?;
    aws.autoscaling
        .update_auto_scaling_group()
        .auto_scaling_group_name(group)
        .min_size(capacity)
        .max_size(capacity)
        .desired_capacity(capacity)
        .send()
        .await
        .map_err(sdk_error("resizing the Auto Scaling group"))?;
    Ok(())
}

/// Deletes the release's group (or all of the site's) with its instances. AWS terminates
/// them in the background; the group disappears when they are gone.
pub async fn delete(aws: &Aws, release: Option<&str>) -> Result<()> {
    for g in find(aws, release).await? {
        if g.status.is_some() {
            continue; // already being deleted
        }
        aws.autoscaling
            .delete_auto_scaling_group()
            .auto_scaling_group_name(&g.name)
            .force_delete(true)
            .send()
            .await
            .map_err(sdk_error("deleting the Auto Scaling group"))?;
    }
    Ok(())
}

/// What Auto Scaling is doing to the group now (a replacement, a resize), if anything.
pub async fn activity(aws: &Aws, group: &str) -> Result<Option<String>> {
    let out = aws
        .autoscaling
        .describe_scaling_activities()
        .auto_scaling_group_name(group)
        .max_records(10)
        .send()
        .await
        .map_err(sdk_error("reading scaling activities"))?;
    Ok(out
        .activities()
        .iter()
        .find(|a| {
            a.status_code()
                .is_some_and(|s| !matches!(s.as_str(), "Successful" | "Failed" | "Cancelled"))
        })
        .and_then(|a| a.description())
        .map(str::to_string))
}
