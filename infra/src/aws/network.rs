//! Where things run: the VPC (the default one unless set), subnets in distinct availability
//! zones, and the two security groups: the ALB's (80/443 from anywhere, IPv4 and IPv6) and
//! the instances' (8080 from the ALB's group only; nothing else, no SSH).

use anyhow::{bail, Context, Result};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, TagSpecification,
    UserIdGroupPair,
};

use super::{sdk_error, Aws, TAG_ROLE, TAG_SITE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub zone: String,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub vpc: String,
    /// One per distinct AZ, as many as the instance count where the region has them (at
    /// least two).
    pub subnets: Vec<Subnet>,
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub async fn find_network(aws: &Aws) -> Result<Network> {
    let vpc = match &aws.settings.vpc {
        Some(v) => v.clone(),
        None => {
            let out = aws
                .ec2
                .describe_vpcs()
                .filters(filter("isDefault", "true"))
                .send()
                .await
                .map_err(sdk_error("finding the default VPC"))?;
            out.vpcs()
                .first()
                .and_then(|v| v.vpc_id())
                .map(str::to_string)
                .context("this region has no default VPC: set deploy.vpc and deploy.subnets in _config.yml")?
        }
    };
    let mut request = aws.ec2.describe_subnets().filters(filter("vpc-id", &vpc));
    if !aws.settings.subnets.is_empty() {
        request = request.set_subnet_ids(Some(aws.settings.subnets.clone()));
    }
    let out = request.send().await.map_err(sdk_error("listing subnets"))?;
    let mut all: Vec<Subnet> = out
        .subnets()
        .iter()
        .filter(|s| {
            aws.settings.vpc.is_some()
                || !aws.settings.subnets.is_empty()
                || s.default_for_az() == Some(true)
        })
        .filter_map(|s| {
            Some(Subnet {
                id: s.subnet_id()?.to_string(),
                zone: s.availability_zone()?.to_string(),
            })
        })
        .collect();
    all.sort_by(|a, b| a.zone.cmp(&b.zone).then(a.id.cmp(&b.id)));
    let subnets = distinct_zones(&all, aws.settings.instance_count)?;
    Ok(Network { vpc, subnets })
}

/// One subnet per AZ, as many AZs as there are instances when the region has them, and at
/// least two: AWS requires an ALB to span two AZs (moto does not check), and high
/// availability needs the instances in more than one. More instances than AZs share them;
/// the Auto Scaling group balances them across the AZs.
pub fn distinct_zones(subnets: &[Subnet], count: usize) -> Result<Vec<Subnet>> {
    let mut picked: Vec<Subnet> = Vec::new();
    for s in subnets {
        if !picked.iter().any(|p| p.zone == s.zone) {
            picked.push(s.clone());
        }
    }
    if picked.len() < 2 {
        bail!(
            "high availability needs subnets in 2 distinct availability zones, found {} ({}): list subnets in more zones under deploy.subnets",
            picked.len(),
            picked.iter().map(|s| format!("{} in {}", s.id, s.zone)).collect::<Vec<_>>().join(", ")
        );
    }
    picked.truncate(count.max(2));
    Ok(picked)
}

#[derive(Debug, Clone)]
pub struct SecurityGroups {
    pub alb: String,
    pub instances: String,
}

pub async fn find_group(aws: &Aws, role: &str) -> Result<Option<String>> {
    let out = aws
        .ec2
        .describe_security_groups()
        .filters(filter(&format!("tag:{TAG_SITE}"), aws.site()))
        .filters(filter(&format!("tag:{TAG_ROLE}"), role))
        .send()
        .await
        .map_err(sdk_error("finding security groups"))?;
    Ok(out
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .map(str::to_string))
}

/// The two groups, created when missing, and their ingress rules converged: a rule that
/// is missing (a failed publish, a hand edit) is added, and one that Galley did not make
/// (port 22 opened by hand) is revoked, so instances stay reachable only from the ALB.
pub async fn ensure_security_groups(aws: &Aws, vpc: &str, admit: Admit) -> Result<SecurityGroups> {
    let alb = ensure_group(
        aws,
        vpc,
        "alb",
        "Galley load balancer: HTTP/HTTPS from anywhere",
    )
    .await?;
    let instances = ensure_group(
        aws,
        vpc,
        "instances",
        "Galley instances: 8080 from the load balancer only",
    )
    .await?;
    admit_to_load_balancer(aws, &alb, admit).await?;
    let from_alb = [Rule::new(
        i32::from(galley_image::config::PORT),
        Source::Group(alb.clone()),
    )];
    converge_ingress(aws, &instances, &from_alb, "the instances' group").await?;
    Ok(SecurityGroups { alb, instances })
}

/// Who may reach the load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Anyone, on 80 and 443.
    World,
    /// CloudFront's edges only, on one port (the site is behind its distribution): 443
    /// when CloudFront reaches it over HTTPS, else 80. One port, because the prefix list
    /// counts as ~55 rules against the group's 60.
    CloudFront(i32),
}

