//! jekyll-feed: the Atom feeds a Jekyll site that lists the plugin gets, in that plugin's
//! shape (entry ids are the posts' Jekyll ids, links are `absolute_url`, so readers that
//! already follow the site see the same entries after the move to Galley): the posts' feed,
//! and, as `feed:` asks, one per category, per collection (and its categories) and per tag.

use serde_json::{Map, Value};

use crate::config::Config;
use crate::context::jekyll_id;
use crate::dates;
use crate::document::Document;
use crate::filters::{absolute_url, strip_html};
use crate::highlight::escape;
use crate::jekyll::filters::smartify;
use crate::render::Converted;

pub const PLUGIN: &str = "jekyll-feed";

/// `feed: path:` (or `feed: collections: posts: path:`), `feed.xml` by default (relative, no
/// leading slash): the posts' feed, which `{% feed_meta %}` links to.
fn path(config: &Config) -> String {
    posts_setting(config, "path")
        .and_then(Value::as_str)
        .unwrap_or("feed.xml")
        .trim_start_matches('/')
        .to_string()
}

fn setting<'a>(config: &'a Config, key: &str) -> Option<&'a Value> {
    config.extra.get("feed").and_then(|f| f.get(key))
}

/// `feed: disable_in_development: true` in the `development` environment: no feeds.
pub fn disabled(config: &Config, environment: &str) -> bool {
    environment == "development" && setting(config, "disable_in_development").is_some_and(truthy)
}

/// A setting of the posts' feed: the top-level `feed:` key, or the same key under
/// `feed: collections: posts:`, which the plugin treats as one.
fn posts_setting<'a>(config: &'a Config, key: &str) -> Option<&'a Value> {
    collections(config)
        .into_iter()
        .find(|(name, _)| name == "posts")
        .and_then(|(_, meta)| meta.and_then(|m| m.get(key)))
        .filter(|v| !v.is_null())
        .or_else(|| setting(config, key))
}

/// `feed: collections:`, a list of names or a map of name to settings, in order.
fn collections(config: &Config) -> Vec<(String, Option<&Map<String, Value>>)> {
    match setting(config, "collections") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(|n| (n.to_string(), None))
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(n, meta)| (n.clone(), meta.as_object()))
            .collect(),
        _ => Vec::new(),
    }
}

/// One feed file: a collection's documents (`posts` for the main feed), narrowed to one
/// category or, for a tag feed, to the posts with that tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// Where it is written, relative (no leading slash).
    pub path: String,
    pub collection: String,
    pub category: Option<String>,
    pub tag: Option<String>,
}

/// Every feed the site's `feed:` settings ask for, except where the site has a file of that
/// name itself (`exists` is asked with the path relative to the site's folder).
pub fn feeds(config: &Config, tags: &[&str], exists: impl Fn(&str) -> bool) -> Vec<Feed> {
    let mut names = collections(config);
    if !names.iter().any(|(n, _)| n == "posts") {
        names.insert(0, ("posts".to_string(), None));
    }
    let mut out = Vec::new();
    for (name, meta) in &names {
        let prefix = if name == "posts" {
            "feed".to_string()
        } else {
            format!("feed/{name}")
        };
        let categories = if name == "posts" {
            posts_setting(config, "categories")
        } else {
            meta.and_then(|m| m.get("categories"))
        };
        let categories = terms(categories);
        let own_path = if name == "posts" {
            Some(path(config))
        } else {
            meta.and_then(|m| m.get("path"))
                .and_then(Value::as_str)
                .map(|p| p.trim_start_matches('/').to_string())
        };
        let main = Feed {
            path: own_path.unwrap_or_else(|| format!("{prefix}.xml")),
            collection: name.clone(),
            category: None,
            tag: None,
        };
        let by_category = categories.into_iter().map(|c| Feed {
            path: format!("{prefix}/{c}.xml"),
            collection: name.clone(),
            category: Some(c),
            tag: None,
        });
        out.extend(by_category.chain([main]));
    }
    if let Some(tags_setting) = setting(config, "tags").filter(|v| truthy(v)) {
        out.extend(tag_feeds(tags_setting, tags));
    }
    out.retain(|f| !exists(&f.path));
    out
}

/// `feed: tags:` (`true`, or `only`/`except`/`path`): a feed per tag whose name is plain
/// letters, digits and underscores, as the plugin keeps feed paths simple.
fn tag_feeds(setting: &Value, tags: &[&str]) -> Vec<Feed> {
    let only = setting.get("only").map(|v| terms(Some(v)));
    let except = terms(setting.get("except"));
    let base = setting
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("/feed/by_tag/")
        .trim_start_matches('/');
    let pool: Vec<String> = only.unwrap_or_else(|| tags.iter().map(|t| t.to_string()).collect());
    pool.into_iter()
        .filter(|t| !except.contains(t))
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|t| Feed {
            path: format!("{base}{t}.xml"),
            collection: "posts".to_string(),
            category: None,
            tag: Some(t),
        })
        .collect()
}

