//! The Application Load Balancer: created once per site (internet-facing, two AZs or more),
//! its listeners (HTTP 80; with a certificate, HTTPS 443 and 80 redirecting), and one target
//! group per release. Implements `LoadBalancer` and `HealthGate` (DescribeTargetHealth: the
//! ALB fails open when every target is unhealthy, so its answers prove nothing).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, ForwardActionConfig,
    HttpHeaderConditionConfig, Listener, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Rule, RuleCondition, Tag,
    TargetDescription, TargetGroupAttribute, TargetGroupTuple, TargetHealthDescription,
    TargetHealthStateEnum,
};

use super::origin_secret::{self, Secrets};
use super::{sdk_error, tag_pairs, Aws, TAG_RELEASE, TAG_SITE};
use crate::release::Release;
use crate::rollout::{HealthGate, HealthState, Live, LoadBalancer, Target, TargetHealth};

#[derive(Debug, Clone)]
pub struct Alb {
    pub arn: String,
    pub dns_name: String,
    /// The listener whose default action picks the release (443 with a certificate, else 80).
    pub listener: String,
}

fn tags(site: &str, role: &str, release: Option<&str>) -> Vec<Tag> {
    tag_pairs(site, role, release)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn no_release_yet() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("503")
                .content_type("text/plain")
                .message_body("No release is live yet.")
                .build(),
        )
        .build()
}

