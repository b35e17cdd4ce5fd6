//! `status`, `releases` and the rollback's choice on AWS, read-only: the load balancer,
//! the live release, each release's Auto Scaling group with its capacity and any
//! replacement under way, and every instance with the live target group's view of it.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::InstanceStateName;

use super::alb::{self, AlbHealth};
use super::scaling_group::{self, Group};
use super::{history, instances, Aws, TAG_RELEASE};
use crate::release::Release;
use crate::rollout::{self, HealthGate, HealthState, Target};
use crate::status::{Capacity, Member, Releases, Status, Target as StatusTarget};

/// The site's ALB, live release and every instance of any release, with the live target
/// group's view of each.
pub async fn status(aws: &Aws) -> Result<Status> {
    let Some((arn, dns)) = alb::find(aws).await? else {
        return Ok(Status {
            target: StatusTarget::Aws,
            url: None,
            live: None,
            members: Vec::new(),
            groups: Vec::new(),
        });
    };
    let serving = serving(aws, &arn).await?;
    let distribution = if aws.settings.cdn {
        super::cdn::find(aws).await?
    } else {
        None
    };
    let https = serving.as_ref().is_some_and(|(_, https)| *https);
    let live = match &serving {
        Some((l, _)) => alb::live(aws, l).await?,
        None => None,
    };
    let releases = history::list(aws).await?;
    let live_release = live
        .as_ref()
        .and_then(|l| releases.iter().find(|r| r.id == l.release_id).cloned());
    let health = match &live {
        Some(l) => live_health(aws, l).await?,
        None => Vec::new(),
    };
    let instances: Vec<Member> = instances::find(aws, None)
        .await?
        .iter()
        .map(|i| {
            let id = i.instance_id().unwrap_or_default().to_string();
            Member {
                name: None,
                zone: Some(
                    i.placement()
                        .and_then(|p| p.availability_zone())
                        .unwrap_or_default()
                        .to_string(),
                ),
                state: i
                    .state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default(),
                release: instances::tag(i, TAG_RELEASE)
                    .unwrap_or_default()
                    .to_string(),
                health: health
                    .iter()
                    .find(|h| h.id == id)
                    .map(|h| h.summary().to_lowercase()),
                id,
            }
        })
        .collect();
    let groups = scaling_group::find(aws, None)
        .await?
        .into_iter()
        .map(|g| {
            let live = live.as_ref().is_some_and(|l| l.release_id == g.release);
            capacity(&g, &instances, live.then_some(health.as_slice()))
        })
        .collect::<Vec<_>>();
    let mut with_activity = Vec::with_capacity(groups.len());
    for mut g in groups {
        if let Some(doing) = scaling_group::activity(aws, &g.name).await? {
            g.replacing.push(doing);
        }
        with_activity.push(g);
    }
    Ok(Status {
        target: StatusTarget::Aws,
        url: Some(match (&aws.settings.domain, https) {
            (Some(domain), _) if distribution.is_some() => format!("https://{domain}/"),
            (None, _) if distribution.is_some() => {
                format!(
                    "https://{}/",
                    distribution.map(|d| d.domain).unwrap_or_default()
                )
            }
            (Some(domain), true) => format!("https://{domain}/"),
            // A certificate of the author's own names their domain, which Galley does not
            // know; the ALB's name redirects to HTTPS.
            _ => format!("http://{dns}/"),
        }),
        live: live_release,
        members: instances,
        groups: with_activity,
    })
}

/// The site's release history, newest first, and which release is live.
pub async fn releases(aws: &Aws) -> Result<Releases> {
    let releases = history::list(aws).await?;
    let live = status(aws).await?.live.map(|r| r.id);
    Ok(Releases { live, releases })
}

/// The listener that serves the site as the load balancer is now (not as `deploy:` says
/// it should be: a publish that failed before changing it leaves it as it was): 443 when
/// there is an HTTPS listener, else 80.
pub async fn serving_listener(aws: &Aws, load_balancer: &str) -> Result<Option<String>> {
    Ok(serving(aws, load_balancer).await?.map(|(arn, _)| arn))
}

