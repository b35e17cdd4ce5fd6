//! `publish --dry-run` on AWS: what a publish would create, keep, replace or delete, read
//! from the account without changing it.

use anyhow::Result;

use super::deploy::capacity;
use super::{alb, domain, network, status::status, Aws};

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
    if let Some(name) = &aws.settings.domain {
        let zone = domain::zone::find(aws, name).await?;
        let certs = domain::certificate::of_site(aws, &aws.acm).await?;
        lines.push(match certs.iter().find(|c| &c.domain == name) {
            Some(c) => format!("keep the certificate for {name} ({})", c.status.as_str()),
            None => format!(
                "request a certificate for {name}, validated by DNS records in zone {} ({})",
                zone.name, zone.id
            ),
        });
        lines.push(format!(
            "serve HTTPS on 443 with it, redirect 80, and point {name} (alias) at the load balancer"
        ));
    }
    if aws.settings.cdn {
        lines.push(match crate::aws::cdn::find(aws).await? {
            Some(d) => format!(
                "keep CloudFront distribution {} ({}), with a new origin secret; invalidate after the switch",
                d.id, d.domain
            ),
            None => "create a CloudFront distribution in front of the load balancer, and admit only CloudFront (its prefix list and a secret header) to the load balancer".into(),
        });
    }
    let status = status(aws).await?;
    let live_id = status.live.as_ref().map(|r| r.id.clone());
    lines.push(format!(
        "build, push, create a target group, a launch template and an Auto Scaling group of {} × {} over {}",
        capacity(aws, live_id.as_deref()).await?,
        aws.settings.instance_type,
        net.subnets
            .iter()
            .map(|s| s.zone.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    match &status.live {
        Some(live) => lines.push(format!(
            "switch the listener from {} after every new target is healthy, then drain its {} instances and delete its Auto Scaling group, launch template and target group",
            live.id,
            status.members.iter().filter(|i| i.release == live.id).count()
        )),
        None => lines.push("point the listener at the new release once every target is healthy".into()),
    }
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
