//! `publish`'s last step and `deploy`, `status`, `releases`, `rollback` on AWS: take the
//! lock, make sure the site's shared resources exist, clean up what a killed publish left,
//! run the rollout engine on EC2 and the ALB, record the release, release the lock.

use std::time::Duration;

use anyhow::{Context, Result};

use super::alb::{self, AlbBalancer, AlbHealth};
use super::instances::{self, Ec2Compute};
use super::{history, iam, lock, network, Aws, TAG_RELEASE};
pub use crate::deployment::{DeployError, Report, Timing};
use crate::release::Release;
use crate::rollout::{self, HealthGate, Plan, Progress, Target};
use crate::status::{Member, Releases, Status, Target as StatusTarget};
use crate::user_data::Pull;

/// What to deploy: an image already pushed, by digest.
#[derive(Debug, Clone)]
pub struct Request {
    pub digest: String,
    /// `host/repository` the instances pull from.
    pub repository: String,
    pub pull: Pull,
}

pub async fn deploy(
    aws: &Aws,
    request: &Request,
    gate: Option<&dyn HealthGate>,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Report, DeployError> {
    let now = chrono::Utc::now();
    lock::acquire(aws, now).await.map_err(|e| match e {
        lock::LockError::Held(text) => DeployError::Locked(anyhow::anyhow!(text)),
        lock::LockError::Service(e) => DeployError::Infra(e),
    })?;
    let result = deploy_locked(aws, request, gate, timing, progress, now).await;
    let unlocked = lock::release(aws).await;
    let report = result?;
    unlocked.map_err(DeployError::Infra)?;
    Ok(report)
}

async fn deploy_locked(
    aws: &Aws,
    request: &Request,
    gate: Option<&dyn HealthGate>,
    timing: &Timing,
    progress: &dyn Progress,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Report, DeployError> {
    let infra = DeployError::Infra;
    let shared = async {
        let net = network::find_network(aws).await?;
        let groups = network::ensure_security_groups(aws, &net.vpc).await?;
        let profile = iam::ensure_instance_profile(aws).await?;
        let subnet_ids: Vec<String> = net.subnets.iter().map(|s| s.id.clone()).collect();
        let lb = alb::ensure(aws, &subnet_ids, &groups.alb).await?;
        let ami = instances::current_ami(aws).await?;
        Ok((net, groups, profile, lb, ami))
    };
    let (net, groups, profile, lb, ami) = rollout::timed(
        progress,
        "preparing the network, role and load balancer",
        shared,
    )
    .await
    .map_err(infra)?;
    let balancer = AlbBalancer {
        aws: aws.clone(),
        alb: lb.clone(),
        vpc: net.vpc.clone(),
        drain_poll: timing.poll,
    };
    converge(aws, &balancer, progress).await.map_err(infra)?;
    let compute = Ec2Compute {
        aws: aws.clone(),
        subnets: net.subnets.clone(),
        security_group: groups.instances.clone(),
        instance_profile: profile,
        ami,
        pull: request.pull.clone(),
        poll: timing.poll,
    };
    let release = Release::new(&request.digest, &request.repository, now);
    let plan = Plan {
        release: release.clone(),
        health_timeout: Duration::from_secs(aws.settings.health_timeout),
        poll: timing.poll,
        report_every: timing.report_every,
        canary: aws
            .settings
            .canary
            .map(|c| (c.percent, Duration::from_secs(c.seconds))),
    };
    let alb_gate = AlbHealth { aws: aws.clone() };
    let gate: &dyn HealthGate = gate.unwrap_or(&alb_gate);
    let outcome = rollout::rollout(&plan, &compute, &balancer, gate, progress)
        .await
        .map_err(DeployError::Rollout)?;
    history::record(aws, &release).await.map_err(infra)?;
    Ok(Report {
        url: format!("http://{}/", lb.dns_name),
        outcome,
    })
}

/// Removes releases that are not live: what a killed publish (or a failed cleanup) left.
async fn converge(aws: &Aws, balancer: &AlbBalancer, progress: &dyn Progress) -> Result<()> {
    use crate::rollout::LoadBalancer;
    let live = balancer.live().await?;
    let live_release = live.as_ref().map(|l| l.release_id.clone());
    for (arn, release) in alb::groups(aws).await? {
        if Some(&release) != live_release.as_ref() {
            progress.waiting(&format!("removing leftover release {release}"));
            instances::terminate_release(aws, Some(&release)).await?;
            balancer.delete_group(&arn).await?;
        }
    }
    // Instances whose group never got made.
    for i in instances::find(aws, None).await? {
        let release = instances::tag(&i, TAG_RELEASE)
            .unwrap_or_default()
            .to_string();
        if Some(&release) != live_release.as_ref() && !release.is_empty() {
            progress.waiting(&format!("removing leftover instances of {release}"));
            instances::terminate_release(aws, Some(&release)).await?;
        }
    }
    Ok(())
}

/// The site's ALB, live release and every instance of any release, with the live target
/// group's view of each.
pub async fn status(aws: &Aws) -> Result<Status> {
    let Some((arn, dns)) = alb::find(aws).await? else {
        return Ok(Status {
            target: StatusTarget::Aws,
            url: None,
            live: None,
            members: Vec::new(),
        });
    };
    let live = match serving_listener(aws, &arn).await? {
        Some(l) => alb::live(aws, &l).await?,
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
    let instances = instances::find(aws, None)
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
    Ok(Status {
        target: StatusTarget::Aws,
        url: Some(format!("http://{dns}/")),
        live: live_release,
        members: instances,
    })
}

/// The site's release history, newest first, and which release is live.
pub async fn releases(aws: &Aws) -> Result<Releases> {
    let releases = history::list(aws).await?;
    let live = status(aws).await?.live.map(|r| r.id);
    Ok(Releases { live, releases })
}

/// The listener that serves the site: 443 with a certificate, else 80.
async fn serving_listener(aws: &Aws, load_balancer: &str) -> Result<Option<String>> {
    let port = if aws.settings.certificate_arn.is_some() {
        443
    } else {
        80
    };
    Ok(aws
        .elb
        .describe_listeners()
        .load_balancer_arn(load_balancer)
        .send()
        .await
        .map_err(super::sdk_error("reading listeners"))?
        .listeners()
        .iter()
        .find(|l| l.port() == Some(port))
        .and_then(|l| l.listener_arn())
        .map(str::to_string))
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

/// What a publish would do now, read-only: each line says create, keep, replace or delete.
pub async fn plan(aws: &Aws) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let net = network::find_network(aws).await?;
    lines.push(format!(
        "use VPC {} and subnets {}",
        net.vpc,
        net.subnets
            .iter()
            .map(|s| format!("{} ({})", s.id, s.zone))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for role in ["alb", "instances"] {
        let found = network::find_group(aws, role).await?;
        lines.push(match found {
            Some(g) => format!("keep security group {} ({g})", aws.name(role)),
            None => format!("create security group {}", aws.name(role)),
        });
    }
    let role = aws
        .iam
        .get_role()
        .role_name(aws.name("instance"))
        .send()
        .await
        .is_ok();
    lines.push(if role {
        format!("keep instance role and profile {}", aws.name("instance"))
    } else {
        format!(
            "create instance role and profile {} (ECR read-only)",
            aws.name("instance")
        )
    });
    let lb = alb::find(aws).await?;
    lines.push(match &lb {
        Some((_, dns)) => format!("keep load balancer {} ({dns})", aws.name("")),
        None => format!("create load balancer {} and its listener", aws.name("")),
    });
    lines.push(format!(
        "build, push, create a target group and launch {} × {} in {}",
        aws.settings.instance_count,
        aws.settings.instance_type,
        net.subnets
            .iter()
            .map(|s| s.zone.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let status = status(aws).await?;
    match &status.live {
        Some(live) => lines.push(format!(
            "switch the listener from {} after every new target is healthy, then drain and terminate its {} instances and delete its group",
            live.id,
            status.members.iter().filter(|i| i.release == live.id).count()
        )),
        None => lines.push("point the listener at the new release once every target is healthy".into()),
    }
    let live_id = status.live.map(|r| r.id);
    for i in status
        .members
        .iter()
        .filter(|i| Some(&i.release) != live_id.as_ref())
    {
        lines.push(format!(
            "delete leftover instance {} of {}",
            i.id, i.release
        ));
    }
    Ok(lines)
}
