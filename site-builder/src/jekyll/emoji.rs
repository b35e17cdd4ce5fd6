//! jemoji: `:shortcode:` in a page's text (GitHub's and gemoji's names, such as `:+1:` or
//! `:rocket:`) becomes the emoji's image from GitHub's emoji assets, as the plugin writes
//! it; never inside `pre`, `code` or `tt`; unknown names stay as written.

use std::sync::OnceLock;

use regex::Regex;

use crate::config::Config;

pub const PLUGIN: &str = "jemoji";

const SKIPPED: &[&str] = &[
    "head", "title", "pre", "code", "tt", "script", "style", "textarea",
];

/// Where the images are, when the site lists the plugin (`emoji: src:` to change it).
pub fn source(config: &Config) -> Option<String> {
    if !config.has_plugin(PLUGIN) {
        return None;
    }
    let src = config
        .extra
        .get("emoji")
        .and_then(|e| e.get("src"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("https://github.githubassets.com/images/icons/");
    Some(format!("{}/", src.trim_end_matches('/')))
}

fn shortcode() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r":([a-z0-9_+-]+):").unwrap_or_else(|_| unreachable!()))
}

/// The image file name GitHub gives an emoji: its code points in hex, without the
/// variation selector.
fn file_name(emoji: &str) -> String {
    let hex: Vec<String> = emoji
        .chars()
        .filter(|c| *c != '\u{fe0f}')
        .map(|c| format!("{:x}", c as u32))
        .collect();
    format!("{}.png", hex.join("-"))
}

/// `html` with each known shortcode in its text as an emoji image.
pub fn replace(html: &str, src: &str) -> String {
    if !html.contains(':') {
        return html.to_string();
    }
    super::html_text::rewrite(html, SKIPPED, |text| {
        shortcode()
            .replace_all(text, |c: &regex::Captures| match emojis::get_by_shortcode(&c[1]) {
                Some(e) => format!(
                    "<img class=\"emoji\" title=\":{name}:\" alt=\":{name}:\" src=\"{src}emoji/unicode/{file}\" height=\"20\" width=\"20\">",
                    name = &c[1],
                    file = file_name(e.as_str())
                ),
                None => c[0].to_string(),
            })
            .into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_become_images_outside_code() {
        let out = replace(
            "<p>Nice :+1: :rocket: :nope: <code>:smile:</code></p>",
            "https://github.githubassets.com/images/icons/",
        );
        assert!(out.contains("alt=\":+1:\" src=\"https://github.githubassets.com/images/icons/emoji/unicode/1f44d.png\""), "{out}");
        assert!(out.contains("unicode/1f680.png"), "{out}");
        assert!(out.contains(":nope:"), "unknown names stay: {out}");
        assert!(out.contains("<code>:smile:</code>"), "{out}");
    }
}
