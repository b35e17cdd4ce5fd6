//! `publish`'s last step, `deploy` and `rollback` on AWS: take the lock, make sure the
//! site's shared resources exist, clean up what a killed publish left, run the rollout
//! engine on an Auto Scaling group and the ALB, record the release, release the lock.

use std::time::Duration;

use anyhow::Result;

use super::alb::{self, AlbBalancer, AlbHealth};
use super::compute::{self, GroupCompute};
use super::domain::{self, DomainError};
use super::launch_template::{self, Spec};
use super::network::Admit;
use super::{
    cdn, history, iam, instances, lock, network, origin_secret, scaling_group, Aws, TAG_RELEASE,
};
pub use crate::deployment::{DeployError, Report, Timing};
use crate::release::Release;
use crate::rollout::{self, HealthGate, LoadBalancer, Plan, Progress};
use crate::user_data::Pull;

/// How long an Auto Scaling group may take to start a release's instances (AWS starts
/// them within seconds; a launch that fails, e.g. on a capacity shortage, is retried by
/// Auto Scaling until then).
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// What to deploy: an image already pushed, by digest.
#[derive(Debug, Clone)]
pub struct Request {
    pub digest: String,
    /// `host/repository` the instances pull from.
    pub repository: String,
    pub pull: Pull,
    /// Behind a CDN: the URL paths whose bytes changed since the live release (`None`:
    /// unknown, so everything is invalidated; empty: nothing is).
    pub invalidate: Option<Vec<String>>,
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
    let certificates = domain::certificates(aws, timing, progress)
        .await
        .map_err(|e| match e {
            DomainError::NotIssued(text) => DeployError::Certificate(text),
            DomainError::Infra(e) => DeployError::Infra(e),
        })?;
    // The ALB's HTTPS listener serves the domain's certificate (`origin.<domain>`'s behind
    // a CDN).
    let with_certificate;
    let aws = match &certificates {
        Some(c) => {
            with_certificate = aws.with_certificate(&c.load_balancer.certificate);
            &with_certificate
        }
        None => aws,
    };
    let shared = async {
        let net = network::find_network(aws).await?;
        // The load balancer stays open to all until the distribution exists, so a
        // CloudFront failure never leaves the site unreachable.
        // Looked up on every publish: also to retire one when `cdn` was turned off.
        let distribution = cdn::find(aws).await?;
        let behind_cdn = aws.settings.cdn && distribution.is_some();
        let port = if certificates.is_some() { 443 } else { 80 };
        let admit = if behind_cdn {
            Admit::CloudFront(port)
        } else {
            Admit::World
        };
        let groups = network::ensure_security_groups(aws, &net.vpc, admit).await?;
        let profile = iam::ensure_instance_profile(aws).await?;
        let subnet_ids: Vec<String> = net.subnets.iter().map(|s| s.id.clone()).collect();
        let lb = alb::ensure(aws, &subnet_ids, &groups.alb).await?;
        if !aws.settings.cdn {
            alb::ensure_origin_gate(aws, &lb.listener, None).await?;
        }
        let ami = instances::current_ami(aws).await?;
        Ok((net, groups, profile, lb, ami, distribution))
    };
    let (net, groups, profile, lb, ami, existing) = rollout::timed(
        progress,
        "preparing the network, role and load balancer",
        shared,
    )
    .await
    .map_err(infra)?;
    // The distribution is made (or pointed at the load balancer with the new secret) before
    // the release, so a CloudFront failure leaves the live release as it was.
    let distribution = if aws.settings.cdn {
        let front = async {
            // A new secret each publish; the load balancer takes it and the last one. An
            // existing distribution gets it only after the listener accepts it; a new one
            // is made first, so a CloudFront failure leaves nothing stored or gated.
            let secrets = origin_secret::next(aws).await?;
            if existing.is_some() {
                origin_secret::store(aws, &secrets).await?;
                alb::ensure_origin_gate(aws, &lb.listener, Some(&secrets)).await?;
            }
            // With a domain, CloudFront reaches the load balancer over HTTPS by its
            // `origin.` name; without, over HTTP by the load balancer's own name.
            let (origin, viewer, port) = match &certificates {
                Some(c) => {
                    let target = alb::alias_target(aws, &lb.arn).await?;
                    domain::point(aws, &c.load_balancer, &target).await?;
                    (
                        cdn::Origin::Https(c.load_balancer.name.clone()),
                        c.viewer.as_ref(),
                        443,
                    )
                }
                None => (cdn::Origin::Http(lb.dns_name.clone()), None, 80),
            };
            let distribution =
                cdn::ensure(aws, existing.as_ref(), &origin, viewer, &secrets).await?;
            if existing.is_none() {
                origin_secret::store(aws, &secrets).await?;
                alb::ensure_origin_gate(aws, &lb.listener, Some(&secrets)).await?;
            }
            network::admit_to_load_balancer(aws, &groups.alb, Admit::CloudFront(port)).await?;
            Ok(distribution)
        };
        Some(
            rollout::timed(progress, "preparing the CDN", front)
                .await
                .map_err(infra)?,
        )
    } else {
        None
    };
    let balancer = AlbBalancer {
        aws: aws.clone(),
        alb: lb.clone(),
        vpc: net.vpc.clone(),
        drain_poll: timing.poll,
    };
    let live = converge(aws, &balancer, progress).await.map_err(infra)?;
    let capacity = capacity(aws, live.as_deref()).await.map_err(infra)?;
    let compute = GroupCompute {
        aws: aws.clone(),
        subnets: net.subnets.clone(),
        spec: Spec {
            ami,
            security_group: groups.instances.clone(),
            instance_profile: profile,
            pull: request.pull.clone(),
        },
        capacity,
        // Auto Scaling leaves a new instance alone as long as the health gate would wait.
        grace_seconds: aws.settings.health_timeout,
        poll: timing.poll,
        launch_timeout: LAUNCH_TIMEOUT,
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
    let url = match &certificates {
        Some(c) => {
            // The domain points at the distribution when there is one, else at the ALB.
            let (name, target) = match (&c.viewer, &distribution) {
                (Some(viewer), Some(d)) => (viewer, cdn::alias_target(d)),
                _ => (
                    &c.load_balancer,
                    alb::alias_target(aws, &lb.arn).await.map_err(infra)?,
                ),
            };
            rollout::timed(
                progress,
                &format!("pointing {} at the site", name.name),
                domain::point(aws, name, &target),
            )
            .await
            .map_err(infra)?;
            format!("https://{}/", name.name)
        }
        None => match &distribution {
            Some(d) => format!("https://{}/", d.domain),
            None => format!("http://{}/", lb.dns_name),
        },
    };
    if let (false, Some(old)) = (aws.settings.cdn, &existing) {
        // `cdn` turned off: the load balancer was reopened before the release and the
        // domain now points at it, so the distribution goes (deleted once AWS allows).
        retire_cdn(aws, old, timing, progress)
            .await
            .map_err(infra)?;
    }
    let mut invalidated = Vec::new();
    if let Some(d) = &distribution {
        let paths = request
            .invalidate
            .clone()
            .unwrap_or_else(|| vec!["/*".to_string()]);
        match rollout::timed(progress, "invalidating the CDN", cdn::invalidate(aws, &d.id, &paths))
            .await
        {
            Ok(paths) => invalidated = paths,
            Err(e) => progress.waiting(&format!(
                "the release is live but the CDN was not invalidated ({e:#}); cached copies expire by their Cache-Control"
            )),
        }
    }
    Ok(Report {
        url,
        outcome,
        invalidated,
    })
}

/// Removes releases that are not live: what a killed publish (or a failed cleanup) left.
/// Returns the live release.
async fn converge(
    aws: &Aws,
    balancer: &AlbBalancer,
    progress: &dyn Progress,
) -> Result<Option<String>> {
    let live = balancer.live().await?.map(|l| l.release_id);
    let stale = |release: &str| !release.is_empty() && Some(release) != live.as_deref();
    for (arn, release) in alb::groups(aws).await? {
        if stale(&release) {
            progress.waiting(&format!("removing leftover release {release}"));
            compute::remove_release(aws, Some(&release)).await?;
            balancer.delete_group(&arn).await?;
        }
    }
    // Groups, templates and instances whose target group never got made.
    let mut leftovers: Vec<String> = scaling_group::find(aws, None)
        .await?
        .into_iter()
        .map(|g| g.release)
        .chain(
            launch_template::find(aws, None)
                .await?
                .into_iter()
                .map(|(_, r)| r),
        )
        .chain(
            instances::find(aws, None)
                .await?
                .iter()
                .filter_map(|i| instances::tag(i, TAG_RELEASE).map(str::to_string)),
        )
        .filter(|r| stale(r))
        .collect();
    leftovers.sort();
    leftovers.dedup();
    for release in leftovers {
        progress.waiting(&format!("removing leftover instances of {release}"));
        compute::remove_release(aws, Some(&release)).await?;
    }
    Ok(live)
}

/// Instances the new release starts with: `deploy: instance_count`, unless `galley scale`
/// changed the live release's capacity since and `deploy:` still says what it said when
/// the live release was made (then the scaled capacity carries over, so a publish in the
/// middle of a traffic peak does not shrink the site).
pub(crate) async fn capacity(aws: &Aws, live: Option<&str>) -> Result<usize> {
    let configured = aws.settings.instance_count;
    let Some(live) = live else {
        return Ok(configured);
    };
    Ok(match scaling_group::find(aws, Some(live)).await?.first() {
        Some(g) if g.configured == Some(configured) && g.desired >= 2 => g.desired,
        _ => configured,
    })
}

/// Disables and deletes the distribution of a site whose `deploy:` no longer asks for one,
/// and its secret; a distribution AWS is still deploying is left disabled for the next
/// publish or `destroy` to delete.
async fn retire_cdn(
    aws: &Aws,
    distribution: &cdn::Distribution,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<()> {
    let gone = rollout::timed(
        progress,
        "removing the CDN (deploy.cdn is off)",
        cdn::remove(aws, distribution, timing.poll, 3),
    )
    .await?;
    if !gone {
        progress.waiting("the distribution is disabled; it is deleted once AWS allows");
    }
    origin_secret::delete(aws).await
}
