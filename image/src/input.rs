//! What an image is made of: the server binary, the site's files (paths and bytes, however
//! they were produced) and the metadata for its labels.

use std::path::PathBuf;

use crate::epoch::Epoch;

/// A file of the rendered site, keyed by its path under the site root (`posts/a/index.html`).
#[derive(Debug, Clone)]
pub struct SiteFile {
    pub path: String,
    pub content: Content,
}

#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A file on disk, read when the layer is written (static assets are not copied twice).
    File(PathBuf),
}

/// Labels of the image (`org.opencontainers.image.*`).
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub title: String,
    pub source: String,
    pub revision: String,
    pub version: String,
}

#[derive(Debug, Clone)]
pub struct ImageInput {
    /// A static x86_64 Linux `galley-server` (see [`crate::server_binary`]).
    pub server_binary: PathBuf,
    pub files: Vec<SiteFile>,
    pub metadata: Metadata,
    pub epoch: Epoch,
    /// `name:tag` written into `index.json` and Docker's `manifest.json`.
    pub tag: String,
    /// Brotli quality of the `.br` variants (11 = smallest, slowest).
    pub brotli_quality: u32,
    /// Only files at least this big get `.br`/`.gz` variants in the image; the server makes
    /// the rest at start. Per-file compressed copies do not compress again in the layer, so
    /// shipping them for every small page would multiply the image's size (and every
    /// publish's upload) for a few percent of transfer size. 0 = every file.
    pub precompress_above: usize,
    /// ... and at most this big: larger files (the biggest lists and sitemaps) get theirs
    /// from the server at start, where a fast quality takes milliseconds.
    pub precompress_up_to: usize,
    /// The image folder this build replaces: layers and variants whose inputs did not
    /// change are taken from it instead of compressed again (see [`crate::reuse`]).
    pub reuse_from: Option<PathBuf>,
}

/// Default for [`ImageInput::precompress_above`]: the large pages (home, archives, feeds,
/// sitemap) where a slow, best-ratio brotli pays most; posts are compressed at start.
pub const PRECOMPRESS_ABOVE: usize = 16 * 1024;

/// Default for [`ImageInput::precompress_up_to`]. Best-quality brotli costs ~1.6 s per MB
/// on one core; up to 64 KiB (a home page with excerpts, a stylesheet) that is under a
/// tenth of a second a file, where it saves a fifth of the bytes against quality 5.
pub const PRECOMPRESS_UP_TO: usize = 64 * 1024;
