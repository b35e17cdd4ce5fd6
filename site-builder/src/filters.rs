//! The Liquid filters Jekyll layouts use most, written once and used in two places: as Tera
//! filters in layouts, and by the Liquid evaluator for `{{ ... }}` in content.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use tera::Tera;

use crate::dates;
use crate::highlight::escape;

pub type Args = HashMap<String, Value>;
pub type FilterFn = Arc<dyn Fn(&Value, &Args) -> tera::Result<Value> + Send + Sync>;

/// A filter, the names its positional Liquid arguments take, and whether Tera gets it
/// (Tera already has its own `date`, `default`, `join` and the like).
#[derive(Clone)]
pub struct Filter {
    pub name: &'static str,
    pub positional: &'static [&'static str],
    pub for_tera: bool,
    pub run: FilterFn,
}

/// What URL filters need to know about the site.
#[derive(Clone, Debug)]
pub struct UrlBase {
    /// `https://example.com`, or empty.
    pub url: String,
    /// `/blog`, or empty.
    pub baseurl: String,
}

/// `zone`: the time zone Jekyll's `date_to_*` filters show dates in (Jekyll shows them in
/// the site's `timezone:`); `None` keeps each date's own offset.
pub fn all(base: &UrlBase, markdown: crate::markdown::Style, zone: Option<Tz>) -> Vec<Filter> {
    let mut v = date_filters(zone);
    v.extend(escaping_filters());
    v.extend(array_filters());
    v.extend(string_filters());
    v.extend(liquid_only_filters());
    v.extend(site_filters(base, markdown));
    v
}

/// Jekyll's `date_to_*`, in the site's zone.
fn date_filters(zone: Option<Tz>) -> Vec<Filter> {
    let in_zone = move |v: &Value| -> tera::Result<DateTime<FixedOffset>> {
        let d = date_of(v)?;
        Ok(zone.map_or(d, |z| d.with_timezone(&z).fixed_offset()))
    };
    vec![
        f("date_to_string", &["type", "style"], true, move |v, a| {
            let d = in_zone(v)?;
            Ok(Value::String(date_string(&d, "%b", a)))
        }),
        f(
            "date_to_long_string",
            &["type", "style"],
            true,
            move |v, a| {
                let d = in_zone(v)?;
                Ok(Value::String(date_string(&d, "%B", a)))
            },
        ),
        f("date_to_xmlschema", &[], true, move |v, _| {
            Ok(Value::String(dates::to_rfc3339(&in_zone(v)?)))
        }),
        f("date_to_rfc822", &[], true, move |v, _| {
            Ok(Value::String(
                in_zone(v)?.format("%a, %d %b %Y %H:%M:%S %z").to_string(),
            ))
        }),
    ]
}

/// Escaping, HTML and word filters.
fn escaping_filters() -> Vec<Filter> {
    vec![
        f("xml_escape", &[], true, |v, _| {
            Ok(Value::String(escape(&text(v))))
        }),
        f("cgi_escape", &[], true, |v, _| {
            Ok(Value::String(percent_encode(&text(v), true)))
        }),
        f("uri_escape", &[], true, |v, _| {
            Ok(Value::String(percent_encode(&text(v), false)))
        }),
        f("strip_html", &[], true, |v, _| {
            Ok(Value::String(strip_html(&text(v))))
        }),
        f("normalize_whitespace", &[], true, |v, _| {
            Ok(Value::String(
                text(v).split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        }),
        f("truncatewords", &["number", "omission"], true, |v, a| {
            let n = a.get("number").and_then(Value::as_u64).unwrap_or(15) as usize;
            let omission = a.get("omission").and_then(Value::as_str).unwrap_or("...");
            let t = text(v);
            let words: Vec<&str> = t.split_whitespace().collect();
            if words.len() <= n {
                return Ok(Value::String(words.join(" ")));
            }
            Ok(Value::String(format!("{}{omission}", words[..n].join(" "))))
        }),
        f("number_of_words", &[], true, |v, _| {
            Ok(Value::from(text(v).split_whitespace().count()))
        }),
        f("slugify", &["mode"], true, |v, _| {
            Ok(Value::String(crate::slug::slugify(&text(v))))
        }),
        f("jsonify", &[], true, |v, _| {
            serde_json::to_string(v)
                .map(Value::String)
                .map_err(|e| tera::Error::msg(e.to_string()))
        }),
    ]
}

/// Filters over lists of items: selecting, grouping, joining in prose.
fn array_filters() -> Vec<Filter> {
    vec![
        f("where", &["property", "value"], true, |v, a| {
            let prop = arg_str(a, "property")?;
            let want = a.get("value").cloned().unwrap_or(Value::Null);
            let items = v.as_array().cloned().unwrap_or_default();
            Ok(Value::Array(
                items
                    .into_iter()
                    .filter(|item| matches_value(item.get(&prop), &want))
                    .collect(),
            ))
        }),
        f("group_by", &["property"], true, |v, a| {
            let prop = arg_str(a, "property")?;
            let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
            for item in v.as_array().cloned().unwrap_or_default() {
                let key = item.get(&prop).map(text).unwrap_or_default();
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, items)) => items.push(item),
                    None => groups.push((key, vec![item])),
                }
            }
            Ok(Value::Array(
                groups
                    .into_iter()
                    .map(|(name, items)| {
                        let mut m = Map::new();
                        m.insert("name".into(), name.into());
                        m.insert("size".into(), items.len().into());
                        m.insert("items".into(), Value::Array(items));
                        Value::Object(m)
                    })
                    .collect(),
            ))
        }),
        f("array_to_sentence_string", &["connector"], true, |v, a| {
            let connector = a.get("connector").and_then(Value::as_str).unwrap_or("and");
            let items: Vec<String> = v
                .as_array()
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default();
            Ok(Value::String(match items.len() {
                0 => String::new(),
                1 => items[0].clone(),
                2 => format!("{} {connector} {}", items[0], items[1]),
                n => format!(
                    "{}, {connector} {}",
                    items[..n - 1].join(", "),
                    items[n - 1]
                ),
            }))
        }),
    ]
}

