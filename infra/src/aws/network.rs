//! Where things run: the VPC (the default one unless set), subnets in distinct availability
//! zones, and the two security groups: the ALB's (80/443 from anywhere, IPv4 and IPv6) and
//! the instances' (8080 from the ALB's group only; nothing else, no SSH).

use anyhow::{bail, Context, Result};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, TagSpecification, UserIdGroupPair,
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
    /// One per distinct AZ, as many as the instance count (at least two).
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

/// One subnet per AZ, `count` of them. AWS requires an ALB to span two AZs (moto does not
/// check) and high availability needs each instance in its own AZ.
pub fn distinct_zones(subnets: &[Subnet], count: usize) -> Result<Vec<Subnet>> {
    let mut picked: Vec<Subnet> = Vec::new();
    for s in subnets {
        if !picked.iter().any(|p| p.zone == s.zone) {
            picked.push(s.clone());
        }
    }
    if picked.len() < count.max(2) {
        bail!(
            "{} instances need subnets in {} distinct availability zones, found {} ({}): list subnets in more zones under deploy.subnets",
            count,
            count.max(2),
            picked.len(),
            picked.iter().map(|s| format!("{} in {}", s.id, s.zone)).collect::<Vec<_>>().join(", ")
        );
    }
    picked.truncate(count);
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

pub async fn ensure_security_groups(aws: &Aws, vpc: &str) -> Result<SecurityGroups> {
    let alb = match find_group(aws, "alb").await? {
        Some(g) => g,
        None => {
            let g = create_group(
                aws,
                vpc,
                "alb",
                "Galley load balancer: HTTP/HTTPS from anywhere",
            )
            .await?;
            let world = |port: i32| {
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(port)
                    .to_port(port)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                    .build()
            };
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(&g)
                .ip_permissions(world(80))
                .ip_permissions(world(443))
                .send()
                .await
                .map_err(sdk_error("opening 80/443 on the load balancer's group"))?;
            g
        }
    };
    let instances = match find_group(aws, "instances").await? {
        Some(g) => g,
        None => {
            let g = create_group(
                aws,
                vpc,
                "instances",
                "Galley instances: 8080 from the load balancer only",
            )
            .await?;
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(&g)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(8080)
                        .to_port(8080)
                        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&alb).build())
                        .build(),
                )
                .send()
                .await
                .map_err(sdk_error(
                    "admitting the load balancer to the instances' group",
                ))?;
            g
        }
    };
    Ok(SecurityGroups { alb, instances })
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
        let err = distinct_zones(&[s("a1", "us-east-1a"), s("a2", "us-east-1a")], 2).unwrap_err();
        assert!(
            err.to_string().contains("2 distinct availability zones"),
            "{err}"
        );
    }
}
