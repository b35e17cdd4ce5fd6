//! Jekyll's own tags take markup that Liquid's expression grammar rejects: file names
//! (`{% include head.html %}`, `{% link _posts/2024-01-01-a.md %}`), Ruby-style parameters
//! and `{{ }}` inside a tag (`{% include {{ page.nav }} %}`). Before parsing, such a tag's
//! markup is carried through as one string literal (hex, so no character of it can end the
//! literal); the tag decodes it and parses it as Jekyll does. Newlines are kept so that line
//! numbers in messages stay right.

use std::borrow::Cow;

/// Tags whose markup is Jekyll's rather than Liquid's.
pub const RAW_MARKUP: &[&str] = &[
    "include",
    "include_relative",
    "include_cached",
    "post_url",
    "link",
    "highlight",
    "gist",
    "seo",
    "feed_meta",
    "avatar",
];

/// The text with each Jekyll tag's markup replaced by an encoded literal.
pub fn protect(text: &str) -> Cow<'_, str> {
    if !text.contains("{%") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    let mut changed = false;
    while let Some(rel) = text[pos..].find("{%") {
        let open = pos + rel;
        let mut name_start = open + 2;
        if text[name_start..].starts_with('-') {
            name_start += 1;
        }
        let after_ws =
            name_start + (text[name_start..].len() - text[name_start..].trim_start().len());
        let name_len = text[after_ws..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len() - after_ws);
        let name = &text[after_ws..after_ws + name_len];
        let Some(close) = tag_end(text, after_ws + name_len) else {
            break;
        };
        if name == "raw" || name == "comment" {
            // Copied untouched up to the end of its closing tag.
            let end = closing(text, close.1, &format!("end{name}")).unwrap_or(text.len());
            out.push_str(&text[pos..end]);
            pos = end;
            continue;
        }
        if !RAW_MARKUP.contains(&name) {
            out.push_str(&text[pos..close.1]);
            pos = close.1;
            continue;
        }
        let markup = &text[after_ws + name_len..close.0];
        out.push_str(&text[pos..after_ws + name_len]);
        out.push_str(" \"");
        out.push_str(&encode(markup.trim()));
        out.push('"');
        for _ in 0..markup.matches('\n').count() {
            out.push('\n');
        }
        out.push(' ');
        out.push_str(&text[close.0..close.1]);
        pos = close.1;
        changed = true;
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[pos..]);
    Cow::Owned(out)
}

/// The text with the insides of `{% comment %}` and `{% raw %}` blocks blanked (newlines
/// kept), for scanners that look for tags: a tag written in a comment never runs.
pub fn without_literal_blocks(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut pos = 0;
    let mut search = 0;
    while let Some(rel) = text[search..].find("{%") {
        let open = search + rel;
        let inner = text[open + 2..].trim_start_matches('-').trim_start();
        let Some((_, close)) = tag_end(text, open + 2) else {
            break;
        };
        let name = ["raw", "comment"].into_iter().find(|n| {
            inner.starts_with(n)
                && !inner[n.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
        let Some(name) = name else {
            search = close;
            continue;
        };
        let end = closing(text, close, &format!("end{name}")).unwrap_or(text.len());
        out.push_str(&text[pos..close]);
        out.extend(text[close..end].chars().filter(|c| *c == '\n'));
        pos = end;
        search = end;
    }
    if pos == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[pos..]);
    Cow::Owned(out)
}

/// The markup of a protected tag `tag`, read from its arguments (the literal `protect`
/// wrote); `missing` is the error when the tag has none.
pub fn read(
    arguments: &mut liquid_core::TagTokenIter<'_>,
    tag: &str,
    missing: &str,
) -> liquid_core::Result<String> {
    let token = arguments.expect_next(missing)?;
    let text = decode(token.as_str())
        .ok_or_else(|| liquid_core::Error::with_msg(format!("`{tag}` markup could not be read")))?;
    arguments.expect_nothing()?;
    Ok(text)
}

/// The markup of a protected tag, from the literal `protect` wrote.
pub fn decode(literal: &str) -> Option<String> {
    let hex = literal.trim().trim_matches('"');
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn encode(markup: &str) -> String {
    markup.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Where a tag's closing `%}` (or `-%}`) starts, and where it ends.
fn tag_end(text: &str, from: usize) -> Option<(usize, usize)> {
    let rel = text[from..].find("%}")?;
    let mut start = from + rel;
    if text[..start].ends_with('-') && start > from {
        start -= 1;
    }
    Some((start, from + rel + 2))
}

/// The end of the `{% end… %}` tag that closes a raw or comment block.
fn closing(text: &str, from: usize, end_name: &str) -> Option<usize> {
    let mut pos = from;
    while let Some(rel) = text[pos..].find("{%") {
        let open = pos + rel;
        let inner = text[open + 2..].trim_start_matches('-').trim_start();
        let (_, close) = tag_end(text, open + 2)?;
        if inner.starts_with(end_name) {
            return Some(close);
        }
        pos = close;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jekyll_markup_survives_liquids_grammar() {
        let text =
            "a {% include head.html x=\"1\" %} b {%- link _posts/x.md -%}\n{% if a %}{% endif %}";
        let p = protect(text);
        assert!(!p.contains("head.html"), "{p}");
        assert!(p.contains("{% if a %}"));
        assert!(p.contains("{%- link \""), "{p}");
        let lit = p.split('"').nth(1).unwrap_or_default();
        assert_eq!(decode(lit).as_deref(), Some("head.html x=\"1\""));
    }

    #[test]
    fn raw_blocks_and_line_counts_are_kept() {
        let text = "{% raw %}{% include x %}{% endraw %}{% include a.html\n  k=v %}\nend";
        let p = protect(text);
        assert!(p.starts_with("{% raw %}{% include x %}{% endraw %}"), "{p}");
        assert_eq!(p.matches('\n').count(), 2);
    }

    #[test]
    fn commented_tags_are_blanked_for_scanners() {
        let text = "a\n{% comment %}\n{% include self.html %}\n{% endcomment %}{% include b %}";
        let t = without_literal_blocks(text);
        assert!(!t.contains("self.html"), "{t}");
        assert!(t.ends_with("{% include b %}"), "{t}");
        assert_eq!(t.matches('\n').count(), 3);
    }
}
