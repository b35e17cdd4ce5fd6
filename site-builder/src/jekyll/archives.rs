//! jekyll-archives: one page per category and per tag, for a Jekyll site that lists the
//! plugin, laid out and addressed as its `jekyll-archives:` settings say. A Jekyll site gets
//! term pages only this way (Galley's own term pages are for its built-in theme).
//! Date archives (`year`, `month`, `day`) are not built yet.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::document::Document;
use crate::lists::Terms;
use crate::permalink::jekyll_output_path;
use crate::taxonomy::Kind;

pub const PLUGIN: &str = "jekyll-archives";

/// One archive page: its document (front matter `type`, `title` and `posts`, as the
/// plugin's pages have them) and the term it lists.
pub struct Archive {
    pub doc: Document,
    pub kind: Kind,
    pub term: usize,
}

/// The archive pages the site's settings enable, each term's posts newest first.
pub fn pages(config: &Config, terms: &Terms, summaries: &[Value], root: &Path) -> Vec<Archive> {
    if !config.plugins().iter().any(|p| p == PLUGIN) {
        return Vec::new();
    }
    let settings = config.extra.get(PLUGIN).and_then(Value::as_object);
    let setting = |key: &str| settings.and_then(|s| s.get(key));
    let enabled = |kind: &str| match setting("enabled") {
        Some(Value::String(all)) => all == "all",
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(kind)),
        _ => false,
    };
    let mut out = Vec::new();
    for (kind, plural, singular, default_url) in [
        (Kind::Category, "categories", "category", "/category/:name/"),
        (Kind::Tag, "tags", "tag", "/tag/:name/"),
    ] {
        if !enabled(plural) {
            continue;
        }
        let layout = setting("layouts")
            .and_then(|l| l.get(singular))
            .or_else(|| setting("layout"))
            .and_then(Value::as_str)
            .unwrap_or("archive");
        let pattern = setting("permalinks")
            .and_then(|p| p.get(singular))
            .and_then(Value::as_str)
            .unwrap_or(default_url);
        for (i, term) in terms.of(kind).iter().enumerate() {
            let url = pattern.replace(":name", &term.slug);
            let mut doc = Document::generated(
                &format!("{PLUGIN} {singular} {}", term.slug),
                &term.name,
                &url,
                layout,
                root,
            );
            doc.output = jekyll_output_path(&url, ".html");
            let mut front = Map::new();
            front.insert("type".into(), singular.into());
            front.insert("title".into(), term.name.clone().into());
            front.insert(
                "posts".into(),
                Value::Array(
                    term.posts
                        .iter()
                        .filter_map(|&p| summaries.get(p).cloned())
                        .collect(),
                ),
            );
            doc.front = front;
            out.push(Archive { doc, kind, term: i });
        }
    }
    out
}
