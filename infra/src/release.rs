//! A release: one image digest, deployed at one time, with an id that sorts by time. What
//! the rollout puts live and what `releases` and `rollback` list.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// `r20261123-101500-4f2a9c`: time of deploy, then the digest's first hex digits.
    pub id: String,
    /// `sha256:…` of the image manifest.
    pub digest: String,
    /// Where instances pull it from, by digest: `host/repo@sha256:…`.
    pub image: String,
    /// RFC 3339.
    pub created: String,
}

impl Release {
    pub fn new(digest: &str, repository: &str, now: chrono::DateTime<chrono::Utc>) -> Release {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        Release {
            id: format!(
                "r{}-{}",
                now.format("%Y%m%d-%H%M%S"),
                &hex[..6.min(hex.len())]
            ),
            digest: digest.to_string(),
            image: format!("{repository}@{digest}"),
            created: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_images_are_pinned_by_digest() {
        let d = "sha256:4f2a9c0000000000000000000000000000000000000000000000000000000000";
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:15:00Z")
            .unwrap()
            .to_utc();
        let r = Release::new(d, "reg.example/blog", t);
        assert_eq!(r.id, "r20261123-101500-4f2a9c");
        assert_eq!(r.image, format!("reg.example/blog@{d}"));
    }
}
