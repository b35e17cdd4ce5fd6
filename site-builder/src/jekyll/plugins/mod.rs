//! Jekyll plugins' tags, built in: each is registered only when the site lists its plugin in
//! `plugins:` (or `gems:`), as Jekyll loads them, so a site that does not list one gets the
//! same "unknown tag" error Jekyll gives.

mod avatar;
mod gist;
mod meta;

use liquid_core::Language;

use crate::config::Config;

/// The plugins Galley builds in (tags here; pages and files in `jekyll::archives`,
/// `jekyll::feed`, `jekyll::sitemap`, the paginator; titles from headings in `document`).
pub const BUILT_IN: &[&str] = &[
    "jekyll-archives",
    "jekyll-avatar",
    "jekyll-default-layout",
    "jekyll-feed",
    "jekyll-gist",
    "jekyll-github-metadata",
    "jekyll-include-cache",
    "jekyll-mentions",
    "jekyll-optional-front-matter",
    "jekyll-paginate",
    "jekyll-readme-index",
    "jekyll-redirect-from",
    "jekyll-relative-links",
    "jekyll-seo-tag",
    "jekyll-sitemap",
    "jekyll-titles-from-headings",
    "jemoji",
];

/// One warning per listed plugin that Galley does not have: the build goes on without what
/// it would add.
pub fn missing(config: &Config) -> Vec<String> {
    let file = config
        .source
        .as_ref()
        .map_or_else(|| "_config.yml".to_string(), |p| p.display().to_string());
    let mut listed = config.plugins();
    listed.sort();
    listed.dedup();
    listed
        .into_iter()
        .filter(|p| !BUILT_IN.contains(&p.as_str()))
        .map(|p| {
            format!(
                "{file}: plugin `{p}` is not built into Galley; the site builds without what it adds (Galley has {})",
                BUILT_IN.join(", ")
            )
        })
        .collect()
}

/// Registers the tags of the plugins the site lists.
pub fn register(language: &mut Language, plugins: &[String]) {
    let on = |name: &str| plugins.iter().any(|p| p == name);
    if on("jekyll-gist") {
        language
            .tags
            .register("gist".to_string(), Box::new(gist::Gist));
    }
    if on("jekyll-seo-tag") {
        language
            .tags
            .register("seo".to_string(), Box::new(meta::Meta::Seo));
    }
    if on("jekyll-avatar") {
        language
            .tags
            .register("avatar".to_string(), Box::new(avatar::Avatar));
    }
    if on("jekyll-include-cache") {
        language
            .tags
            .register("include_cached".to_string(), super::tags::include_cached());
    }
    if on("jekyll-feed") {
        language
            .tags
            .register("feed_meta".to_string(), Box::new(meta::Meta::Feed));
    }
}
