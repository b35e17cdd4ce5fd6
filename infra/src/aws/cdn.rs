//! `deploy: cdn: true`: a CloudFront distribution in front of the load balancer. HTTP/2 and
//! HTTP/3 and IPv6 to viewers, compression, HTTPS for viewers (HTTP redirects), and
//! AWS's managed cache policy that follows the origin's `Cache-Control`, so the server's
//! lifetimes (HTML revalidated, fingerprinted files for a year) hold at the edge too.
//! CloudFront adds the origin secret header; the load balancer admits only CloudFront's
//! prefix list and that header. Found again by its `galley:site` tag.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CustomHeaders, CustomOriginConfig,
    DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags, HttpVersion,
    InvalidationBatch, Method, MinimumProtocolVersion, Origin as CfOrigin, OriginCustomHeader,
    OriginProtocolPolicy, Origins, Paths, SslSupportMethod, Tag, Tags, ViewerCertificate,
    ViewerProtocolPolicy,
};

use super::domain::Domain;
use super::origin_secret::{self, Secrets};
use super::{sdk_error, tag_pairs, Aws, TAG_SITE};

/// AWS's managed cache policy "UseOriginCacheControlHeaders".
pub const CACHE_POLICY_USE_ORIGIN_HEADERS: &str = "83da9c7e-98b4-4e11-a168-04f0df8e2c65";
/// Above this many changed paths a publish invalidates `/*` (CloudFront bills paths).
pub const MAX_INVALIDATION_PATHS: usize = 1000;
const ORIGIN_ID: &str = "galley-alb";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub id: String,
    /// `d123.cloudfront.net`.
    pub domain: String,
    pub enabled: bool,
    /// `InProgress` or `Deployed`.
    pub status: String,
}

fn comment(aws: &Aws) -> String {
    format!("galley:{}", aws.site())
}

/// The site's distribution, if it has one: found by its `galley:site` tag (moto's
/// listing leaves out the comment).
pub async fn find(aws: &Aws) -> Result<Option<Distribution>> {
    let mut pages = aws.cloudfront.list_distributions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_error("listing CloudFront distributions"))?;
        let items = page
            .distribution_list()
            .map(|l| l.items().to_vec())
            .unwrap_or_default();
        for d in items {
            let tags = aws
                .cloudfront
                .list_tags_for_resource()
                .resource(d.arn())
                .send()
                .await
                .map_err(sdk_error("reading a distribution's tags"))?;
            let ours = tags.tags().is_some_and(|t| {
                t.items()
                    .iter()
                    .any(|t| t.key() == TAG_SITE && t.value() == Some(aws.site()))
            });
            if ours {
                return Ok(Some(read(aws, d.id()).await?));
            }
        }
    }
    Ok(None)
}

async fn read(aws: &Aws, id: &str) -> Result<Distribution> {
    let out = aws
        .cloudfront
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(sdk_error("reading the distribution"))?;
    summary(out.distribution())
}

/// Galley's view of a distribution CloudFront returned.
fn summary(d: Option<&aws_sdk_cloudfront::types::Distribution>) -> Result<Distribution> {
    let d = d.context("CloudFront returned no distribution")?;
    Ok(Distribution {
        id: d.id().to_string(),
        domain: d.domain_name().to_string(),
        enabled: d.distribution_config().is_some_and(|c| c.enabled()),
        status: d.status().to_string(),
    })
}

/// A distribution's settings and the ETag an update must name.
async fn settings(aws: &Aws, id: &str) -> Result<(DistributionConfig, String)> {
    let out = aws
        .cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(sdk_error("reading the distribution's settings"))?;
    let config = out
        .distribution_config()
        .context("CloudFront returned no settings")?
        .clone();
    Ok((config, out.e_tag().unwrap_or_default().to_string()))
}

async fn put_settings(
    aws: &Aws,
    id: &str,
    etag: String,
    config: DistributionConfig,
    what: &str,
) -> Result<()> {
    aws.cloudfront
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .map_err(sdk_error(what.to_string()))?;
    Ok(())
}

