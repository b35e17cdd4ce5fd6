//! Pushing an image from its layout: HEAD every blob and skip what the registry has, upload
//! the rest with POST then a single PUT (chunked PATCH uploads are unreliable on ECR), then
//! PUT the manifest unless the tag already names it. An interrupted push resumes by
//! skipping what arrived.

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};

use super::client::{Client, RegistryError};
use crate::blob::short;
use crate::layout::Layout;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PushReport {
    /// `registry/repository:tag`.
    pub reference: String,
    pub digest: String,
    pub blobs: usize,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    pub manifest_uploaded: bool,
}

/// What a push is doing, for progress lines.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Skipped { digest: &'a str, size: u64 },
    Uploaded { digest: &'a str, size: u64 },
}

pub async fn push(
    layout: &Layout,
    client: &Client,
    tag: &str,
    mut progress: impl FnMut(Event<'_>),
) -> Result<PushReport, PushError> {
    let mut report = PushReport {
        reference: format!(
            "{}/{}:{tag}",
            client.reference.registry, client.reference.repository
        ),
        digest: layout.manifest_digest.clone(),
        ..Default::default()
    };
    for (digest, size) in layout.blobs() {
        report.blobs += 1;
        if has_blob(client, &digest).await? {
            progress(Event::Skipped {
                digest: &digest,
                size,
            });
            continue;
        }
        let bytes = bytes::Bytes::from(layout.read_blob(&digest)?);
        upload_blob(client, &digest, bytes).await?;
        report.blobs_uploaded += 1;
        report.bytes_uploaded += size;
        progress(Event::Uploaded {
            digest: &digest,
            size,
        });
    }
    if current_manifest(client, tag).await?.as_deref() != Some(&layout.manifest_digest) {
        put_manifest(client, tag, layout).await?;
        report.manifest_uploaded = true;
        report.bytes_uploaded += layout.manifest_bytes.len() as u64;
    }
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Image(#[from] crate::error::ImageError),
}

async fn has_blob(client: &Client, digest: &str) -> Result<bool, RegistryError> {
    let step = format!("checking blob {}", short(digest));
    let url = client.url(&format!("blobs/{digest}"));
    let resp = client
        .send(&step, |h| h.request(Method::HEAD, &url))
        .await?;
    match resp.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        s => Err(client.error(&step, format!("HTTP {s}"), Some(s.as_u16()))),
    }
}

/// POST opens an upload session; one PUT sends the whole blob and closes it. A failed PUT
/// leaves the session unusable, so a retry starts again from the POST.
async fn upload_blob(
    client: &Client,
    digest: &str,
    bytes: bytes::Bytes,
) -> Result<(), RegistryError> {
    let step = format!("uploading blob {}", short(digest));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = upload_once(client, &step, digest, bytes.clone()).await;
        match result {
            Ok(()) => return Ok(()),
            Err(e) if attempt < client.retry.attempts && e.status.is_none_or(|s| s >= 500) => {
                tokio::time::sleep(client.retry.pause(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn upload_once(
    client: &Client,
    step: &str,
    digest: &str,
    bytes: bytes::Bytes,
) -> Result<(), RegistryError> {
    let start = client.url("blobs/uploads/");
    let resp = client
        .send_once(step, &|h: &reqwest::Client| {
            h.request(Method::POST, &start).header(CONTENT_LENGTH, 0)
        })
        .await?;
    if resp.status() != StatusCode::ACCEPTED {
        let s = resp.status();
        return Err(client.error(
            step,
            format!("starting the upload: HTTP {s}"),
            Some(s.as_u16()),
        ));
    }
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| client.error(step, "the registry sent no upload Location", None))?;
    let location = client.absolute(location);
    let sep = if location.contains('?') { '&' } else { '?' };
    let put_url = format!("{location}{sep}digest={digest}");
    let len = bytes.len();
    let resp = client
        .send_once(step, &|h: &reqwest::Client| {
            h.request(Method::PUT, &put_url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, len)
                .body(bytes.clone())
        })
        .await?;
    match resp.status() {
        StatusCode::CREATED => Ok(()),
        s => {
            let body = resp.text().await.unwrap_or_default();
            Err(client.error(
                step,
                format!("HTTP {s} {}", excerpt(&body)),
                Some(s.as_u16()),
            ))
        }
    }
}

/// The digest the tag names now, if any.
async fn current_manifest(client: &Client, tag: &str) -> Result<Option<String>, RegistryError> {
    let step = format!("checking tag {tag}");
    let url = client.url(&format!("manifests/{tag}"));
    let resp = client
        .send(&step, |h| {
            h.request(Method::HEAD, &url)
                .header("Accept", MANIFEST_TYPE)
        })
        .await?;
    match resp.status() {
        StatusCode::OK => Ok(resp
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)),
        StatusCode::NOT_FOUND => Ok(None),
        s => Err(client.error(&step, format!("HTTP {s}"), Some(s.as_u16()))),
    }
}

async fn put_manifest(client: &Client, tag: &str, layout: &Layout) -> Result<(), RegistryError> {
    let step = format!("putting the manifest as {tag}");
    let url = client.url(&format!("manifests/{tag}"));
    let body = bytes::Bytes::from(layout.manifest_bytes.clone());
    let resp = client
        .send(&step, |h| {
            h.request(Method::PUT, &url)
                .header(CONTENT_TYPE, MANIFEST_TYPE)
                .body(body.clone())
        })
        .await?;
    let status = resp.status();
    if status != StatusCode::CREATED {
        let body = resp.text().await.unwrap_or_default();
        return Err(client.error(
            &step,
            format!("HTTP {status} {}", excerpt(&body)),
            Some(status.as_u16()),
        ));
    }
    let stored = resp
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok());
    if let Some(d) = stored.filter(|d| *d != layout.manifest_digest) {
        return Err(client.error(
            &step,
            format!("the registry stored {d}, not {}", layout.manifest_digest),
            None,
        ));
    }
    Ok(())
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let cut: String = body.chars().take(200).collect();
    format!("({cut})")
}
