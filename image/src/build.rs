//! The recipe: site files and a server binary in, an [`Image`] (blobs in memory) out.

use std::collections::{BTreeMap, HashMap, HashSet};

use galley_server::precompress;
use rayon::prelude::*;

use crate::blob::Blob;
use crate::config;
use crate::error::{ImageError, Result};
use crate::input::{Content, ImageInput};
use crate::layer::{self, Entry, Layer, LayerKind, PagesPart, Tar, SITE_DIR};
use crate::reuse::{self, Previous};
use crate::server_binary;

/// An image: its manifest, config and layers, each a blob with its digest. What `layout`
/// writes, and what `docker` and `registry` consume (read back from the layout).
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest: Blob,
    pub config: Blob,
    pub layers: Vec<Layer>,
    /// `name:tag`.
    pub tag: String,
    /// How its blobs were compressed ([`reuse::settings`]): written beside it, so the next
    /// build knows whether it may reuse them.
    pub compression: String,
}

impl Image {
    /// The image's identity: the manifest digest (`sha256:…`).
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }
}

const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnonroot:x:65532:\n";

pub fn build(input: &ImageInput) -> Result<Image> {
    let server = server_binary::read_static(&input.server_binary)?;
    let site = read_site(input)?;
    let (assets, pages): (Vec<Entry>, Vec<Entry>) = site
        .into_iter()
        .partition(|e| layer::classify(strip_site(&e.path)) == LayerKind::Assets);
    let server_layer = vec![
        Entry {
            path: config::SERVER_PATH.trim_start_matches('/').to_string(),
            bytes: server,
            mode: 0o755,
        },
        Entry {
            path: "etc/passwd".into(),
            bytes: PASSWD.as_bytes().to_vec(),
            mode: 0o644,
        },
        Entry {
            path: "etc/group".into(),
            bytes: GROUP.as_bytes().to_vec(),
            mode: 0o644,
        },
    ];
    let mtime = input.epoch.tar_mtime();
    let compression = reuse::settings(
        input.brotli_quality,
        (input.precompress_above, input.precompress_up_to),
    );
    let previous = input
        .reuse_from
        .as_deref()
        .and_then(|dir| Previous::open(dir, &compression));
    let mut parts = vec![
        (LayerKind::Server, None, server_layer),
        (LayerKind::Assets, None, assets),
    ];
    parts.extend(split_pages(pages));
    // Each pages layer makes its own files' `.br`/`.gz` variants, so the slowest of them (a
    // best-quality brotli of the sitemap, seconds at 10k posts) overlaps the other layers'
    // compression instead of holding them all up. The list pages, where the big files are,
    // come last in the image: they start first (reversed here and back after).
    parts.reverse();
    let mut layers = parts
        .into_par_iter()
        .map(|(kind, part, entries)| {
            let history = layer::created_by(kind, part.as_deref());
            let entries = match kind {
                LayerKind::Pages => with_variants(entries, input, || {
                    previous
                        .as_ref()
                        .map(|p| p.large_files(&history, input.precompress_above))
                        .unwrap_or_default()
                }),
                _ => entries,
            };
            let tar = Tar::write(kind, entries, mtime)?;
            let mut layer = match previous.as_ref().and_then(|p| p.layer(&tar.diff_id)) {
                Some(blob) => tar.into_layer(blob, true),
                None => {
                    let blob = tar.gzip()?;
                    tar.into_layer(blob, false)
                }
            };
            layer.part = part;
            Ok(layer)
        })
        .collect::<Result<Vec<Layer>>>()?;
    layers.reverse();
    let created = input.epoch.rfc3339();
    let config = config::config_blob(&layers, &input.metadata, &created)?;
    let manifest = config::manifest_blob(&config, &layers)?;
    Ok(Image {
        manifest,
        config,
        layers,
        tag: input.tag.clone(),
        compression,
    })
}