/// Where CloudFront reaches the load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// By the load balancer's own name, over HTTP (no certificate can name it).
    Http(String),
    /// By `origin.<domain>`, whose certificate the load balancer serves.
    Https(String),
}

impl Origin {
    fn name(&self) -> &str {
        match self {
            Origin::Http(n) | Origin::Https(n) => n,
        }
    }
}

/// CloudFront's fixed hosted zone for alias records.
pub const HOSTED_ZONE: &str = "Z2FDTNDATAQYW2";

/// Where the domain's alias records point: the distribution.
pub fn alias_target(d: &Distribution) -> super::domain::records::Alias {
    super::domain::records::Alias {
        dns_name: d.domain.clone(),
        hosted_zone: HOSTED_ZONE.to_string(),
        ipv6: true,
    }
}

fn origin(to: &Origin, secret: &str) -> Result<CfOrigin> {
    let policy = match to {
        Origin::Http(_) => OriginProtocolPolicy::HttpOnly,
        Origin::Https(_) => OriginProtocolPolicy::HttpsOnly,
    };
    Ok(CfOrigin::builder()
        .id(ORIGIN_ID)
        .domain_name(to.name())
        .custom_headers(
            CustomHeaders::builder()
                .quantity(1)
                .items(
                    OriginCustomHeader::builder()
                        .header_name(origin_secret::HEADER)
                        .header_value(secret)
                        .build()?,
                )
                .build()?,
        )
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(policy)
                .build()?,
        )
        .build()?)
}

fn config(
    aws: &Aws,
    reference: &str,
    to: &Origin,
    viewer: Option<&Domain>,
    secret: &str,
) -> Result<DistributionConfig> {
    let get_head = || -> Result<AllowedMethods> {
        Ok(AllowedMethods::builder()
            .quantity(2)
            .items(Method::Get)
            .items(Method::Head)
            .cached_methods(
                CachedMethods::builder()
                    .quantity(2)
                    .items(Method::Get)
                    .items(Method::Head)
                    .build()?,
            )
            .build()?)
    };
    let mut config = DistributionConfig::builder();
    if let Some(v) = viewer {
        config = config
            .aliases(Aliases::builder().quantity(1).items(&v.name).build()?)
            .viewer_certificate(
                ViewerCertificate::builder()
                    .acm_certificate_arn(&v.certificate)
                    .ssl_support_method(SslSupportMethod::SniOnly)
                    .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
                    .build(),
            );
    }
    Ok(config
        .caller_reference(reference)
        .comment(comment(aws))
        .enabled(true)
        .http_version(HttpVersion::Http2and3)
        .is_ipv6_enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin(to, secret)?)
                .build()?,
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id(ORIGIN_ID)
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .allowed_methods(get_head()?)
                .compress(true)
                .cache_policy_id(CACHE_POLICY_USE_ORIGIN_HEADERS)
                .build()?,
        )
        .build()?)
}

/// Brings `found` (the site's distribution, from [`find`]) to the origin `to` (serving
/// `viewer`'s name with its certificate, if any) with the current secret, or creates it.
pub async fn ensure(
    aws: &Aws,
    found: Option<&Distribution>,
    to: &Origin,
    viewer: Option<&Domain>,
    secrets: &Secrets,
) -> Result<Distribution> {
    if let Some(found) = found {
        let (current, etag) = settings(aws, &found.id).await?;
        let wanted = config(
            aws,
            current.caller_reference(),
            to,
            viewer,
            &secrets.current,
        )?;
        if !same(&current, &wanted) || !current.enabled() {
            put_settings(aws, &found.id, etag, wanted, "updating the distribution").await?;
        }
        return read(aws, &found.id).await;
    }
    let reference = format!("galley-{}-{}", aws.site(), chrono::Utc::now().timestamp());
    let tags = tag_pairs(aws.site(), "cdn", None)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()?;
    let out = aws
        .cloudfront
        .create_distribution_with_tags()
        .distribution_config_with_tags(
            DistributionConfigWithTags::builder()
                .distribution_config(config(aws, &reference, to, viewer, &secrets.current)?)
                .tags(Tags::builder().set_items(Some(tags)).build())
                .build(),
        )
        .send()
        .await
        .map_err(sdk_error("creating the CloudFront distribution"))?;
    summary(out.distribution())
}

