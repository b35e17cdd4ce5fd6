//! `sitemap.xml` (every HTML page that asks to be found) and a `robots.txt` pointing to it.

use crate::highlight::escape;

pub const PATH: &str = "sitemap.xml";
pub const ROBOTS: &str = "robots.txt";

/// One `<url>`: the page's path and when it last changed.
pub struct Entry {
    pub url: String,
    pub lastmod: Option<String>,
}

pub fn xml(root_url: &str, entries: &[Entry]) -> String {
    let mut out = String::with_capacity(128 + entries.len() * 128);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for e in entries {
        out.push_str("  <url><loc>");
        out.push_str(&escape(&format!("{root_url}{}", e.url)));
        out.push_str("</loc>");
        if let Some(m) = &e.lastmod {
            out.push_str("<lastmod>");
            out.push_str(m);
            out.push_str("</lastmod>");
        }
        out.push_str("</url>\n");
    }
    out.push_str("</urlset>\n");
    out
}

pub fn robots(root_url: &str) -> String {
    format!("User-agent: *\nAllow: /\n\nSitemap: {root_url}/{PATH}\n")
}
