//! What a rebuild takes from the image it replaces, so it compresses only what changed.
//!
//! Compressing is most of an image build's time, and a one-post edit changes one or two
//! layers. So a layer whose uncompressed tar is byte for byte the previous one's (the same
//! `diff_id`, a digest of every path, mode and byte in it) keeps its gzip blob, and a large
//! page whose bytes did not change keeps its `.br`/`.gz` variants (the sitemap's
//! best-quality brotli alone takes seconds). The previous image is the cache: it is in the
//! output folder anyway, bounded by one image, and goes when the folder goes.
//!
//! Only an image written by this version with the same compression settings is used, so a
//! rebuild gives exactly the digest a build from nothing gives.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use oci_spec::image::ImageConfiguration;

use crate::blob::Blob;
use crate::layout::Layout;

/// The index annotation naming how an image's blobs were compressed.
pub const SETTINGS_ANNOTATION: &str = "dev.galley.image.compression";

/// How this build compresses: reuse needs the previous image to say the same.
pub fn settings(brotli_quality: u32, precompress: (usize, usize)) -> String {
    format!(
        "galley {}; layers gzip {}; variants brotli {brotli_quality} from {} to {} bytes; compressors {}",
        env!("CARGO_PKG_VERSION"),
        crate::layer::LAYER_GZIP_LEVEL,
        precompress.0,
        precompress.1,
        compressors(brotli_quality),
    )
}

/// What this build's gzip and brotli make of a fixed sample, as a short digest. Galley's
/// version does not change when a dependency update changes the compressors' output (a new
/// zlib-rs or brotli), and an image compressed by the old ones must not be reused, or the
/// rebuild's digest would differ from a build from nothing. A few milliseconds per build.
fn compressors(brotli_quality: u32) -> String {
    use std::io::Write;
    let sample: Vec<u8> = (0..48)
        .flat_map(|i| {
            format!(
                "<li><a href=\"/{i}/\">Post {i}</a>: a line that repeats, changing a little</li>\n"
            )
            .into_bytes()
        })
        .collect();
    let mut gz = flate2::GzBuilder::new().write(
        Vec::new(),
        flate2::Compression::new(crate::layer::LAYER_GZIP_LEVEL),
    );
    let gzipped = gz
        .write_all(&sample)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    let brotli = galley_server::precompress::brotli(&sample, brotli_quality).unwrap_or_default();
    let both = [gzipped, brotli].concat();
    let digest = crate::blob::sha256_digest(&both);
    crate::blob::hex_of(&digest).chars().take(16).collect()
}

/// The image being replaced, as far as a rebuild can use it.
pub struct Previous {
    layout: Layout,
    /// `diff_id` → digest of the gzip blob holding that tar.
    by_diff_id: HashMap<String, String>,
    /// A layer's history entry (which names it: `…under /2019/…`) → its blob digest.
    by_history: HashMap<String, String>,
}

impl Previous {
    /// The image in `dir`, if there is one written with `settings`. Anything unreadable
    /// means no reuse, never a failed build: the cache is only ever a shortcut.
    pub fn open(dir: &Path, settings: &str) -> Option<Previous> {
        let layout = Layout::open(dir).ok()?;
        if layout.annotation(SETTINGS_ANNOTATION).as_deref() != Some(settings) {
            return None;
        }
        let config_digest = layout.manifest.config().digest().to_string();
        let config: ImageConfiguration =
            serde_json::from_slice(&layout.read_blob(&config_digest).ok()?).ok()?;
        let blobs: Vec<String> = layout
            .manifest
            .layers()
            .iter()
            .map(|l| l.digest().to_string())
            .collect();
        let diff_ids = config.rootfs().diff_ids();
        let history = config.history().clone().unwrap_or_default();
        if diff_ids.len() != blobs.len() || history.len() != blobs.len() {
            return None;
        }
        let by_diff_id = diff_ids
            .iter()
            .cloned()
            .zip(blobs.iter().cloned())
            .collect();
        let by_history = history
            .iter()
            .zip(&blobs)
            .filter_map(|(h, blob)| Some((h.created_by().clone()?, blob.clone())))
            .collect();
        Some(Previous {
            layout,
            by_diff_id,
            by_history,
        })
    }

    /// The previous blob of a layer whose tar has `diff_id`, checked against its digest.
    pub fn layer(&self, diff_id: &str) -> Option<Blob> {
        let digest = self.by_diff_id.get(diff_id)?;
        let bytes = self.layout.read_blob(digest).ok()?;
        Some(Blob {
            digest: digest.clone(),
            bytes,
        })
    }

    /// The files of the previous layer with this history entry whose size is at least
    /// `above` (the pages that get variants, and their variants), by path in the image.
    pub fn large_files(&self, created_by: &str, above: usize) -> HashMap<String, Vec<u8>> {
        let Some(digest) = self.by_history.get(created_by) else {
            return HashMap::new();
        };
        let Ok(blob) = self.layout.read_blob(digest) else {
            return HashMap::new();
        };
        read_large_files(&blob, above).unwrap_or_default()
    }
}

/// Regular files in a gzip tar, keeping those of at least `above` bytes and every `.br`/
/// `.gz` (a variant can be smaller than `above`).
fn read_large_files(layer: &[u8], above: usize) -> std::io::Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let size = entry.header().size()? as usize;
        if size < above && !path.ends_with(".br") && !path.ends_with(".gz") {
            continue;
        }
        let mut bytes = Vec::with_capacity(size);
        entry.read_to_end(&mut bytes)?;
        out.insert(path, bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{self, Entry, LayerKind};

    #[test]
    fn large_files_and_every_variant_are_read_back_from_a_layer() {
        let entry = |path: &str, len: usize| Entry {
            path: path.into(),
            bytes: vec![b'x'; len],
            mode: 0o644,
        };
        let written = layer::write(
            LayerKind::Pages,
            vec![
                entry("site/big.xml", 100),
                entry("site/big.xml.br", 10),
                entry("site/small.html", 5),
            ],
            1,
        )
        .unwrap();
        let files = read_large_files(&written.blob.bytes, 50).unwrap();
        let mut paths: Vec<&str> = files.keys().map(String::as_str).collect();
        paths.sort();
        assert_eq!(paths, ["site/big.xml", "site/big.xml.br"]);
        assert_eq!(files["site/big.xml"].len(), 100);
    }

    #[test]
    fn settings_name_every_knob_that_changes_the_bytes() {
        assert_ne!(settings(11, (16384, 65536)), settings(9, (16384, 65536)));
        assert_ne!(settings(11, (16384, 65536)), settings(11, (0, 65536)));
        assert_ne!(settings(11, (16384, 65536)), settings(11, (16384, 1 << 20)));
        assert!(settings(11, (0, 0)).contains(env!("CARGO_PKG_VERSION")));
        // The compressors' fingerprint is part of it, and stable within one build.
        assert_eq!(settings(11, (0, 0)), settings(11, (0, 0)));
        assert_ne!(
            compressors(11),
            compressors(5),
            "brotli's quality shows in its output"
        );
        assert_eq!(compressors(11).len(), 16);
    }
}