/// Whether the distribution already is as `wanted`: its origin, secret, names and
/// certificate.
fn same(current: &DistributionConfig, wanted: &DistributionConfig) -> bool {
    let key = |c: &DistributionConfig| {
        let names: Vec<String> = c.aliases().map(|a| a.items().to_vec()).unwrap_or_default();
        let certificate = c
            .viewer_certificate()
            .and_then(|v| v.acm_certificate_arn())
            .map(str::to_string);
        c.origins().and_then(|o| o.items().first()).map(|o| {
            (
                names.clone(),
                certificate.clone(),
                o.custom_origin_config()
                    .map(|p| p.origin_protocol_policy().as_str().to_string()),
                o.domain_name().to_string(),
                o.custom_headers()
                    .map(|h| {
                        h.items()
                            .iter()
                            .map(|i| (i.header_name().to_string(), i.header_value().to_string()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
        })
    };
    key(current) == key(wanted)
}

/// Asks CloudFront to drop its copies of `paths` (`/*` when there are more than
/// [`MAX_INVALIDATION_PATHS`]); returns the paths sent.
pub async fn invalidate(aws: &Aws, distribution: &str, paths: &[String]) -> Result<Vec<String>> {
    let paths = to_send(paths);
    if paths.is_empty() {
        return Ok(paths);
    }
    let quantity = i32::try_from(paths.len()).context("too many paths")?;
    aws.cloudfront
        .create_invalidation()
        .distribution_id(distribution)
        .invalidation_batch(
            InvalidationBatch::builder()
                .caller_reference(format!("galley-{}", chrono::Utc::now().timestamp_millis()))
                .paths(
                    Paths::builder()
                        .quantity(quantity)
                        .set_items(Some(paths.clone()))
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await
        .map_err(sdk_error("invalidating the CDN's copies"))?;
    Ok(paths)
}

/// The paths as sent: all of them, or `/*` past [`MAX_INVALIDATION_PATHS`].
fn to_send(paths: &[String]) -> Vec<String> {
    if paths.len() > MAX_INVALIDATION_PATHS {
        vec!["/*".to_string()]
    } else {
        paths.to_vec()
    }
}

/// Disables `found` (the site's distribution, from [`find`]) and deletes it once AWS
/// allows (disabled and deployed, which takes minutes on AWS; moto would delete an enabled
/// one). Returns whether it is gone; if not, a later `destroy` finishes.
pub async fn remove(aws: &Aws, found: &Distribution, poll: Duration, tries: usize) -> Result<bool> {
    if found.enabled {
        let (mut config, etag) = settings(aws, &found.id).await?;
        config.enabled = false;
        put_settings(aws, &found.id, etag, config, "disabling the distribution").await?;
    }
    for _ in 0..tries {
        let out = aws
            .cloudfront
            .get_distribution()
            .id(&found.id)
            .send()
            .await
            .map_err(sdk_error("reading the distribution"))?;
        let d = out.distribution().context("no distribution")?;
        let disabled = d.distribution_config().is_some_and(|c| !c.enabled());
        if disabled && d.status() == "Deployed" {
            aws.cloudfront
                .delete_distribution()
                .id(&found.id)
                .if_match(out.e_tag().unwrap_or_default())
                .send()
                .await
                .map_err(sdk_error("deleting the distribution"))?;
            return Ok(true);
        }
        tokio::time::sleep(poll).await;
    }
    if tries == 0 {
        bail!("no attempt made to delete the distribution");
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_a_thousand_paths_become_one_wildcard() {
        let few: Vec<String> = (0..MAX_INVALIDATION_PATHS)
            .map(|i| format!("/{i}"))
            .collect();
        assert_eq!(to_send(&few), few);
        let many: Vec<String> = (0..=MAX_INVALIDATION_PATHS)
            .map(|i| format!("/{i}"))
            .collect();
        assert_eq!(to_send(&many), vec!["/*"]);
    }
}
