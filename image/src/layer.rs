//! Layers: which file goes in which layer, and a reproducible gzip tar of each.
//!
//! Order matters for pushes: what changes least comes first. The server binary and the
//! account files, then large and binary assets, then pages and text with their variants:
//! first one layer per year folder (`2019/…` or `notes/2019/…`, as date permalinks lay posts out),
//! oldest first, the newest year split by month, then the other folders in groups, the
//! sitemap, and the root's pages (home, feed). A post edit then uploads its year (its month, in the newest year) and the
//! lists that show it, not every page of the site.

use std::collections::BTreeSet;
use std::io::Write;

use galley_server::mime;

use sha2::{Digest, Sha256};

use crate::blob::{sha256_digest, Blob};
use crate::error::{ImageError, Result};

/// gzip level of layer blobs: `gzip`'s default, fixed so digests never drift.
pub const LAYER_GZIP_LEVEL: u32 = 6;

/// Where the site lives inside the image.
pub const SITE_DIR: &str = "site";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerKind {
    /// `galley-server`, `/etc/passwd`, `/etc/group`.
    Server,
    /// Images, fonts, media and other binary files.
    Assets,
    /// HTML, CSS, JS, XML, JSON and other text, with their `.br`/`.gz` variants.
    Pages,
}

impl LayerKind {
    pub const ALL: [LayerKind; 3] = [LayerKind::Server, LayerKind::Assets, LayerKind::Pages];

    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Server => "server",
            LayerKind::Assets => "assets",
            LayerKind::Pages => "pages",
        }
    }

    /// What the layer's history entry says made it.
    pub fn created_by(self) -> &'static str {
        match self {
            LayerKind::Server => "galley image: galley-server, /etc/passwd, /etc/group",
            LayerKind::Assets => "galley image: site assets (images, fonts, media)",
            LayerKind::Pages => "galley image: the site's root pages and text, with .br variants",
        }
    }
}

/// At most this many year layers (the oldest years share the first): with the newest year's
/// months, the server, the assets, the groups and the rest of the pages, an image stays far
/// under the ~128 layers overlay filesystems allow.
pub const MAX_YEAR_LAYERS: usize = 32;

/// Pages outside year folders and the site's root are spread over this many group layers.
pub const GROUPS: u8 = 16;

/// Which pages layer a page or text file goes to (`path` relative to the site root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagesPart<'a> {
    /// Its first folder named with four digits that holds more than an index
    /// (`2019/03/04/slug/…`, `2019/slug.html`, or `notes/2019/…` under a category), as
    /// date permalinks lay posts out; with its month folder when it has one
    /// (`2019/03/…`), which splits the newest year (see [`month_of`]).
    Year(&'a str, Option<&'a str>),
    /// Any other folder, by a stable hash of its [`group_key`]: a new post changes a few
    /// tag pages and the pagination, and only their groups are uploaded again.
    Group(u8),
    /// The sitemap (`sitemap.xml`, or any `sitemap*.xml` at the root, such as the parts
    /// `sitemap-N.xml` that `sitemap.xml` indexes past 50,000 pages): it lists every page,
    /// so on a big site it is the root's largest text (0.9 MB compressed at 100,000 posts),
    /// yet it changes only when pages come or go, not with every edit of a recent post as
    /// the feed and the home page do.
    Sitemap,
    /// A file at the root: home, feed, 404 (the last pages layer).
    Root,
}

pub fn pages_part(path: &str) -> PagesPart<'_> {
    let Some((folders, file)) = path.rsplit_once('/') else {
        return if is_sitemap(path) {
            PagesPart::Sitemap
        } else {
            PagesPart::Root
        };
    };
    // A post lives below its year (`2019/03/04/slug/`) or in it (`2019/slug.html`). A
    // numbered folder holding only its index is a list instead: pager page 2019
    // (`page/2019/index.html`, at 20,000 posts), or a year's archive, which changes with
    // every post of that year.
    let mut segments = folders.split('/').peekable();
    while let Some(folder) = segments.next() {
        let numbered = folder.len() == 4 && folder.bytes().all(|b| b.is_ascii_digit());
        if numbered && (segments.peek().is_some() || !is_index(file)) {
            return PagesPart::Year(folder, month_of(segments, file));
        }
    }
    let digest = Sha256::digest(group_key(folders).as_bytes());
    PagesPart::Group(digest[0] % GROUPS)
}

