//! A release's launch template: what every instance of the release boots with, whether the
//! first ones or a replacement the Auto Scaling group starts months later. The current
//! Amazon Linux 2023 AMI, IMDSv2 required with hop limit 2 (containers are one hop further),
//! an encrypted gp3 root volume, no key pair (no SSH), the instance profile, the instances'
//! security group, and the release's cloud-config (which pulls the image by digest).

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    Filter, InstanceType, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType,
    TagSpecification, VolumeType,
};
use base64::Engine;

use super::{sdk_error, Aws, TAG_RELEASE, TAG_SITE};
use crate::release::Release;
use crate::user_data::{cloud_config, Pull};

/// What a release's instances need besides the release itself.
#[derive(Debug, Clone)]
pub struct Spec {
    pub ami: String,
    pub security_group: String,
    pub instance_profile: String,
    pub pull: Pull,
}

/// `galley-<site>-<release>`: unique per release, so a crashed attempt is found again.
pub fn name(aws: &Aws, release_id: &str) -> String {
    aws.name(release_id)
}

/// The release's template id, created if missing.
pub async fn ensure(aws: &Aws, release: &Release, spec: &Spec) -> Result<String> {
    if let Some((id, _)) = find(aws, Some(&release.id)).await?.into_iter().next() {
        return Ok(id);
    }
    let tags = aws.ec2_tags("instance", Some(&release.id));
    let user_data = cloud_config(&release.image, &spec.pull);
    let data = RequestLaunchTemplateData::builder()
        .image_id(&spec.ami)
        .instance_type(InstanceType::from(aws.settings.instance_type.as_str()))
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(&spec.instance_profile)
                .build(),
        )
        .security_group_ids(&spec.security_group)
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .http_put_response_hop_limit(2)
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                .build(),
        )
        .block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name("/dev/xvda")
                .ebs(
                    LaunchTemplateEbsBlockDeviceRequest::builder()
                        .encrypted(true)
                        .volume_type(VolumeType::Gp3)
                        .volume_size(8)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        )
        .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(tags.clone()))
                .build(),
        )
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Volume)
                .set_tags(Some(tags))
                .build(),
        )
        .build();
    let out = aws
        .ec2
        .create_launch_template()
        .launch_template_name(name(aws, &release.id))
        .version_description(format!("{} {}", release.id, release.digest))
        .launch_template_data(data)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::LaunchTemplate)
                .set_tags(Some(aws.ec2_tags("launch-template", Some(&release.id))))
                .build(),
        )
        .send()
        .await
        .map_err(sdk_error("creating the launch template"))?;
    out.launch_template()
        .and_then(|t| t.launch_template_id())
        .map(str::to_string)
        .context("CreateLaunchTemplate returned no template")
}

/// The site's launch templates (of one release, or all), as (id, release).
pub async fn find(aws: &Aws, release: Option<&str>) -> Result<Vec<(String, String)>> {
    let mut request = aws.ec2.describe_launch_templates().filters(
        Filter::builder()
            .name(format!("tag:{TAG_SITE}"))
            .values(aws.site())
            .build(),
    );
    if let Some(r) = release {
        request = request.filters(
            Filter::builder()
                .name(format!("tag:{TAG_RELEASE}"))
                .values(r)
                .build(),
        );
    }
    let out = request
        .send()
        .await
        .map_err(sdk_error("listing launch templates"))?;
    Ok(out
        .launch_templates()
        .iter()
        .filter_map(|t| {
            let release = t
                .tags()
                .iter()
                .find(|tag| tag.key() == Some(TAG_RELEASE))
                .and_then(|tag| tag.value())?;
            Some((t.launch_template_id()?.to_string(), release.to_string()))
        })
        .collect())
}

/// Deletes the release's template (or every template of the site).
pub async fn delete(aws: &Aws, release: Option<&str>) -> Result<()> {
    for (id, _) in find(aws, release).await? {
        aws.ec2
            .delete_launch_template()
            .launch_template_id(&id)
            .send()
            .await
            .map_err(sdk_error("deleting a launch template"))?;
    }
    Ok(())
}
