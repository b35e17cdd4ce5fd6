//! Records Galley writes in the site's hosted zone: the certificate's DNS validation
//! CNAMEs, and the alias A/AAAA records that point the domain at the load balancer.

use anyhow::{Context, Result};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::super::{sdk_error, Aws};
use super::zone::Zone;

/// A CNAME as ACM asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cname {
    pub name: String,
    pub value: String,
}

/// Where an alias points: a load balancer's (or distribution's) name and hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub dns_name: String,
    pub hosted_zone: String,
    /// Also an AAAA record (the target answers on IPv6).
    pub ipv6: bool,
}

fn cname_set(c: &Cname) -> Result<ResourceRecordSet> {
    Ok(ResourceRecordSet::builder()
        .name(&c.name)
        .r#type(RrType::Cname)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(&c.value).build()?)
        .build()?)
}

fn alias_sets(domain: &str, to: &Alias) -> Result<Vec<ResourceRecordSet>> {
    let mut types = vec![RrType::A];
    if to.ipv6 {
        types.push(RrType::Aaaa);
    }
    types
        .into_iter()
        .map(|t| {
            Ok(ResourceRecordSet::builder()
                .name(domain)
                .r#type(t)
                .alias_target(
                    AliasTarget::builder()
                        .hosted_zone_id(&to.hosted_zone)
                        .dns_name(&to.dns_name)
                        .evaluate_target_health(false)
                        .build()?,
                )
                .build()?)
        })
        .collect()
}

async fn change(
    aws: &Aws,
    zone: &Zone,
    action: ChangeAction,
    sets: Vec<ResourceRecordSet>,
    what: &str,
) -> Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    let mut batch = ChangeBatch::builder().comment(format!("galley: {}", aws.site()));
    for set in sets {
        batch = batch.changes(
            Change::builder()
                .action(action.clone())
                .resource_record_set(set)
                .build()?,
        );
    }
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .change_batch(batch.build()?)
        .send()
        .await
        .map_err(sdk_error(what.to_string()))?;
    Ok(())
}

/// Writes (or rewrites) the validation CNAMEs.
pub async fn upsert_validation(aws: &Aws, zone: &Zone, records: &[Cname]) -> Result<()> {
    let sets = records.iter().map(cname_set).collect::<Result<Vec<_>>>()?;
    change(
        aws,
        zone,
        ChangeAction::Upsert,
        sets,
        "writing the certificate's validation records",
    )
    .await
}

/// Points the domain at `to` (A, and AAAA when it answers on IPv6).
pub async fn upsert_alias(aws: &Aws, zone: &Zone, domain: &str, to: &Alias) -> Result<()> {
    change(
        aws,
        zone,
        ChangeAction::Upsert,
        alias_sets(domain, to)?,
        "pointing the domain at the site",
    )
    .await
}

/// Deletes whichever of the records Galley wrote for `domain` still exist (the validation
/// CNAMEs given, the alias records), as they are now (Route 53 deletes only exact matches).
pub async fn delete(aws: &Aws, zone: &Zone, domain: &str, validation: &[Cname]) -> Result<()> {
    let fqdn = |n: &str| format!("{}.", n.trim_end_matches('.'));
    let mut names: Vec<String> = validation.iter().map(|c| fqdn(&c.name)).collect();
    names.push(fqdn(domain));
    let mut doomed = Vec::new();
    let mut from: Option<(String, RrType)> = None;
    loop {
        let mut request = aws
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(&zone.id);
        if let Some((name, kind)) = from.take() {
            request = request.start_record_name(name).start_record_type(kind);
        }
        let page = request
            .send()
            .await
            .map_err(sdk_error("reading the hosted zone's records"))?;
        for set in page.resource_record_sets() {
            let ours = names.contains(&fqdn(set.name()))
                && match set.r#type() {
                    RrType::Cname => validation.iter().any(|c| fqdn(&c.name) == fqdn(set.name())),
                    RrType::A | RrType::Aaaa => {
                        fqdn(set.name()) == fqdn(domain) && set.alias_target().is_some()
                    }
                    _ => false,
                };
            if ours {
                doomed.push(set.clone());
            }
        }
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(name), Some(kind)) => from = Some((name.to_string(), kind.clone())),
            _ => break,
        }
    }
    change(
        aws,
        zone,
        ChangeAction::Delete,
        doomed,
        "deleting the domain's records",
    )
    .await
    .context("the hosted zone stays; only Galley's records are removed")
}

/// The alias records for `domain` in the zone, as (type, target DNS name).
pub async fn aliases(aws: &Aws, zone: &Zone, domain: &str) -> Result<Vec<(String, String)>> {
    let fqdn = format!("{}.", domain.trim_end_matches('.'));
    let out = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .start_record_name(&fqdn)
        .send()
        .await
        .map_err(sdk_error("reading the domain's records"))?;
    Ok(out
        .resource_record_sets()
        .iter()
        .filter(|s| s.name() == fqdn)
        .filter_map(|s| {
            Some((
                s.r#type().as_str().to_string(),
                s.alias_target()?.dns_name().to_string(),
            ))
        })
        .collect())
}
