//! Categories and tags: which posts carry each term, and the pages that list them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::Document;
use crate::lists::Summaries;
use crate::slug::slugify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Category,
    Tag,
}

impl Kind {
    /// The layout of a term's page and of the index of all terms.
    pub fn layouts(self) -> (&'static str, &'static str) {
        match self {
            Kind::Category => ("category", "categories"),
            Kind::Tag => ("tag", "tags"),
        }
    }

    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Kind::Category => ("Category", "Categories"),
            Kind::Tag => ("Tag", "Tags"),
        }
    }

    pub fn base_url(self) -> &'static str {
        match self {
            Kind::Category => "/categories/",
            Kind::Tag => "/tags/",
        }
    }

    fn terms(self, doc: &Document) -> &[String] {
        match self {
            Kind::Category => &doc.categories,
            Kind::Tag => &doc.tags,
        }
    }
}

/// A term and the posts that carry it (indices into the newest-first post list).
#[derive(Debug, Clone)]
pub struct Term {
    pub name: String,
    pub slug: String,
    pub posts: Vec<usize>,
}

impl Term {
    pub fn url(&self, kind: Kind) -> String {
        format!("{}{}/", kind.base_url(), self.slug)
    }
}

/// Terms by slug; terms that slug alike ("Rust", "rust") are one term, named as first seen.
pub fn collect(kind: Kind, posts: &[&Document]) -> Vec<Term> {
    let mut terms: BTreeMap<String, Term> = BTreeMap::new();
    for (i, doc) in posts.iter().enumerate() {
        for name in kind.terms(doc) {
            let slug = slugify(name);
            if slug.is_empty() {
                continue;
            }
            let term = terms.entry(slug.clone()).or_insert_with(|| Term {
                name: name.clone(),
                slug,
                posts: Vec::new(),
            });
            if term.posts.last() != Some(&i) {
                term.posts.push(i);
            }
        }
    }
    terms.into_values().collect()
}

/// `taxonomy` for one term's page.
pub fn term_value(kind: Kind, term: &Term, summaries: &Summaries) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), kind.layouts().0.into());
    m.insert("label".into(), kind.labels().0.into());
    m.insert("name".into(), term.name.clone().into());
    m.insert("slug".into(), term.slug.clone().into());
    m.insert(
        "posts".into(),
        Value::Array(
            term.posts
                .iter()
                .filter_map(|&i| summaries.get(i))
                .collect(),
        ),
    );
    Value::Object(m)
}

/// `taxonomy` for the index of all terms.
pub fn index_value(kind: Kind, terms: &[Term]) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), kind.layouts().1.into());
    m.insert("label".into(), kind.labels().1.into());
    let list = terms
        .iter()
        .map(|t| {
            let mut e = Map::new();
            e.insert("name".into(), t.name.clone().into());
            e.insert("slug".into(), t.slug.clone().into());
            e.insert("url".into(), t.url(kind).into());
            e.insert("count".into(), t.posts.len().into());
            Value::Object(e)
        })
        .collect();
    m.insert("terms".into(), Value::Array(list));
    Value::Object(m)
}

/// `site.tags` / `site.categories` as Jekyll has them: term name to its posts.
pub fn site_map(terms: &[Term], summaries: &[Value]) -> Value {
    let mut m = Map::new();
    for t in terms {
        m.insert(
            t.name.clone(),
            Value::Array(
                t.posts
                    .iter()
                    .filter_map(|&i| summaries.get(i).cloned())
                    .collect(),
            ),
        );
    }
    Value::Object(m)
}
