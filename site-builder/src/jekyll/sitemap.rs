//! jekyll-sitemap: `sitemap.xml` and `robots.txt` for a Jekyll site that lists the plugin,
//! with the plugin's URLs (`absolute_url`, so a site without `url:` gets paths) and its
//! choice of pages: posts, then HTML pages, leaving out `sitemap: false` and `/404.html`.

use serde_json::Value;

use crate::config::Config;
use crate::dates;
use crate::document::Document;
use crate::filters::absolute_url;
use crate::highlight::escape;

pub const PLUGIN: &str = "jekyll-sitemap";

/// `pages`: every page written, with its URL (a paginated page once per pager page).
pub fn xml(config: &Config, posts: usize, pages: &[(&Document, &str)]) -> String {
    let base = config.url_base();
    let listed = |(doc, url): &&(&Document, &str)| {
        doc.front.get("sitemap") != Some(&Value::Bool(false))
            && *url != "/404.html"
            && !doc.draft
            && (url.ends_with('/')
                || url.ends_with(".html")
                || !url.rsplit('/').next().unwrap_or_default().contains('.'))
    };
    let (post_pages, other): (Vec<_>, Vec<_>) = pages
        .iter()
        .filter(listed)
        .partition(|(doc, _)| doc.is_post());
    let mut out = String::with_capacity(512 + pages.len() * 160);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.sitemaps.org/schemas/sitemap/0.9 http://www.sitemaps.org/schemas/sitemap/0.9/sitemap.xsd\" xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    // Posts oldest first, as Jekyll's posts collection is ordered.
    let ordered = post_pages.iter().rev().take(posts).chain(other.iter());
    for (doc, url) in ordered {
        let url = url.strip_suffix("index.html").unwrap_or(url);
        out.push_str(&format!(
            "<url>\n<loc>{}</loc>\n",
            escape(&absolute_url(&base, url))
        ));
        let modified = doc
            .front
            .get("last_modified_at")
            .and_then(Value::as_str)
            .and_then(|s| dates::parse(s, config.timezone));
        let lastmod = match (modified, doc.is_post()) {
            (Some(m), _) => Some(m),
            (None, true) => doc.date,
            (None, false) => None,
        };
        if let Some(d) = lastmod {
            out.push_str(&format!("<lastmod>{}</lastmod>\n", dates::to_rfc3339(&d)));
        }
        out.push_str("</url>\n");
    }
    out.push_str("</urlset>\n");
    out
}

/// `robots.txt` pointing at the sitemap (written only where the site has none).
pub fn robots(config: &Config) -> String {
    let base = config.url_base();
    format!("Sitemap: {}\n", absolute_url(&base, "sitemap.xml"))
}
