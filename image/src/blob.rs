//! A content-addressed blob: its bytes and their sha256 digest, as registries name them.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>` of exactly `bytes`.
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Blob {
        Blob {
            digest: sha256_digest(&bytes),
            bytes,
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The hex part of the digest: the file name under `blobs/sha256/`.
    pub fn hex(&self) -> &str {
        hex_of(&self.digest)
    }
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", to_hex(&Sha256::digest(bytes)))
}

pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// The first 12 hex digits of a digest or container id: what people read in logs.
pub fn short(digest: &str) -> &str {
    let hex = hex_of(digest);
    &hex[..12.min(hex.len())]
}

/// The tag an image is pushed or loaded under besides its digest: `sha-<12 hex>`.
pub fn digest_tag(digest: &str) -> String {
    format!("sha-{}", short(digest))
}

pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether `digest` is a well-formed sha256 digest (guards paths built from it).
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_of_the_bytes() {
        let b = Blob::new(b"abc".to_vec());
        assert_eq!(
            b.digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_digest(&b.digest));
        assert!(!is_sha256_digest("sha256:../../etc/passwd"));
    }
}
