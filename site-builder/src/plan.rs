//! From read documents to output pages: the lookups every step needs ([`Index`]), `site` as
//! templates see it, the list of pages to render ([`Plan`]), and the rendered site assembled
//! with its generated files (feed, sitemap, stylesheets).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::context::{to_value, PageView};
use crate::dates;
use crate::discover::{Role, Sources};
use crate::document::{Collection, Document, LayoutChoice};
use crate::error::{Diagnostic, Diagnostics, Result};
use crate::lists::{Extra, Reads, Terms};
use crate::output::{duplicate, Body, OutputFile, RenderedSite};
use crate::render::{self, Content, Converted, Job};
use crate::taxonomy::{self, Kind};
use crate::templates::Templates;
use crate::{collections, feed, highlight, jekyll, paginate, sitemap, theme};

/// Posts per page on the built-in theme's home when `paginate` is not set.
const THEME_PAGINATE: usize = 10;

/// What later steps look up about the documents; owned, so a preview keeps it between builds.
pub(crate) struct Index {
    /// Number of posts; they come first in `docs`.
    pub posts: usize,
    /// Shared with Jekyll's tags (`jekyll::Tools`) rather than copied for them.
    pub post_urls: Arc<HashMap<String, String>>,
    pub links: Arc<HashMap<String, String>>,
    /// Which lists each document's body reads (by name or through an include).
    pub doc_reads: Vec<Reads>,
    /// Which site-wide lists any template or content reads: only those are built.
    pub wants: Reads,
    pub time: String,
    /// How many collection documents follow the posts in `docs` (pages come after them).
    pub documents: usize,
    /// `jekyll.environment` (`development` unless the caller says otherwise).
    pub environment: String,
}

impl Index {
    pub fn new(docs: &[Document], sources: &Sources, templates: &Templates, time: i64) -> Index {
        let posts = docs.iter().take_while(|d| d.is_post()).count();
        let documents = docs[posts..]
            .iter()
            .take_while(|d| matches!(d.collection, Collection::Named(_)))
            .count();
        let post_urls = docs[..posts]
            .iter()
            .map(|d| {
                let stem = d.rel.rsplit('/').next().unwrap_or(&d.rel);
                let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
                (stem.to_string(), d.url.clone())
            })
            .collect();
        let mut links: HashMap<String, String> = docs
            .iter()
            .map(|d| (d.rel.clone(), d.url.clone()))
            .collect();
        for s in sources.of(Role::Static) {
            links.insert(s.rel.clone(), format!("/{}", s.rel));
        }
        let includes = templates.include_reads();
        let doc_reads: Vec<Reads> = docs
            .iter()
            .map(|d| body_reads(&d.body, &includes))
            .collect();
        let wants = wants(templates, &doc_reads);
        Index {
            posts,
            post_urls: Arc::new(post_urls),
            links: Arc::new(links),
            doc_reads,
            wants,
            time: site_time(time),
            documents,
            environment: "development".to_string(),
        }
    }
}

/// What a document's body reads: lists it names, and those of the includes it names.
pub(crate) fn body_reads(body: &str, includes: &[(String, Reads)]) -> Reads {
    includes
        .iter()
        .filter(|(name, _)| body.contains(name.as_str()))
        .fold(Reads::of_text(body), |a, (_, r)| a.union(*r))
}

/// Which site-wide lists any template or content reads: only those are built.
pub(crate) fn wants(templates: &Templates, doc_reads: &[Reads]) -> Reads {
    doc_reads
        .iter()
        .fold(templates.sources_reads(), |a, r| a.union(*r))
}

/// The site's documents with the lookups every later step needs.
pub(crate) struct Site<'a> {
    pub root: &'a Path,
    pub config: &'a Config,
    pub docs: &'a [Document],
    pub sources: &'a Sources,
    pub templates: &'a Templates,
    pub data: &'a Map<String, Value>,
    pub index: &'a Index,
    pub terms: &'a Terms,
}

/// The output pages to render.
pub(crate) struct Plan<'a> {
    pub jobs: Vec<Job<'a>>,
}

/// Which feeds to make: a Liquid build makes the posts' before it moves their HTML into
/// their summaries, and the other collections' once their documents are converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedsOf {
    All,
    Posts,
    Collections,
}

