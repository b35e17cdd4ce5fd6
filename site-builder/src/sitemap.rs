//! `sitemap.xml` (every HTML page that asks to be found) and a `robots.txt` pointing to it.
//! Past the protocol's 50,000 URLs a file, `sitemap.xml` is an index of `sitemap-N.xml`
//! parts, which search engines accept where they would ignore one oversized file.

use crate::highlight::escape;

pub const PATH: &str = "sitemap.xml";
pub const ROBOTS: &str = "robots.txt";

/// One `<url>`: the page's path and when it last changed.
pub struct Entry {
    pub url: String,
    pub lastmod: Option<String>,
}

/// The most URLs one sitemap file may list (sitemaps.org's limit).
pub const MAX_URLS: usize = 50_000;

/// The sitemap's files (path, XML) for the site's `posts` (newest first) and its `other`
/// pages: one `sitemap.xml` up to `MAX_URLS` entries, else an index and its parts.
pub fn files(root_url: &str, posts: Vec<Entry>, other: Vec<Entry>) -> Vec<(String, String)> {
    files_of_at_most(root_url, posts, other, MAX_URLS)
}

/// As [`files`], with parts of at most `limit` entries. The parts list the posts oldest
/// first, then the other pages, so that a new post changes only the last part and earlier
/// parts keep their bytes from build to build (and their caches' validators).
fn files_of_at_most(
    root_url: &str,
    mut posts: Vec<Entry>,
    other: Vec<Entry>,
    limit: usize,
) -> Vec<(String, String)> {
    if posts.len() + other.len() <= limit {
        posts.extend(other);
        return vec![(PATH.to_string(), xml(root_url, &posts))];
    }
    posts.reverse();
    posts.extend(other);
    let parts: Vec<(String, String)> = posts
        .chunks(limit.max(1))
        .enumerate()
        .map(|(i, chunk)| (format!("sitemap-{}.xml", i + 1), xml(root_url, chunk)))
        .collect();
    let mut index = String::with_capacity(128 + parts.len() * 96);
    index.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    index.push_str("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (path, _) in &parts {
        index.push_str("  <sitemap><loc>");
        index.push_str(&escape(&format!("{root_url}/{path}")));
        index.push_str("</loc></sitemap>\n");
    }
    index.push_str("</sitemapindex>\n");
    let mut out = vec![(PATH.to_string(), index)];
    out.extend(parts);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(urls: &[&str]) -> Vec<Entry> {
        urls.iter()
            .map(|u| Entry {
                url: u.to_string(),
                lastmod: None,
            })
            .collect()
    }

    #[test]
    fn a_site_within_the_limit_gets_one_sitemap_newest_first() {
        let files = files_of_at_most("https://x", entries(&["/b/", "/a/"]), entries(&["/p/"]), 3);
        assert_eq!(files.len(), 1);
        let (path, xml) = &files[0];
        assert_eq!(path, "sitemap.xml");
        let b = xml.find("https://x/b/").expect("b listed");
        assert!(b < xml.find("https://x/a/").expect("a listed"));
        assert!(xml.contains("<urlset"));
    }

    #[test]
    fn past_the_limit_an_index_lists_parts_that_a_new_post_leaves_alone_but_the_last() {
        let before = files_of_at_most(
            "https://x",
            entries(&["/p3/", "/p2/", "/p1/"]),
            entries(&["/about/"]),
            2,
        );
        let paths: Vec<&str> = before.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["sitemap.xml", "sitemap-1.xml", "sitemap-2.xml"]);
        let index = &before[0].1;
        assert!(index.contains("<sitemapindex"));
        assert!(index.contains("<loc>https://x/sitemap-1.xml</loc>"));
        assert!(index.contains("<loc>https://x/sitemap-2.xml</loc>"));
        assert!(before[1].1.contains("https://x/p1/") && before[1].1.contains("https://x/p2/"));
        assert!(before[2].1.contains("https://x/p3/") && before[2].1.contains("https://x/about/"));
        // A new post: the first part keeps its bytes.
        let after = files_of_at_most(
            "https://x",
            entries(&["/p4/", "/p3/", "/p2/", "/p1/"]),
            entries(&["/about/"]),
            2,
        );
        assert_eq!(after[1], before[1]);
        assert_ne!(after[2], before[2]);
        assert_eq!(after.len(), 4);
        assert!(after[0].1.contains("<loc>https://x/sitemap-3.xml</loc>"));
    }
}