/// The serving listener and whether it is HTTPS.
async fn serving(aws: &Aws, load_balancer: &str) -> Result<Option<(String, bool)>> {
    let out = aws
        .elb
        .describe_listeners()
        .load_balancer_arn(load_balancer)
        .send()
        .await
        .map_err(super::sdk_error("reading listeners"))?;
    let on = |port: i32| {
        out.listeners()
            .iter()
            .find(|l| l.port() == Some(port))
            .and_then(|l| l.listener_arn())
            .map(str::to_string)
    };
    Ok(on(443)
        .map(|l| (l, true))
        .or_else(|| on(80).map(|l| (l, false))))
}

/// What the live target group says of each instance of the live release.
async fn live_health(aws: &Aws, live: &rollout::Live) -> Result<Vec<rollout::TargetHealth>> {
    let all: Vec<Target> = instances::find(aws, Some(&live.release_id))
        .await?
        .iter()
        .filter_map(|i| {
            Some(Target {
                id: i.instance_id()?.to_string(),
                zone: String::new(),
            })
        })
        .collect();
    AlbHealth { aws: aws.clone() }
        .health(&live.group, &all)
        .await
}

/// The release to roll back to: `wanted` (id or digest), or the newest release whose
/// digest differs from the live one.
pub async fn rollback_target(aws: &Aws, wanted: Option<&str>) -> Result<Release> {
    let releases = history::list(aws).await?;
    let live_id = status(aws).await?.live.map(|r| r.id);
    let live_digest = live_id
        .as_ref()
        .and_then(|id| releases.iter().find(|r| &r.id == id))
        .map(|r| r.digest.clone());
    match wanted {
        Some(id) => releases
            .into_iter()
            .find(|r| r.id == id || r.digest == id)
            .with_context(|| format!("no release {id}: see `galley releases`")),
        None => releases
            .into_iter()
            .find(|r| Some(&r.digest) != live_digest.as_ref())
            .context("there is no earlier release to roll back to"),
    }
}

/// A group's capacity, from what Auto Scaling says of its instances checked against what
/// EC2 says of them (Auto Scaling notices a dead instance only at its next health check),
/// and, for the live release, the target group's health: an instance Auto Scaling put in
/// service counts as replaced only once the load balancer sends it traffic.
fn capacity(
    group: &Group,
    members: &[Member],
    health: Option<&[rollout::TargetHealth]>,
) -> Capacity {
    let mut replacing = Vec::new();
    let mut in_service = 0;
    for i in &group.instances {
        let ec2_state = members
            .iter()
            .find(|m| m.id == i.id)
            .map_or("terminated", |m| m.state.as_str());
        let lb_state = health.map(|h| {
            h.iter()
                .find(|t| t.id == i.id)
                .map_or("not registered".to_string(), |t| t.summary())
        });
        if !i.in_service() {
            replacing.push(format!("{} is {} ({})", i.id, i.lifecycle, i.health));
        } else if ec2_state != InstanceStateName::Running.as_str() {
            replacing.push(format!(
                "{} is {ec2_state}: Auto Scaling replaces it at its next health check",
                i.id
            ));
        } else {
            in_service += 1;
            match lb_state {
                Some(state) if state != HealthState::Healthy.to_string() => {
                    replacing.push(format!(
                        "{} is in service but not healthy in the target group yet: {state}",
                        i.id
                    ))
                }
                _ => {}
            }
        }
    }
    if in_service < group.desired && replacing.is_empty() {
        replacing.push(format!(
            "{} of {} instances in service: Auto Scaling is starting the rest",
            in_service, group.desired
        ));
    }
    Capacity {
        name: group.name.clone(),
        release: group.release.clone(),
        desired: group.desired,
        in_service,
        healthy: health.map(|h| h.iter().filter(|t| t.state == HealthState::Healthy).count()),
        zones: group.zones.clone(),
        replacing,
    }
}