/// A feed, made before the pages render (see [`Site::feeds`]).
pub(crate) struct Feed {
    pub path: String,
    pub xml: Vec<u8>,
    /// What made it, as the output's origin says (`(generated) feed`).
    pub origin: &'static str,
}

/// A page Galley makes itself, and what it shows.
pub(crate) struct Generated {
    pub doc: Document,
    pub what: What,
}

pub(crate) enum What {
    Home,
    Term(Kind, usize),
    Index(Kind),
    NotFound,
    /// A jekyll-archives page: its front matter, and these posts (newest-first indices) as
    /// `page.posts`, put in when it renders, so no page holds copies of its posts.
    Archive(Vec<usize>),
}

impl<'a> Site<'a> {
    pub fn posts(&self) -> &'a [Document] {
        &self.docs[..self.index.posts]
    }

    pub fn resolve_layouts(&self) -> Result<Vec<Option<String>>> {
        let mut problems = Diagnostics::default();
        let mut out = Vec::with_capacity(self.docs.len());
        for doc in self.docs {
            match render::layout_for(doc, self.templates, self.config, is_home(doc)) {
                Ok(l) => out.push(l),
                Err(d) => {
                    problems.push(d);
                    out.push(None);
                }
            }
        }
        problems.into_result()?;
        Ok(out)
    }

    /// Post summaries, newest first, with excerpts once they are rendered, as Liquid in
    /// content sees them (with each post's content).
    pub fn summaries(&self, converted: Option<&[Converted]>) -> Vec<Value> {
        self.summaries_with(converted, self.templates.liquid.is_some())
    }

    /// Post summaries with their content, as `summaries` makes them, taking each post's
    /// HTML out of `converted` into its summary instead of copying it.
    pub fn summaries_taking_html(&self, converted: &mut [Converted]) -> Vec<Value> {
        self.posts()
            .iter()
            .zip(converted.iter_mut())
            .map(|(d, c)| {
                let html = std::mem::take(&mut c.html);
                // Made with the content empty, then filled in place: the key keeps its
                // position, so the summary is the one `summaries` would make.
                let mut s = summary(d, Some(c), true);
                if let Some(content) = s.get_mut("content") {
                    *content = Value::String(html);
                }
                s
            })
            .collect()
    }

    /// Post summaries as layouts and list pages see them: with each post's content only
    /// where the layouts are the site's own Liquid (see [`layouts_show_content`]).
    pub fn layout_summaries(&self, converted: Option<&[Converted]>) -> Vec<Value> {
        self.summaries_with(converted, layouts_show_content(self.templates))
    }

    fn summaries_with(&self, converted: Option<&[Converted]>, content: bool) -> Vec<Value> {
        self.posts()
            .iter()
            .enumerate()
            .map(|(i, d)| summary(d, converted.and_then(|c| c.get(i)), content))
            .collect()
    }

    /// The collections' documents (they follow the posts), as `site.<label>` lists them.
    pub fn documents(&self, converted: Option<&[Converted]>) -> Vec<Value> {
        let start = self.index.posts;
        self.docs[start..start + self.index.documents]
            .iter()
            .enumerate()
            .map(|(j, d)| {
                let converted = converted.and_then(|c| c.get(start + j));
                summary(d, converted, self.templates.liquid.is_some())
            })
            .collect()
    }

    /// `site` as templates see it; the lists only when something uses them. A value
    /// only Liquid reads (`liquid`) has no `tags` and `categories`: Liquid sees them as
    /// views of `posts` (`jekyll::views::site`), which it then holds.
    pub fn value(&self, summaries: &[Value], documents: &[Value], liquid: bool) -> Value {
        let mut site = self.value_without_posts(summaries, documents, liquid);
        if self.posts_in_value(liquid) {
            site.insert("posts".into(), Value::Array(summaries.to_vec()));
        }
        Value::Object(site)
    }

    /// As `value`, taking the posts' summaries instead of copying them (a build that
    /// streams to disk keeps one copy of every post's content, inside `site`).
    pub fn value_owned(&self, summaries: Vec<Value>, documents: &[Value], liquid: bool) -> Value {
        let mut site = self.value_without_posts(&summaries, documents, liquid);
        if self.posts_in_value(liquid) {
            site.insert("posts".into(), Value::Array(summaries));
        }
        Value::Object(site)
    }

    /// Whether `site.posts` is in the value: where templates read it, or read the tags
    /// or categories that Liquid sees through it.
    pub fn posts_in_value(&self, liquid: bool) -> bool {
        let wants = self.index.wants;
        wants.posts || (liquid && (wants.tags || wants.categories))
    }

    fn value_without_posts(
        &self,
        summaries: &[Value],
        documents: &[Value],
        liquid: bool,
    ) -> Map<String, Value> {
        let mut site = self.config.to_site_value();
        let wants = self.index.wants;
        site.insert("time".into(), self.index.time.clone().into());
        if self.config.has_plugin("jekyll-github-metadata") && !site.contains_key("github") {
            let github = jekyll::github_pages::metadata(self.config, self.root);
            site.insert("github".into(), github);
        }
        site.insert("data".into(), Value::Object(self.data.clone()));
        if wants.tags && !liquid {
            site.insert(
                "tags".into(),
                taxonomy::site_map(&self.terms.tags, summaries),
            );
        }
        if wants.categories && !liquid {
            site.insert(
                "categories".into(),
                taxonomy::site_map(&self.terms.categories, summaries),
            );
        }
        if wants.posts {
            site.insert(
                "related_posts".into(),
                Value::Array(summaries.iter().take(10).cloned().collect()),
            );
        }
        if wants.pages {
            let pages: Vec<Value> = self.docs[self.index.posts + self.index.documents..]
                .iter()
                .map(|d| summary(d, None, false))
                .collect();
            // Jekyll's `html_pages`: the pages written as HTML.
            let html: Vec<Value> = self.docs[self.index.posts + self.index.documents..]
                .iter()
                .zip(&pages)
                .filter(|(d, _)| d.output.ends_with(".html"))
                .map(|(_, p)| p.clone())
                .collect();
            site.insert("pages".into(), Value::Array(pages));
            site.insert("html_pages".into(), Value::Array(html));
        }
        site.insert("static_files".into(), self.static_files());
        self.insert_collections(&mut site, summaries, documents);
        site
    }

    /// Jekyll's `site.static_files`: each copied file's path from the site root and its
    /// name's parts.
    fn static_files(&self) -> Value {
        let files = self.sources.of(Role::Static).map(|s| {
            let name = s.rel.rsplit('/').next().unwrap_or(&s.rel);
            let (basename, extname) = match name.rfind('.') {
                Some(i) if i > 0 => (&name[..i], &name[i..]),
                _ => (name, ""),
            };
            serde_json::json!({
                "path": format!("/{}", s.rel),
                "name": name,
                "basename": basename,
                "extname": extname,
                "collection": Value::Null,
            })
        });
        Value::Array(files.collect())
    }

    /// `site.<label>` for each collection, and `site.collections` and `site.documents`
    /// when a template reads them.
    fn insert_collections(
        &self,
        site: &mut Map<String, Value>,
        posts: &[Value],
        documents: &[Value],
    ) {
        let specs = &self.config.collections;
        let docs_of = |label: &str| -> Vec<Value> {
            documents
                .iter()
                .filter(|d| d.get("collection").and_then(Value::as_str) == Some(label))
                .cloned()
                .collect()
        };
        for spec in specs {
            let mut docs = docs_of(spec.label);
            if let Some(key) = &spec.sort_by {
                // By the key (documents without it last), then by path, as Jekyll sorts.
                docs.sort_by(|a, b| {
                    let (x, y) = (a.get(key), b.get(key));
                    let by_key = match (x, y) {
                        (Some(x), Some(y)) => jekyll::filters::compare(x, y),
                        _ => y.is_some().cmp(&x.is_some()),
                    };
                    by_key.then_with(|| {
                        crate::filters::text(&a["path"]).cmp(&crate::filters::text(&b["path"]))
                    })
                });
            }
            site.insert(spec.label.into(), Value::Array(docs));
        }
        if self.index.wants.collections {
            let all = collections::site_collections(specs, posts, docs_of);
            site.insert("collections".into(), all);
            let mut every: Vec<Value> = posts.to_vec();
            every.extend(documents.iter().cloned());
            site.insert("documents".into(), Value::Array(every));
        }
    }

    /// Every output page; duplicate output paths are reported before anything renders.
    pub fn plan(
        &self,
        converted: &'a [Converted],
        layouts: &'a [Option<String>],
        generated: &'a [Generated],
        empty: &'a Converted,
    ) -> Result<Plan<'a>> {
        let plan = self.jobs(converted, layouts, generated, empty);
        self.check_duplicates(&plan)?;
        Ok(plan)
    }

    /// The pages, without the duplicate check (a rebuild that moved no page skips it).
    pub fn jobs(
        &self,
        converted: &'a [Converted],
        layouts: &'a [Option<String>],
        generated: &'a [Generated],
        empty: &'a Converted,
    ) -> Plan<'a> {
        let posts = self.index.posts;
        let per_page = self
            .config
            .paginate
            .or(self.templates.theme.then_some(THEME_PAGINATE));
        // Sized for every page at once: a preview plans all 110,000 pages of a 100,000-post
        // site on each save, and growing the list would copy it several times.
        let pager_pages = per_page.map_or(1, |per_page| {
            paginate::total_pages(self.listed_posts(), per_page)
        });
        let mut jobs = Vec::with_capacity(self.docs.len() + generated.len() + pager_pages);
        for (i, doc) in self.docs.iter().enumerate() {
            if !self.config.writes(doc) {
                continue;
            }
            let (previous, next) = if i < posts {
                (
                    self.docs[..posts].get(i + 1),
                    i.checked_sub(1).map(|j| &self.docs[j]),
                )
            } else {
                (None, None)
            };
            let job = Job {
                doc,
                index: Some(i),
                converted: Content::Shared(&converted[i]),
                layout: layouts[i].as_deref(),
                url: Cow::Borrowed(&doc.url),
                output: Cow::Borrowed(&doc.output),
                extra: Extra::None,
                previous,
                next,
            };
            match per_page {
                Some(per_page) if is_home(doc) => {
                    jobs.extend(self.paginated(job, per_page, pager_pages));
                }
                _ => jobs.push(job),
            }
        }
        for g in generated {
            let job = Job {
                doc: &g.doc,
                index: None,
                converted: Content::Shared(empty),
                layout: match &g.doc.layout {
                    LayoutChoice::Named(n) => Some(n.as_str()),
                    _ => None,
                },
                url: Cow::Borrowed(&g.doc.url),
                output: Cow::Borrowed(&g.doc.output),
                extra: match &g.what {
                    What::Home | What::NotFound => Extra::None,
                    What::Term(kind, i) => Extra::Term(*kind, *i),
                    What::Index(kind) => Extra::Index(*kind),
                    What::Archive(posts) => Extra::Archive(posts.clone()),
                },
                previous: None,
                next: None,
            };
            match g.what {
                What::Home => {
                    // Only the built-in theme makes a home, so `per_page` is set.
                    let per_page = per_page.unwrap_or(THEME_PAGINATE);
                    jobs.extend(self.paginated(job, per_page, pager_pages));
                }
                _ => jobs.push(job),
            }
        }
        Plan { jobs }
    }

    /// The posts the paginator lists: all but `hidden: true` (jekyll-paginate v1).
    fn listed_posts(&self) -> usize {
        self.posts().iter().filter(|d| !d.hidden).count()
    }

    /// The pager pages of a paginated page: `pages` of `per_page` posts.
    fn paginated(&self, first: Job<'a>, per_page: usize, pages: usize) -> Vec<Job<'a>> {
        (1..=pages)
            .map(|page| {
                let url = paginate::page_url(page, &first.url, &self.config.paginate_path);
                Job {
                    doc: first.doc,
                    index: first.index,
                    converted: first.converted.clone(),
                    layout: first.layout,
                    output: Cow::Owned(crate::permalink::output_path(&url)),
                    extra: Extra::Paginator {
                        page,
                        per_page,
                        home_url: first.url.to_string(),
                    },
                    url: Cow::Owned(url),
                    previous: None,
                    next: None,
                }
            })
            .collect()
    }

    /// Pages the site did not write but a blog needs: home, taxonomies, 404. A Jekyll site
    /// gets only what its plugins make (jekyll-archives' term pages).
    pub fn generated(&self) -> Vec<Generated> {
        let t = self.templates;
        let root = self.root;
        if self.config.jekyll {
            return jekyll::archives::pages(self.config, self.terms, self.posts(), root)
                .into_iter()
                .map(|a| Generated {
                    doc: a.doc,
                    what: What::Archive(a.posts),
                })
                .collect();
        }
        let mut out = Vec::new();
        let has_home = self.docs.iter().any(is_home);
        if !has_home && t.theme {
            let doc = Document::generated("home", &self.config.title, "/", "home", root);
            out.push(Generated {
                doc,
                what: What::Home,
            });
        }
        for kind in [Kind::Tag, Kind::Category] {
            let (term_layout, index_layout) = kind.layouts();
            if t.has_layout(term_layout) {
                for (i, term) in self.terms.of(kind).iter().enumerate() {
                    let title = format!("{}: {}", kind.labels().0, term.name);
                    let what = format!("{term_layout} {}", term.slug);
                    let doc =
                        Document::generated(&what, &title, &term.url(kind), term_layout, root);
                    out.push(Generated {
                        doc,
                        what: What::Term(kind, i),
                    });
                }
            }
            if t.has_layout(index_layout) {
                let doc = Document::generated(
                    index_layout,
                    kind.labels().1,
                    kind.base_url(),
                    index_layout,
                    root,
                );
                out.push(Generated {
                    doc,
                    what: What::Index(kind),
                });
            }
        }
        let has_404 = self.docs.iter().any(|d| d.output == "404.html")
            || self.sources.of(Role::Static).any(|s| s.rel == "404.html");
        if !has_404 && t.has_layout("404") {
            let doc = Document::generated("404", "Page not found", "/404.html", "404", root);
            out.push(Generated {
                doc,
                what: What::NotFound,
            });
        }
        out
    }

    fn check_duplicates(&self, plan: &Plan) -> Result<()> {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        let mut problems = Diagnostics::default();
        let statics = self
            .sources
            .of(Role::Static)
            .map(|s| (s.rel.as_str(), s.rel.as_str()));
        let pages = plan
            .jobs
            .iter()
            .map(|j| (j.output.as_ref(), j.doc.rel.as_str()));
        for (output, origin) in pages.chain(statics) {
            if let Some(other) = seen.insert(output, origin) {
                if other != origin {
                    problems.push(duplicate(output, origin, other).relative_to(self.root));
                }
            }
        }
        problems.into_result()
    }

    pub fn assemble(
        &self,
        plan: &Plan,
        pages: Option<Vec<Vec<u8>>>,
        feeds: Vec<Feed>,
    ) -> Result<RenderedSite> {
        let mut site = RenderedSite::default();
        let mut problems = Diagnostics::default();
        // `None`: the pages went to disk as they rendered (`write::Stream`).
        let mut pages = pages.map(Vec::into_iter);
        for job in &plan.jobs {
            let body = match pages.as_mut().and_then(Iterator::next) {
                Some(bytes) => Body::Bytes(bytes),
                None => Body::Written,
            };
            let file = OutputFile {
                body,
                origin: job.doc.rel.clone(),
            };
            if let Err(d) = site.insert(job.output.to_string(), file) {
                problems.push(d);
            }
        }
        for s in self.sources.of(Role::Static) {
            let file = OutputFile {
                body: Body::Copy(s.abs.clone()),
                origin: s.rel.clone(),
            };
            if let Err(d) = site.insert(s.rel.clone(), file) {
                problems.push(d);
            }
        }
        problems.into_result()?;
        site.stats.posts = self.index.posts;
        site.stats.pages = plan.jobs.len() - self.index.posts;
        site.stats.static_files = self.sources.of(Role::Static).count();
        if self.config.jekyll {
            self.add_plugin_files(&mut site, plan, feeds);
        } else {
            for f in feeds {
                site.insert_generated(&f.path, f.xml, f.origin);
            }
            self.add_generated_files(&mut site);
        }
        Ok(site)
    }

    /// The site's feeds: Galley's, or a Jekyll site's from jekyll-feed when it lists the
    /// plugin. Made before the pages render, so a streaming build can let go of each
    /// post's HTML once its page is written.
    pub fn feeds(&self, converted: &[Converted]) -> Result<Vec<Feed>> {
        self.feeds_of(converted, FeedsOf::All)
    }

    /// The feeds `which` names (see [`FeedsOf`]).
    pub fn feeds_of(&self, converted: &[Converted], which: FeedsOf) -> Result<Vec<Feed>> {
        if !self.config.jekyll {
            if which == FeedsOf::Collections {
                return Ok(Vec::new());
            }
            return Ok(vec![Feed {
                path: feed::PATH.to_string(),
                xml: self.feed(converted),
                origin: "feed",
            }]);
        }
        if !self.config.has_plugin(jekyll::feed::PLUGIN) {
            return Ok(Vec::new());
        }
        Ok(self
            .jekyll_feeds(converted, which)?
            .into_iter()
            .map(|(path, xml)| Feed {
                path,
                xml,
                origin: jekyll::feed::PLUGIN,
            })
            .collect())
    }

    /// A Jekyll site's generated files, each from a plugin it lists, where the site has no
    /// file of that name: jekyll-feed's feed, jekyll-sitemap's sitemap and robots.txt.
    fn add_plugin_files(&self, site: &mut RenderedSite, plan: &Plan, feeds: Vec<Feed>) {
        let on = |name: &str| self.config.has_plugin(name);
        if on(jekyll::redirects::PLUGIN) {
            let written: Vec<&Document> =
                self.docs.iter().filter(|d| self.config.writes(d)).collect();
            jekyll::redirects::add(self.config, &written, site);
        }
        for f in feeds {
            site.insert_generated(&f.path, f.xml, f.origin);
        }
        if on(jekyll::sitemap::PLUGIN) {
            let pages: Vec<(&Document, &str)> =
                plan.jobs.iter().map(|j| (j.doc, j.url.as_ref())).collect();
            let xml = jekyll::sitemap::xml(self.config, self.posts().len(), &pages);
            site.insert_generated(sitemap::PATH, xml.into_bytes(), jekyll::sitemap::PLUGIN);
            let robots = jekyll::sitemap::robots(self.config);
            site.insert_generated(
                sitemap::ROBOTS,
                robots.into_bytes(),
                jekyll::sitemap::PLUGIN,
            );
        }
    }

    /// Every feed jekyll-feed writes for this site (path, XML), except where the site has
    /// its own file; a feed of a collection the site lacks is an error at `feed:`.
    fn jekyll_feeds(
        &self,
        converted: &[Converted],
        which: FeedsOf,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        if jekyll::feed::disabled(self.config, &self.index.environment) {
            return Ok(Vec::new());
        }
        let tags: Vec<&str> = self.terms.tags.iter().map(|t| t.name.as_str()).collect();
        let exists = |rel: &str| self.root.join(rel).exists();
        let mut out = Vec::new();
        for feed in jekyll::feed::feeds(self.config, &tags, exists) {
            let of_posts = feed.collection == "posts";
            match which {
                FeedsOf::Posts if !of_posts => continue,
                FeedsOf::Collections if of_posts => continue,
                _ => {}
            }
            let known = of_posts
                || self
                    .config
                    .collections
                    .iter()
                    .any(|c| c.label == feed.collection);
            if !known {
                let (file, line) = self.config.key_place("feed");
                return Err(Diagnostic::new(
                    file,
                    format!(
                        "`feed: collections:` asks for a feed of `{}`, which is not a collection of this site",
                        feed.collection
                    ),
                )
                .at_line(line)
                .hint("add it under `collections:` or remove it from `feed: collections:`")
                .into());
            }
            let xml = self.jekyll_feed(&feed, converted);
            out.push((feed.path, xml));
        }
        Ok(out)
    }

    /// One of jekyll-feed's feeds: its collection's documents (or its tag's posts).
    fn jekyll_feed(&self, feed: &jekyll::feed::Feed, converted: &[Converted]) -> Vec<u8> {
        let documents = self.docs.iter().zip(converted);
        let candidates: Vec<(&Document, &Converted)> = match &feed.tag {
            Some(tag) => documents
                .take(self.index.posts)
                .filter(|(d, _)| d.tags.iter().any(|t| t == tag))
                .collect(),
            None if feed.collection == "posts" => documents.take(self.index.posts).collect(),
            None => documents
                .filter(|(d, _)| d.collection.name() == feed.collection)
                .collect(),
        };
        let entries = jekyll::feed::entries(self.config, feed, candidates.into_iter());
        let context = jekyll::feed::Context {
            config: self.config,
            time: &self.index.time,
            authors: self.data.get("authors"),
            xsl: self.root.join("feed.xslt.xml").is_file(),
        };
        jekyll::feed::atom(&context, feed, &entries).into_bytes()
    }

    /// Galley's Atom feed: the newest posts with their content (a Jekyll site's feeds are
    /// `jekyll_feeds`).
    fn feed(&self, converted: &[Converted]) -> Vec<u8> {
        let feed_posts: Vec<(&Document, &Converted)> = self
            .posts()
            .iter()
            .zip(converted)
            .take(self.config.feed_limit)
            .collect();
        feed::atom(self.config, &feed_posts, &self.index.time).into_bytes()
    }

    fn add_generated_files(&self, site: &mut RenderedSite) {
        let root_url = self.config.site_root_url();
        let entries = |docs: &[Document]| -> Vec<sitemap::Entry> {
            docs.iter()
                .filter(|d| d.output.ends_with(".html") && d.output != "404.html")
                .filter(|d| self.config.writes(d))
                .filter(|d| d.front.get("sitemap") != Some(&Value::Bool(false)))
                .map(|d| sitemap::Entry {
                    url: d.url.clone(),
                    lastmod: d
                        .front
                        .get("last_modified_at")
                        .and_then(Value::as_str)
                        .and_then(|s| dates::parse(s, self.config.timezone))
                        .or(d.date)
                        .map(|d| dates::to_rfc3339(&d)),
                })
                .collect()
        };
        let (posts, other) = self.docs.split_at(self.index.posts);
        for (path, xml) in sitemap::files(&root_url, entries(posts), entries(other)) {
            site.insert_generated(&path, xml.into_bytes(), "sitemap");
        }
        site.insert_generated(
            sitemap::ROBOTS,
            sitemap::robots(&root_url).into_bytes(),
            "robots.txt",
        );
        site.insert_generated(
            highlight::STYLESHEET_PATH,
            highlight::stylesheet(&self.config.highlight_theme).into_bytes(),
            "highlight stylesheet",
        );
        if self.templates.theme {
            site.insert_generated(
                theme::STYLESHEET.0,
                theme::STYLESHEET.1.as_bytes().to_vec(),
                "theme stylesheet",
            );
        }
    }
}

