//! jekyll-feed: the Atom feed a Jekyll site that lists the plugin gets, in that plugin's
//! shape (entry ids are the posts' Jekyll ids, links are `absolute_url`, so readers that
//! already follow the site see the same entries after the move to Galley).

use serde_json::Value;

use crate::config::Config;
use crate::context::jekyll_id;
use crate::dates;
use crate::document::Document;
use crate::filters::{absolute_url, strip_html};
use crate::highlight::escape;
use crate::render::Converted;

pub const PLUGIN: &str = "jekyll-feed";

/// `feed: path:`, `feed.xml` by default (relative, no leading slash).
pub fn path(config: &Config) -> String {
    setting(config, "path")
        .and_then(Value::as_str)
        .unwrap_or("feed.xml")
        .trim_start_matches('/')
        .to_string()
}

fn setting<'a>(config: &'a Config, key: &str) -> Option<&'a Value> {
    config.extra.get("feed").and_then(|f| f.get(key))
}

/// The feed: the newest posts (`feed: posts_limit:`, 10 by default), drafts left out.
pub fn atom(config: &Config, posts: &[Document], converted: &[Converted], time: &str) -> String {
    let base = config.url_base();
    let abs = |path: &str| escape(&absolute_url(&base, path));
    let feed_url = abs(&format!("/{}", path(config)));
    let limit = setting(config, "posts_limit")
        .and_then(Value::as_u64)
        .map_or(10, |n| n as usize);
    let excerpt_only = setting(config, "excerpt_only") == Some(&Value::Bool(true));
    let title = if config.title.is_empty() {
        config
            .extra
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    } else {
        &config.title
    };
    let mut out = String::with_capacity(4096 + posts.len().min(limit) * 4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" >");
    out.push_str("<generator uri=\"https://jekyllrb.com/\" version=\"4.3.1\">Jekyll</generator>");
    out.push_str(&format!(
        "<link href=\"{feed_url}\" rel=\"self\" type=\"application/atom+xml\" />"
    ));
    out.push_str(&format!(
        "<link href=\"{}\" rel=\"alternate\" type=\"text/html\" />",
        abs("/")
    ));
    out.push_str(&format!("<updated>{time}</updated><id>{feed_url}</id>"));
    if !title.is_empty() {
        out.push_str(&format!("<title type=\"html\">{}</title>", escape(title)));
    }
    if !config.description.is_empty() {
        out.push_str(&format!(
            "<subtitle>{}</subtitle>",
            escape(&config.description)
        ));
    }
    out.push_str(&author(config.extra.get("author")));
    let entries = posts
        .iter()
        .zip(converted)
        .filter(|(d, _)| !d.draft)
        .take(limit);
    for (doc, conv) in entries {
        let link = abs(&doc.url);
        let title = escape(&strip_html(&doc.title));
        let published = doc.date.as_ref().map(dates::to_rfc3339).unwrap_or_default();
        let updated = doc
            .front
            .get("last_modified_at")
            .and_then(Value::as_str)
            .and_then(|s| dates::parse(s, config.timezone))
            .map_or_else(|| published.clone(), |d| dates::to_rfc3339(&d));
        out.push_str(&format!(
            "<entry><title type=\"html\">{title}</title><link href=\"{link}\" rel=\"alternate\" type=\"text/html\" title=\"{title}\" /><published>{published}</published><updated>{updated}</updated><id>{}</id>",
            abs(&jekyll_id(doc))
        ));
        if !excerpt_only {
            out.push_str(&format!(
                "<content type=\"html\" xml:base=\"{link}\"><![CDATA[{}]]></content>",
                cdata(conv.html.trim())
            ));
        }
        out.push_str(&author(
            doc.front
                .get("author")
                .or_else(|| config.extra.get("author")),
        ));
        for term in doc.categories.iter().chain(&doc.tags) {
            out.push_str(&format!("<category term=\"{}\" />", escape(term)));
        }
        let summary = doc
            .front
            .get("description")
            .and_then(Value::as_str)
            .map_or_else(|| strip_html(&conv.excerpt), strip_html);
        let summary = summary.split_whitespace().collect::<Vec<_>>().join(" ");
        if !summary.is_empty() {
            out.push_str(&format!(
                "<summary type=\"html\"><![CDATA[{}]]></summary>",
                cdata(&summary)
            ));
        }
        out.push_str("</entry>");
    }
    out.push_str("</feed>");
    out
}

/// `<author>` from a name or a `{name, email, uri}` map; nothing without a name.
fn author(value: Option<&Value>) -> String {
    let field = |k: &str| {
        value
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let Some(name) = value.and_then(Value::as_str).or_else(|| field("name")) else {
        return String::new();
    };
    let mut out = format!("<author><name>{}</name>", escape(name));
    if let Some(email) = field("email") {
        out.push_str(&format!("<email>{}</email>", escape(email)));
    }
    if let Some(uri) = field("uri") {
        out.push_str(&format!("<uri>{}</uri>", escape(uri)));
    }
    out.push_str("</author>");
    out
}

/// Text that cannot end its CDATA section early.
fn cdata(text: &str) -> String {
    text.replace("]]>", "]]]]><![CDATA[>")
}
