//! Rewriting the text of a finished HTML page, as plugins that post-process pages do
//! (jekyll-mentions, jemoji): only text between tags, never inside the elements they skip.

/// `html` with every text run outside `skipped` elements passed through `rewrite`.
pub fn rewrite(html: &str, skipped: &[&str], rewrite: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut depth = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let text_end = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..text_end];
        if depth == 0 && !text.is_empty() {
            out.push_str(&rewrite(text));
        } else {
            out.push_str(text);
        }
        rest = &rest[text_end..];
        if rest.is_empty() {
            break;
        }
        let tag_end = rest.find('>').map_or(rest.len(), |i| i + 1);
        let tag = &rest[..tag_end];
        let name = tag
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if skipped.contains(&name.as_str()) && !tag.ends_with("/>") {
            if tag.starts_with("</") {
                depth = depth.saturating_sub(1);
            } else {
                depth += 1;
            }
        }
        out.push_str(tag);
        rest = &rest[tag_end..];
    }
    out
}
