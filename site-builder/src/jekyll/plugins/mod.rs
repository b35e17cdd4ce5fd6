//! Jekyll plugins' tags, built in: each is registered only when the site lists its plugin in
//! `plugins:` (or `gems:`), as Jekyll loads them, so a site that does not list one gets the
//! same "unknown tag" error Jekyll gives.

mod gist;
mod meta;

use liquid_core::Language;

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
    if on("jekyll-feed") {
        language
            .tags
            .register("feed_meta".to_string(), Box::new(meta::Meta::Feed));
    }
}
