//! The Route 53 hosted zone that holds the site's domain: named in `deploy: hosted_zone`
//! (by name or id), or the zone whose name is the longest suffix of the domain.

use anyhow::{bail, Result};

use super::super::{sdk_error, Aws};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The bare id (`Z123…`, without `/hostedzone/`).
    pub id: String,
    /// With its trailing dot, as Route 53 writes it.
    pub name: String,
}

pub async fn find(aws: &Aws, domain: &str) -> Result<Zone> {
    let wanted = aws.settings.hosted_zone.as_deref();
    let mut zones = Vec::new();
    let mut pages = aws.route53.list_hosted_zones().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_error("listing Route 53 hosted zones"))?;
        for z in page.hosted_zones() {
            if z.config().is_some_and(|c| c.private_zone()) {
                continue;
            }
            zones.push(Zone {
                id: z.id().trim_start_matches("/hostedzone/").to_string(),
                name: z.name().to_string(),
            });
        }
    }
    pick(&zones, domain, wanted)
}

/// The zone for `domain`: the one named (by name or id), else the longest suffix.
pub fn pick(zones: &[Zone], domain: &str, wanted: Option<&str>) -> Result<Zone> {
    let fqdn = format!("{}.", domain.trim_end_matches('.'));
    let holds = |z: &Zone| fqdn == z.name || fqdn.ends_with(&format!(".{}", z.name));
    if let Some(w) = wanted {
        let w_name = format!("{}.", w.trim_end_matches('.'));
        let found = zones.iter().find(|z| z.id == w || z.name == w_name);
        return match found {
            Some(z) if holds(z) => Ok(z.clone()),
            Some(z) => bail!(
                "deploy.hosted_zone {w} ({}) cannot hold {domain}: name a zone that is {domain} or one of its parents",
                z.name
            ),
            None => bail!(
                "deploy.hosted_zone {w}: no such public hosted zone in Route 53 in this account"
            ),
        };
    }
    zones
        .iter()
        .filter(|z| holds(z))
        .max_by_key(|z| z.name.len())
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no public Route 53 hosted zone holds {domain}: create one for {domain} or a parent domain (and point the registrar's NS records at it), or name it in deploy.hosted_zone"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(id: &str, name: &str) -> Zone {
        Zone {
            id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn the_longest_suffix_wins_and_a_named_zone_must_hold_the_domain() {
        let zones = [
            z("Z1", "example.com."),
            z("Z2", "blog.example.com."),
            z("Z3", "ample.com."),
        ];
        assert_eq!(pick(&zones, "blog.example.com", None).unwrap().id, "Z2");
        assert_eq!(pick(&zones, "www.example.com", None).unwrap().id, "Z1");
        assert!(pick(&zones, "example.org", None).is_err());
        // "ample.com." is a suffix of the text but not a parent domain.
        assert_eq!(pick(&zones[2..], "example.com", None).ok(), None);
        assert_eq!(
            pick(&zones, "blog.example.com", Some("example.com"))
                .unwrap()
                .id,
            "Z1"
        );
        let err = pick(&zones, "www.example.com", Some("Z2")).unwrap_err();
        assert!(err.to_string().contains("cannot hold"), "{err}");
    }
}
