//! HTTPS on the site's own domain (`deploy: domain:`): the Route 53 zone that holds it, an
//! ACM certificate validated through DNS records Galley writes in that zone, and alias
//! records pointing the domain at the load balancer. The certificate is waited for before
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

/// Finds or requests the domain's certificate, writes its validation records and waits
/// until ACM has issued it. `None` when `deploy:` names no domain.
pub async fn certificate(
    aws: &Aws,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<Option<Domain>, DomainError> {
    let Some(name) = aws.settings.domain.clone() else {
        return Ok(None);
    };
    let infra = DomainError::Infra;
    let zone = zone::find(aws, &name).await.map_err(infra)?;
    let existing = certificate::of_site(aws)
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
            return Ok(Some(Domain {
                name,
                zone,
                certificate: c.arn,
            }))
        }
        Some(c) => (c.arn, false),
        None => (certificate::request(aws, &name).await.map_err(infra)?, true),
    };
    let waited = validate(aws, &zone, &arn, timing, progress).await;
    match waited {
        Ok(()) => Ok(Some(Domain {
            name,
            zone,
            certificate: arn,
        })),
        Err(e) => {
            if requested {
                // Nothing new left behind: the request and its records go.
                let cert = certificate::describe(aws, &arn).await;
                let records = cert.map(|c| c.validation).unwrap_or_default();
                let _ = records::delete(aws, &zone, &name, &records).await;
                let _ = certificate::delete(aws, &arn).await;
            }
            Err(e)
        }
    }
}

/// Writes the certificate's validation records and waits for ACM to issue it.
async fn validate(
    aws: &Aws,
    zone: &Zone,
    arn: &str,
    timing: &Timing,
    progress: &dyn Progress,
) -> Result<(), DomainError> {
    let infra = DomainError::Infra;
    let domain = aws.settings.domain.clone().unwrap_or_default();
    let timeout = Duration::from_secs(aws.settings.certificate_timeout);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut written: Vec<Cname> = Vec::new();
    progress.step(&format!("getting a certificate for {domain}"));
    loop {
        let cert = certificate::describe(aws, arn).await.map_err(infra)?;
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

/// Removes every certificate Galley requested for the site with its validation records,
/// and the domain's alias records (after the load balancer that used them is gone). The
/// hosted zone stays.
pub async fn remove(aws: &Aws, mut say: impl FnMut(&str)) -> Result<()> {
    for cert in certificate::of_site(aws).await? {
        say(&format!(
            "removing {}'s records and certificate",
            cert.domain
        ));
        if let Ok(zone) = zone::find(aws, &cert.domain).await {
            records::delete(aws, &zone, &cert.domain, &cert.validation).await?;
        }
        certificate::delete(aws, &cert.arn).await?;
    }
    Ok(())
}
