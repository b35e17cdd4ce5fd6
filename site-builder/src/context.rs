//! What templates see: borrowing views of documents, serialised straight into Tera's context,
//! so no page is cloned to be shown.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dates;
use crate::document::{Collection, Document};

/// A document as `page` (or as an entry of `site.posts`, without `content`).
#[derive(Serialize)]
pub struct PageView<'a> {
    /// Front matter first, so the computed fields below win over same-named keys.
    #[serde(flatten)]
    pub front: &'a Map<String, Value>,
    pub title: &'a str,
    pub url: &'a str,
    /// Posts' and collection documents' Jekyll id; pages have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub path: &'a str,
    /// The source path from the site root, as documents' `relative_path` (pages have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_path: Option<&'a str>,
    pub slug: &'a str,
    /// `posts` (drafts too), a collection's label, or nil for pages, as in Jekyll.
    pub collection: Option<&'static str>,
    pub date: Option<String>,
    pub categories: &'a [String],
    pub tags: &'a [String],
    pub draft: bool,
    pub title_from_content: bool,
    pub excerpt: &'a str,
    pub word_count: usize,
    pub reading_time: usize,
    /// A page's file name and its URL's folder (Jekyll's `page.name`, `page.dir`); posts
    /// have neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toc: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<LinkView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<LinkView<'a>>,
}

/// A neighbouring post, as `page.next` / `page.previous`.
#[derive(Serialize)]
pub struct LinkView<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub date: Option<String>,
}

impl<'a> LinkView<'a> {
    pub fn of(doc: &'a Document) -> Self {
        LinkView {
            title: &doc.title,
            url: &doc.url,
            date: doc.date.as_ref().map(dates::to_rfc3339),
        }
    }
}

impl<'a> PageView<'a> {
    pub fn new(doc: &'a Document, excerpt: &'a str, words: usize) -> Self {
        PageView {
            front: &doc.front,
            title: &doc.title,
            url: &doc.url,
            id: (doc.collection != Collection::Pages).then(|| jekyll_id(doc)),
            path: &doc.rel,
            relative_path: (doc.collection != Collection::Pages).then_some(doc.rel.as_str()),
            slug: &doc.slug,
            collection: match doc.collection {
                Collection::Posts | Collection::Drafts => Some("posts"),
                Collection::Named(label) => Some(label),
                Collection::Pages => None,
            },
            date: doc.date.as_ref().map(dates::to_rfc3339),
            categories: &doc.categories,
            tags: &doc.tags,
            draft: doc.draft,
            title_from_content: doc.title_from_content,
            excerpt,
            word_count: words,
            reading_time: words.div_ceil(200).max(1),
            name: (!doc.is_post()).then(|| doc.rel.rsplit('/').next().unwrap_or(&doc.rel)),
            dir: (!doc.is_post()).then(|| match doc.url.rfind('/') {
                Some(i) => &doc.url[..=i],
                None => "/",
            }),
            content: None,
            toc: None,
            next: None,
            previous: None,
        }
    }
}

/// Jekyll's `page.id` for a post: its URL's folder and its slug (`/2024/05/01/hello`), with
/// no trailing slash or extension.
pub(crate) fn jekyll_id(doc: &Document) -> String {
    if let Collection::Named(_) = doc.collection {
        // A collection document: its URL without the extension.
        let url = doc.url.trim_end_matches('/');
        let (dir, last) = url.rsplit_once('/').unwrap_or(("", url));
        let stem = last.rsplit_once('.').map_or(last, |(s, _)| s);
        return format!("{dir}/{stem}");
    }
    if !doc.is_post() {
        return doc.url.clone();
    }
    let url = doc.url.trim_end_matches('/');
    let dir = url.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/{}", doc.slug)
}

/// Serialises a view into a JSON value; views hold only strings, maps and lists, so this
/// cannot fail, but a failure would be reported rather than hidden.
pub fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_else(|e| Value::String(format!("<unserialisable: {e}>")))
}