/// The pages layers in order: one per year folder, oldest first (the oldest merged into one
/// past [`layer::MAX_YEAR_LAYERS`]), the newest year as one layer per month (where edits
/// and new posts land, so a push uploads one month, not the year), then the non-empty
/// groups of other folders, the sitemap, then the root's pages (always present, even
/// empty, so every image has a `pages` layer). A file stays in its layer from build to
/// build: its layer follows from its path and, once a year, from the newest year folder,
/// when that year's months merge into one layer.
fn split_pages(pages: Vec<Entry>) -> Vec<(LayerKind, Option<String>, Vec<Entry>)> {
    let newest = pages
        .iter()
        .filter_map(|e| match layer::pages_part(strip_site(&e.path)) {
            PagesPart::Year(year, _) => Some(year),
            _ => None,
        })
        .max()
        .map(str::to_string);
    let mut years: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    let mut months: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    let mut groups: BTreeMap<u8, Vec<Entry>> = BTreeMap::new();
    let mut sitemap = Vec::new();
    let mut rest = Vec::new();
    for e in pages {
        match layer::pages_part(strip_site(&e.path)) {
            PagesPart::Year(year, Some(month)) if Some(year) == newest.as_deref() => {
                months.entry(format!("{year}-{month}")).or_default().push(e)
            }
            PagesPart::Year(year, _) => years.entry(year.to_string()).or_default().push(e),
            PagesPart::Group(g) => groups.entry(g).or_default().push(e),
            PagesPart::Sitemap => sitemap.push(e),
            PagesPart::Root => rest.push(e),
        }
    }
    // Past the cap, the oldest years share one layer (`pages-before-YYYY`): they change
    // least, and the layer count stays well under what overlay filesystems allow.
    let mut out = Vec::new();
    if years.len() > layer::MAX_YEAR_LAYERS {
        let keep = years.len() - (layer::MAX_YEAR_LAYERS - 1);
        let newer = years.split_off(&years.keys().nth(keep).cloned().unwrap_or_default());
        let first_kept = newer.keys().next().cloned().unwrap_or_default();
        out.push((
            LayerKind::Pages,
            Some(format!("before-{first_kept}")),
            years.into_values().flatten().collect(),
        ));
        years = newer;
    }
    // `2024` sorts before `2024-01`: the newest year's own files, then its months.
    years.extend(months);
    out.extend(
        years
            .into_iter()
            .map(|(year, entries)| (LayerKind::Pages, Some(year), entries)),
    );
    out.extend(
        groups
            .into_iter()
            .map(|(g, entries)| (LayerKind::Pages, Some(format!("group-{g:02}")), entries)),
    );
    if !sitemap.is_empty() {
        out.push((LayerKind::Pages, Some("sitemap".to_string()), sitemap));
    }
    out.push((LayerKind::Pages, None, rest));
    out
}

fn strip_site(path: &str) -> &str {
    path.strip_prefix(SITE_DIR)
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(path)
}

/// Reads every site file (in parallel: static assets come from disk) under `site/`.
fn read_site(input: &ImageInput) -> Result<Vec<Entry>> {
    input
        .files
        .par_iter()
        .map(|f| {
            let clean = f.path.trim_start_matches('/');
            if clean.is_empty()
                || clean
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
            {
                return Err(ImageError::Invalid(format!(
                    "site file {:?} is not a plain relative path",
                    f.path
                )));
            }
            let bytes = match &f.content {
                Content::Bytes(b) => b.clone(),
                Content::File(p) => std::fs::read(p).map_err(|e| ImageError::io(p, e))?,
            };
            Ok(Entry {
                path: format!("{SITE_DIR}/{clean}"),
                bytes,
                mode: 0o644,
            })
        })
        .collect()
}

