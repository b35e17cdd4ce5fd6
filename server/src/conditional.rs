//! Step: conditional requests (RFC 9110 §13). `If-None-Match` wins over
//! `If-Modified-Since`; a match means 304 Not Modified.

use std::time::SystemTime;

/// True when the client's copy is current.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    modified: SystemTime,
) -> bool {
    if let Some(inm) = if_none_match {
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag);
    }
    match if_modified_since.and_then(|d| httpdate::parse_http_date(d.trim()).ok()) {
        // HTTP dates have whole seconds: compare at that precision.
        Some(since) => secs(modified) <= secs(since),
        None => false,
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn validators() {
        let m = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let date = httpdate::fmt_http_date(m);
        assert!(not_modified(Some("\"abc\""), None, "\"abc\"", m));
        assert!(not_modified(Some("\"x\", W/\"abc\""), None, "\"abc\"", m));
        assert!(
            !not_modified(Some("\"x\""), Some(&date), "\"abc\"", m),
            "ETag wins over the date"
        );
        assert!(not_modified(None, Some(&date), "\"abc\"", m));
        assert!(!not_modified(
            None,
            Some("Mon, 01 Jan 2001 00:00:00 GMT"),
            "\"abc\"",
            m
        ));
        assert!(!not_modified(None, Some("garbage"), "\"abc\"", m));
    }
}
