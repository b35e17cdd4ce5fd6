//! jekyll-archives: one page per category and per tag, for a Jekyll site that lists the
//! plugin, laid out and addressed as its `jekyll-archives:` settings say. A Jekyll site gets
//! term pages only this way (Galley's own term pages are for its built-in theme).
//! Date archives (`year`, `month`, `day`) list the posts of each period.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::document::Document;
use crate::lists::Terms;
use crate::permalink::jekyll_output_path;
use crate::taxonomy::Kind;

pub const PLUGIN: &str = "jekyll-archives";

/// One archive page: its document (front matter `type` and `title`, as the plugin's pages
/// have them) and the posts it lists (newest-first indices), which render puts in as
/// `page.posts`. Indices, not copies of the posts: a 10k-post site's tag, category and
/// date archives would otherwise hold every post's summary and content several times over.
pub struct Archive {
    pub doc: Document,
    pub posts: Vec<usize>,
}

/// The archive pages the site's settings enable, each term's posts newest first.
pub fn pages(config: &Config, terms: &Terms, posts: &[Document], root: &Path) -> Vec<Archive> {
    if !config.has_plugin(PLUGIN) {
        return Vec::new();
    }
    let settings = config.extra.get(PLUGIN).and_then(Value::as_object);
    let setting = |key: &str| settings.and_then(|s| s.get(key));
    let enabled = |kind: &str| match setting("enabled") {
        Some(Value::String(all)) => all == "all",
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(kind)),
        _ => false,
    };
    // An archive kind's layout (`layouts: KIND`, else `layout`, else `archive`) and URL
    // pattern (`permalinks: KIND`, else the plugin's default).
    let layout_and_permalink = |kind: &str, default_url: &'static str| {
        let layout = setting("layouts")
            .and_then(|l| l.get(kind))
            .or_else(|| setting("layout"))
            .and_then(Value::as_str)
            .unwrap_or("archive");
        let pattern = setting("permalinks")
            .and_then(|p| p.get(kind))
            .and_then(Value::as_str)
            .unwrap_or(default_url);
        (layout, pattern)
    };
    let mut out = Vec::new();
    for (kind, plural, singular, default_url) in [
        (Kind::Category, "categories", "category", "/category/:name/"),
        (Kind::Tag, "tags", "tag", "/tag/:name/"),
    ] {
        if !enabled(plural) {
            continue;
        }
        let (layout, pattern) = layout_and_permalink(singular, default_url);
        for term in terms.of(kind) {
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
            doc.front = front;
            out.push(Archive {
                doc,
                posts: term.posts.clone(),
            });
        }
    }
    let periods = [
        ("year", "/:year/"),
        ("month", "/:year/:month/"),
        ("day", "/:year/:month/:day/"),
    ];
    for (period, default_url) in periods {
        if !enabled(&format!("{period}s")) {
            continue;
        }
        let (layout, pattern) = layout_and_permalink(period, default_url);
        out.extend(date_archives(period, pattern, layout, posts, root));
    }
    out
}

/// One page per year, month or day that has posts, its posts newest first; `page.date` is
/// the period's first day and `page.title` is empty, as the plugin has them.
fn date_archives(
    period: &str,
    pattern: &str,
    layout: &str,
    posts: &[Document],
    root: &Path,
) -> Vec<Archive> {
    use chrono::Datelike;
    let mut periods: Vec<((i32, u32, u32), Vec<usize>)> = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        let Some(date) = post.date else { continue };
        let key = match period {
            "year" => (date.year(), 1, 1),
            "month" => (date.year(), date.month(), 1),
            _ => (date.year(), date.month(), date.day()),
        };
        match periods.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(i),
            None => periods.push((key, vec![i])),
        }
    }
    periods
        .into_iter()
        .filter_map(|((y, m, d), list)| {
            let url = pattern
                .replace(":year", &format!("{y:04}"))
                .replace(":month", &format!("{m:02}"))
                .replace(":day", &format!("{d:02}"));
            let first_day = chrono::NaiveDate::from_ymd_opt(y, m, d)?
                .and_hms_opt(0, 0, 0)?
                .and_utc()
                .fixed_offset();
            let what = format!("{PLUGIN} {period} {url}");
            let mut doc = Document::generated(&what, "", &url, layout, root);
            doc.output = jekyll_output_path(&url, ".html");
            doc.date = Some(first_day);
            let mut front = Map::new();
            front.insert("type".into(), period.into());
            doc.front = front;
            Some(Archive { doc, posts: list })
        })
        .collect()
}
