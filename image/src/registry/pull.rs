//! Reading an image back from a registry, by digest: its manifest and its blobs, each
//! checked against its digest. What a publish needs to compare the live release's files
//! with the new one's.

use oci_spec::image::ImageManifest;
use reqwest::{Method, StatusCode};

use super::client::{Client, RegistryError};
use crate::blob::sha256_digest;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// The manifest `digest` names.
pub async fn manifest(client: &Client, digest: &str) -> Result<ImageManifest, RegistryError> {
    let bytes = get(
        client,
        &format!("manifests/{digest}"),
        digest,
        "reading a manifest",
    )
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        client.error(
            "reading a manifest",
            format!("not an OCI manifest: {e}"),
            None,
        )
    })
}

/// The blob `digest` names.
pub async fn blob(client: &Client, digest: &str) -> Result<Vec<u8>, RegistryError> {
    get(
        client,
        &format!("blobs/{digest}"),
        digest,
        "reading a layer",
    )
    .await
}

async fn get(
    client: &Client,
    rest: &str,
    digest: &str,
    step: &str,
) -> Result<Vec<u8>, RegistryError> {
    let url = client.url(rest);
    let resp = client
        .send(step, |h| {
            h.request(Method::GET, &url).header("Accept", MANIFEST_TYPE)
        })
        .await?;
    let status = resp.status();
    if status != StatusCode::OK {
        return Err(client.error(
            step,
            format!("HTTP {status} for {digest}"),
            Some(status.as_u16()),
        ));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| client.error(step, e.to_string(), None))?;
    if sha256_digest(&bytes) != digest {
        return Err(client.error(
            step,
            format!("the registry's bytes do not match {digest}"),
            None,
        ));
    }
    Ok(bytes.to_vec())
}
