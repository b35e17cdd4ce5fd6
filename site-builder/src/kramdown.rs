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
        if abbreviation(t).is_some() {
            i += 1;
            continue;
        }
        if is_block_ial(t) {
            // Right under a block (no blank line): it applies to that block; the marker is
            // an HTML block, which ends the paragraph or list above it.
            let attached = !t.starts_with("{::") && !out.is_empty() && !out.ends_with("\n\n");
            if attached {
                out.push_str(&format!("{BLOCK_IAL}{}-->\n", &t[2..t.len() - 1].trim()));
            }
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

/// Inline `{:.class}` right after a span (`*x*{:.c}`, `![a](b){:.c}`): a marker that
/// `apply_attribute_lists` turns into the span's attributes.
fn strip_span_ials(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{:") {
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(&rest[..start]);
                let inner = rest[start + 2..start + end].trim();
                if !inner.starts_with(':') && !inner.is_empty() {
                    out.push_str(&format!("{SPAN_IAL}{inner}-->"));
                }
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// Where a block attribute list stood (after its block) and a span one (after its span).
const BLOCK_IAL: &str = "<!--galley-ial:";
const SPAN_IAL: &str = "<!--galley-sial:";

/// The HTML with each attribute list applied to the element it follows (its closing tag,
/// or an `<img>`), as kramdown applies `{: .class #id key="value"}`; lists that follow no
/// element are dropped.
pub fn apply_attribute_lists(html: &str) -> String {
    if !html.contains("<!--galley-") {
        return html.to_string();
    }
    let mut out = html.to_string();
    while let Some((start, end, attrs)) = next_marker(&out) {
        let before = out[..start].trim_end_matches(['\n', ' ']).len();
        let target = opening_before(&out[..before]);
        let mut rest = out[end..].to_string();
        if rest.starts_with('\n') && out[..start].ends_with('\n') {
            rest.remove(0);
        }
        let mut head = out[..start].to_string();
        if let Some((open_start, open_end)) = target {
            let tag = &head[open_start..open_end];
            let merged = with_attributes(tag, &attrs);
            head.replace_range(open_start..open_end, &merged);
        }
        out = head + &rest;
    }
    out
}

/// The first marker: its span and its attribute list.
fn next_marker(html: &str) -> Option<(usize, usize, String)> {
    let start = html.find("<!--galley-")?;
    let body_start = html[start..].find(':')? + start + 1;
    let end = html[start..].find("-->")? + start + 3;
    Some((start, end, html[body_start..end - 3].to_string()))
}

/// The opening tag of the element that ends at the end of `html`: the one its last closing
/// tag closes, or a last void `<img>`; its byte range.
fn opening_before(html: &str) -> Option<(usize, usize)> {
    if html.ends_with('>') {
        let tag_start = html.rfind('<')?;
        let tag = &html[tag_start..];
        if tag.starts_with("<img") {
            return Some((tag_start, html.len()));
        }
        let name: String = tag
            .strip_prefix("</")?
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        // Back to the opening tag that this one closes, counting nested ones.
        let (open, close) = (format!("<{name}"), format!("</{name}>"));
        let mut depth = 0usize;
        let mut pos = tag_start;
        while let Some(i) = html[..pos].rfind('<') {
            let t = &html[i..];
            if t.starts_with(&close) {
                depth += 1;
            } else if t.starts_with(&open)
                && t[open.len()..].starts_with(|c: char| c == '>' || c.is_whitespace())
            {
                if depth == 0 {
                    let end = i + t.find('>')? + 1;
                    return Some((i, end));
                }
                depth -= 1;
            }
            pos = i;
        }
    }
    None
}

/// An opening tag with `.class`, `#id` and `key="value"` from an attribute list added.
fn with_attributes(tag: &str, list: &str) -> String {
    let (body, close) = match tag.strip_suffix("/>") {
        Some(b) => (b.trim_end(), " />"),
        None => (tag.strip_suffix('>').unwrap_or(tag), ">"),
    };
    let mut classes: Vec<String> = Vec::new();
    let mut id: Option<String> = None;
    let mut others: Vec<(String, String)> = Vec::new();
    for word in words(list) {
        if let Some(c) = word.strip_prefix('.') {
            classes.push(c.to_string());
        } else if let Some(i) = word.strip_prefix('#') {
            id = Some(i.to_string());
        } else if let Some((k, v)) = word.split_once('=') {
            others.push((k.to_string(), v.trim_matches(['"', '\'']).to_string()));
        }
    }
    let mut out = body.to_string();
    if !classes.is_empty() {
        let joined = classes.join(" ");
        match out.find(" class=\"") {
            Some(at) => out.insert_str(at + 8, &format!("{joined} ")),
            None => out.push_str(&format!(" class=\"{joined}\"")),
        }
    }
    if let Some(id) = id {
        out.push_str(&format!(" id=\"{}\"", crate::highlight::escape(&id)));
    }
    for (k, v) in others {
        out.push_str(&format!(" {k}=\"{}\"", crate::highlight::escape(&v)));
    }
    out.push_str(close);
    out
}

/// Words of an attribute list, keeping quoted values whole.
fn words(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in list.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                word.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
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
        assert!(
            out.contains("![x](y.png)<!--galley-sial:.wide-->\n"),
            "{out}"
        );
        assert!(out.contains("{: keep}"), "code fences are left alone");
    }
}
