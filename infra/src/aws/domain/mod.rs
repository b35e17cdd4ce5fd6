//! HTTPS on the site's own domain (`deploy: domain:`): the Route 53 zone that holds it, ACM
//! certificates validated through DNS records Galley writes in that zone, and alias
//! records pointing the domain at the load balancer (or the CDN). The certificate is waited for before
//! anything of a release is created, so a domain that never validates costs nothing: the
//! live release keeps serving and what this publish requested is removed.

pub mod certificate;
pub mod records;
pub mod zone;

use std::time::{Duration, Instant};

use anyhow::Result;
use aws_sdk_acm::types::CertificateStatus;

use super::Aws;
use crate::deployment::Timing;
use crate::rollout::Progress;
use records::{Alias, Cname};
use zone::Zone;

/// The site's domain, with an issued certificate.
#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub zone: Zone,
    pub certificate: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// ACM did not issue the certificate (in time, or at all): a DNS matter for the author.
    #[error("{0}")]
    NotIssued(String),
    #[error("{0:#}")]
    Infra(anyhow::Error),
}

/// The certificates `deploy: domain:` needs, each found or requested, its validation
/// records written and waited for until ACM issues it. Without a CDN: one for the domain in
/// the site's region, for the load balancer. With one: the domain's in us-east-1 (where
/// CloudFront takes certificates from) for the distribution, and `origin.<domain>`'s in
/// the site's region for the load balancer, so CloudFront reaches it over HTTPS and the
/// origin secret never travels in clear. `None` when `deploy:` names no domain.
pub async fn certificates(
    aws: &Aws,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Option<Certificates>, DomainError> {
    let Some(name) = aws.settings.domain.clone() else {
        return Ok(None);
    };
    if !aws.settings.cdn {
        let site = certificate_for(aws, &aws.acm, &name, timing, progress).await?;
        return Ok(Some(Certificates {
            load_balancer: site,
            viewer: None,
        }));
    }
    let origin = certificate_for(aws, &aws.acm, &origin_name(&name), timing, progress).await?;
    let viewer = certificate_for(aws, &aws.acm_global, &name, timing, progress).await?;
    Ok(Some(Certificates {
        load_balancer: origin,
        viewer: Some(viewer),
    }))
}

/// `origin.<domain>`: the load balancer's own name behind a CDN.
pub fn origin_name(domain: &str) -> String {
    format!("origin.{domain}")
}

/// What `deploy: domain:` got.
#[derive(Debug, Clone)]
pub struct Certificates {
    /// The load balancer's name and certificate: the domain's, or `origin.<domain>`'s
    /// behind a CDN.
    pub load_balancer: Domain,
    /// Behind a CDN, the domain's certificate in us-east-1 for the distribution.
    pub viewer: Option<Domain>,
}

async fn certificate_for(
    aws: &Aws,
    acm: &aws_sdk_acm::Client,
    name: &str,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Domain, DomainError> {
    let name = name.to_string();
    let infra = DomainError::Infra;
    let zone = zone::find(aws, &name).await.map_err(infra)?;
    let existing = certificate::of_site(aws, acm)
        .await
        .map_err(infra)?
        .into_iter()
        .find(|c| {
            c.domain == name
                && matches!(
                    c.status,
                    CertificateStatus::Issued | CertificateStatus::PendingValidation
                )
        });
    let (arn, requested) = match existing {
        Some(c) if c.status == CertificateStatus::Issued => {
            return Ok(Domain {
                name,
                zone,
                certificate: c.arn,
            })
        }
        Some(c) => (c.arn, false),
        None => (
            certificate::request(aws, acm, &name).await.map_err(infra)?,
            true,
        ),
    };
    let waited = validate(aws, acm, &name, &zone, &arn, timing, progress).await;
    match waited {
        Ok(()) => Ok(Domain {
            name,
            zone,
            certificate: arn,
        }),
        Err(e) => {
            if requested {
                // Nothing new left behind: the request and its records go.
                let cert = certificate::describe(acm, &arn).await;
                let records = cert.map(|c| c.validation).unwrap_or_default();
                let _ = records::delete(aws, &zone, &name, &records).await;
                let _ = certificate::delete(acm, &arn).await;
            }
            Err(e)
        }
    }
}

/// Writes the certificate's validation records and waits for ACM to issue it.
async fn validate(
    aws: &Aws,
    acm: &aws_sdk_acm::Client,
    domain: &str,
    zone: &Zone,
    arn: &str,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<(), DomainError> {
    let infra = DomainError::Infra;
    let timeout = Duration::from_secs(aws.settings.certificate_timeout);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut written: Vec<Cname> = Vec::new();
    progress.step(&format!("getting a certificate for {domain}"));
    loop {
        let cert = certificate::describe(acm, arn).await.map_err(infra)?;
        // ACM adds the records a few seconds after the request; write them as they appear.
        if !cert.validation.is_empty() && cert.validation != written {
            records::upsert_validation(aws, zone, &cert.validation)
                .await
                .map_err(infra)?;
            written = cert.validation.clone();
        }
        let shown = || {
            written
                .iter()
                .map(|c| format!("CNAME {} -> {}", c.name, c.value))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match cert.status {
            CertificateStatus::Issued if !written.is_empty() => {
                progress.done(
                    &format!("getting a certificate for {domain}"),
                    started.elapsed(),
                );
                return Ok(());
            }
            CertificateStatus::PendingValidation | CertificateStatus::Issued => {}
            other => {
                return Err(DomainError::NotIssued(format!(
                    "ACM did not issue the certificate for {domain}: it is {} ({})",
                    other.as_str(),
                    shown()
                )))
            }
        }
        if started.elapsed() >= timeout {
            let what = if written.is_empty() {
                "ACM never named its validation record".to_string()
            } else {
                format!(
                    "ACM has not seen {} in zone {} ({}): check that the registrar's NS records for the domain name this zone's name servers",
                    shown(),
                    zone.name,
                    zone.id
                )
            };
            return Err(DomainError::NotIssued(format!(
                "the certificate for {domain} was not issued within {}s (deploy.certificate_timeout): {what}",
                timeout.as_secs()
            )));
        }
        if last_report.elapsed() >= timing.report_every {
            progress.waiting(&format!(
                "waiting {}s for ACM to validate {domain} ({})",
                started.elapsed().as_secs(),
                shown()
            ));
            last_report = Instant::now();
        }
        tokio::time::sleep(timing.poll).await;
    }
}

/// Points the domain at the load balancer.
pub async fn point(aws: &Aws, domain: &Domain, to: &Alias) -> Result<()> {
    records::upsert_alias(aws, &domain.zone, &domain.name, to).await
}

/// Removes every certificate Galley requested for the site (in its region and in
/// us-east-1) with its validation records, and the domain's alias records (after the load
/// balancer and distribution that used them are gone). The hosted zone stays.
pub async fn remove(aws: &Aws, mut say: impl FnMut(&str)) -> Result<()> {
    for acm in [&aws.acm, &aws.acm_global] {
        for cert in certificate::of_site(aws, acm).await? {
            say(&format!(
                "removing {}'s records and certificate",
                cert.domain
            ));
            if let Ok(zone) = zone::find(aws, &cert.domain).await {
                records::delete(aws, &zone, &cert.domain, &cert.validation).await?;
            }
            // The same certificate listed from both clients when the site is in us-east-1.
            match certificate::delete(acm, &cert.arn).await {
                Ok(()) => {}
                Err(e) if format!("{e:#}").contains("ResourceNotFound") => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
