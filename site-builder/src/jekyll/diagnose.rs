//! Liquid's errors as diagnostics an author can act on: the file, line and column of the
//! tag or filter at fault (render errors carry no position, so the text is searched for
//! what failed), a short message in Jekyll's terms, and a `help:` line.

use liquid_core::{Error, Language};

use super::markup;
use crate::error::Diagnostic;

const DEFAULT_HINT: &str = "templates run Jekyll's Liquid (https://shopify.github.io/liquid/ and https://jekyllrb.com/docs/liquid/); to use Tera instead, set `template_engine: tera` in _config.yml";

/// Longest message kept from Liquid (its errors can print whole values).
const MAX_DETAIL: usize = 300;

/// What an error says, where, and what to do, as it is being worked out.
struct Found {
    detail: String,
    /// Line and column in the template text (1-based).
    position: Option<(usize, usize)>,
    hint: String,
}

/// A Liquid error as a diagnostic at the template's file, line and column.
pub fn diagnose(err: &Error, rel: &str, line_offset: usize, text: &str) -> Diagnostic {
    let message = err.to_string();
    let mut found = Found {
        detail: detail_of(&message),
        position: position_of(&message),
        hint: DEFAULT_HINT.to_string(),
    };
    if let Some(name) = unknown_filter(err) {
        unknown_filter_found(&mut found, &name, text);
    } else if found.detail.starts_with("Unknown tag") {
        unknown_tag(&mut found, text);
    } else if found.detail.starts_with("Unclosed block") {
        unclosed_block(&mut found, text);
    } else if let Some(name) = requested_variable(&message) {
        undefined_variable(&mut found, &name);
    }
    if found.position.is_none() {
        found.position = render_place(&message, text);
    }
    let mut detail = found.detail;
    if let Some((cut, _)) = detail.char_indices().nth(MAX_DETAIL) {
        detail.truncate(cut);
        detail.push('…');
    }
    let mut d = Diagnostic::new(rel, format!("Liquid error: {detail}"));
    if let Some((line, col)) = found.position {
        d = d.at(line + line_offset, col);
    }
    d.hint(found.hint)
}

/// The `--> line:column` of a parse error.
fn position_of(message: &str) -> Option<(usize, usize)> {
    let re = regex::Regex::new(r"--> (\d+):(\d+)").ok()?;
    let c = re.captures(message)?;
    Some((c[1].parse().ok()?, c[2].parse().ok()?))
}

/// The error's own words: the `= …` line of a parse error, or the message's lines.
fn detail_of(message: &str) -> String {
    let detail = message
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("= "))
        .map(str::to_string)
        .unwrap_or_else(|| {
            message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("-->") && !l.starts_with('|'))
                .collect::<Vec<_>>()
                .join("; ")
        });
    detail.trim_start_matches("liquid: ").to_string()
}

/// The filter name of an "Unknown filter" parse error.
pub fn unknown_filter(err: &Error) -> Option<String> {
    let message = err.to_string();
    if !message.contains("Unknown filter") {
        return None;
    }
    message.lines().find_map(|l| {
        l.trim()
            .strip_prefix("requested filter=")
            .map(|n| n.trim().to_string())
    })
}

/// A filter name on the line a parse error points at that the language does not have
/// (tags that parse their own filter chain, like `assign`, lose the name from the error).
pub fn unregistered_filter_at(err: &Error, text: &str, language: &Language) -> Option<String> {
    let (line, _) = position_of(&err.to_string())?;
    let filters = regex::Regex::new(r"\|\s*([A-Za-z_][A-Za-z0-9_]*)").ok()?;
    let source = text.lines().nth(line.checked_sub(1)?)?;
    let found = filters
        .captures_iter(source)
        .map(|c| c[1].to_string())
        .find(|name| language.filters.get(name).is_none());
    found
}

/// An unknown filter under `strict_filters`, at its first use.
pub fn unknown_filter_diagnostic(
    name: &str,
    rel: &str,
    line_offset: usize,
    text: &str,
) -> Diagnostic {
    let err = Error::with_msg("Unknown filter").context("requested filter", name.to_string());
    diagnose(&err, rel, line_offset, text)
}

