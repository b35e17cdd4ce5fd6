//! The image on disk: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`)
//! plus Docker's `manifest.json` pointing into the same blobs, so one directory is valid for
//! skopeo and umoci and for `docker load` on both the classic and the containerd store.
//!
//! Written atomically: into a staging folder beside the target, then swapped in. A failed
//! build leaves the previous image exactly as it was.

use std::path::{Path, PathBuf};

use oci_spec::image::{ImageManifest, MediaType};
use serde_json::json;

use crate::blob::{hex_of, is_sha256_digest, sha256_digest, Blob};
use crate::build::Image;
use crate::canonical_json;
use crate::error::{ImageError, Result};

const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// Writes `image` to `dir`, replacing a previous image there. Refuses to replace a folder
/// that is not an image (so `--out .` cannot wipe a site).
pub fn write(image: &Image, dir: &Path) -> Result<()> {
    if dir.exists() && !is_layout(dir) && !galley_atomic::guard::is_empty(dir) {
        return Err(ImageError::Invalid(format!(
            "{}: exists and is not an image folder; refusing to replace it\n  hint: choose another --out",
            dir.display()
        )));
    }
    let staging = galley_atomic::Staging::new(dir).map_err(swap_error)?;
    write_into(image, staging.path())?;
    // The previous image is replaced either way; one that could not be removed is retried
    // by the next build.
    staging.commit().map_err(swap_error)?;
    Ok(())
}

fn swap_error(e: galley_atomic::staging::SwapError) -> ImageError {
    ImageError::io(&e.path, e.source)
}

fn write_into(image: &Image, dir: &Path) -> Result<()> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| ImageError::io(&blobs, e))?;
    let mut all: Vec<&Blob> = vec![&image.manifest, &image.config];
    all.extend(image.layers.iter().map(|l| &l.blob));
    for blob in all {
        let path = blobs.join(blob.hex());
        std::fs::write(&path, &blob.bytes).map_err(|e| ImageError::io(&path, e))?;
    }
    let (_, tag) = split_tag(&image.tag);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MediaType::ImageIndex.to_string(),
        "manifests": [{
            "mediaType": MediaType::ImageManifest.to_string(),
            "digest": image.manifest.digest,
            "size": image.manifest.size(),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {
                "org.opencontainers.image.ref.name": tag,
                "io.containerd.image.name": image.tag,
                crate::reuse::SETTINGS_ANNOTATION: image.compression,
            },
        }],
    });
    let docker = json!([{
        "Config": format!("blobs/sha256/{}", image.config.hex()),
        "RepoTags": [image.tag],
        "Layers": image.layers.iter().map(|l| format!("blobs/sha256/{}", l.blob.hex())).collect::<Vec<_>>(),
    }]);
    let to_json = |v: &serde_json::Value| {
        canonical_json::to_vec(v).map_err(|e| ImageError::Invalid(format!("image index: {e}")))
    };
    for (file, bytes) in [
        ("oci-layout", OCI_LAYOUT.as_bytes().to_vec()),
        ("index.json", to_json(&index)?),
        ("manifest.json", to_json(&docker)?),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| ImageError::io(&path, e))?;
    }
    Ok(())
}

/// A folder holding an OCI image layout (what `--out` may replace).
pub fn is_layout(dir: &Path) -> bool {
    dir.join("oci-layout").is_file()
}

/// `name:tag` -> (`name`, `tag`); no tag means `latest`. A `:` inside a registry port is not
/// a tag separator.
pub fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], &reference[i + 1..]),
        _ => (reference, "latest"),
    }
}

/// An image read back from a layout folder.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
    pub manifest_digest: String,
    pub manifest_bytes: Vec<u8>,
    pub manifest: ImageManifest,
    /// `name:tag` from `index.json`.
    pub tag: Option<String>,
    /// The manifest's annotations in `index.json`.
    annotations: serde_json::Map<String, serde_json::Value>,
}

impl Layout {
    pub fn open(dir: &Path) -> Result<Layout> {
        let not = |reason: String| ImageError::NotAnImage {
            dir: dir.to_path_buf(),
            reason,
        };
        if !is_layout(dir) {
            return Err(not("no oci-layout file".into()));
        }
        let index_path = dir.join("index.json");
        let index: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&index_path).map_err(|e| ImageError::io(&index_path, e))?,
        )
        .map_err(|e| not(format!("index.json: {e}")))?;
        let entry = index["manifests"]
            .get(0)
            .ok_or_else(|| not("index.json lists no manifest".into()))?;
        let digest = entry["digest"]
            .as_str()
            .filter(|d| is_sha256_digest(d))
            .ok_or_else(|| not("index.json's manifest digest is not sha256".into()))?
            .to_string();
        let tag = entry["annotations"]["io.containerd.image.name"]
            .as_str()
            .map(str::to_string);
        let annotations = entry["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let manifest_bytes = std::fs::read(blob_path(dir, &digest))
            .map_err(|e| ImageError::io(blob_path(dir, &digest), e))?;
        if sha256_digest(&manifest_bytes) != digest {
            return Err(not(format!("manifest blob does not match {digest}")));
        }
        let manifest: ImageManifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| not(format!("manifest: {e}")))?;
        Ok(Layout {
            dir: dir.to_path_buf(),
            manifest_digest: digest,
            manifest_bytes,
            manifest,
            tag,
            annotations,
        })
    }

    /// One of the manifest's annotations in `index.json`.
    pub fn annotation(&self, name: &str) -> Option<String> {
        self.annotations
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// Config first, then layers: every blob the manifest names, as (digest, size).
    pub fn blobs(&self) -> Vec<(String, u64)> {
        let mut out = vec![(
            self.manifest.config().digest().to_string(),
            self.manifest.config().size(),
        )];
        out.extend(
            self.manifest
                .layers()
                .iter()
                .map(|l| (l.digest().to_string(), l.size())),
        );
        out
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        blob_path(&self.dir, digest)
    }

    /// Reads a blob and checks it still has its digest (a corrupted layout fails here, not
    /// in the registry).
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        if !is_sha256_digest(digest) {
            return Err(ImageError::Invalid(format!("bad blob digest {digest:?}")));
        }
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(|e| ImageError::io(&path, e))?;
        if sha256_digest(&bytes) != digest {
            return Err(ImageError::NotAnImage {
                dir: self.dir.clone(),
                reason: format!("blob {digest} is corrupted"),
            });
        }
        Ok(bytes)
    }
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs").join("sha256").join(hex_of(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_after_the_last_colon_outside_the_host() {
        assert_eq!(split_tag("blog:v1"), ("blog", "v1"));
        assert_eq!(split_tag("blog"), ("blog", "latest"));
        assert_eq!(
            split_tag("127.0.0.1:5000/blog"),
            ("127.0.0.1:5000/blog", "latest")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/blog:v2"),
            ("127.0.0.1:5000/blog", "v2")
        );
    }
}
