//! EC2 instances of the site, found by their tags: the AMI they boot, their states, and
//! terminating a release's (Auto Scaling groups start them: see [`super::compute`]).

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{Filter, InstanceStateName};

use super::{sdk_error, Aws, TAG_RELEASE, TAG_SITE};

/// The public SSM parameter naming the current Amazon Linux 2023 AMI.
pub const AMI_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

pub async fn current_ami(aws: &Aws) -> Result<String> {
    let out = aws
        .ssm
        .get_parameter()
        .name(AMI_PARAMETER)
        .send()
        .await
        .map_err(sdk_error("resolving the Amazon Linux 2023 AMI"))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .context("the AMI parameter has no value")
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Live (pending or running) instances of the site, optionally of one release.
pub async fn find(aws: &Aws, release: Option<&str>) -> Result<Vec<aws_sdk_ec2::types::Instance>> {
    let mut request = aws
        .ec2
        .describe_instances()
        .filters(filter(&format!("tag:{TAG_SITE}"), aws.site()))
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("shutting-down")
                .values("stopping")
                .values("stopped")
                .build(),
        );
    if let Some(r) = release {
        request = request.filters(filter(&format!("tag:{TAG_RELEASE}"), r));
    }
    let out = request
        .send()
        .await
        .map_err(sdk_error("listing instances"))?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances().to_vec())
        .collect())
}

pub fn tag<'a>(instance: &'a aws_sdk_ec2::types::Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Each instance's state, by id.
pub async fn states(aws: &Aws, ids: &[String]) -> Result<Vec<(String, InstanceStateName)>> {
    let out = aws
        .ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(sdk_error("reading instance states"))?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.state()
                    .and_then(|s| s.name())
                    .cloned()
                    .unwrap_or(InstanceStateName::Pending),
            )
        })
        .collect())
}

/// Terminates the site's instances of one release (or all of them) and waits until gone.
pub async fn terminate_release(aws: &Aws, release: Option<&str>) -> Result<()> {
    let ids: Vec<String> = find(aws, release)
        .await?
        .iter()
        .filter(|i| {
            !matches!(
                i.state().and_then(|s| s.name()),
                Some(InstanceStateName::ShuttingDown)
            )
        })
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    aws.ec2
        .terminate_instances()
        .set_instance_ids(Some(ids))
        .send()
        .await
        .map_err(sdk_error("terminating instances"))?;
    Ok(())
}
