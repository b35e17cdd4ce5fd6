//! The instances' identity: a role EC2 can assume, with ECR read-only access (to pull the
//! image), in an instance profile. IAM is eventually consistent, so RunInstances may reject
//! a fresh profile for a while: see `instances::launch`.

use anyhow::Result;

use super::{sdk_error, tag_pairs, Aws};

const ECR_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";
const ASSUME_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Returns the instance profile's name, creating role and profile if missing and
/// converging the role's settings (trust policy, ECR read-only attached, tags) every time:
/// a publish that failed after creating the role must not leave it without its policy.
pub async fn ensure_instance_profile(aws: &Aws) -> Result<String> {
    let name = aws.name("instance");
    let tags = tag_pairs(aws.site(), "instance", None)
        .into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    ensure_role(aws, &name, tags).await?;
    ensure_ecr_read_only(aws, &name).await?;
    ensure_profile(aws, &name).await?;
    Ok(name)
}

/// The instance role, created or converged (who may assume it, its tags).
async fn ensure_role(aws: &Aws, name: &str, tags: Vec<aws_sdk_iam::types::Tag>) -> Result<()> {
    match aws.iam.get_role().role_name(name).send().await {
        Ok(_) => {
            aws.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(ASSUME_EC2)
                .send()
                .await
                .map_err(sdk_error("setting who may assume the instance role"))?;
            aws.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(sdk_error("tagging the instance role"))?;
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            aws.iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(ASSUME_EC2)
                .description("Galley instances: pull the site image from ECR")
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(sdk_error("creating the instance role"))?;
        }
        Err(e) => return Err(sdk_error("looking up the instance role")(e)),
    }
    Ok(())
}

/// ECR read-only on the role, attached when missing (or detached by hand).
async fn ensure_ecr_read_only(aws: &Aws, name: &str) -> Result<()> {
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(sdk_error("listing the instance role's policies"))?;
    let has_ecr = attached
        .attached_policies()
        .iter()
        .any(|p| p.policy_arn() == Some(ECR_READ_ONLY));
    if !has_ecr {
        aws.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(ECR_READ_ONLY)
            .send()
            .await
            .map_err(sdk_error("attaching ECR read-only to the instance role"))?;
    }
    Ok(())
}

/// The instance profile, holding the role.
async fn ensure_profile(aws: &Aws, name: &str) -> Result<()> {
    let profile = aws
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    match profile {
        Ok(p) => {
            let has_role = p
                .instance_profile()
                .is_some_and(|p| p.roles().iter().any(|r| r.role_name() == name));
            if !has_role {
                add_role(aws, name).await?;
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            aws.iam
                .create_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .map_err(sdk_error("creating the instance profile"))?;
            add_role(aws, name).await?;
        }
        Err(e) => return Err(sdk_error("looking up the instance profile")(e)),
    }
    Ok(())
}

async fn add_role(aws: &Aws, name: &str) -> Result<()> {
    aws.iam
        .add_role_to_instance_profile()
        .instance_profile_name(name)
        .role_name(name)
        .send()
        .await
        .map_err(sdk_error("adding the role to the instance profile"))?;
    Ok(())
}

/// Removes profile and role (destroy). Missing pieces are fine: destroy converges.
pub async fn delete(aws: &Aws) -> Result<()> {
    let name = aws.name("instance");
    let _ = aws
        .iam
        .remove_role_from_instance_profile()
        .instance_profile_name(&name)
        .role_name(&name)
        .send()
        .await;
    let _ = aws
        .iam
        .delete_instance_profile()
        .instance_profile_name(&name)
        .send()
        .await;
    let _ = aws
        .iam
        .detach_role_policy()
        .role_name(&name)
        .policy_arn(ECR_READ_ONLY)
        .send()
        .await;
    match aws.iam.delete_role().role_name(&name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(sdk_error("deleting the instance role")(e)),
    }
}