/// Liquid's string filters that Tera has too.
fn string_filters() -> Vec<Filter> {
    vec![
        f("upcase", &[], true, |v, _| {
            Ok(Value::String(text(v).to_uppercase()))
        }),
        f("downcase", &[], true, |v, _| {
            Ok(Value::String(text(v).to_lowercase()))
        }),
        f("size", &[], true, |v, _| {
            Ok(Value::from(match v {
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                other => text(other).chars().count(),
            }))
        }),
        f("append", &["string"], true, |v, a| {
            Ok(Value::String(format!(
                "{}{}",
                text(v),
                a.get("string").map(text).unwrap_or_default()
            )))
        }),
        f("prepend", &["string"], true, |v, a| {
            Ok(Value::String(format!(
                "{}{}",
                a.get("string").map(text).unwrap_or_default(),
                text(v)
            )))
        }),
        f("strip", &[], true, |v, _| {
            Ok(Value::String(text(v).trim().to_string()))
        }),
    ]
}

/// Liquid-only spellings of filters Tera has under the same name with other arguments.
fn liquid_only_filters() -> Vec<Filter> {
    vec![
        f("date", &["format"], false, |v, a| {
            let d = date_of(v)?;
            let fmt = a
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or("%Y-%m-%d");
            Ok(Value::String(d.format(fmt).to_string()))
        }),
        f("default", &["value"], false, |v, a| {
            let empty = matches!(v, Value::Null | Value::Bool(false))
                || v.as_str().is_some_and(str::is_empty)
                || v.as_array().is_some_and(Vec::is_empty);
            Ok(if empty {
                a.get("value").cloned().unwrap_or(Value::Null)
            } else {
                v.clone()
            })
        }),
        f("join", &["separator"], false, |v, a| {
            let sep = a.get("separator").and_then(Value::as_str).unwrap_or(" ");
            let items: Vec<String> = v
                .as_array()
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default();
            Ok(Value::String(items.join(sep)))
        }),
        f("escape", &[], false, |v, _| {
            Ok(Value::String(escape(&text(v))))
        }),
        f("capitalize", &[], false, |v, _| {
            let t = text(v);
            let mut c = t.chars();
            Ok(Value::String(match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }))
        }),
        f("first", &[], false, |v, _| {
            Ok(v.as_array()
                .and_then(|a| a.first().cloned())
                .unwrap_or(Value::Null))
        }),
        f("last", &[], false, |v, _| {
            Ok(v.as_array()
                .and_then(|a| a.last().cloned())
                .unwrap_or(Value::Null))
        }),
        f("replace", &["from", "to"], false, |v, a| {
            let from = a.get("from").map(text).unwrap_or_default();
            let to = a.get("to").map(text).unwrap_or_default();
            Ok(Value::String(if from.is_empty() {
                text(v)
            } else {
                text(v).replace(&from, &to)
            }))
        }),
    ]
}

