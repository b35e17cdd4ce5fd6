//! Slugs for URLs and heading ids, as Jekyll's `slugify` ("default" mode) makes them.

/// Lowercase, runs of anything but letters and digits become one `-`, no `-` at the ends.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    out
}

/// Heading ids as GitHub and kramdown make them: punctuation dropped, spaces to `-`.
pub fn heading_id(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            out.push('-');
        }
    }
    if out.is_empty() {
        "section".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("  C++ & Rust  "), "c-rust");
        assert_eq!(slugify("Ünïcode Tïtle"), "ünïcode-tïtle");
    }

    #[test]
    fn heading_ids() {
        assert_eq!(
            heading_id("Getting started: the basics"),
            "getting-started-the-basics"
        );
        assert_eq!(heading_id("What's new?"), "whats-new");
    }
}
