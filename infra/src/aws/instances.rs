//! EC2 instances of a release: one per AZ from the current Amazon Linux 2023 AMI, IMDSv2
//! required with hop limit 2 (containers are one hop further), an encrypted root volume, no
//! key pair, the instance profile, and the release's cloud-config. Implements `Compute`.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState, IamInstanceProfileSpecification,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName, InstanceType,
    ResourceType, TagSpecification, VolumeType,
};
use base64::Engine;

use super::network::Subnet;
use super::{sdk_error, Aws, TAG_RELEASE, TAG_SITE};
use crate::release::Release;
use crate::rollout::{Compute, Target};
use crate::user_data::{cloud_config, Pull};

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

pub struct Ec2Compute {
    pub aws: Aws,
    pub subnets: Vec<Subnet>,
    pub security_group: String,
    pub instance_profile: String,
    pub ami: String,
    pub pull: Pull,
    /// How long to poll for state changes.
    pub poll: Duration,
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

impl Ec2Compute {
    async fn run_one(&self, release: &Release, subnet: &Subnet, user_data: &str) -> Result<Target> {
        let tags = self.aws.ec2_tags("instance", Some(&release.id));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .aws
                .ec2
                .run_instances()
                .image_id(&self.ami)
                .instance_type(InstanceType::from(self.aws.settings.instance_type.as_str()))
                .min_count(1)
                .max_count(1)
                .subnet_id(&subnet.id)
                .security_group_ids(&self.security_group)
                .iam_instance_profile(
                    IamInstanceProfileSpecification::builder()
                        .name(&self.instance_profile)
                        .build(),
                )
                .metadata_options(
                    InstanceMetadataOptionsRequest::builder()
                        .http_tokens(HttpTokensState::Required)
                        .http_put_response_hop_limit(2)
                        .http_endpoint(InstanceMetadataEndpointState::Enabled)
                        .build(),
                )
                .block_device_mappings(
                    BlockDeviceMapping::builder()
                        .device_name("/dev/xvda")
                        .ebs(
                            EbsBlockDevice::builder()
                                .encrypted(true)
                                .volume_type(VolumeType::Gp3)
                                .volume_size(8)
                                .delete_on_termination(true)
                                .build(),
                        )
                        .build(),
                )
                .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
                .client_token(format!("{}-{}", release.id, subnet.zone))
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::Instance)
                        .set_tags(Some(tags.clone()))
                        .build(),
                )
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::Volume)
                        .set_tags(Some(tags.clone()))
                        .build(),
                )
                .send()
                .await;
            match result {
                Ok(out) => {
                    let id = out
                        .instances()
                        .first()
                        .and_then(|i| i.instance_id())
                        .context("RunInstances returned no instance")?;
                    return Ok(Target {
                        id: id.to_string(),
                        zone: subnet.zone.clone(),
                    });
                }
                // A fresh instance profile is not visible to EC2 at once.
                Err(e) if attempt < 10 && is_profile_propagation(&e) => {
                    tokio::time::sleep(Duration::from_secs(2u64.pow(attempt.min(4)))).await;
                }
                Err(e) => {
                    return Err(sdk_error(format!(
                        "launching an instance in {}",
                        subnet.zone
                    ))(e))
                }
            }
        }
    }
}

fn is_profile_propagation<E: std::error::Error>(e: &E) -> bool {
    let text = format!("{}", aws_sdk_ec2::error::DisplayErrorContext(e));
    text.contains("Invalid IAM Instance Profile") || text.contains("iamInstanceProfile")
}

#[async_trait]
impl Compute for Ec2Compute {
    async fn launch(&self, release: &Release) -> Result<Vec<Target>> {
        let user_data = cloud_config(&release.image, &self.pull);
        // Converge: a crashed earlier attempt of this release may have left instances.
        let existing: Vec<_> = find(&self.aws, Some(&release.id))
            .await?
            .into_iter()
            .filter(|i| {
                matches!(
                    i.state().and_then(|s| s.name()),
                    Some(InstanceStateName::Pending | InstanceStateName::Running)
                )
            })
            .collect();
        let mut targets = Vec::new();
        for subnet in &self.subnets {
            let found = existing.iter().find(|i| {
                i.placement().and_then(|p| p.availability_zone()) == Some(subnet.zone.as_str())
            });
            match found.and_then(|i| i.instance_id()) {
                Some(id) => targets.push(Target {
                    id: id.to_string(),
                    zone: subnet.zone.clone(),
                }),
                None => targets.push(self.run_one(release, subnet, &user_data).await?),
            }
        }
        let zones: std::collections::BTreeSet<&str> =
            targets.iter().map(|t| t.zone.as_str()).collect();
        if zones.len() != targets.len() {
            bail!("two instances landed in one availability zone");
        }
        Ok(targets)
    }

    async fn wait_running(&self, targets: &[Target]) -> Result<()> {
        let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        for _ in 0..600 {
            let out = self
                .aws
                .ec2
                .describe_instances()
                .set_instance_ids(Some(ids.clone()))
                .send()
                .await
                .map_err(sdk_error("waiting for instances"))?;
            let states: Vec<(String, InstanceStateName)> = out
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
                .collect();
            if let Some((id, s)) = states.iter().find(|(_, s)| {
                !matches!(s, InstanceStateName::Pending | InstanceStateName::Running)
            }) {
                bail!("instance {id} is {} instead of starting", s.as_str());
            }
            if states.len() == ids.len()
                && states.iter().all(|(_, s)| *s == InstanceStateName::Running)
            {
                return Ok(());
            }
            tokio::time::sleep(self.poll).await;
        }
        bail!("instances did not reach running")
    }

    async fn terminate(&self, release_id: &str) -> Result<()> {
        terminate_release(&self.aws, Some(release_id)).await
    }

    async fn diagnostics(&self, targets: &[Target]) -> String {
        let mut out = String::new();
        for t in targets {
            let console = self
                .aws
                .ec2
                .get_console_output()
                .instance_id(&t.id)
                .latest(true)
                .send()
                .await;
            if let Ok(c) = console {
                if let Some(text) = c
                    .output()
                    .and_then(|o| base64::engine::general_purpose::STANDARD.decode(o).ok())
                {
                    let text = String::from_utf8_lossy(&text);
                    let tail: Vec<&str> = text.lines().rev().take(20).collect();
                    out.push_str(&format!("{} console (last lines):\n", t.id));
                    for line in tail.into_iter().rev() {
                        out.push_str(&format!("  {line}\n"));
                    }
                }
            }
        }
        out
    }
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
