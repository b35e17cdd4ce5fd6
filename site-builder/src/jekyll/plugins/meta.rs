//! Tags that write a page's `<head>` metadata: `{% seo %}` (jekyll-seo-tag: title,
//! description, canonical URL, Open Graph, Twitter and JSON-LD) and `{% feed_meta %}`
//! (jekyll-feed: the feed's `<link>`), computed from `site` and `page` as those plugins do.

use std::io::Write;

use liquid_core::model::ScalarCow;
use liquid_core::{
    Error, Language, ParseTag, Renderable, Result, Runtime, TagReflection, TagTokenIter,
};
use serde_json::{json, Map, Value};

use crate::filters::{absolute_url, relative_url, UrlBase};
use crate::highlight::escape;
use crate::jekyll::json::from_liquid;

#[derive(Clone, Copy, Debug)]
pub enum Meta {
    Seo,
    Feed,
}

impl TagReflection for Meta {
    fn tag(&self) -> &str {
        match self {
            Meta::Seo => "seo",
            Meta::Feed => "feed_meta",
        }
    }
    fn description(&self) -> &str {
        "a plugin's <head> metadata"
    }
}

impl ParseTag for Meta {
    fn parse(&self, mut arguments: TagTokenIter<'_>, _: &Language) -> Result<Box<dyn Renderable>> {
        // `{% seo title=false %}`: the markup is kept (encoded) and read here.
        let markup = arguments
            .next()
            .and_then(|t| crate::jekyll::markup::decode(t.as_str()))
            .unwrap_or_default();
        Ok(Box::new(Rendered {
            kind: *self,
            with_title: !markup.contains("title=false"),
        }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Debug)]
struct Rendered {
    kind: Meta,
    with_title: bool,
}

fn get(runtime: &dyn Runtime, path: &[&str]) -> Value {
    let path: Vec<ScalarCow<'_>> = path.iter().map(|p| ScalarCow::new(*p)).collect();
    runtime
        .try_get(&path)
        .map_or(Value::Null, |v| from_liquid(v.as_view()))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn base(runtime: &dyn Runtime) -> UrlBase {
    UrlBase {
        url: text(&get(runtime, &["site", "url"])).unwrap_or_default(),
        baseurl: text(&get(runtime, &["site", "baseurl"]))
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string(),
    }
}

impl Renderable for Rendered {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let out = match self.kind {
            Meta::Feed => feed_meta(runtime),
            Meta::Seo => seo(runtime, self.with_title),
        };
        writer
            .write_all(out.as_bytes())
            .map_err(|e| Error::with_msg(format!("writing output: {e}")))
    }
}

fn feed_meta(runtime: &dyn Runtime) -> String {
    let base = base(runtime);
    let path = text(&get(runtime, &["site", "feed", "path"])).unwrap_or_else(|| "/feed.xml".into());
    let href = url(&base, &path);
    let title =
        text(&get(runtime, &["site", "title"])).or_else(|| text(&get(runtime, &["site", "name"])));
    match title {
        Some(t) => format!(
            "<link type=\"application/atom+xml\" rel=\"alternate\" href=\"{href}\" title=\"{}\" />",
            escape(&t)
        ),
        None => format!("<link type=\"application/atom+xml\" rel=\"alternate\" href=\"{href}\" />"),
    }
}

/// An absolute URL when the site has a `url`, else a root-relative one (Jekyll's
/// `absolute_url` during `jekyll build`).
fn url(base: &UrlBase, path: &str) -> String {
    if base.url.is_empty() {
        relative_url(base, path)
    } else {
        absolute_url(base, path)
    }
}

/// Text as jekyll-seo-tag writes it: tags stripped, whitespace folded.
fn plain(s: &str) -> String {
    crate::filters::strip_html(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn seo(runtime: &dyn Runtime, with_title: bool) -> String {
    let page = Seo::read(runtime);
    let mut out = page.meta_tags(with_title);
    let ld = page.json_ld();
    out.push_str(&format!(
        "<script type=\"application/ld+json\">\n{ld}</script>\n<!-- End Jekyll SEO tag -->\n"
    ));
    out
}

/// `<meta ATTR="KEY" content="VALUE" />` with the value escaped, when there is a value.
fn meta(out: &mut String, attr: &str, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push_str(&format!(
            "<meta {attr}=\"{key}\" content=\"{}\" />\n",
            escape(v)
        ));
    }
}

/// What jekyll-seo-tag says about a page, read from the page and the site.
struct Seo {
    base: UrlBase,
    /// `<title>`: the page's and the site's, or the site's and its tagline.
    title: Option<String>,
    site_title: Option<String>,
    page_title: Option<String>,
    description: Option<String>,
    author: Option<String>,
    page_url: String,
    canonical: Option<String>,
    date: Option<String>,
    is_post: bool,
}

impl Seo {
    fn read(runtime: &dyn Runtime) -> Seo {
        let base = base(runtime);
        let site_title = text(&get(runtime, &["site", "title"]))
            .or_else(|| text(&get(runtime, &["site", "name"])));
        let site_description = text(&get(runtime, &["site", "description"]));
        let tagline =
            text(&get(runtime, &["site", "tagline"])).or_else(|| site_description.clone());
        let page_title = text(&get(runtime, &["page", "title"])).or_else(|| site_title.clone());
        let mut title = match (&site_title, &page_title) {
            (Some(s), Some(p)) if p != s => Some(format!("{p} | {s}")),
            (Some(s), _) if tagline.is_some() => {
                Some(format!("{s} | {}", tagline.clone().unwrap_or_default()))
            }
            (s, p) => p.clone().or_else(|| s.clone()),
        };
        let paginator_page = get(runtime, &["paginator", "page"]).as_u64().unwrap_or(1);
        if paginator_page > 1 {
            let total = get(runtime, &["paginator", "total_pages"])
                .as_u64()
                .unwrap_or(paginator_page);
            title = title.map(|t| format!("Page {paginator_page} of {total} for {t}"));
        }
        let description = text(&get(runtime, &["page", "description"]))
            .or_else(|| text(&get(runtime, &["page", "excerpt"])))
            .or(site_description)
            .map(|d| plain(&d));
        let author = match get(runtime, &["page", "author"]) {
            Value::Null => get(runtime, &["site", "author"]),
            a => a,
        };
        let author = match &author {
            Value::Object(m) => m.get("name").and_then(text),
            Value::String(name) => {
                // A key into `site.data.authors`, or the name itself.
                let data = get(runtime, &["site", "data", "authors", name, "name"]);
                text(&data).or_else(|| Some(name.clone()))
            }
            _ => None,
        };
        let page_url = text(&get(runtime, &["page", "url"])).unwrap_or_else(|| "/".into());
        let canonical = (!base.url.is_empty())
            .then(|| absolute_url(&base, &page_url.replace("index.html", "")));
        let date = text(&get(runtime, &["page", "date"]));
        let is_post = date.is_some()
            && !get(runtime, &["page", "id"]).is_null()
            && get(runtime, &["page", "collection"]) == json!("posts");

        Seo {
            base,
            title,
            site_title,
            page_title,
            description,
            author,
            page_url,
            canonical,
            date,
            is_post,
        }
    }

    /// The `<meta>` and `<link>` tags (and `<title>`, when asked for).
    fn meta_tags(&self, with_title: bool) -> String {
        let Seo {
            title,
            site_title,
            page_title,
            description,
            author,
            canonical,
            date,
            is_post,
            ..
        } = self;
        let is_post = *is_post;
        let mut out = String::from("<!-- Begin Jekyll SEO tag v2.8.0 -->\n");
        if with_title {
            if let Some(t) = &title {
                out.push_str(&format!("<title>{}</title>\n", escape(t)));
            }
        }
        out.push_str("<meta name=\"generator\" content=\"Jekyll v4.3.1\" />\n");
        meta(&mut out, "property", "og:title", page_title.as_deref());
        meta(&mut out, "name", "author", author.as_deref());
        out.push_str("<meta property=\"og:locale\" content=\"en_US\" />\n");
        meta(&mut out, "name", "description", description.as_deref());
        meta(
            &mut out,
            "property",
            "og:description",
            description.as_deref(),
        );
        if let Some(c) = &canonical {
            out.push_str(&format!("<link rel=\"canonical\" href=\"{c}\" />\n"));
            out.push_str(&format!("<meta property=\"og:url\" content=\"{c}\" />\n"));
        }
        meta(&mut out, "property", "og:site_name", site_title.as_deref());
        out.push_str(&format!(
            "<meta property=\"og:type\" content=\"{}\" />\n",
            if is_post { "article" } else { "website" }
        ));
        if let (true, Some(d)) = (is_post, &date) {
            out.push_str(&format!(
                "<meta property=\"article:published_time\" content=\"{d}\" />\n"
            ));
        }
        out.push_str("<meta name=\"twitter:card\" content=\"summary\" />\n");
        meta(&mut out, "property", "twitter:title", page_title.as_deref());
        out
    }

    /// The schema.org JSON-LD, `</` escaped so it cannot close the script.
    fn json_ld(&self) -> String {
        let Seo {
            base,
            site_title,
            page_title: headline,
            description,
            author,
            page_url,
            canonical,
            date,
            is_post,
            ..
        } = self;
        let is_post = *is_post;
        let mut ld = Map::new();
        ld.insert("@context".into(), json!("https://schema.org"));
        ld.insert(
            "@type".into(),
            json!(if is_post { "BlogPosting" } else { "WebSite" }),
        );
        if let Some(a) = &author {
            ld.insert("author".into(), json!({"@type": "Person", "name": a}));
        }
        if let (true, Some(d)) = (is_post, &date) {
            ld.insert("dateModified".into(), json!(d));
            ld.insert("datePublished".into(), json!(d));
        }
        if let Some(d) = &description {
            ld.insert("description".into(), json!(d));
        }
        if let Some(h) = &headline {
            ld.insert("headline".into(), json!(h));
        }
        if !is_post {
            if let Some(s) = &site_title {
                ld.insert("name".into(), json!(s));
            }
        }
        ld.insert(
            "url".into(),
            json!(canonical
                .clone()
                .unwrap_or_else(|| relative_url(base, page_url))),
        );
        serde_json::to_string(&Value::Object(ld))
            .unwrap_or_default()
            .replace("</", "<\\/")
    }
}