fn unknown_filter_found(found: &mut Found, name: &str, text: &str) {
    found.detail = format!("unknown Liquid filter `{name}`");
    found.hint = "check the filter's spelling (Jekyll's filters: https://jekyllrb.com/docs/liquid/filters/); without `liquid: strict_filters: true` an unknown filter passes its input through, as in Jekyll".to_string();
    if found.position.is_none() {
        // At the `|` before the filter's first use.
        let re = regex::Regex::new(&format!(r"\|\s*{}\b", regex::escape(name))).ok();
        found.position = re.and_then(|re| {
            text.lines().enumerate().find_map(|(i, l)| {
                re.find(l)
                    .map(|m| (i + 1, l[..m.start()].chars().count() + 1))
            })
        });
    }
}

/// Names the tag and points at its `{%`, where the author reads it.
fn unknown_tag(found: &mut Found, text: &str) {
    let Some((line, col)) = found.position else {
        return;
    };
    let source = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let name: String = source
        .get(col.saturating_sub(1)..)
        .map(|rest| {
            rest.trim_start_matches(['{', '%', '-', ' '])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .unwrap_or_default();
    if let Some(open) = source
        .get(..col.saturating_sub(1))
        .and_then(|before| before.rfind("{%"))
    {
        found.position = Some((line, open + 1));
    }
    found.detail = format!("unknown Liquid tag `{name}`");
    found.hint = format!(
        "if `{name}` comes from a Jekyll plugin, list the plugin under `plugins:` in _config.yml (Galley builds in jekyll-seo-tag's `seo`, jekyll-feed's `feed_meta`, jekyll-gist's `gist`, jekyll-avatar's `avatar` and jekyll-include-cache's `include_cached`); literal braces go in {{% raw %}}…{{% endraw %}}"
    );
}

/// Liquid reports an unclosed block at the end of the file; the author needs the opening.
fn unclosed_block(found: &mut Found, text: &str) {
    let Some(name) = regex::Regex::new(r"\{% end(\w+) %\}")
        .ok()
        .and_then(|re| re.captures(&found.detail).map(|c| c[1].to_string()))
    else {
        return;
    };
    let scanned = markup::without_literal_blocks(text);
    let Ok(tags) = regex::Regex::new(&format!(r"\{{%-?\s*(end)?{}\b", regex::escape(&name))) else {
        return;
    };
    let mut open: Vec<usize> = Vec::new();
    for m in tags.captures_iter(&scanned) {
        match m.get(1) {
            Some(_) => {
                open.pop();
            }
            None => open.push(m.get(0).map_or(0, |g| g.start())),
        }
    }
    if let Some(&at) = open.last() {
        found.position = Some(crate::error::line_col(&scanned, at));
        found.detail = format!("`{{% {name} %}}` is never closed");
        found.hint = format!("add `{{% end{name} %}}` where the block ends");
    }
}

/// The variable a render error names.
fn requested_variable(message: &str) -> Option<String> {
    let re = regex::Regex::new(r"requested variable=(\S+)").ok()?;
    re.captures(message).map(|c| c[1].to_string())
}

fn undefined_variable(found: &mut Found, name: &str) {
    if found.detail.starts_with("undefined variable")
        || found.detail.starts_with("Unknown variable")
    {
        found.detail = format!("undefined variable `{name}`");
        found.hint = "define it (front matter, _config.yml or _data) or check its spelling; without `liquid: strict_variables: true` an undefined variable prints nothing, as in Jekyll".to_string();
    }
}

/// Render errors carry no position: the first line naming what failed (the variable, or
/// the tag in the error's trace, at its `{%`).
fn render_place(message: &str, text: &str) -> Option<(usize, usize)> {
    let needle = requested_variable(message).or_else(|| {
        regex::Regex::new(r"\{%-?\s*([^%]+?)\s*-?%\}")
            .ok()
            .and_then(|re| re.captures(message).map(|c| c[1].to_string()))
    })?;
    let needle = needle.trim();
    text.lines().enumerate().find_map(|(i, l)| {
        let c = l.find(needle)?;
        let tag_start = l[..c].rfind("{%").filter(|o| {
            l[*o..c]
                .trim_start_matches(['{', '%', '-'])
                .trim()
                .is_empty()
        });
        Some((i + 1, tag_start.unwrap_or(c) + 1))
    })
}
