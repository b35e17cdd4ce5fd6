//! jekyll-mentions: `@name` in a page's text links to that GitHub profile (`jekyll-mentions:
//! base_url:` for another host), as the plugin rewrites a page's finished HTML: body text only,
//! never inside `pre`, `code`, `a`, `script` or `style`, never in an e-mail address.

use std::sync::OnceLock;

use regex::Regex;

use crate::config::Config;

pub const PLUGIN: &str = "jekyll-mentions";

/// Elements whose text is left alone.
const SKIPPED: &[&str] = &[
    "head", "title", "pre", "code", "a", "script", "style", "textarea",
];

/// The profile host, when the site lists the plugin.
pub fn base_url(config: &Config) -> Option<String> {
    if !config.has_plugin(PLUGIN) {
        return None;
    }
    let base = config
        .extra
        .get(PLUGIN)
        .and_then(|m| m.get("base_url"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("https://github.com");
    Some(base.trim_end_matches('/').to_string())
}

fn mention() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(^|[^\w@/.])@([A-Za-z0-9][A-Za-z0-9_-]*)").unwrap_or_else(|_| unreachable!())
    })
}

/// `html` with each mention in its text linked to `base/name`.
pub fn link(html: &str, base: &str) -> String {
    if !html.contains('@') {
        return html.to_string();
    }
    super::html_text::rewrite(html, SKIPPED, |text| {
        if !text.contains('@') {
            return text.to_string();
        }
        mention()
            .replace_all(text, |c: &regex::Captures| {
                format!(
                    "{}<a href=\"{base}/{name}\" class=\"user-mention\">@{name}</a>",
                    &c[1],
                    name = &c[2]
                )
            })
            .into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_left_alone() {
        let html = "<html><head><title>By @octocat</title></head><body>@octocat</body></html>";
        let out = link(html, "https://github.com");
        assert!(out.contains("<title>By @octocat</title>"), "{out}");
        assert!(
            out.contains("<body><a href=\"https://github.com/octocat\""),
            "{out}"
        );
    }

    #[test]
    fn mentions_in_text_are_linked_and_nowhere_else() {
        let html =
            "<p>Hi @octocat, mail a@b.com <code>@code</code> <a href=\"x\">@linked</a> @two_x</p>";
        assert_eq!(
            link(html, "https://github.com"),
            "<p>Hi <a href=\"https://github.com/octocat\" class=\"user-mention\">@octocat</a>, mail a@b.com <code>@code</code> <a href=\"x\">@linked</a> <a href=\"https://github.com/two_x\" class=\"user-mention\">@two_x</a></p>"
        );
    }
}
