//! The Atom feed at `/feed.xml`: the newest posts with their full content.

use crate::config::Config;
use crate::dates;
use crate::document::Document;
use crate::highlight::escape;
use crate::render::Converted;

pub const PATH: &str = "feed.xml";

/// `posts` newest first, each with its rendered body.
pub fn atom(config: &Config, posts: &[(&Document, &Converted)], updated: &str) -> String {
    let root = config.site_root_url();
    let title = if config.title.is_empty() {
        "Untitled site"
    } else {
        &config.title
    };
    let mut out = String::with_capacity(4096 + posts.len() * 2048);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"{}/\">\n",
        escape(&root)
    ));
    out.push_str("  <generator uri=\"https://github.com/galley\">Galley</generator>\n");
    out.push_str(&format!("  <title>{}</title>\n", escape(title)));
    if !config.description.is_empty() {
        out.push_str(&format!(
            "  <subtitle>{}</subtitle>\n",
            escape(&config.description)
        ));
    }
    out.push_str(&format!(
        "  <link href=\"{}/{PATH}\" rel=\"self\" type=\"application/atom+xml\"/>\n",
        escape(&root)
    ));
    out.push_str(&format!(
        "  <link href=\"{}/\" rel=\"alternate\" type=\"text/html\"/>\n",
        escape(&root)
    ));
    out.push_str(&format!("  <id>{}/</id>\n", escape(&root)));
    out.push_str(&format!("  <updated>{updated}</updated>\n"));
    out.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        escape(&author_name(config))
    ));
    for (doc, converted) in posts.iter().take(config.feed_limit) {
        let link = format!("{root}{}", doc.url);
        let published = doc
            .date
            .as_ref()
            .map(dates::to_rfc3339)
            .unwrap_or_else(|| updated.to_string());
        let modified = match doc.front.get("last_modified_at").and_then(|v| v.as_str()) {
            Some(s) => dates::parse(s, config.timezone)
                .map_or(published.clone(), |d| dates::to_rfc3339(&d)),
            None => published.clone(),
        };
        out.push_str("  <entry>\n");
        out.push_str(&format!(
            "    <title type=\"html\">{}</title>\n",
            escape(&doc.title)
        ));
        out.push_str(&format!(
            "    <link href=\"{}\" rel=\"alternate\" type=\"text/html\"/>\n",
            escape(&link)
        ));
        out.push_str(&format!("    <id>{}</id>\n", escape(&link)));
        out.push_str(&format!("    <published>{published}</published>\n"));
        out.push_str(&format!("    <updated>{modified}</updated>\n"));
        for c in doc.categories.iter().chain(doc.tags.iter()) {
            out.push_str(&format!("    <category term=\"{}\"/>\n", escape(c)));
        }
        if !converted.excerpt.is_empty() {
            out.push_str(&format!(
                "    <summary type=\"html\">{}</summary>\n",
                escape(&converted.excerpt)
            ));
        }
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            escape(&converted.html)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

fn author_name(config: &Config) -> String {
    match config.extra.get("author") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Object(m)) => m
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("Unknown")
            .to_string(),
        _ => {
            if config.title.is_empty() {
                "Unknown".to_string()
            } else {
                config.title.clone()
            }
        }
    }
}
