//! What a publish behind a CDN asks it to forget: the URLs whose bytes differ between the
//! live release's image (read back from the registry) and the new one (in `_image`). Only
//! the layers the two images do not share are opened, so a one-post edit reads its year's
//! layer and the lists, not the whole site.

use std::collections::{BTreeMap, BTreeSet};

use galley_image::changes::{changed_urls, site_files};
use galley_image::layout::Layout;
use galley_image::registry::{pull, Client};
use galley_infra::aws::Aws;

/// The changed URL paths, or `None` when they cannot be known (no live release, or its
/// image is elsewhere or unreadable): then the whole distribution is invalidated, and
/// `why` says so.
pub async fn changed_paths(
    aws: &Aws,
    client: &Client,
    layout: &Layout,
    why: impl Fn(&str),
) -> Option<Vec<String>> {
    let status = match galley_infra::aws::status::status(aws).await {
        Ok(s) => s,
        Err(e) => {
            why(&format!(
                "cannot read the live release ({e:#}): invalidating everything"
            ));
            return None;
        }
    };
    let live = status.live?;
    let wanted = format!(
        "{}/{}",
        client.reference.registry, client.reference.repository
    );
    if !live.image.starts_with(&format!("{wanted}@")) {
        why("the live release's image is in another repository: invalidating everything");
        return None;
    }
    match compare(client, layout, &live.digest).await {
        Ok(paths) => Some(paths),
        Err(e) => {
            why(&format!(
                "cannot compare with the live release's image ({e:#}): invalidating everything"
            ));
            None
        }
    }
}

async fn compare(client: &Client, layout: &Layout, live: &str) -> anyhow::Result<Vec<String>> {
    if live == layout.manifest_digest {
        return Ok(Vec::new());
    }
    let old = pull::manifest(client, live).await?;
    let old_layers: BTreeSet<String> = old
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    let new_layers: BTreeSet<String> = layout
        .manifest
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    let mut old_files = BTreeMap::new();
    for digest in old_layers.difference(&new_layers) {
        old_files.extend(site_files(&pull::blob(client, digest).await?)?);
    }
    let mut new_files = BTreeMap::new();
    for digest in new_layers.difference(&old_layers) {
        new_files.extend(site_files(&layout.read_blob(digest)?)?);
    }
    Ok(changed_urls(&old_files, &new_files))
}