/// A list of names from YAML (a list, or one name).
fn terms(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Liquid's truth: everything but nil and false.
fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

/// What a feed needs from the site besides its entries.
pub struct Context<'a> {
    pub config: &'a Config,
    /// `site.time`, already in `date_to_xmlschema` form.
    pub time: &'a str,
    /// `site.data.authors`, where an entry's author name is looked up.
    pub authors: Option<&'a Value>,
    /// The site has `feed.xslt.xml`: the feed names it as its stylesheet.
    pub xsl: bool,
}

/// The feed's entries from its candidates (the collection's documents, or the tag's posts):
/// in the category if it has one, drafts left out unless `show_drafts`, newest first, the
/// first `feed: posts_limit:` (10 by default).
pub fn entries<'a>(
    config: &Config,
    feed: &Feed,
    candidates: impl Iterator<Item = (&'a Document, &'a Converted)>,
) -> Vec<(&'a Document, &'a Converted)> {
    let show_drafts = config.flag("show_drafts");
    let mut chosen: Vec<_> = candidates
        .filter(|(d, _)| {
            feed.category
                .as_ref()
                .is_none_or(|c| d.categories.iter().any(|dc| dc == c))
        })
        .filter(|(d, _)| show_drafts || !d.draft)
        .collect();
    // `sort: "date" | reverse`: oldest first, then turned around.
    chosen.sort_by_key(|(d, _)| d.date);
    chosen.reverse();
    let limit = setting(config, "posts_limit")
        .and_then(Value::as_u64)
        .map_or(10, |n| n as usize);
    chosen.truncate(limit);
    chosen
}

/// The feed's XML, minified as the plugin writes it.
pub fn atom(site: &Context, feed: &Feed, entries: &[(&Document, &Converted)]) -> String {
    let config = site.config;
    let base = config.url_base();
    let abs = |path: &str| escape(&absolute_url(&base, path));
    let feed_url = abs(&format!("/{}", feed.path));
    let lang = config.extra.get("lang").and_then(Value::as_str);
    let mut title = if config.title.is_empty() {
        config
            .extra
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        config.title.clone()
    };
    if feed.collection != "posts" {
        title = format!("{title} | {}", capitalize(&feed.collection));
    }
    if let Some(category) = &feed.category {
        title = format!("{title} | {}", capitalize(category));
    }
    let mut out = String::with_capacity(4096 + entries.len() * 4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    if site.xsl {
        out.push_str(&format!(
            "<?xml-stylesheet type=\"text/xml\" href=\"{}\"?>",
            abs("/feed.xslt.xml")
        ));
    }
    match lang {
        Some(lang) => out.push_str(&format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">"
        )),
        None => out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" >"),
    }
    out.push_str("<generator uri=\"https://jekyllrb.com/\" version=\"4.3.1\">Jekyll</generator>");
    out.push_str(&format!(
        "<link href=\"{feed_url}\" rel=\"self\" type=\"application/atom+xml\" />"
    ));
    let hreflang = lang
        .map(|l| format!("hreflang=\"{l}\" "))
        .unwrap_or_default();
    out.push_str(&format!(
        "<link href=\"{}\" rel=\"alternate\" type=\"text/html\" {hreflang}/>",
        abs("/")
    ));
    out.push_str(&format!(
        "<updated>{}</updated><id>{feed_url}</id>",
        site.time
    ));
    if !title.is_empty() {
        out.push_str(&format!(
            "<title type=\"html\">{}</title>",
            escape(&smartify(&title))
        ));
    }
    if !config.description.is_empty() {
        out.push_str(&format!(
            "<subtitle>{}</subtitle>",
            escape(&config.description)
        ));
    }
    out.push_str(&site_author(config.extra.get("author")));
    for (doc, conv) in entries {
        entry(&mut out, site, doc, conv, &abs);
    }
    out.push_str("</feed>");
    out
}

