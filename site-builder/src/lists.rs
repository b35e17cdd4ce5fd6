//! The site-wide lists pages show (post summaries in `site.posts`, paginators, taxonomy pages)
//! and who reads them. Knowing the readers lets a full build leave out lists nobody uses and
//! lets a preview rebuild re-render only the pages a post edit shows up on.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::document::Document;
use crate::paginate;
use crate::render::Converted;
use crate::taxonomy::{self, Kind, Term};

/// Which of `site.posts` (and `related_posts`), `site.pages`, `site.tags`, `site.categories`
/// a template or document mentions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    pub posts: bool,
    pub pages: bool,
    pub tags: bool,
    pub categories: bool,
    /// `site.collections` or `site.documents` (which hold the posts too).
    pub collections: bool,
}

impl Reads {
    /// What `text` mentions; by name, so it errs towards reading too much.
    pub fn of_text(text: &str) -> Reads {
        if !text.contains("site") {
            return Reads::default();
        }
        Reads {
            posts: text.contains("site.posts") || text.contains("site.related_posts"),
            pages: text.contains("site.pages") || text.contains("site.html_pages"),
            tags: text.contains("site.tags"),
            categories: text.contains("site.categories"),
            collections: text.contains("site.collections") || text.contains("site.documents"),
        }
    }

    pub fn union(self, other: Reads) -> Reads {
        Reads {
            posts: self.posts || other.posts,
            pages: self.pages || other.pages,
            tags: self.tags || other.tags,
            categories: self.categories || other.categories,
            collections: self.collections || other.collections,
        }
    }

    pub fn any(self) -> bool {
        self.posts || self.pages || self.tags || self.categories || self.collections
    }

    /// Whether a change to a post's summary shows in what this reads.
    pub fn post_summaries(self) -> bool {
        self.posts || self.tags || self.categories || self.collections
    }
}

/// Tags and categories with the posts (newest-first indices) that carry them.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub tags: Vec<Term>,
    pub categories: Vec<Term>,
}

impl Terms {
    pub fn of(&self, kind: Kind) -> &[Term] {
        match kind {
            Kind::Tag => &self.tags,
            Kind::Category => &self.categories,
        }
    }
}

/// The list a generated page shows besides `site`, made when the page renders so that a
/// rebuild plans every page cheaply and renders only some.
#[derive(Debug, Clone)]
pub enum Extra {
    None,
    /// `paginator` for page `page` of a paginated home at `home_url`.
    Paginator {
        page: usize,
        per_page: usize,
        home_url: String,
    },
    /// `taxonomy` for one term's page (index into [`Terms::of`]).
    Term(Kind, usize),
    /// `taxonomy` for the index of all terms of a kind.
    Index(Kind),
    /// jekyll-archives' `page.posts`: these posts (newest-first indices, ascending).
    Archive(Vec<usize>),
}

/// The posts' summaries (newest first) that list pages show.
#[derive(Clone, Copy)]
pub enum Summaries<'a> {
    /// Made once for the whole site, as `site.posts` holds them.
    Made(&'a [Value]),
    /// Made the first time a list page shows the post, from the post and its excerpt: a
    /// streaming build of a site whose templates never read `site.posts` (or the tags' and
    /// categories' maps) then makes them only once the posts' HTML has gone to disk with
    /// their pages, instead of holding both at once.
    OnDemand {
        posts: &'a [Document],
        converted: &'a [Converted],
        /// One slot per post.
        made: &'a [OnceLock<Value>],
    },
}

impl Summaries<'_> {
    /// Post `i`'s summary, as `site.posts` would hold it.
    pub fn get(&self, i: usize) -> Option<Value> {
        match self {
            Summaries::Made(s) => s.get(i).cloned(),
            Summaries::OnDemand {
                posts,
                converted,
                made,
            } => {
                let post = posts.get(i)?;
                let made = made
                    .get(i)?
                    .get_or_init(|| crate::plan::summary(post, converted.get(i), false));
                Some(made.clone())
            }
        }
    }

    /// The made summaries, when there are.
    pub fn made(&self) -> Option<&[Value]> {
        match self {
            Summaries::Made(s) => Some(s),
            Summaries::OnDemand { .. } => None,
        }
    }
}

/// What extras are made from.
pub struct Lists<'a> {
    pub summaries: Summaries<'a>,
    pub terms: &'a Terms,
    pub paginate_path: &'a str,
    /// The posts the paginator lists (indices into `summaries`): all but `hidden: true`.
    pub listed: Vec<usize>,
}

