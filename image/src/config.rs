//! The image config (what runs, as whom, with which labels and healthcheck) and the
//! manifest that ties config and layers together. Both serialised as canonical JSON.

use std::collections::HashMap;

use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, HistoryBuilder, ImageConfigurationBuilder,
    ImageManifestBuilder, MediaType, Os, RootFsBuilder,
};
use serde_json::json;

use crate::blob::Blob;
use crate::canonical_json;
use crate::error::{ImageError, Result};
use crate::input::Metadata;
use crate::layer::{Layer, SITE_DIR};

/// The non-root account the server runs as (distroless's `nonroot`).
pub const USER_ID: u32 = 65532;
pub const PORT: u16 = galley_server::handler::DEFAULT_PORT;
pub const SERVER_PATH: &str = "/galley-server";
pub const HEALTH_PATH: &str = galley_server::handler::DEFAULT_HEALTH_PATH;

/// Docker's HEALTHCHECK intervals, in nanoseconds as the config stores them.
const SECOND_NS: u64 = 1_000_000_000;

fn invalid(what: &str, e: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("building the image {what}: {e}"))
}

/// The config blob: entrypoint, user, port, labels, Docker healthcheck, rootfs diff_ids and
/// one history entry per layer.
pub fn config_blob(layers: &[Layer], metadata: &Metadata, created: &str) -> Result<Blob> {
    let labels: HashMap<String, String> = [
        ("created", created),
        ("revision", metadata.revision.as_str()),
        ("source", metadata.source.as_str()),
        ("title", metadata.title.as_str()),
        ("version", metadata.version.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("org.opencontainers.image.{k}"), v.to_string()))
    .collect();
    let config = ConfigBuilder::default()
        .user(format!("{USER_ID}:{USER_ID}"))
        .exposed_ports(vec![format!("{PORT}/tcp")])
        .entrypoint(vec![SERVER_PATH.to_string()])
        .cmd(vec![
            "--root".to_string(),
            format!("/{SITE_DIR}"),
            "--listen".to_string(),
            format!("0.0.0.0:{PORT}"),
        ])
        .working_dir("/".to_string())
        .stop_signal("SIGTERM".to_string())
        .labels(labels)
        .build()
        .map_err(|e| invalid("config", e))?;
    let history = layers
        .iter()
        .map(|l| {
            HistoryBuilder::default()
                .created(created.to_string())
                .created_by(l.created_by())
                .build()
                .map_err(|e| invalid("history", e))
        })
        .collect::<Result<Vec<_>>>()?;
    let rootfs = RootFsBuilder::default()
        .typ("layers".to_string())
        .diff_ids(layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>())
        .build()
        .map_err(|e| invalid("rootfs", e))?;
    let image = ImageConfigurationBuilder::default()
        .created(created.to_string())
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(config)
        .rootfs(rootfs)
        .history(history)
        .build()
        .map_err(|e| invalid("configuration", e))?;
    let mut value = serde_json::to_value(&image).map_err(|e| invalid("config", e))?;
    // Docker reads its HEALTHCHECK from the config; OCI has no field for it. The probe is the
    // server binary itself: a scratch image has no shell and no curl.
    if let Some(cfg) = value.get_mut("config").and_then(|c| c.as_object_mut()) {
        cfg.insert(
            "Healthcheck".into(),
            json!({
                "Test": ["CMD", SERVER_PATH, "--check", format!("http://127.0.0.1:{PORT}{HEALTH_PATH}")],
                "Interval": 10 * SECOND_NS,
                "Timeout": 3 * SECOND_NS,
                "StartPeriod": 5 * SECOND_NS,
                "Retries": 3,
            }),
        );
    }
    Ok(Blob::new(
        canonical_json::to_vec(&value).map_err(|e| invalid("config", e))?,
    ))
}

/// The OCI image manifest naming `config` and `layers` (gzip tars).
pub fn manifest_blob(config: &Blob, layers: &[Layer]) -> Result<Blob> {
    let digest = |b: &Blob| {
        b.digest
            .parse::<oci_spec::image::Digest>()
            .map_err(|e| invalid("digest", e))
    };
    let config_desc = Descriptor::new(MediaType::ImageConfig, config.size(), digest(config)?);
    let layer_descs = layers
        .iter()
        .map(|l| {
            Ok(Descriptor::new(
                MediaType::ImageLayerGzip,
                l.blob.size(),
                digest(&l.blob)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_desc)
        .layers(layer_descs)
        .build()
        .map_err(|e| invalid("manifest", e))?;
    Ok(Blob::new(
        canonical_json::to_vec(&manifest).map_err(|e| invalid("manifest", e))?,
    ))
}