fn entry(
    out: &mut String,
    site: &Context,
    doc: &Document,
    conv: &Converted,
    abs: &dyn Fn(&str) -> String,
) {
    let config = site.config;
    let link = abs(&doc.url);
    let title = escape(&normalize(&strip_html(&smartify(&doc.title))));
    let published = doc.date.as_ref().map(dates::to_rfc3339).unwrap_or_default();
    let updated = doc
        .front
        .get("last_modified_at")
        .and_then(Value::as_str)
        .and_then(|s| dates::parse(s, config.timezone))
        // YAML's time, shown in the zone Jekyll shows dates in.
        .map(|d| match config.date_zone() {
            Some(zone) => d.with_timezone(&zone).fixed_offset(),
            None => d,
        })
        .map_or_else(|| published.clone(), |d| dates::to_rfc3339(&d));
    match doc.front.get("lang").and_then(Value::as_str) {
        Some(lang) => out.push_str(&format!("<entry xml:lang=\"{lang}\">")),
        None => out.push_str("<entry>"),
    }
    out.push_str(&format!(
        "<title type=\"html\">{title}</title><link href=\"{link}\" rel=\"alternate\" type=\"text/html\" title=\"{title}\" /><published>{published}</published><updated>{updated}</updated><id>{}</id>",
        abs(&jekyll_id(doc))
    ));
    let excerpt_only = doc
        .front
        .get("feed")
        .and_then(|f| f.get("excerpt_only"))
        .filter(|v| truthy(v))
        .or_else(|| setting(config, "excerpt_only"))
        .is_some_and(truthy);
    if !excerpt_only {
        out.push_str(&format!(
            "<content type=\"html\" xml:base=\"{link}\"><![CDATA[{}]]></content>",
            cdata(conv.html.trim())
        ));
    }
    out.push_str(&entry_author(doc, config, site.authors));
    match doc.front.get("category").filter(|v| truthy(v)) {
        Some(category) => out.push_str(&format!(
            "<category term=\"{}\" />",
            escape(&text(category))
        )),
        None => {
            for category in &doc.categories {
                out.push_str(&format!("<category term=\"{}\" />", escape(category)));
            }
        }
    }
    for tag in &doc.tags {
        out.push_str(&format!("<category term=\"{}\" />", escape(tag)));
    }
    let summary = match doc.front.get("description").filter(|v| truthy(v)) {
        Some(description) => text(description),
        None => conv.excerpt.clone(),
    };
    if !summary.is_empty() {
        out.push_str(&format!(
            "<summary type=\"html\"><![CDATA[{}]]></summary>",
            cdata(&normalize(&strip_html(&summary)))
        ));
    }
    let image = doc.front.get("image").and_then(|i| match i {
        Value::Object(m) => m.get("path").and_then(Value::as_str),
        other => other.as_str(),
    });
    if let Some(image) = image {
        let url = if image.contains("://") {
            escape(image)
        } else {
            abs(image)
        };
        out.push_str(&format!(
            "<media:thumbnail xmlns:media=\"http://search.yahoo.com/mrss/\" url=\"{url}\" /><media:content medium=\"image\" url=\"{url}\" xmlns:media=\"http://search.yahoo.com/mrss/\" />"
        ));
    }
    out.push_str("</entry>");
}

/// An entry's author: the post's `author` (or first of `authors`), else the site's, looked
/// up in `site.data.authors`; always present, with an empty name when there is none.
fn entry_author(doc: &Document, config: &Config, authors: Option<&Value>) -> String {
    let first = |v: &Value| match v {
        Value::Array(a) => a.first().cloned(),
        _ => None,
    };
    let author = doc
        .front
        .get("author")
        .filter(|v| truthy(v) && !is_empty(v))
        .cloned()
        .or_else(|| doc.front.get("authors").and_then(first))
        .or_else(|| config.extra.get("author").filter(|v| !is_empty(v)).cloned());
    let author = match &author {
        Some(Value::String(name)) => authors
            .and_then(|a| a.get(name))
            .filter(|v| truthy(v))
            .cloned()
            .or(author),
        _ => author,
    };
    let field = |k: &str| {
        author
            .as_ref()
            .and_then(|a| a.get(k))
            .filter(|v| truthy(v))
            .map(text)
    };
    let name = field("name")
        .or_else(|| author.as_ref().filter(|a| !a.is_object()).map(text))
        .unwrap_or_default();
    let mut out = format!("<author><name>{}</name>", escape(&name));
    if let Some(email) = field("email") {
        out.push_str(&format!("<email>{}</email>", escape(&email)));
    }
    if let Some(uri) = field("uri") {
        out.push_str(&format!("<uri>{}</uri>", escape(&uri)));
    }
    out.push_str("</author>");
    out
}

/// Liquid's `empty`: an empty string, list or map.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// A value as Liquid prints it.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text).collect(),
        other => other.to_string(),
    }
}

/// `normalize_whitespace`.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Ruby's `capitalize`: the first letter upper case, the rest lower.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// The site's `<author>`: from a name or a `{name, email, uri}` map; nothing without one.
fn site_author(value: Option<&Value>) -> String {
    let field = |k: &str| {
        value
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let Some(name) = value.and_then(Value::as_str).or_else(|| field("name")) else {
        return String::new();
    };
    let mut out = format!("<author><name>{}</name>", escape(name));
    if let Some(email) = field("email") {
        out.push_str(&format!("<email>{}</email>", escape(email)));
    }
    if let Some(uri) = field("uri") {
        out.push_str(&format!("<uri>{}</uri>", escape(uri)));
    }
    out.push_str("</author>");
    out
}

/// Text that cannot end its CDATA section early.
fn cdata(text: &str) -> String {
    text.replace("]]>", "]]]]><![CDATA[>")
}