/// Filters that need the site: its URL and its Markdown style.
fn site_filters(base: &UrlBase, markdown: crate::markdown::Style) -> Vec<Filter> {
    let rel = base.clone();
    let abs = base.clone();
    vec![
        f("relative_url", &[], true, move |v, _| {
            Ok(Value::String(relative_url(&rel, &text(v))))
        }),
        f("absolute_url", &[], true, move |v, _| {
            Ok(Value::String(absolute_url(&abs, &text(v))))
        }),
        f("markdownify", &[], true, move |v, _| {
            Ok(Value::String(
                crate::markdown::render(&text(v), markdown).html,
            ))
        }),
    ]
}

fn f(
    name: &'static str,
    positional: &'static [&'static str],
    for_tera: bool,
    run: impl Fn(&Value, &Args) -> tera::Result<Value> + Send + Sync + 'static,
) -> Filter {
    Filter {
        name,
        positional,
        for_tera,
        run: Arc::new(run),
    }
}

/// Registers the filters Tera should have.
pub fn register(tera: &mut Tera, filters: &[Filter]) {
    for filter in filters.iter().filter(|f| f.for_tera) {
        let run = filter.run.clone();
        tera.register_filter(filter.name, move |v: &Value, a: &Args| run(v, a));
    }
    // Tera's own `slice`, `first` and `last` copy the whole array before taking a piece of
    // it; on a 10,000-post `site.posts` that copy is most of a page's render. Same results,
    // borrowed.
    tera.register_filter("slice", slice);
    tera.register_filter("first", |v: &Value, _: &Args| {
        Ok(array("first", v)?
            .first()
            .cloned()
            .unwrap_or_else(|| "".into()))
    });
    tera.register_filter("last", |v: &Value, _: &Args| {
        Ok(array("last", v)?
            .last()
            .cloned()
            .unwrap_or_else(|| "".into()))
    });
}

fn array<'a>(filter: &str, v: &'a Value) -> tera::Result<&'a [Value]> {
    v.as_array().map(Vec::as_slice).ok_or_else(|| {
        tera::Error::msg(format!(
            "Filter `{filter}` was called on an incorrect value: got `{v}` but expected an array"
        ))
    })
}

/// Tera's `slice(start=, end=)`: 0-based, end exclusive, negative counts from the end.
fn slice(v: &Value, a: &Args) -> tera::Result<Value> {
    let arr = array("slice", v)?;
    let index = |key: &str, default: usize| -> tera::Result<usize> {
        match a.get(key) {
            None => Ok(default),
            Some(n) => {
                let i = n.as_f64().ok_or_else(|| {
                    tera::Error::msg(format!("Filter `slice`: `{key}` must be a number"))
                })?;
                Ok(if i >= 0.0 {
                    i as usize
                } else {
                    (arr.len() as f64 + i) as usize
                })
            }
        }
    };
    let start = index("start", 0)?;
    let end = index("end", arr.len())?.min(arr.len());
    Ok(Value::Array(arr.get(start..end).unwrap_or(&[]).to_vec()))
}

/// `/path` under the site's baseurl; absolute URLs and fragments pass through.
pub fn relative_url(base: &UrlBase, path: &str) -> String {
    if path.contains("://")
        || path.starts_with("//")
        || path.starts_with('#')
        || path.starts_with("mailto:")
    {
        return path.to_string();
    }
    let path = path.trim_start_matches('/');
    format!("{}/{path}", base.baseurl)
}

pub fn absolute_url(base: &UrlBase, path: &str) -> String {
    if path.contains("://") {
        return path.to_string();
    }
    // Without `url:` Jekyll's `absolute_url` has no host to add and gives the path alone.
    format!("{}{}", base.url, relative_url(base, path))
}

/// A value as Liquid prints it.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(""),
        other => other.to_string(),
    }
}

fn arg_str(a: &Args, name: &str) -> tera::Result<String> {
    a.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| tera::Error::msg(format!("filter needs the `{name}` argument")))
}

fn matches_value(have: Option<&Value>, want: &Value) -> bool {
    match have {
        Some(Value::Array(items)) => items.iter().any(|i| text(i) == text(want)),
        Some(v) => text(v) == text(want),
        None => want.is_null(),
    }
}

fn date_of(v: &Value) -> tera::Result<DateTime<FixedOffset>> {
    match v {
        Value::String(s) => {
            dates::parse(s, None).ok_or_else(|| tera::Error::msg(format!("`{s}` is not a date")))
        }
        Value::Number(n) => n
            .as_i64()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .map(|d| d.fixed_offset())
            .ok_or_else(|| tera::Error::msg(format!("`{n}` is not a timestamp"))),
        other => Err(tera::Error::msg(format!("`{other}` is not a date"))),
    }
}

