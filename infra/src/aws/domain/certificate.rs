//! The domain's ACM certificate: requested with DNS validation and tagged with the site, so
//! a later publish finds it again instead of requesting another, and `destroy` finds
//! every certificate Galley requested for the site.

use anyhow::{Context, Result};
use aws_sdk_acm::types::{CertificateStatus, Tag, ValidationMethod};
use aws_sdk_acm::Client;

use super::super::{sdk_error, Aws, TAG_SITE};
use super::records::Cname;

/// A certificate of the site's, as ACM describes it.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub arn: String,
    pub domain: String,
    pub status: CertificateStatus,
    /// The CNAMEs ACM asks for (empty until ACM has made them, seconds after the request).
    pub validation: Vec<Cname>,
}

/// Every certificate Galley requested for the site in `acm`'s region (any domain, any
/// status).
pub async fn of_site(aws: &Aws, acm: &Client) -> Result<Vec<Certificate>> {
    let mut arns = Vec::new();
    let mut pages = acm.list_certificates().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_error("listing certificates"))?;
        arns.extend(
            page.certificate_summary_list()
                .iter()
                .filter_map(|c| c.certificate_arn().map(str::to_string)),
        );
    }
    let mut found = Vec::new();
    for arn in arns {
        let tags = acm
            .list_tags_for_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .map_err(sdk_error("reading a certificate's tags"))?;
        let ours = tags
            .tags()
            .iter()
            .any(|t| t.key() == TAG_SITE && t.value() == Some(aws.site()));
        if ours {
            found.push(describe(acm, &arn).await?);
        }
    }
    Ok(found)
}

pub async fn describe(acm: &Client, arn: &str) -> Result<Certificate> {
    let out = acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(sdk_error("reading the certificate"))?;
    let c = out.certificate().context("ACM described no certificate")?;
    Ok(Certificate {
        arn: arn.to_string(),
        domain: c.domain_name().unwrap_or_default().to_string(),
        status: c
            .status()
            .cloned()
            .unwrap_or(CertificateStatus::PendingValidation),
        validation: c
            .domain_validation_options()
            .iter()
            .filter_map(|v| {
                let r = v.resource_record()?;
                Some(Cname {
                    name: r.name().to_string(),
                    value: r.value().to_string(),
                })
            })
            .collect(),
    })
}

/// Requests a certificate for `domain`, validated through DNS, tagged with the site.
pub async fn request(aws: &Aws, acm: &Client, domain: &str) -> Result<String> {
    // At most 32 word characters; the same token within an hour returns the same request.
    let token: String = format!("galley{}{domain}", aws.site())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(32)
        .collect();
    let tags = crate::aws::tag_pairs(aws.site(), "certificate", None)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()?;
    let out = acm
        .request_certificate()
        .domain_name(domain)
        .validation_method(ValidationMethod::Dns)
        .idempotency_token(token)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(sdk_error("requesting the certificate"))?;
    out.certificate_arn()
        .map(str::to_string)
        .context("ACM returned no certificate ARN")
}

pub async fn delete(acm: &Client, arn: &str) -> Result<()> {
    acm.delete_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(sdk_error("deleting the certificate"))?;
    Ok(())
}
