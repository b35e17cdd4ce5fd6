//! jekyll-redirect-from: `redirect_from:` (one path or a list) writes a small page at each
//! old path that sends readers to the document; `redirect_to:` makes the document itself
//! such a page; `redirects.json` lists every redirect. Targets are absolute (`absolute_url`),
//! as the plugin writes them.

use serde_json::{Map, Value};

use crate::config::Config;
use crate::document::Document;
use crate::filters::absolute_url;
use crate::highlight::escape;
use crate::output::{Body, OutputFile, RenderedSite};
use crate::permalink::jekyll_output_path;

pub const PLUGIN: &str = "jekyll-redirect-from";

/// A page that sends its reader to `target`: at once by `refresh`, with a link for readers
/// (and crawlers) that do not follow it.
pub fn page(target: &str) -> String {
    let t = escape(target);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n<title>Redirecting…</title>\n<link rel=\"canonical\" href=\"{t}\">\n<meta http-equiv=\"refresh\" content=\"0; url={t}\">\n<meta name=\"robots\" content=\"noindex\">\n<p>This page has moved to <a href=\"{t}\">{t}</a>.</p>\n</html>\n"
    )
}

/// Paths from a front matter value: one string or a list of them.
fn paths(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Writes the redirect pages of `docs` (those written out) and `redirects.json`.
pub fn add(config: &Config, docs: &[&Document], site: &mut RenderedSite) {
    let base = config.url_base();
    let mut listed = Map::new();
    for doc in docs {
        // `redirect_to`: the document itself becomes the redirect.
        if let Some(to) = paths(doc.front.get("redirect_to")).first() {
            let target = if to.contains("://") {
                to.to_string()
            } else {
                absolute_url(&base, to)
            };
            site.files.insert(
                doc.output.clone(),
                OutputFile {
                    body: Body::Bytes(page(&target).into_bytes()),
                    origin: doc.rel.clone(),
                },
            );
            listed.insert(doc.url.clone(), target.into());
            continue;
        }
        let target = absolute_url(&base, &doc.url);
        for from in paths(doc.front.get("redirect_from")) {
            let from = format!("/{}", from.trim_start_matches('/'));
            let output = jekyll_output_path(&from, ".html");
            site.insert_generated(&output, page(&target).into_bytes(), PLUGIN);
            listed.insert(from, target.clone().into());
        }
    }
    let json_wanted = config
        .extra
        .get("redirect_from")
        .and_then(|r| r.get("json"))
        != Some(&Value::Bool(false));
    if json_wanted && !listed.is_empty() {
        let json = serde_json::to_string(&Value::Object(listed)).unwrap_or_default();
        site.insert_generated("redirects.json", json.into_bytes(), PLUGIN);
    }
}