/// A document as an entry of `site.posts` / `site.pages`.
/// A post as an entry of `site.posts`; Liquid sites also get its `content`, which Jekyll's
/// feeds and archives print (Tera sites leave it out: their context is copied per thread).
pub(crate) fn summary(doc: &Document, converted: Option<&Converted>, content: bool) -> Value {
    let mut view = PageView::new(
        doc,
        converted.map_or("", |c| &c.excerpt),
        converted.map_or(0, |c| c.words),
    );
    if content {
        view.content = converted.map(|c| c.html.as_str());
    }
    to_value(&view)
}

/// Whether the summaries layouts see carry each post's content: Jekyll's feeds and archives
/// print it from the site's own Liquid layouts; the built-in theme (Tera, even on a Liquid
/// site) never does, and copying every post's HTML into each list entry made a theme
/// build's term pages copy the whole site several times.
pub(crate) fn layouts_show_content(templates: &Templates) -> bool {
    templates.liquid.is_some() && !templates.theme
}

/// The tags and categories of the posts (newest first).
pub(crate) fn terms(posts: &[Document]) -> Terms {
    let refs: Vec<&Document> = posts.iter().collect();
    Terms {
        tags: taxonomy::collect(Kind::Tag, &refs),
        categories: taxonomy::collect(Kind::Category, &refs),
    }
}

/// The site's root index page, which the paginator and the theme's home layout dress.
pub(crate) fn is_home(doc: &Document) -> bool {
    doc.output == "index.html" && doc.collection == crate::document::Collection::Pages
}

/// `site.time`, from seconds since 1970 (the caller chooses: the build's time, as in
/// Jekyll, or SOURCE_DATE_EPOCH or an image's epoch when the result must be reproducible).
fn site_time(time: i64) -> String {
    DateTime::from_timestamp(time, 0).map_or_else(
        || "1970-01-01T00:00:00+00:00".to_string(),
        |t| dates::to_rfc3339(&t.fixed_offset()),
    )
}
