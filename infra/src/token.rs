//! Unguessable tokens: the local balancer's control-API token and the CDN's origin secret.

use anyhow::{Context, Result};

/// 32 random hex digits from the kernel; `purpose` names it in the error.
pub fn random_hex(purpose: &str) -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .with_context(|| format!("reading /dev/urandom for {purpose}"))?;
    Ok(galley_image::blob::to_hex(&bytes))
}