/// The month folder right below a year (`01`–`12`) when a post lives under it, not a
/// month's archive (`2019/03/index.html`, a list that changes with every post of the month).
fn month_of<'a>(mut below: impl Iterator<Item = &'a str>, file: &str) -> Option<&'a str> {
    let month = below.next()?;
    let is_month = month.len() == 2 && matches!(month.parse::<u8>(), Ok(1..=12));
    (is_month && (below.next().is_some() || !is_index(file))).then_some(month)
}

/// The file a compressed variant stands for (`x.html` for `x.html.br` or `x.html.gz`).
fn variant_of(path: &str) -> Option<&str> {
    path.strip_suffix(".br")
        .or_else(|| path.strip_suffix(".gz"))
}

/// `sitemap.xml`, `sitemap-posts.xml`, `sitemap_index.xml`, or one of their variants.
fn is_sitemap(file: &str) -> bool {
    let base = variant_of(file).unwrap_or(file);
    base.starts_with("sitemap") && base.ends_with(".xml")
}

/// `index.html` or one of its variants.
fn is_index(file: &str) -> bool {
    variant_of(file).unwrap_or(file) == "index.html"
}

/// What keeps files together in one group: the first folder, and the second when it is
/// named rather than numbered. `tags/rust/…` and `tags/web/…` (which change apart) may go
/// to different groups; `page/2/…` and `page/3/…` (pagination, which changes as a whole)
/// stay in one.
fn group_key(folders: &str) -> &str {
    let mut parts = folders.splitn(3, '/');
    let first = parts.next().unwrap_or("");
    match parts.next() {
        Some(second) if !second.bytes().all(|b| b.is_ascii_digit()) => {
            &folders[..first.len() + 1 + second.len()]
        }
        _ => first,
    }
}

/// The layer of a site file. `path` is relative to the site root; a variant (`x.css.br`)
/// goes with its original, which is text.
pub fn classify(path: &str) -> LayerKind {
    let base = variant_of(path)
        .filter(|b| mime::is_compressible(mime::content_type(b)))
        .unwrap_or(path);
    if mime::is_compressible(mime::content_type(base)) {
        LayerKind::Pages
    } else {
        LayerKind::Assets
    }
}

/// One regular file in a layer, by its path inside the image (no leading `/`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// A written layer: the compressed blob the manifest names, and the digest of the
/// uncompressed tar (its `diff_id` in the config).
#[derive(Debug, Clone)]
pub struct Layer {
    pub kind: LayerKind,
    /// Which pages layer: a year (`2019`, `before-1990`), a month of the newest year
    /// (`2026-03`), a group (`group-07`) or `sitemap`; `None`
    /// for the root pages' layer and the other kinds (see [`pages_part`]).
    pub part: Option<String>,
    pub blob: Blob,
    pub diff_id: String,
    pub files: usize,
    pub uncompressed_size: u64,
    /// Whether the blob was taken from the previous image instead of compressed again.
    pub reused: bool,
}

/// Writes `entries` as a reproducible tar: sorted by path, parent directories included,
/// owner 0:0, fixed modes, every mtime `mtime`, no user or group names, then gzips it with a
/// fixed header and level.
pub fn write(kind: LayerKind, entries: Vec<Entry>, mtime: u64) -> Result<Layer> {
    let tar = Tar::write(kind, entries, mtime)?;
    let blob = tar.gzip()?;
    Ok(tar.into_layer(blob, false))
}

/// A layer's uncompressed tar and its digest: enough to tell whether the previous image
/// already has this layer compressed.
pub struct Tar {
    pub kind: LayerKind,
    pub bytes: Vec<u8>,
    pub diff_id: String,
    pub files: usize,
}

impl Tar {
    /// The reproducible tar of `entries` (see [`write`]).
    pub fn write(kind: LayerKind, mut entries: Vec<Entry>, mtime: u64) -> Result<Tar> {
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        if let Some(w) = entries.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(ImageError::Invalid(format!(
                "two files at /{} in the {} layer",
                w[0].path,
                kind.name()
            )));
        }
        let dirs: BTreeSet<String> = entries.iter().flat_map(|e| parents(&e.path)).collect();
        // Directories and files in one sorted order: a parent always sorts before its children.
        let mut items: Vec<(&str, Option<&Entry>)> =
            dirs.iter().map(|d| (d.as_str(), None)).collect();
        items.extend(entries.iter().map(|e| (e.path.as_str(), Some(e))));
        items.sort_by(|a, b| a.0.cmp(b.0));

