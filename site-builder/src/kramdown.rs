//! The kramdown markup that real Jekyll posts use and CommonMark lacks, handled before
//! markdown: `{:toc}` becomes the table of contents, `{: #id .class}` on a heading becomes a
//! heading attribute, other attribute lists and `{::options}` are dropped cleanly,
//! abbreviation definitions (`*[HTML]: Hyper Text Markup Language`) are taken out (see
//! `abbreviations`), and an HTML block marked `markdown="1"` has its inside read as Markdown.

/// Marks where `{:toc}` stood; replaced by the TOC after rendering. An HTML comment, so
/// markdown passes it through untouched.
pub const TOC_MARKER: &str = "<!-- galley:toc -->";

/// Rewrites kramdown extensions outside code fences. Returns the input unchanged (borrowed)
/// when there is nothing to do, which is the common case.
pub fn preprocess(body: &str) -> std::borrow::Cow<'_, str> {
    if !body.contains("{:") && !body.contains("*[") && !body.contains("markdown=") {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len());
    let mut fence: Option<&str> = None;
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            out.push_str(line);
            i += 1;
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = Some(&t[..3]);
            out.push_str(line);
            i += 1;
            continue;
        }
        // `* TOC` followed by `{:toc}`: the whole list item is the placeholder.
        if is_toc_item(t) && lines.get(i + 1).is_some_and(|n| n.trim() == "{:toc}") {
            out.push('\n');
            out.push_str(TOC_MARKER);
            out.push_str("\n\n");
            i += 2;
            continue;
        }
        if t == "{:toc}" {
            out.push('\n');
            out.push_str(TOC_MARKER);
            out.push_str("\n\n");
            i += 1;
            continue;
        }
        if is_block_ial(t) || abbreviation(t).is_some() {
            i += 1;
            continue;
        }
        if let Some(open) = markdown_block_open(t) {
            // A blank line after the opening tag and before the closing one, so CommonMark
            // reads the inside as Markdown, as kramdown does for `markdown="1"`.
            out.push_str(&open);
            out.push_str("\n\n");
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("</") {
                out.push_str(lines[i]);
                i += 1;
            }
            out.push('\n');
            continue;
        }
        if t.starts_with('#') {
            out.push_str(&heading_ial(line));
        } else {
            out.push_str(&strip_span_ials(line));
        }
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// `*[ABBR]: Full title`.
fn abbreviation(t: &str) -> Option<(String, String)> {
    let rest = t.strip_prefix("*[")?;
    let (abbr, title) = rest.split_once("]:")?;
    (!abbr.is_empty()).then(|| (abbr.to_string(), title.trim().to_string()))
}

/// The abbreviations a body defines, longest first (so `HTML5` wins over `HTML`).
pub fn abbreviations(body: &str) -> Vec<(String, String)> {
    if !body.contains("*[") {
        return Vec::new();
    }
    let mut found: Vec<(String, String)> = body
        .lines()
        .filter_map(|l| abbreviation(l.trim()))
        .collect();
    found.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

/// `<div markdown="1">` (any tag, either quote): the opening tag without the attribute.
fn markdown_block_open(t: &str) -> Option<String> {
    if !t.starts_with('<') || !t.ends_with('>') || t.starts_with("</") {
        return None;
    }
    for attr in [
        " markdown=\"1\"",
        " markdown='1'",
        " markdown=\"block\"",
        " markdown=1",
    ] {
        if let Some(at) = t.find(attr) {
            return Some(format!("{}{}", &t[..at], &t[at + attr.len()..]));
        }
    }
    None
}

fn is_toc_item(t: &str) -> bool {
    matches!(
        t,
        "* TOC" | "- TOC" | "1. TOC" | "* Table of Contents" | "- Table of Contents"
    )
}

/// A line that is only `{: ...}` or `{::...}`: a block attribute list or extension.
fn is_block_ial(t: &str) -> bool {
    (t.starts_with("{:") && t.ends_with('}')) || t.starts_with("{::")
}

/// `## Title {: #id .class}` into pulldown-cmark's `## Title {#id .class}`.
fn heading_ial(line: &str) -> String {
    if let Some(start) = line.rfind("{:") {
        if let Some(end) = line[start..].find('}') {
            let inner = line[start + 2..start + end].trim();
            let nl = if line.ends_with('\n') { "\n" } else { "" };
            return format!("{}{{{inner}}}{nl}", &line[..start]);
        }
    }
    line.to_string()
}

/// Inline `{:.class}` after a span: dropped, keeping the text.
fn strip_span_ials(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{:") {
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(&rest[..start]);
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_marker_replaces_kramdown_toc() {
        let out = preprocess("intro\n\n* TOC\n{:toc}\n\n## A\n");
        assert!(out.contains(TOC_MARKER));
        assert!(!out.contains("TOC\n{:toc}"));
    }

    #[test]
    fn attribute_lists_are_dropped_or_converted() {
        let out = preprocess(
            "para\n{: .note}\n\n## Head {: #custom}\n\n![x](y.png){:.wide}\n```\n{: keep}\n```\n",
        );
        assert!(!out.contains("{: .note}"));
        assert!(out.contains("## Head {#custom}"));
        assert!(out.contains("![x](y.png)\n"));
        assert!(out.contains("{: keep}"), "code fences are left alone");
    }
}