pub async fn find(aws: &Aws) -> Result<Option<(String, String)>> {
    let out = aws
        .elb
        .describe_load_balancers()
        .names(aws.name(""))
        .send()
        .await;
    match out {
        Ok(o) => Ok(o.load_balancers().first().and_then(|lb| {
            Some((
                lb.load_balancer_arn()?.to_string(),
                lb.dns_name().unwrap_or_default().to_string(),
            ))
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_load_balancer_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_error("looking up the load balancer")(e)),
    }
}

/// Where an alias record for the site's domain points: the ALB's DNS name and zone.
pub async fn alias_target(aws: &Aws, arn: &str) -> Result<super::domain::records::Alias> {
    let out = aws
        .elb
        .describe_load_balancers()
        .load_balancer_arns(arn)
        .send()
        .await
        .map_err(sdk_error("reading the load balancer"))?;
    let lb = out
        .load_balancers()
        .first()
        .context("the load balancer is gone")?;
    Ok(super::domain::records::Alias {
        dns_name: lb.dns_name().unwrap_or_default().to_string(),
        hosted_zone: lb
            .canonical_hosted_zone_id()
            .context("the load balancer has no hosted zone id")?
            .to_string(),
        ipv6: lb.ip_address_type().is_some_and(|t| t.as_str() != "ipv4"),
    })
}

/// Finds or creates the ALB and its listeners.
pub async fn ensure(aws: &Aws, subnets: &[String], security_group: &str) -> Result<Alb> {
    if subnets.len() < 2 {
        bail!("a load balancer needs subnets in at least two availability zones");
    }
    let (arn, dns_name) = match find(aws).await? {
        Some(found) => found,
        None => {
            let out = aws
                .elb
                .create_load_balancer()
                .name(aws.name(""))
                .set_subnets(Some(subnets.to_vec()))
                .security_groups(security_group)
                .scheme(LoadBalancerSchemeEnum::InternetFacing)
                .r#type(LoadBalancerTypeEnum::Application)
                .set_tags(Some(tags(aws.site(), "alb", None)))
                .send()
                .await
                .map_err(sdk_error("creating the load balancer"))?;
            let lb = out
                .load_balancers()
                .first()
                .context("no load balancer returned")?;
            (
                lb.load_balancer_arn().context("no ARN")?.to_string(),
                lb.dns_name().unwrap_or_default().to_string(),
            )
        }
    };
    converge_load_balancer(aws, &arn, security_group).await?;
    let listener = ensure_listeners(aws, &arn).await?;
    Ok(Alb {
        arn,
        dns_name,
        listener,
    })
}

/// An existing load balancer keeps the settings Galley gives it: its security group and
/// its tags (a hand edit or a failed publish is repaired by the next).
async fn converge_load_balancer(aws: &Aws, lb: &str, security_group: &str) -> Result<()> {
    let out = aws
        .elb
        .describe_load_balancers()
        .load_balancer_arns(lb)
        .send()
        .await
        .map_err(sdk_error("reading the load balancer"))?;
    let groups: Vec<&str> = out
        .load_balancers()
        .first()
        .map(|l| l.security_groups().iter().map(String::as_str).collect())
        .unwrap_or_default();
    if groups != [security_group] {
        aws.elb
            .set_security_groups()
            .load_balancer_arn(lb)
            .security_groups(security_group)
            .send()
            .await
            .map_err(sdk_error("setting the load balancer's security group"))?;
    }
    aws.elb
        .add_tags()
        .resource_arns(lb)
        .set_tags(Some(tags(aws.site(), "alb", None)))
        .send()
        .await
        .map_err(sdk_error("tagging the load balancer"))?;
    Ok(())
}

fn redirect_to_https() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build()
}

fn is_redirect(listener: &Listener) -> bool {
    listener
        .default_actions()
        .iter()
        .any(|a| a.r#type() == Some(&ActionTypeEnum::Redirect))
}

/// The listeners as the settings ask, whatever they were: without a certificate, HTTP on
/// 80 (forwarding to the release, not redirecting) and no 443; with one, HTTPS on 443 with
/// that certificate and 80 redirecting. Switching keeps the live release's forward, so the
/// site stays up while it changes. Returns the listener that picks the release.
async fn ensure_listeners(aws: &Aws, lb: &str) -> Result<String> {
    let out = aws
        .elb
        .describe_listeners()
        .load_balancer_arn(lb)
        .send()
        .await
        .map_err(sdk_error("listing listeners"))?;
    let on = |p: i32| out.listeners().iter().find(|l| l.port() == Some(p));
    let arn = |l: &Listener| l.listener_arn().unwrap_or_default().to_string();
    let forwarding = |l: Option<&Listener>| {
        l.filter(|l| !is_redirect(l))
            .and_then(|l| l.default_actions().first().cloned())
    };
    match &aws.settings.certificate_arn {
        None => {
            let http = match on(80) {
                Some(l) if is_redirect(l) => {
                    let action = forwarding(on(443)).unwrap_or_else(no_release_yet);
                    modify_action(aws, &arn(l), action, "HTTP listener").await?;
                    arn(l)
                }
                Some(l) => arn(l),
                None => {
                    let action = forwarding(on(443)).unwrap_or_else(no_release_yet);
                    create_listener(aws, lb, 80, ProtocolEnum::Http, None, action).await?
                }
            };
            if let Some(https) = on(443) {
                aws.elb
                    .delete_listener()
                    .listener_arn(arn(https))
                    .send()
                    .await
                    .map_err(sdk_error(
                        "removing the HTTPS listener (no certificate_arn is set)",
                    ))?;
            }
            Ok(http)
        }
        Some(cert) => {
            let https = match on(443) {
                Some(l) => {
                    let current = l.certificates().first().and_then(|c| c.certificate_arn());
                    if current != Some(cert.as_str()) {
                        aws.elb
                            .modify_listener()
                            .listener_arn(arn(l))
                            .certificates(Certificate::builder().certificate_arn(cert).build())
                            .send()
                            .await
                            .map_err(sdk_error("setting the HTTPS listener's certificate"))?;
                    }
                    arn(l)
                }
                None => {
                    let action = forwarding(on(80)).unwrap_or_else(no_release_yet);
                    create_listener(aws, lb, 443, ProtocolEnum::Https, Some(cert), action).await?
                }
            };
            match on(80) {
                Some(l) if is_redirect(l) => {}
                Some(l) => {
                    modify_action(aws, &arn(l), redirect_to_https(), "HTTP listener").await?
                }
                None => {
                    create_listener(aws, lb, 80, ProtocolEnum::Http, None, redirect_to_https())
                        .await?;
                }
            }
            Ok(https)
        }
    }
}

async fn modify_action(aws: &Aws, listener: &str, action: Action, what: &str) -> Result<()> {
    aws.elb
        .modify_listener()
        .listener_arn(listener)
        .default_actions(action)
        .send()
        .await
        .map_err(sdk_error(format!("setting the {what}'s action")))?;
    Ok(())
}

async fn create_listener(
    aws: &Aws,
    lb: &str,
    port: i32,
    protocol: ProtocolEnum,
    cert: Option<&str>,
    action: Action,
) -> Result<String> {
    let mut request = aws
        .elb
        .create_listener()
        .load_balancer_arn(lb)
        .port(port)
        .protocol(protocol)
        .default_actions(action)
        .set_tags(Some(tags(aws.site(), "listener", None)));
    if let Some(c) = cert {
        request = request.certificates(Certificate::builder().certificate_arn(c).build());
    }
    let out = request
        .send()
        .await
        .map_err(sdk_error(format!("creating the listener on {port}")))?;
    out.listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .map(str::to_string)
        .context("no listener returned")
}

/// Every target group of the site, as (arn, release id).
pub async fn groups(aws: &Aws) -> Result<Vec<(String, String)>> {
    let out = aws
        .elb
        .describe_target_groups()
        .send()
        .await
        .map_err(sdk_error("listing target groups"))?;
    let arns: Vec<String> = out
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_arn().map(str::to_string))
        .collect();
    let mut found = Vec::new();
    for chunk in arns.chunks(20) {
        let t = aws
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(sdk_error("reading target group tags"))?;
        for d in t.tag_descriptions() {
            let get = |k: &str| {
                d.tags()
                    .iter()
                    .find(|t| t.key() == Some(k))
                    .and_then(|t| t.value())
            };
            if get(TAG_SITE) == Some(aws.site()) {
                if let (Some(arn), Some(release)) = (d.resource_arn(), get(TAG_RELEASE)) {
                    found.push((arn.to_string(), release.to_string()));
                }
            }
        }
    }
    Ok(found)
}

pub struct AlbBalancer {
    pub aws: Aws,
    pub alb: Alb,
    pub vpc: String,
    pub drain_poll: Duration,
}

/// Target group names are at most 32 characters: the site (20 at most) and the release's
/// time and digest.
pub fn group_name(site: &str, release: &Release) -> String {
    let tail = release.id.get(12..).unwrap_or(&release.id);
    let mut name = format!("{site}-{tail}");
    name.truncate(32);
    name.trim_end_matches('-').to_string()
}

#[async_trait]
impl LoadBalancer for AlbBalancer {
    async fn create_group(&self, release: &Release) -> Result<String> {
        // Converge: a crashed attempt of this release may have made the group already.
        if let Some((arn, _)) = groups(&self.aws)
            .await?
            .into_iter()
            .find(|(_, r)| *r == release.id)
        {
            return Ok(arn);
        }
        let s = &self.aws.settings;
        let out = self
            .aws
            .elb
            .create_target_group()
            .name(group_name(&s.site, release))
            .protocol(ProtocolEnum::Http)
            .port(i32::from(galley_image::config::PORT))
            .vpc_id(&self.vpc)
            .health_check_path(&s.health_check_path)
            .health_check_interval_seconds(5)
            .health_check_timeout_seconds(4)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(2)
            .set_tags(Some(tags(&s.site, "release", Some(&release.id))))
            .send()
            .await
            .map_err(sdk_error("creating the target group"))?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .context("no target group returned")?
            .to_string();
        self.aws
            .elb
            .modify_target_group_attributes()
            .target_group_arn(&arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value("30")
                    .build(),
            )
            .send()
            .await
            .map_err(sdk_error("setting the deregistration delay"))?;
        Ok(arn)
    }

    async fn register(&self, group: &str, targets: &[Target]) -> Result<()> {
        let mut request = self.aws.elb.register_targets().target_group_arn(group);
        for t in targets {
            request = request.targets(
                TargetDescription::builder()
                    .id(&t.id)
                    .port(i32::from(galley_image::config::PORT))
                    .build(),
            );
        }
        request
            .send()
            .await
            .map_err(sdk_error("registering targets"))?;
        Ok(())
    }

    async fn forward(&self, weights: &[(String, u8)]) -> Result<()> {
        let mut config = ForwardActionConfig::builder();
        for (group, weight) in weights {
            config = config.target_groups(
                TargetGroupTuple::builder()
                    .target_group_arn(group)
                    .weight(i32::from(*weight))
                    .build(),
            );
        }
        let action = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(config.build())
            .build();
        match gate_rule(&self.aws, &self.alb.listener).await? {
            Some(rule) => {
                self.aws
                    .elb
                    .modify_rule()
                    .rule_arn(rule.rule_arn().unwrap_or_default())
                    .actions(action)
                    .send()
                    .await
                    .map_err(sdk_error("switching the listener rule"))?;
            }
            None => {
                self.aws
                    .elb
                    .modify_listener()
                    .listener_arn(&self.alb.listener)
                    .default_actions(action)
                    .send()
                    .await
                    .map_err(sdk_error("switching the listener"))?;
            }
        }
        Ok(())
    }

    async fn live(&self) -> Result<Option<Live>> {
        live(&self.aws, &self.alb.listener).await
    }

    async fn drain(&self, group: &str) -> Result<()> {
        let health = target_health(&self.aws, group, "reading old targets").await?;
        let targets: Vec<TargetDescription> =
            health.iter().filter_map(|d| d.target().cloned()).collect();
        if targets.is_empty() {
            return Ok(());
        }
        self.aws
            .elb
            .deregister_targets()
            .target_group_arn(group)
            .set_targets(Some(targets))
            .send()
            .await
            .map_err(sdk_error("deregistering old targets"))?;
        // Connections finish within the deregistration delay; wait until none is draining.
        for _ in 0..120 {
            let h = target_health(&self.aws, group, "waiting for old targets to drain").await?;
            let draining = h.iter().any(|d| {
                d.target_health().and_then(|t| t.state()) == Some(&TargetHealthStateEnum::Draining)
            });
            if !draining {
                return Ok(());
            }
            tokio::time::sleep(self.drain_poll).await;
        }
        bail!("old targets still draining")
    }

    async fn delete_group(&self, group: &str) -> Result<()> {
        let exists = self
            .aws
            .elb
            .describe_target_groups()
            .target_group_arns(group)
            .send()
            .await;
        if exists.is_err() {
            return Ok(());
        }
        self.aws
            .elb
            .delete_target_group()
            .target_group_arn(group)
            .send()
            .await
            .map_err(sdk_error("deleting the target group"))?;
        Ok(())
    }
}

/// What the listener does with a request no rule takes.
async fn default_action(aws: &Aws, listener: &str) -> Result<Option<Action>> {
    let out = aws
        .elb
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .map_err(sdk_error("reading the listener"))?;
    Ok(out
        .listeners()
        .first()
        .and_then(|l| l.default_actions().first())
        .cloned())
}

/// The priority of the rule that admits CloudFront (the only rule Galley makes).
const GATE_PRIORITY: i32 = 1;

/// Behind CloudFront: the rule that forwards requests carrying the origin secret, if any.
async fn gate_rule(aws: &Aws, listener: &str) -> Result<Option<Rule>> {
    let out = aws
        .elb
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .map_err(sdk_error("reading the listener's rules"))?;
    Ok(out
        .rules()
        .iter()
        .find(|r| r.priority() == Some(&GATE_PRIORITY.to_string()))
        .cloned())
}

fn direct_access_refused() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("403")
                .content_type("text/plain")
                .message_body("This site is served through its CDN.")
                .build(),
        )
        .build()
}

