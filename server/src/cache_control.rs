//! Step: `Cache-Control` by kind of file. HTML revalidates every time (so a publish shows at
//! once); files whose name carries a content hash never change, so they are cached for a
//! year; other assets get a short lifetime.

pub const HTML: &str = "no-cache";
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const ASSET: &str = "public, max-age=3600";

pub fn for_path(path: &str, content_type: &str) -> &'static str {
    if content_type.starts_with("text/html") {
        HTML
    } else if is_fingerprinted(path) {
        IMMUTABLE
    } else {
        ASSET
    }
}

/// `app.3f9a1c2b.js`, `logo-3f9a1c2b9e.png`: a name part of 8 or more hex digits (with at
/// least one letter and one digit, so `20240101` dates do not count) before the extension.
pub fn is_fingerprinted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, _ext)) = name.rsplit_once('.') else {
        return false;
    };
    let Some(hash) = stem
        .rsplit(['.', '-', '_'])
        .next()
        .filter(|h| h.len() < stem.len())
    else {
        return false;
    };
    hash.len() >= 8
        && hash.chars().all(|c| c.is_ascii_hexdigit())
        && hash.chars().any(|c| c.is_ascii_digit())
        && hash.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(for_path("index.html", "text/html; charset=utf-8"), HTML);
        assert_eq!(
            for_path("assets/app.3f9a1c2b.js", "text/javascript"),
            IMMUTABLE
        );
        assert_eq!(for_path("img/logo-0a1b2c3d4e.png", "image/png"), IMMUTABLE);
        assert_eq!(for_path("assets/galley.css", "text/css"), ASSET);
        assert_eq!(
            for_path("2024/20240101.png", "image/png"),
            ASSET,
            "a date is not a hash"
        );
        assert_eq!(
            for_path("deadbeef.js", "text/javascript"),
            ASSET,
            "the whole name is not a fingerprint"
        );
    }
}
