//! The secret CloudFront sends the load balancer in a header, so that only the site's own
//! distribution reaches it (CloudFront's prefix list admits every distribution). Kept in
//! an SSM SecureString; each publish makes a new one and the load balancer accepts the new
//! and the previous one, while CloudFront takes minutes to deploy the change.

use anyhow::Result;
use aws_sdk_ssm::types::ParameterType;
use serde::{Deserialize, Serialize};

use super::{sdk_error, Aws};

/// The request header CloudFront adds and the load balancer checks.
pub const HEADER: &str = "x-galley-origin";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    /// What CloudFront sends from this publish on.
    pub current: String,
    /// What it sent before (accepted until the next publish).
    pub previous: Option<String>,
}

impl Secrets {
    /// Every value the load balancer accepts.
    pub fn accepted(&self) -> Vec<String> {
        std::iter::once(self.current.clone())
            .chain(self.previous.clone())
            .collect()
    }
}

pub fn parameter(aws: &Aws) -> String {
    format!("/galley/{}/origin-secret", aws.site())
}

/// The stored secrets, if any.
pub async fn read(aws: &Aws) -> Result<Option<Secrets>> {
    match aws
        .ssm
        .get_parameter()
        .name(parameter(aws))
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => {
            let text = out.parameter().and_then(|p| p.value()).unwrap_or("{}");
            Ok(serde_json::from_str(text).ok())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_error("reading the origin secret")(e)),
    }
}

/// A new current secret, the stored current one becoming the previous one; not stored
/// yet (see [`store`]).
pub async fn next(aws: &Aws) -> Result<Secrets> {
    let old = read(aws).await?;
    Ok(Secrets {
        current: crate::token::random_hex("the origin secret")?,
        previous: old.map(|o| o.current),
    })
}

pub async fn store(aws: &Aws, secrets: &Secrets) -> Result<()> {
    aws.ssm
        .put_parameter()
        .name(parameter(aws))
        .value(serde_json::to_string(secrets)?)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(sdk_error("storing the origin secret"))?;
    Ok(())
}

pub async fn delete(aws: &Aws) -> Result<()> {
    super::delete_parameter(aws, &parameter(aws), "deleting the origin secret").await
}