/// Converges the load balancer's group to admit `who`.
pub async fn admit_to_load_balancer(aws: &Aws, group: &str, who: Admit) -> Result<()> {
    let rules: Vec<Rule> = match who {
        Admit::CloudFront(port) => vec![Rule::new(
            port,
            Source::PrefixList(cloudfront_prefix_list(aws).await?),
        )],
        Admit::World => [80, 443]
            .into_iter()
            .flat_map(|port| {
                [
                    Rule::new(port, Source::Cidr("0.0.0.0/0".into())),
                    Rule::new(port, Source::Cidr6("::/0".into())),
                ]
            })
            .collect(),
    };
    converge_ingress(aws, group, &rules, "the load balancer's group").await
}

/// The AWS-managed prefix list of CloudFront's origin-facing addresses.
pub const CLOUDFRONT_PREFIX_LIST: &str = "com.amazonaws.global.cloudfront.origin-facing";

pub async fn cloudfront_prefix_list(aws: &Aws) -> Result<String> {
    let out = aws
        .ec2
        .describe_managed_prefix_lists()
        .filters(filter("prefix-list-name", CLOUDFRONT_PREFIX_LIST))
        .send()
        .await
        .map_err(sdk_error("finding CloudFront's prefix list"))?;
    out.prefix_lists()
        .first()
        .and_then(|p| p.prefix_list_id())
        .map(str::to_string)
        .with_context(|| format!("this region has no managed prefix list {CLOUDFRONT_PREFIX_LIST}"))
}

async fn ensure_group(aws: &Aws, vpc: &str, role: &str, description: &str) -> Result<String> {
    match find_group(aws, role).await? {
        Some(g) => Ok(g),
        None => create_group(aws, vpc, role, description).await,
    }
}

/// Where an ingress rule admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Cidr(String),
    Cidr6(String),
    Group(String),
    PrefixList(String),
}

/// One TCP port from one source: rules compared one by one, however AWS grouped them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rule {
    protocol: String,
    from: i32,
    to: i32,
    source: Source,
}

impl Rule {
    fn new(port: i32, source: Source) -> Rule {
        Rule {
            protocol: "tcp".into(),
            from: port,
            to: port,
            source,
        }
    }

    fn permission(&self) -> IpPermission {
        let p = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .from_port(self.from)
            .to_port(self.to);
        match &self.source {
            Source::Cidr(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).build()),
            Source::Cidr6(c) => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build()),
            Source::Group(g) => {
                p.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build())
            }
            Source::PrefixList(id) => {
                p.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).build())
            }
        }
        .build()
    }
}

/// A group's permissions as single rules.
fn rules_of(permissions: &[IpPermission]) -> Vec<Rule> {
    let mut out = Vec::new();
    for p in permissions {
        let rule = |source| Rule {
            protocol: p.ip_protocol().unwrap_or_default().to_string(),
            from: p.from_port().unwrap_or(-1),
            to: p.to_port().unwrap_or(-1),
            source,
        };
        out.extend(
            p.ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .map(|c| rule(Source::Cidr(c.into()))),
        );
        out.extend(
            p.ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(|c| rule(Source::Cidr6(c.into()))),
        );
        out.extend(
            p.user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id())
                .map(|g| rule(Source::Group(g.into()))),
        );
        out.extend(
            p.prefix_list_ids()
                .iter()
                .filter_map(|l| l.prefix_list_id())
                .map(|l| rule(Source::PrefixList(l.into()))),
        );
    }
    out
}