/// Jekyll's `date_to_string`: `05 Nov 2024`, or with `type="ordinal"` `5th Nov 2024`, and
/// with `style="US"` `Nov 5th, 2024`.
fn date_string(d: &DateTime<FixedOffset>, month: &str, a: &Args) -> String {
    let ordinal = a.get("type").and_then(Value::as_str) == Some("ordinal");
    let us = a.get("style").and_then(Value::as_str) == Some("US");
    let m = d.format(month).to_string();
    let y = d.year();
    if !ordinal {
        return d.format(&format!("%d {month} %Y")).to_string();
    }
    let day = d.day();
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    if us {
        format!("{m} {day}{suffix}, {y}")
    } else {
        format!("{day}{suffix} {m} {y}")
    }
}

/// Text with HTML tags removed (Liquid's `strip_html`).
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

pub(crate) fn percent_encode(s: &str, form: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' if form => out.push('+'),
            // What Addressable's `normalize_component` (Jekyll's `uri_escape`) leaves alone.
            b'/' | b':' | b'?' | b'#' | b'&' | b'=' | b'!' | b'$' | b'\'' | b'(' | b')' | b'*'
            | b'+' | b',' | b';' | b'@' | b'[' | b']'
                if !form =>
            {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, v: Value, args: &[(&str, Value)]) -> Value {
        let base = UrlBase {
            url: "https://ex.com".into(),
            baseurl: "/blog".into(),
        };
        let filters = all(
            &base,
            crate::markdown::Style {
                smart_punctuation: true,
                ..Default::default()
            },
            None,
        );
        let f = filters
            .iter()
            .find(|f| f.name == name)
            .expect("filter exists");
        let a: Args = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        (f.run)(&v, &a).expect("filter runs")
    }

    #[test]
    fn borrowing_slice_first_last_match_teras() {
        let mut tera = Tera::default();
        register(&mut tera, &[]);
        let mut ctx = tera::Context::new();
        ctx.insert("xs", &[1, 2, 3, 4, 5]);
        ctx.insert("none", &Vec::<i32>::new());
        let out = tera
            .render_str(
                "{{ xs | slice(end=2) | join(sep=',') }}|{{ xs | slice(start=1, end=-1) | join(sep=',') }}|{{ xs | slice(start=-2) | join(sep=',') }}|{{ xs | slice(start=4, end=2) | length }}|{{ xs | first }}{{ xs | last }}|{{ none | first }}",
                &ctx,
            )
            .expect("renders");
        assert_eq!(out, "1,2|2,3,4|4,5|0|15|");
        assert!(tera.render_str("{{ 3 | slice(end=1) }}", &ctx).is_err());
    }

    #[test]
    fn jekyll_filters() {
        let d = Value::from("2024-11-05T10:00:00+00:00");
        assert_eq!(run("date_to_string", d.clone(), &[]), "05 Nov 2024");
        assert_eq!(
            run(
                "date_to_string",
                d.clone(),
                &[("type", "ordinal".into()), ("style", "US".into())]
            ),
            "Nov 5th, 2024"
        );
        assert_eq!(
            run("date_to_xmlschema", d, &[]),
            "2024-11-05T10:00:00+00:00"
        );
        assert_eq!(run("relative_url", "/a/".into(), &[]), "/blog/a/");
        assert_eq!(
            run("absolute_url", "a/".into(), &[]),
            "https://ex.com/blog/a/"
        );
        assert_eq!(
            run("xml_escape", "a & <b>".into(), &[]),
            "a &amp; &lt;b&gt;"
        );
        assert_eq!(run("strip_html", "<p>hi <b>x</b></p>".into(), &[]), "hi x");
        assert_eq!(
            run("truncatewords", "a b c d".into(), &[("number", 2.into())]),
            "a b..."
        );
        assert_eq!(run("number_of_words", "a b c".into(), &[]), 3);
        assert_eq!(run("slugify", "Hello World!".into(), &[]), "hello-world");
        assert_eq!(
            run("jsonify", serde_json::json!({"a": 1}), &[]),
            "{\"a\":1}"
        );
        let posts =
            serde_json::json!([{"t": "x", "c": "a"}, {"t": "y", "c": "b"}, {"t": "z", "c": "a"}]);
        assert_eq!(
            run(
                "where",
                posts.clone(),
                &[("property", "c".into()), ("value", "a".into())]
            ),
            serde_json::json!([{"t": "x", "c": "a"}, {"t": "z", "c": "a"}])
        );
        let groups = run("group_by", posts, &[("property", "c".into())]);
        assert_eq!(groups[0]["name"], "a");
        assert_eq!(groups[0]["size"], 2);
    }
}