impl<'a> Lists<'a> {
    /// The lists of `posts` (newest first), whose summaries are `summaries`.
    pub fn new(
        summaries: Summaries<'a>,
        posts: &[Document],
        terms: &'a Terms,
        paginate_path: &'a str,
    ) -> Lists<'a> {
        Lists {
            summaries,
            terms,
            paginate_path,
            listed: paginate::listed(posts),
        }
    }

    /// The extra context value of a page, under its name.
    pub fn value(&self, extra: &Extra) -> Option<(&'static str, Value)> {
        match extra {
            Extra::None => None,
            Extra::Paginator {
                page,
                per_page,
                home_url,
            } => Some((
                "paginator",
                paginate::paginator(
                    *page,
                    *per_page,
                    &self.summaries,
                    &self.listed,
                    home_url,
                    self.paginate_path,
                ),
            )),
            Extra::Term(kind, i) => self
                .terms
                .of(*kind)
                .get(*i)
                .map(|t| ("taxonomy", taxonomy::term_value(*kind, t, &self.summaries))),
            Extra::Index(kind) => Some((
                "taxonomy",
                taxonomy::index_value(*kind, self.terms.of(*kind)),
            )),
            // Not a root of its own: it goes into `page` (see `render`).
            Extra::Archive(_) => None,
        }
    }

    /// Whether the page shows post `i`'s summary (its title, excerpt, date or tags).
    pub fn shows_post(&self, extra: &Extra, i: usize) -> bool {
        match extra {
            Extra::None | Extra::Index(_) => false,
            Extra::Paginator { page, per_page, .. } => {
                paginate::slice_of(*page, *per_page, &self.listed)
                    .binary_search(&i)
                    .is_ok()
            }
            Extra::Term(kind, t) => self
                .terms
                .of(*kind)
                .get(*t)
                .is_some_and(|t| t.posts.binary_search(&i).is_ok()),
            Extra::Archive(posts) => posts.binary_search(&i).is_ok(),
        }
    }
}

/// Puts a changed document's summary into `site` wherever the old one was: `posts`,
/// `related_posts`, the `tags`/`categories` maps (post `index` among the posts), or `pages`.
pub fn patch_site(site: &mut Value, post: Option<usize>, page: Option<usize>, summary: &Value) {
    let Some(site) = site.as_object_mut() else {
        return;
    };
    let replace = |list: Option<&mut Value>, i: usize| {
        if let Some(slot) = list.and_then(|l| l.get_mut(i)) {
            *slot = summary.clone();
        }
    };
    if let Some(i) = post {
        replace(site.get_mut("posts"), i);
        replace(site.get_mut("related_posts"), i);
        let url = summary.get("url");
        for key in ["tags", "categories"] {
            if let Some(Value::Object(terms)) = site.get_mut(key) {
                patch_terms(terms, url, summary);
            }
        }
    }
    if let Some(i) = page {
        replace(site.get_mut("pages"), i);
    }
}

fn patch_terms(terms: &mut Map<String, Value>, url: Option<&Value>, summary: &Value) {
    for list in terms.values_mut() {
        if let Value::Array(items) = list {
            for item in items.iter_mut().filter(|v| v.get("url") == url) {
                *item = summary.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_by_name() {
        let r = Reads::of_text("{% for p in site.posts %}{{ site.tags | length }}");
        assert!(r.posts && r.tags && !r.pages && !r.categories);
        assert!(!Reads::of_text("{{ site.title }}").any());
    }

    #[test]
    fn patch_replaces_every_copy() {
        let old = json!({"url": "/a/", "title": "Old"});
        let other = json!({"url": "/b/", "title": "B"});
        let mut site = json!({
            "posts": [other.clone(), old.clone()],
            "related_posts": [other.clone(), old.clone()],
            "tags": {"rust": [old.clone()], "web": [other.clone()]},
        });
        let new = json!({"url": "/a/", "title": "New"});
        patch_site(&mut site, Some(1), None, &new);
        assert_eq!(site["posts"][1]["title"], "New");
        assert_eq!(site["related_posts"][1]["title"], "New");
        assert_eq!(site["tags"]["rust"][0]["title"], "New");
        assert_eq!(site["tags"]["web"][0]["title"], "B");
    }

    #[test]
    fn paginator_pages_show_their_slice() {
        let terms = Terms::default();
        let summaries: Vec<Value> = (0..30).map(|_| serde_json::json!({})).collect();
        let posts: Vec<Document> = (0..30)
            .map(|_| Document::generated("p", "P", "/p/", "post", std::path::Path::new("")))
            .collect();
        let lists = Lists::new(Summaries::Made(&summaries), &posts, &terms, "/page:num/");
        let page2 = Extra::Paginator {
            page: 2,
            per_page: 10,
            home_url: "/".into(),
        };
        assert!(lists.shows_post(&page2, 10) && lists.shows_post(&page2, 19));
        assert!(!lists.shows_post(&page2, 9) && !lists.shows_post(&page2, 20));
    }
}
