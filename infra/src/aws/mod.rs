//! AWS: the resources a site needs, found by their tags (`galley:site`, `galley:release`)
//! and created when missing, and the rollout traits implemented on EC2 and an ALB.
//!
//! One file per resource kind: [`network`] (VPC, subnets in distinct AZs, security groups),
//! [`iam`] (instance role and profile), [`alb`] (load balancer, listeners, target groups,
//! target health), [`launch_template`] and [`scaling_group`] (a release's instances, kept
//! at capacity by Auto Scaling), [`compute`] (the two as the rollout's `Compute`),
//! [`instances`] (AMI, instance lookups), [`status`] and [`plan`] (read-only views),
//! [`scale`] (`galley scale`), [`domain`] (certificate and DNS for `deploy: domain:`),
//! [`cdn`] and [`origin_secret`] (CloudFront in front, for `deploy: cdn:`),
//! [`lock`] (one publish at a time), [`history`] (the releases list), [`destroy`].
//!
//! Where moto accepts what AWS refuses (one-subnet ALBs, deleting referenced security
//! groups), the checks here enforce AWS's rule, so tests against moto mean something.

pub mod access;
pub mod alb;
pub mod cdn;
pub mod compute;
pub mod deploy;
pub mod destroy;
pub mod domain;
pub mod history;
pub mod iam;
pub mod instances;
pub mod launch_template;
pub mod lock;
pub mod network;
pub mod origin_secret;
pub mod plan;
pub mod scale;
pub mod scaling_group;
pub mod status;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::settings::DeploySettings;

pub const TAG_SITE: &str = "galley:site";
pub const TAG_RELEASE: &str = "galley:release";
pub const TAG_ROLE: &str = "galley:role";

/// The SDK's standard chain (credentials, region, `AWS_ENDPOINT_URL`) with Galley's
/// retries (throttling and 5xx, with backoff, up to six attempts) and every call bounded by
/// `timeouts`: how every AWS client Galley makes is configured.
pub async fn sdk_config(region: Option<&str>, timeouts: access::Timeouts) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(6))
        .timeout_config(timeouts.config());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    loader.load().await
}

/// SDK clients for one site, in one region.
#[derive(Clone)]
pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub acm: aws_sdk_acm::Client,
    /// ACM in us-east-1, where CloudFront takes its certificates from.
    pub acm_global: aws_sdk_acm::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub route53: aws_sdk_route53::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sdk: aws_config::SdkConfig,
    pub settings: DeploySettings,
}

impl Aws {
    /// Clients configured by [`sdk_config`], then checked ([`access::check`]), so a missing region or credentials or an
    /// unreachable endpoint is reported before anything is built or pushed.
    pub async fn connect(
        settings: &DeploySettings,
        timeouts: access::Timeouts,
    ) -> Result<Aws, access::AccessError> {
        let sdk = sdk_config(settings.region.as_deref(), timeouts).await;
        let aws = Aws::from_sdk(sdk, settings);
        access::check(&aws).await?;
        Ok(aws)
    }

    /// Clients from an SDK config made elsewhere (tests point it at their emulator).
    pub fn from_sdk(sdk: aws_config::SdkConfig, settings: &DeploySettings) -> Aws {
        Aws {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            acm: aws_sdk_acm::Client::new(&sdk),
            acm_global: aws_sdk_acm::Client::from_conf(
                aws_sdk_acm::config::Builder::from(&sdk)
                    .region(aws_config::Region::new("us-east-1"))
                    .build(),
            ),
            cloudfront: aws_sdk_cloudfront::Client::new(&sdk),
            route53: aws_sdk_route53::Client::new(&sdk),
            autoscaling: aws_sdk_autoscaling::Client::new(&sdk),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            sdk,
            settings: settings.clone(),
        }
    }

    /// The same clients with the settings' certificate set: how a certificate Galley got
    /// for `deploy: domain:` reaches the load balancer's listeners.
    pub fn with_certificate(&self, arn: &str) -> Aws {
        let mut aws = self.clone();
        aws.settings.certificate_arn = Some(arn.to_string());
        aws
    }

    pub fn site(&self) -> &str {
        &self.settings.site
    }

    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into())
    }

    /// `galley-<site>`: the name of the load balancer, role, profile and security groups.
    pub fn name(&self, suffix: &str) -> String {
        if suffix.is_empty() {
            format!("galley-{}", self.site())
        } else {
            format!("galley-{}-{suffix}", self.site())
        }
    }

    /// EC2 tags for a resource of this site (and release, if any).
    pub fn ec2_tags(&self, role: &str, release: Option<&str>) -> Vec<aws_sdk_ec2::types::Tag> {
        tag_pairs(self.site(), role, release)
            .into_iter()
            .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
            .collect()
    }
}

/// Deletes an SSM parameter; one already gone is not an error.
pub async fn delete_parameter(aws: &Aws, name: &str, what: &str) -> anyhow::Result<()> {
    match aws.ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(())
        }
        Err(e) => Err(sdk_error(what.to_string())(e)),
    }
}

/// The tags every Galley resource carries.
pub fn tag_pairs(site: &str, role: &str, release: Option<&str>) -> Vec<(String, String)> {
    let mut tags = vec![
        (TAG_SITE.to_string(), site.to_string()),
        (TAG_ROLE.to_string(), role.to_string()),
        ("Name".to_string(), format!("galley-{site}-{role}")),
    ];
    if let Some(r) = release {
        tags.push((TAG_RELEASE.to_string(), r.to_string()));
    }
    tags
}

/// An SDK error as "what: Code: message" (the SDK's own Display says only "service error",
/// and its debug form dumps the whole HTTP response). Transport errors keep their cause chain.
pub fn sdk_error<E, R>(what: impl Into<String>) -> impl FnOnce(SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let what = what.into();
    move |e| match e.as_service_error() {
        Some(s) => anyhow::anyhow!(
            "{what}: {}: {}",
            s.code().unwrap_or("error"),
            s.message().unwrap_or("(no message)")
        ),
        None => anyhow::anyhow!("{what}: {}", short_cause(&e)),
    }
}

/// A transport failure in one sentence: what happened and its innermost cause, instead of
/// the SDK's nested structures.
pub fn short_cause<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::TimeoutError(_) => "no answer within the timeout".to_string(),
        SdkError::DispatchFailure(d) => {
            let mut cause: &dyn std::error::Error = e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            let kind = if d.is_timeout() {
                "timed out"
            } else if d.is_io() {
                "could not connect"
            } else {
                "the request could not be sent"
            };
            format!("{kind}: {cause}")
        }
        SdkError::ResponseError(_) => {
            format!(
                "the answer could not be read: {}",
                galley_image::error::chain(e)
            )
        }
        _ => galley_image::error::chain(e),
    }
}