/// Adds a `.br` beside every text file worth compressing of `precompress_above` to
/// `precompress_up_to` bytes that does not have one already: the best-ratio brotli that
/// only a build has time for. The server makes everything else at start, faster (brotli
/// quality 5 and gzip): a `.gz` in the image would cost as much upload as the page itself,
/// since compressed bytes do not compress again in the layer, and a best-quality brotli of
/// the largest lists (a sitemap, a tag page of thousands of posts) costs seconds per
/// megabyte at every build that changes them. A file whose
/// bytes the previous image's version of this layer (`previous`, read only if some file
/// needs a variant) has unchanged keeps that image's `.br`.
fn with_variants(
    pages: Vec<Entry>,
    input: &ImageInput,
    previous: impl FnOnce() -> HashMap<String, Vec<u8>>,
) -> Vec<Entry> {
    let (above, up_to) = (input.precompress_above, input.precompress_up_to);
    let existing: HashSet<&str> = pages.iter().map(|e| e.path.as_str()).collect();
    let wanted: Vec<&Entry> = pages
        .iter()
        .filter(|e| {
            (above..=up_to).contains(&e.bytes.len())
                && precompress::worth_compressing(&e.path, e.bytes.len())
                && !existing.contains(format!("{}.br", e.path).as_str())
        })
        .collect();
    let previous = if wanted.is_empty() {
        HashMap::new()
    } else {
        previous()
    };
    let variants: Vec<Entry> = wanted
        .into_par_iter()
        .filter_map(|e| {
            let path = format!("{}.br", e.path);
            // Compression is deterministic: the same bytes with the same settings give the
            // same variant, or none where the previous build kept none.
            let bytes = if previous.get(&e.path) == Some(&e.bytes) {
                previous.get(&path).cloned()
            } else {
                precompress::keep_if_smaller(
                    precompress::brotli(&e.bytes, input.brotli_quality),
                    e.bytes.len(),
                )
            };
            bytes.map(|bytes| Entry {
                path,
                bytes,
                mode: 0o644,
            })
        })
        .collect();
    let mut all = pages;
    all.extend(variants);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(path: &str) -> Entry {
        Entry {
            path: format!("{SITE_DIR}/{path}"),
            bytes: Vec::new(),
            mode: 0o644,
        }
    }

    fn input(precompress_above: usize) -> ImageInput {
        ImageInput {
            server_binary: "galley-server".into(),
            files: Vec::new(),
            metadata: Default::default(),
            epoch: crate::epoch::Epoch {
                seconds: 1,
                source: crate::epoch::EpochSource::Fixed,
            },
            tag: "t:latest".into(),
            brotli_quality: 11,
            precompress_above,
            precompress_up_to: 1 << 20,
            reuse_from: None,
        }
    }

    fn text(path: &str, body: &str) -> Entry {
        Entry {
            path: format!("{SITE_DIR}/{path}"),
            bytes: body.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn an_unchanged_large_page_keeps_the_previous_variants_and_a_changed_one_is_compressed() {
        let same = "same page ".repeat(200);
        let changed = "changed page ".repeat(200);
        let previous: HashMap<String, Vec<u8>> = [
            ("site/same.html", same.as_bytes()),
            ("site/same.html.br", b"previous br".as_slice()),
            ("site/changed.html", b"older bytes".as_slice()),
            ("site/changed.html.br", b"stale br".as_slice()),
        ]
        .into_iter()
        .map(|(p, b)| (p.to_string(), b.to_vec()))
        .collect();
        let out = with_variants(
            vec![text("same.html", &same), text("changed.html", &changed)],
            &input(1024),
            || previous,
        );
        let by_path: HashMap<&str, &[u8]> = out
            .iter()
            .map(|e| (e.path.as_str(), e.bytes.as_slice()))
            .collect();
        assert_eq!(by_path["site/same.html.br"], b"previous br");
        let fresh = precompress::brotli(changed.as_bytes(), 11).unwrap();
        assert_eq!(by_path["site/changed.html.br"], fresh.as_slice());
        assert_eq!(out.len(), 4, "a .br for each, no .gz: {:?}", by_path.keys());
    }

    #[test]
    fn the_previous_image_is_not_read_when_no_page_needs_variants() {
        let out = with_variants(vec![text("small.html", "tiny")], &input(1024), || {
            panic!("read the previous layer for nothing")
        });
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn pages_split_by_year_oldest_first_and_the_oldest_share_a_layer_past_the_cap() {
        let few = split_pages(vec![
            page("2020/a.html"),
            page("index.html"),
            page("2019/b.html"),
        ]);
        let names: Vec<Option<String>> = few.iter().map(|(_, p, _)| p.clone()).collect();
        assert_eq!(names, vec![Some("2019".into()), Some("2020".into()), None]);
        let grouped = split_pages(vec![page("index.html"), page("tags/rust/index.html")]);
        let names: Vec<Option<String>> = grouped.iter().map(|(_, p, _)| p.clone()).collect();
        assert_eq!(names, vec![Some("group-05".into()), None]);

        let many: Vec<Entry> = (1980..2020).map(|y| page(&format!("{y}/p.html"))).collect();
        let parts = split_pages(many);
        assert_eq!(
            parts.len(),
            layer::MAX_YEAR_LAYERS + 1,
            "capped, plus the rest"
        );
        let first_kept = 2020 - (layer::MAX_YEAR_LAYERS - 1);
        assert_eq!(
            parts[0].1.as_deref(),
            Some(format!("before-{first_kept}").as_str())
        );
        assert_eq!(parts[0].2.len(), 40 - (layer::MAX_YEAR_LAYERS - 1));
        assert_eq!(parts[1].1.as_deref(), Some(first_kept.to_string().as_str()));
        assert_eq!(parts.last().map(|p| p.1.clone()), Some(None));
    }

    #[test]
    fn the_newest_year_goes_by_month_and_older_years_stay_whole() {
        let names = |pages: Vec<Entry>| -> Vec<Option<String>> {
            split_pages(pages).into_iter().map(|(_, p, _)| p).collect()
        };
        let site = vec![
            page("2019/03/04/old/index.html"),
            page("2019/11/30/older/index.html"),
            page("2020/slug.html"),
            page("2020/06/01/a/index.html"),
            page("2020/06/02/b/index.html"),
            page("2020/07/01/c/index.html"),
            page("index.html"),
            page("sitemap.xml"),
        ];
        assert_eq!(
            names(site.clone()),
            [
                Some("2019"),
                Some("2020"),
                Some("2020-06"),
                Some("2020-07"),
                Some("sitemap"),
                None
            ]
            .map(|n| n.map(String::from))
        );
        // The first post of a new year: 2020's months merge into its year layer, once.
        let mut next_year = site;
        next_year.push(page("2021/01/01/new/index.html"));
        assert_eq!(
            names(next_year),
            [
                Some("2019"),
                Some("2020"),
                Some("2021-01"),
                Some("sitemap"),
                None
            ]
            .map(|n| n.map(String::from))
        );
    }
}