        let size: usize =
            entries.iter().map(|e| e.bytes.len() + 1024).sum::<usize>() + dirs.len() * 512 + 1024;
        let mut tar = tar::Builder::new(Vec::with_capacity(size));
        for (path, entry) in &items {
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(mtime);
            match entry {
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    tar.append_data(&mut header, format!("{path}/"), std::io::empty())
                        .map_err(|e| tar_error(kind, e))?;
                }
                Some(e) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(e.mode);
                    header.set_size(e.bytes.len() as u64);
                    tar.append_data(&mut header, path, &e.bytes[..])
                        .map_err(|e| tar_error(kind, e))?;
                }
            }
        }
        let bytes = tar.into_inner().map_err(|e| tar_error(kind, e))?;
        Ok(Tar {
            kind,
            diff_id: sha256_digest(&bytes),
            bytes,
            files: entries.len(),
        })
    }

    /// The layer blob: the tar gzipped with a fixed header and level.
    pub fn gzip(&self) -> Result<Blob> {
        let mut gz = flate2::GzBuilder::new().write(
            Vec::with_capacity(self.bytes.len() / 4),
            flate2::Compression::new(LAYER_GZIP_LEVEL),
        );
        gz.write_all(&self.bytes)
            .map_err(|e| tar_error(self.kind, e))?;
        Ok(Blob::new(gz.finish().map_err(|e| tar_error(self.kind, e))?))
    }

    /// The layer with `blob` as its compressed form (made now, or `reused` from the
    /// previous image).
    pub fn into_layer(self, blob: Blob, reused: bool) -> Layer {
        Layer {
            kind: self.kind,
            part: None,
            blob,
            diff_id: self.diff_id,
            files: self.files,
            uncompressed_size: self.bytes.len() as u64,
            reused,
        }
    }
}

fn tar_error(kind: LayerKind, e: std::io::Error) -> ImageError {
    ImageError::Invalid(format!("writing the {} layer: {e}", kind.name()))
}

impl Layer {
    /// Its name in reports and `--json`: `server`, `assets`, `pages-2019`, `pages-2026-03`,
    /// `pages-group-07`, `pages-sitemap`, `pages`.
    pub fn name(&self) -> String {
        match &self.part {
            Some(part) => format!("{}-{part}", self.kind.name()),
            None => self.kind.name().to_string(),
        }
    }

    /// What the layer's history entry says made it.
    pub fn created_by(&self) -> String {
        created_by(self.kind, self.part.as_deref())
    }
}

/// The history entry of a layer of `kind` (and year `part`): it names the layer, so a
/// rebuild finds the previous version of a layer by it.
pub fn created_by(kind: LayerKind, part: Option<&str>) -> String {
    match part {
        Some(group) if group.starts_with("group-") => format!(
            "galley image: site pages and text in folders of {group} (of {GROUPS}), with .br variants"
        ),
        Some(year) => {
            format!("galley image: site pages and text under /{year}/, with .br variants")
        }
        None => kind.created_by().to_string(),
    }
}