/// What to add and what to revoke so that `current` becomes `wanted`.
fn diff(current: &[Rule], wanted: &[Rule]) -> (Vec<Rule>, Vec<Rule>) {
    let missing = wanted
        .iter()
        .filter(|r| !current.contains(r))
        .cloned()
        .collect();
    let extra = current
        .iter()
        .filter(|r| !wanted.contains(r))
        .cloned()
        .collect();
    (missing, extra)
}

async fn converge_ingress(aws: &Aws, group: &str, wanted: &[Rule], what: &str) -> Result<()> {
    let out = aws
        .ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(sdk_error(format!("reading {what}")))?;
    let current = out
        .security_groups()
        .first()
        .map(|g| rules_of(g.ip_permissions()))
        .unwrap_or_default();
    let (missing, extra) = diff(&current, wanted);
    if !missing.is_empty() {
        aws.ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(missing.iter().map(Rule::permission).collect()))
            .send()
            .await
            .map_err(sdk_error(format!("adding the ingress rules of {what}")))?;
    }
    if !extra.is_empty() {
        aws.ec2
            .revoke_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(extra.iter().map(Rule::permission).collect()))
            .send()
            .await
            .map_err(sdk_error(format!(
                "revoking rules Galley did not make on {what}"
            )))?;
    }
    Ok(())
}

async fn create_group(aws: &Aws, vpc: &str, role: &str, description: &str) -> Result<String> {
    let out = aws
        .ec2
        .create_security_group()
        .group_name(aws.name(role))
        .description(description)
        .vpc_id(vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(aws.ec2_tags(role, None)))
                .build(),
        )
        .send()
        .await
        .map_err(sdk_error(format!("creating the {role} security group")))?;
    out.group_id()
        .map(str::to_string)
        .context("no security group id returned")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, zone: &str) -> Subnet {
        Subnet {
            id: id.into(),
            zone: zone.into(),
        }
    }

    #[test]
    fn rules_are_compared_one_by_one_and_strangers_are_revoked() {
        let perms = vec![
            Rule::new(80, Source::Cidr("0.0.0.0/0".into())).permission(),
            Rule::new(22, Source::Cidr("0.0.0.0/0".into())).permission(),
        ];
        let current = rules_of(&perms);
        let wanted = vec![
            Rule::new(80, Source::Cidr("0.0.0.0/0".into())),
            Rule::new(443, Source::Cidr("0.0.0.0/0".into())),
        ];
        let (missing, extra) = diff(&current, &wanted);
        assert_eq!(
            missing,
            vec![Rule::new(443, Source::Cidr("0.0.0.0/0".into()))]
        );
        assert_eq!(extra, vec![Rule::new(22, Source::Cidr("0.0.0.0/0".into()))]);
    }

    #[test]
    fn picks_one_subnet_per_zone_and_refuses_a_single_zone() {
        let picked = distinct_zones(
            &[
                s("a1", "us-east-1a"),
                s("a2", "us-east-1a"),
                s("b1", "us-east-1b"),
            ],
            2,
        )
        .unwrap();
        assert_eq!(picked, vec![s("a1", "us-east-1a"), s("b1", "us-east-1b")]);
        // Five instances in a two-zone region share the two zones.
        let picked = distinct_zones(&[s("a1", "us-east-1a"), s("b1", "us-east-1b")], 5).unwrap();
        assert_eq!(picked.len(), 2);
        let err = distinct_zones(&[s("a1", "us-east-1a"), s("a2", "us-east-1a")], 2).unwrap_err();
        assert!(
            err.to_string().contains("2 distinct availability zones"),
            "{err}"
        );
    }
}
