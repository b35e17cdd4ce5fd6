//! Step 1 of a request: turning the request target into a key of the in-memory site, or
//! refusing it. Nothing here touches the filesystem; the site was loaded from inside its
//! root at start, so a key that is not in the index simply does not exist.

/// Why a request path was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not an origin-form path (`/…`), e.g. `*`, `http://…` or empty.
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// Decodes to bytes that are not UTF-8 (this covers overlong encodings).
    NotUtf8,
    /// A NUL or other control character.
    ControlCharacter,
    /// A backslash, which some systems treat as a separator.
    Backslash,
    /// A `..` segment, however it was spelled.
    ParentSegment,
}

/// A sanitised request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePath {
    /// The key in the site index: no leading slash, segments joined by `/` (`about/index.html`
    /// style keys are looked up by the caller). Empty for the root.
    pub key: String,
    /// The request ended with `/` (so `about/` maps to `about/index.html`).
    pub trailing_slash: bool,
}

/// Decodes percent-escapes once, then refuses anything that could name a file outside the
/// site. Double encoding (`%252e`) decodes to a literal `%2e`, which is just a name.
pub fn sanitize(target: &str) -> Result<SitePath, Refused> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Err(Refused::NotAbsolute);
    }
    let bytes = decode(path)?;
    let text = String::from_utf8(bytes).map_err(|_| Refused::NotUtf8)?;
    if text.chars().any(char::is_control) {
        return Err(Refused::ControlCharacter);
    }
    if text.contains('\\') {
        return Err(Refused::Backslash);
    }
    let mut segments = Vec::new();
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(Refused::ParentSegment),
            s => segments.push(s),
        }
    }
    Ok(SitePath {
        key: segments.join("/"),
        trailing_slash: text.ends_with('/') && !segments.is_empty(),
    })
}

fn decode(path: &str) -> Result<Vec<u8>, Refused> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(Refused::BadEscape),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths() {
        assert_eq!(sanitize("/").map(|p| p.key), Ok(String::new()));
        assert_eq!(
            sanitize("/about/?x=1").map(|p| (p.key, p.trailing_slash)),
            Ok(("about".into(), true))
        );
        assert_eq!(
            sanitize("/a//b/./c.html").map(|p| p.key),
            Ok("a/b/c.html".into())
        );
        assert_eq!(
            sanitize("/caf%C3%A9.html").map(|p| p.key),
            Ok("café.html".into())
        );
    }

    #[test]
    fn traversal_attempts_are_refused() {
        let refused = [
            ("/../etc/passwd", Refused::ParentSegment),
            ("/a/../../secret", Refused::ParentSegment),
            ("/%2e%2e/secret", Refused::ParentSegment),
            ("/%2E%2E%2fsecret", Refused::ParentSegment),
            ("/..%5csecret", Refused::Backslash),
            ("/a\\..\\secret", Refused::Backslash),
            ("/secret%00.html", Refused::ControlCharacter),
            ("/%c0%ae%c0%ae/secret", Refused::NotUtf8),
            ("/%e0%80%ae", Refused::NotUtf8),
            ("/bad%zz", Refused::BadEscape),
            ("/bad%2", Refused::BadEscape),
            ("http://evil/x", Refused::NotAbsolute),
            ("*", Refused::NotAbsolute),
            ("", Refused::NotAbsolute),
        ];
        for (target, why) in refused {
            assert_eq!(sanitize(target), Err(why), "{target}");
        }
    }

    #[test]
    fn double_encoding_is_decoded_once() {
        // `%252e%252e` is the literal name `%2e%2e`, not a parent segment.
        assert_eq!(
            sanitize("/%252e%252e/x").map(|p| p.key),
            Ok("%2e%2e/x".into())
        );
    }
}
