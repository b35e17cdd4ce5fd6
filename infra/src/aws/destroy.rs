//! Removes everything Galley created for a site, found by tags: Auto Scaling groups with
//! their instances, launch templates, target groups, load balancer and listeners, security
//! groups (after what references them is gone, as AWS requires and moto does not check),
//! the instance role and profile, the SSM parameters, the domain's certificates and the
//! records Galley wrote for it.
//! The ECR repository and the hosted zone stay: images are the site's history, and the
//! zone holds the rest of the domain.

use std::time::Duration;

use anyhow::Result;

use super::{
    alb, cdn, compute, domain, history, iam, instances, lock, network, origin_secret, sdk_error,
    Aws,
};

pub async fn destroy(aws: &Aws, mut progress: impl FnMut(&str)) -> Result<()> {
    progress("deleting Auto Scaling groups, launch templates and instances");
    compute::remove_release(aws, None).await?;
    wait_instances_gone(aws).await?;
    if let Some(distribution) = cdn::find(aws).await? {
        progress("disabling and deleting the CloudFront distribution");
        if !cdn::remove(aws, &distribution, Duration::from_secs(5), 120).await? {
            progress("the distribution is disabled; AWS allows deleting it once deployed: run destroy again later");
        }
    }
    origin_secret::delete(aws).await?;
    if let Some((arn, _)) = alb::find(aws).await? {
        progress("deleting the load balancer");
        aws.elb
            .delete_load_balancer()
            .load_balancer_arn(&arn)
            .send()
            .await
            .map_err(sdk_error("deleting the load balancer"))?;
    }
    for (arn, release) in alb::groups(aws).await? {
        progress(&format!("deleting target group of {release}"));
        aws.elb
            .delete_target_group()
            .target_group_arn(&arn)
            .send()
            .await
            .map_err(sdk_error("deleting a target group"))?;
    }
    // Certificates can go once no listener uses them.
    domain::remove(aws, &mut progress).await?;
    // The instances' group references the ALB's: delete it first.
    for role in ["instances", "alb"] {
        if let Some(g) = network::find_group(aws, role).await? {
            progress(&format!("deleting the {role} security group"));
            aws.ec2
                .delete_security_group()
                .group_id(&g)
                .send()
                .await
                .map_err(sdk_error(format!("deleting the {role} security group")))?;
        }
    }
    progress("deleting the instance role");
    iam::delete(aws).await?;
    history::delete(aws).await?;
    lock::release(aws).await?;
    Ok(())
}

async fn wait_instances_gone(aws: &Aws) -> Result<()> {
    for _ in 0..300 {
        let left = instances::find(aws, None).await?;
        if left.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("instances still shutting down")
}