fn secret_condition(secrets: &Secrets) -> RuleCondition {
    RuleCondition::builder()
        .field("http-header")
        .http_header_config(
            HttpHeaderConditionConfig::builder()
                .http_header_name(origin_secret::HEADER)
                .set_values(Some(secrets.accepted()))
                .build(),
        )
        .build()
}

/// With `origin`: the listener's default action refuses (403) and one rule forwards what
/// carries a secret, so only the site's distribution reaches the release. Without: the rule
/// goes and the default action forwards again. Either way the live release's forward moves
/// with it, so the site keeps serving while this changes.
pub async fn ensure_origin_gate(aws: &Aws, listener: &str, origin: Option<&Secrets>) -> Result<()> {
    let rule = gate_rule(aws, listener).await?;
    match (origin, rule) {
        (Some(secrets), Some(rule)) => {
            aws.elb
                .modify_rule()
                .rule_arn(rule.rule_arn().unwrap_or_default())
                .conditions(secret_condition(secrets))
                .send()
                .await
                .map_err(sdk_error("updating the CDN's secret on the listener rule"))?;
        }
        (Some(secrets), None) => {
            let forwarding = default_action(aws, listener)
                .await?
                .filter(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
                .unwrap_or_else(no_release_yet);
            aws.elb
                .create_rule()
                .listener_arn(listener)
                .priority(GATE_PRIORITY)
                .conditions(secret_condition(secrets))
                .actions(forwarding)
                .set_tags(Some(tags(aws.site(), "cdn-gate", None)))
                .send()
                .await
                .map_err(sdk_error("creating the listener rule for the CDN"))?;
            modify_action(aws, listener, direct_access_refused(), "listener").await?;
        }
        (None, Some(rule)) => {
            let action = rule
                .actions()
                .first()
                .cloned()
                .unwrap_or_else(no_release_yet);
            modify_action(aws, listener, action, "listener").await?;
            aws.elb
                .delete_rule()
                .rule_arn(rule.rule_arn().unwrap_or_default())
                .send()
                .await
                .map_err(sdk_error("removing the CDN's listener rule"))?;
        }
        (None, None) => {}
    }
    Ok(())
}

/// The group the listener forwards to with the most weight, and its release.
pub async fn live(aws: &Aws, listener: &str) -> Result<Option<Live>> {
    let action = match gate_rule(aws, listener).await? {
        Some(rule) => rule.actions().first().cloned(),
        None => default_action(aws, listener).await?,
    };
    let Some(action) = action else {
        return Ok(None);
    };
    let mut candidates: Vec<(String, i32)> = action
        .forward_config()
        .map(|f| {
            f.target_groups()
                .iter()
                .filter_map(|t| Some((t.target_group_arn()?.to_string(), t.weight().unwrap_or(1))))
                .collect()
        })
        .unwrap_or_default();
    if candidates.is_empty() {
        if let Some(g) = action.target_group_arn() {
            candidates.push((g.to_string(), 100));
        }
    }
    candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
    let Some((group, _)) = candidates.into_iter().next() else {
        return Ok(None);
    };
    let release = groups(aws)
        .await?
        .into_iter()
        .find(|(arn, _)| *arn == group)
        .map(|(_, r)| r)
        .unwrap_or_default();
    Ok(Some(Live {
        group,
        release_id: release,
    }))
}

/// DescribeTargetHealth of one group; `what` names the step in errors.
async fn target_health(aws: &Aws, group: &str, what: &str) -> Result<Vec<TargetHealthDescription>> {
    let out = aws
        .elb
        .describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .map_err(sdk_error(what))?;
    Ok(out.target_health_descriptions().to_vec())
}

/// Target health as the gate sees it.
pub struct AlbHealth {
    pub aws: Aws,
}

#[async_trait]
impl HealthGate for AlbHealth {
    async fn health(&self, group: &str, targets: &[Target]) -> Result<Vec<TargetHealth>> {
        let out = target_health(&self.aws, group, "reading target health").await?;
        let mut health = Vec::new();
        for d in &out {
            let id = d
                .target()
                .and_then(|t| t.id())
                .unwrap_or_default()
                .to_string();
            if !targets.iter().any(|t| t.id == id) {
                continue;
            }
            let th = d.target_health();
            let state = match th.and_then(|t| t.state()) {
                Some(TargetHealthStateEnum::Healthy) => HealthState::Healthy,
                Some(TargetHealthStateEnum::Initial) => HealthState::Initial,
                Some(TargetHealthStateEnum::Draining) => HealthState::Draining,
                Some(TargetHealthStateEnum::Unused) => HealthState::Unused,
                _ => HealthState::Unhealthy,
            };
            let reason = th.and_then(|t| {
                let code = t.reason().map(|r| r.as_str().to_string());
                match (code, t.description()) {
                    (Some(c), Some(d)) => Some(format!("{c}: {d}")),
                    (c, d) => c.or(d.map(str::to_string)),
                }
            });
            health.push(TargetHealth { id, state, reason });
        }
        Ok(health)
    }
}
