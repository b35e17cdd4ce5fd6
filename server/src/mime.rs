//! Content types by file extension: a static table, sorted so lookups are a binary search
//! (a test keeps it sorted).

/// Extension (lowercase, no dot) and its content type.
const TYPES: &[(&str, &str)] = &[
    ("atom", "application/atom+xml"),
    ("avif", "image/avif"),
    ("css", "text/css; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("gif", "image/gif"),
    ("htm", "text/html; charset=utf-8"),
    ("html", "text/html; charset=utf-8"),
    ("ico", "image/x-icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("md", "text/markdown; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("ogg", "audio/ogg"),
    ("otf", "font/otf"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("rss", "application/rss+xml"),
    ("svg", "image/svg+xml"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain; charset=utf-8"),
    ("wasm", "application/wasm"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xml", "application/xml"),
    ("zip", "application/zip"),
];

/// What unknown files are served as: browsers will not sniff them into something runnable.
pub const DEFAULT: &str = "application/octet-stream";

pub fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return DEFAULT;
    };
    let ext = ext.to_ascii_lowercase();
    TYPES
        .binary_search_by(|(e, _)| (*e).cmp(ext.as_str()))
        .map_or(DEFAULT, |i| TYPES[i].1)
}

/// Worth compressing: text-like types. Images, fonts (woff2) and media are compressed already.
pub fn is_compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.contains("json")
        || content_type.contains("xml")
        || content_type == "application/wasm"
        || content_type == "font/ttf"
        || content_type == "font/otf"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(
            TYPES.windows(2).all(|w| w[0].0 < w[1].0),
            "keep TYPES sorted by extension"
        );
    }

    #[test]
    fn lookups() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a/B.PNG"), "image/png");
        assert_eq!(content_type("feed.xml"), "application/xml");
        assert_eq!(content_type("LICENSE"), DEFAULT);
        assert!(is_compressible(content_type("x.css")));
        assert!(!is_compressible(content_type("x.woff2")));
    }
}
