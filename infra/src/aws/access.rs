//! Before anything is built or pushed: is AWS usable from here? A region, credentials, and
//! an endpoint that answers and accepts them, each checked on its own so the error says
//! which one is missing and how to give it. And timeouts on every call, so a hung endpoint
//! is an error after a bounded wait, never a silent one.

use std::time::Duration;

use aws_sdk_ec2::config::ProvideCredentials;
use aws_sdk_ec2::error::ProvideErrorMetadata;

use super::Aws;

/// How long one AWS call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// One attempt of a call, reading the answer included.
    pub attempt: Duration,
    /// A call with all its retries.
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::with_attempt(Duration::from_secs(30))
    }
}

impl Timeouts {
    /// The other limits follow from one attempt's: a connection gets at most a third of
    /// it, and a call with its retries four attempts' worth.
    pub fn with_attempt(attempt: Duration) -> Timeouts {
        Timeouts {
            connect: (attempt / 3).min(Duration::from_secs(10)),
            attempt,
            operation: attempt * 4,
        }
    }

    pub(super) fn config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// What keeps Galley from using AWS; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("no AWS region is set\n  help: set `region:` under `deploy:` in _config.yml, or AWS_REGION (or a profile's region)")]
    NoRegion,
    #[error("`{0}` is not an AWS region (they look like eu-west-1)\n  help: fix `region:` under `deploy:` in _config.yml, or AWS_REGION")]
    BadRegion(String),
    #[error("no AWS credentials found: {0}\n  help: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where an instance or CI role provides them")]
    NoCredentials(String),
    #[error("AWS refused the credentials: {0}\n  help: check that the keys (or the assumed role) are current and belong to the account you mean")]
    Rejected(String),
    #[error("cannot reach AWS at {endpoint}: {cause}\n  help: check the network, the region, and AWS_ENDPOINT_URL if you set one")]
    Unreachable { endpoint: String, cause: String },
}

impl AccessError {
    /// Settings the user must give (region, credentials) vs. a service that failed.
    pub fn is_setup(&self) -> bool {
        !matches!(self, AccessError::Unreachable { .. })
    }
}

/// AWS's region names: `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `eu-central-2`.
fn looks_like_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Region, credentials, endpoint, in that order; one cheap call proves the last two.
pub async fn check(aws: &Aws) -> Result<(), AccessError> {
    let region = aws.sdk.region().ok_or(AccessError::NoRegion)?.to_string();
    let custom_endpoint = aws.sdk.endpoint_url().is_some();
    if !custom_endpoint && !looks_like_region(&region) {
        return Err(AccessError::BadRegion(region));
    }
    let provider = aws
        .sdk
        .credentials_provider()
        .ok_or_else(|| AccessError::NoCredentials("no credentials provider".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| AccessError::NoCredentials(galley_image::error::chain(&e)))?;
    let endpoint = aws
        .sdk
        .endpoint_url()
        .map(str::to_string)
        .unwrap_or_else(|| format!("ec2.{region}.amazonaws.com"));
    match aws.ec2.describe_availability_zones().send().await {
        Ok(_) => Ok(()),
        Err(e) => match e.as_service_error().and_then(|s| s.code()) {
            Some(
                code @ ("AuthFailure"
                | "UnauthorizedOperation"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException"
                | "ExpiredToken"),
            ) => Err(AccessError::Rejected(format!(
                "{code}: {}",
                e.as_service_error()
                    .and_then(|s| s.message())
                    .unwrap_or("(no message)")
            ))),
            _ => Err(AccessError::Unreachable {
                endpoint,
                cause: super::short_cause(&e),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_recognised() {
        for ok in ["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"] {
            assert!(looks_like_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "US-EAST-1",
            "eu-west-",
            "-west-1",
            "nowhere",
        ] {
            assert!(!looks_like_region(bad), "{bad}");
        }
    }

    #[test]
    fn every_limit_follows_from_one_attempt() {
        let t = Timeouts::with_attempt(Duration::from_secs(3));
        assert_eq!(t.connect, Duration::from_secs(1));
        assert_eq!(t.operation, Duration::from_secs(12));
        assert_eq!(Timeouts::default().connect, Duration::from_secs(10));
    }
}