/// `a/b/c.html` -> `a`, `a/b`.
fn parents(path: &str) -> impl Iterator<Item = String> + '_ {
    path.match_indices('/')
        .map(move |(i, _)| path[..i].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, body: &str) -> Entry {
        Entry {
            path: path.into(),
            bytes: body.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn year_folders_get_pages_layers_of_their_own() {
        use PagesPart::*;
        assert_eq!(
            pages_part("2019/03/04/older.html"),
            Year("2019", Some("03"))
        );
        assert_eq!(
            pages_part("2019/03/04/older.html.br"),
            Year("2019", Some("03"))
        );
        assert_eq!(pages_part("2019/03/slug.html"), Year("2019", Some("03")));
        assert_eq!(pages_part("2019/slug.html"), Year("2019", None));
        assert_eq!(
            pages_part("notes/2019/11/04/older.html"),
            Year("2019", Some("11"))
        );
        // Not a month: a month's archive (a list), or a folder numbered past 12.
        assert_eq!(pages_part("2019/03/index.html"), Year("2019", None));
        assert_eq!(pages_part("2019/13/04/x.html"), Year("2019", None));
        assert_eq!(pages_part("2019/3/04/x.html"), Year("2019", None));
        // An index alone in a numbered folder is a list: a year's archive, or pager page
        // 2019 of a blog of 20,000 posts.
        assert!(matches!(pages_part("2019/index.html"), Group(_)));
        assert!(matches!(pages_part("page/2019/index.html.br"), Group(_)));
        assert_eq!(
            pages_part("page/2019/index.html"),
            pages_part("page/2/index.html")
        );
        assert_eq!(pages_part("2019.html"), Root);
        assert_eq!(pages_part("index.html"), Root);
        assert_eq!(pages_part("feed.xml"), Root);
        assert_eq!(pages_part("sitemap.xml"), Sitemap);
        assert_eq!(pages_part("sitemap.xml.br"), Sitemap);
        assert_eq!(pages_part("sitemap_index.xml"), Sitemap);
        assert!(matches!(pages_part("docs/sitemap.xml"), Group(_)));
        assert!(matches!(pages_part("20190/index.html"), Group(_)));
        assert!(matches!(pages_part("v201/index.html"), Group(_)));
    }

    #[test]
    fn other_folders_go_to_groups_by_a_fixed_rule_that_keeps_pagination_together() {
        // The rule is part of the image format: the same path lands in the same group on
        // every machine and in every build, so these values must never change.
        let group = |p: &str| match pages_part(p) {
            PagesPart::Group(g) => g,
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(group_key("page/2"), "page");
        assert_eq!(group_key("tags/rust"), "tags/rust");
        assert_eq!(group_key("tags/rust/page/2"), "tags/rust");
        assert_eq!(group_key("about"), "about");
        assert_eq!(group("page/2/index.html"), group("page/300/index.html"));
        assert_eq!(
            group("tags/rust/index.html"),
            group("tags/rust/page/2/index.html")
        );
        let pinned: Vec<u8> = [
            "page/2/index.html",
            "tags/rust/index.html",
            "tags/web/index.html",
            "about/index.html",
        ]
        .iter()
        .map(|p| group(p))
        .collect();
        let expected: Vec<u8> = ["page", "tags/rust", "tags/web", "about"]
            .iter()
            .map(|k| Sha256::digest(k.as_bytes())[0] % GROUPS)
            .collect();
        assert_eq!(pinned, expected);
        // Worked out independently (Python's hashlib: sha256(key)[0] % 16).
        assert_eq!(pinned, [6, 5, 13, 4]);
        assert!(pinned.iter().all(|g| *g < GROUPS));
    }

    #[test]
    fn files_go_to_the_layer_of_their_kind() {
        assert_eq!(classify("index.html"), LayerKind::Pages);
        assert_eq!(classify("index.html.br"), LayerKind::Pages);
        assert_eq!(classify("assets/site.css.gz"), LayerKind::Pages);
        assert_eq!(classify("feed.xml"), LayerKind::Pages);
        assert_eq!(classify("images/cat.jpg"), LayerKind::Assets);
        assert_eq!(classify("fonts/a.woff2"), LayerKind::Assets);
        assert_eq!(classify("downloads/src.tar.gz"), LayerKind::Assets);
    }

    #[test]
    fn the_same_files_in_any_order_give_the_same_layer() {
        let a = write(
            LayerKind::Pages,
            vec![entry("site/b/index.html", "b"), entry("site/a.html", "a")],
            1_600_000_000,
        )
        .unwrap();
        let b = write(
            LayerKind::Pages,
            vec![entry("site/a.html", "a"), entry("site/b/index.html", "b")],
            1_600_000_000,
        )
        .unwrap();
        assert_eq!(a.blob, b.blob);
        assert_eq!(a.diff_id, b.diff_id);
    }

    #[test]
    fn the_tar_is_sorted_owned_by_root_with_fixed_times() {
        let layer = write(
            LayerKind::Pages,
            vec![entry("site/z.html", "z"), entry("site/a/index.html", "a")],
            1_600_000_000,
        )
        .unwrap();
        let tar_bytes = {
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(&layer.blob.bytes[..]),
                &mut out,
            )
            .unwrap();
            out
        };
        assert_eq!(sha256_digest(&tar_bytes), layer.diff_id);
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.mtime().unwrap(), 1_600_000_000);
            seen.push(e.path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(
            seen,
            ["site/", "site/a/", "site/a/index.html", "site/z.html"]
        );
    }

    #[test]
    fn two_files_at_one_path_are_an_error() {
        let err = write(
            LayerKind::Pages,
            vec![entry("site/a.html", "1"), entry("site/a.html", "2")],
            1,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/site/a.html"), "{err}");
    }
}
