//! `build`: the recipe from a site folder to a rendered site, one timed step per line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use tera::Context;

use crate::config::Config;
use crate::context::{to_value, PageView};
use crate::dates;
use crate::discover::{self, Role, Sources};
use crate::document::{self, Document, Selection};
use crate::error::{Diagnostics, Result};
use crate::filters::{self, Filter, UrlBase};
use crate::output::{duplicate, Body, OutputFile, RenderedSite};
use crate::render::{self, Converted, Inputs, Job};
use crate::taxonomy::{self, Kind};
use crate::templates::Templates;
use crate::{data, feed, highlight, paginate, sitemap, theme, write};

/// Posts per page on the built-in theme's home when `paginate` is not set.
const THEME_PAGINATE: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Include `_drafts`, `published: false` and `draft: true`.
    pub drafts: bool,
    /// Include posts dated in the future.
    pub future: bool,
    /// Overrides `url` and `baseurl` (`https://example.com/blog`).
    pub base_url: Option<String>,
    /// Where the site will be written; skipped when reading sources if it is inside the site.
    pub destination: Option<PathBuf>,
    /// "Now", for leaving out future posts; the clock if unset.
    pub now: Option<DateTime<FixedOffset>>,
}

impl BuildOptions {
    /// Which documents this build includes.
    pub fn selection(&self) -> Selection {
        Selection {
            drafts: self.drafts,
            future: self.future,
            now: self
                .now
                .unwrap_or_else(|| chrono::Utc::now().fixed_offset()),
        }
    }
}

/// A rendered site and how long each step took.
#[derive(Debug)]
pub struct Built {
    pub site: RenderedSite,
    pub config: Config,
    pub timings: Vec<(&'static str, Duration)>,
}

/// Builds `root` into `destination`, swapping the new site in only if every step succeeded.
pub fn build(root: &Path, destination: &Path, options: &BuildOptions) -> Result<Built> {
    let mut options = options.clone();
    options.destination = Some(destination.to_path_buf());
    let mut built = render_site(root, &options)?;
    let started = Instant::now();
    write::write_atomically(&built.site, destination).map_err(|e| e.under_site(root))?;
    built.timings.push(("write", started.elapsed()));
    Ok(built)
}

/// Renders the whole site in memory.
pub fn render_site(root: &Path, options: &BuildOptions) -> Result<Built> {
    render_steps(root, options).map_err(|e| e.under_site(root))
}

fn render_steps(root: &Path, options: &BuildOptions) -> Result<Built> {
    let mut t = Timings::default();
    let config = t.step("config", || load_config(root, options))?;
    let sources = t.step("discover", || {
        discover::discover(root, &config, options.destination.as_deref())
    })?;
    let selection = options.selection();
    let mut docs = t.step("read", || document::load_all(&sources, &config, &selection))?;
    sort_documents(&mut docs);
    let data = t.step("data", || data::load(&sources))?;
    let filter_list = filters::all(
        &UrlBase {
            url: config.url.clone(),
            baseurl: config.baseurl.clone(),
        },
        config.smart_punctuation,
    );
    let templates = t.step("templates", || Templates::load(&sources, &filter_list))?;
    let filter_map: HashMap<&'static str, Filter> =
        filter_list.iter().map(|f| (f.name, f.clone())).collect();
    let site = Site::new(root, &config, &docs, &sources, &templates, data);
    let layouts = t.step("layouts", || site.resolve_layouts())?;
    let meta = site.value(None);
    let converted = t.step("markdown", || {
        render::convert_all(
            &docs,
            &Inputs {
                config: &config,
                root,
                templates: &templates,
                filters: &filter_map,
                site: &meta,
                posts: &site.post_urls,
                links: &site.links,
            },
        )
    })?;
    let full = site.value(Some(&converted));
    let generated = site.generated();
    let empty = Converted::default();
    let plan = t.step("plan", || {
        site.plan(&converted, &layouts, &generated, &empty)
    })?;
    let mut base = Context::new();
    base.insert("site", &full);
    let pages = t.step("render", || {
        render::layout_all(&plan.jobs, &templates, &base)
    })?;
    let rendered = t.step("assemble", || site.assemble(&plan, pages, &converted))?;
    Ok(Built {
        site: rendered,
        config,
        timings: t.0,
    })
}

/// `_config.yml` with the time zone resolved and `--base-url` applied.
pub(crate) fn load_config(root: &Path, options: &BuildOptions) -> Result<Config> {
    let mut config = Config::load(root)?;
    config.resolve_timezone()?;
    if let Some(base) = &options.base_url {
        let base = base.trim_end_matches('/');
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        match base[after_scheme..].find('/') {
            Some(slash) => {
                config.url = base[..after_scheme + slash].to_string();
                config.baseurl = base[after_scheme + slash..].to_string();
            }
            None => {
                config.url = base.to_string();
                config.baseurl = String::new();
            }
        }
    }
    Ok(config)
}

/// Posts newest first (ties by path, so the order is stable), then pages by path.
fn sort_documents(docs: &mut [Document]) {
    docs.sort_by(|a, b| {
        b.is_post()
            .cmp(&a.is_post())
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| a.rel.cmp(&b.rel))
    });
}

#[derive(Default)]
struct Timings(Vec<(&'static str, Duration)>);

impl Timings {
    fn step<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.0.push((name, started.elapsed()));
        out
    }
}

/// The site's documents with the lookups every later step needs.
struct Site<'a> {
    root: &'a Path,
    config: &'a Config,
    docs: &'a [Document],
    sources: &'a Sources,
    templates: &'a Templates,
    data: Map<String, Value>,
    /// Number of posts; they come first in `docs`.
    posts: usize,
    post_urls: HashMap<String, String>,
    links: HashMap<String, String>,
    /// Which site-wide lists any template or content refers to.
    wants: Wants,
    time: String,
}

#[derive(Debug, Clone, Copy)]
struct Wants {
    posts: bool,
    pages: bool,
    tags: bool,
    categories: bool,
}

/// The output pages to render.
struct Plan<'a> {
    jobs: Vec<Job<'a>>,
}

/// A page Galley makes itself, and what it shows.
struct Generated {
    doc: Document,
    what: What,
}

enum What {
    Home,
    Term(Kind, taxonomy::Term),
    Index(Kind, Vec<taxonomy::Term>),
    NotFound,
}

impl<'a> Site<'a> {
    fn new(
        root: &'a Path,
        config: &'a Config,
        docs: &'a [Document],
        sources: &'a Sources,
        templates: &'a Templates,
        data: Map<String, Value>,
    ) -> Self {
        let posts = docs.iter().take_while(|d| d.is_post()).count();
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
        let mentions = |needle: &str| {
            templates.sources_mention(needle) || docs.iter().any(|d| d.body.contains(needle))
        };
        let wants = Wants {
            posts: mentions("site.posts") || mentions("site.related_posts"),
            pages: mentions("site.pages"),
            tags: mentions("site.tags"),
            categories: mentions("site.categories"),
        };
        let time = site_time(&docs[..posts]);
        Site {
            root,
            config,
            docs,
            sources,
            templates,
            data,
            posts,
            post_urls,
            links,
            wants,
            time,
        }
    }

    fn posts(&self) -> &'a [Document] {
        &self.docs[..self.posts]
    }

    fn resolve_layouts(&self) -> Result<Vec<Option<String>>> {
        let mut problems = Diagnostics::default();
        let mut out = Vec::with_capacity(self.docs.len());
        for doc in self.docs {
            match render::layout_for(doc, self.templates, is_home(doc)) {
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

    /// Post summaries, newest first, with excerpts once they are rendered.
    fn summaries(&self, converted: Option<&[Converted]>) -> Vec<Value> {
        self.posts()
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let c = converted.and_then(|c| c.get(i));
                to_value(&PageView::new(
                    d,
                    c.map_or("", |c| &c.excerpt),
                    c.map_or(0, |c| c.words),
                ))
            })
            .collect()
    }

    /// `site` as templates see it; the lists only when something uses them.
    fn value(&self, converted: Option<&[Converted]>) -> Value {
        let mut site = self.config.to_site_value();
        site.insert("time".into(), self.time.clone().into());
        site.insert("data".into(), Value::Object(self.data.clone()));
        let post_refs: Vec<&Document> = self.posts().iter().collect();
        if self.wants.posts || self.wants.tags || self.wants.categories {
            let summaries = self.summaries(converted);
            if self.wants.tags {
                site.insert(
                    "tags".into(),
                    taxonomy::site_map(&taxonomy::collect(Kind::Tag, &post_refs), &summaries),
                );
            }
            if self.wants.categories {
                let terms = taxonomy::collect(Kind::Category, &post_refs);
                site.insert("categories".into(), taxonomy::site_map(&terms, &summaries));
            }
            if self.wants.posts {
                site.insert(
                    "related_posts".into(),
                    Value::Array(summaries.iter().take(10).cloned().collect()),
                );
                site.insert("posts".into(), Value::Array(summaries));
            }
        }
        if self.wants.pages {
            let pages = self.docs[self.posts..]
                .iter()
                .map(|d| to_value(&PageView::new(d, "", 0)))
                .collect();
            site.insert("pages".into(), Value::Array(pages));
        }
        Value::Object(site)
    }

    /// Every output page, with duplicate output paths reported before anything renders.
    fn plan(
        &self,
        converted: &'a [Converted],
        layouts: &[Option<String>],
        generated: &'a [Generated],
        empty: &'a Converted,
    ) -> Result<Plan<'a>> {
        let mut jobs = Vec::with_capacity(self.docs.len() + 16);
        let summaries = self.summaries(Some(converted));
        let theme = self.templates.theme;
        let per_page = self.config.paginate.or(theme.then_some(THEME_PAGINATE));
        let mut has_home = false;
        for (i, doc) in self.docs.iter().enumerate() {
            let (previous, next) = if i < self.posts {
                (
                    self.docs[..self.posts].get(i + 1),
                    i.checked_sub(1).map(|j| &self.docs[j]),
                )
            } else {
                (None, None)
            };
            let job = Job {
                doc,
                converted: &converted[i],
                layout: layouts[i].clone(),
                url: doc.url.clone(),
                output: doc.output.clone(),
                extra: Vec::new(),
                previous,
                next,
            };
            if is_home(doc) {
                has_home = true;
                if let Some(per_page) = per_page {
                    jobs.extend(self.paginated(job, per_page, &summaries));
                    continue;
                }
            }
            jobs.push(job);
        }
        let _ = has_home;
        for g in generated {
            let mut job = Job {
                doc: &g.doc,
                converted: empty,
                layout: match &g.doc.layout {
                    crate::document::LayoutChoice::Named(n) => Some(n.clone()),
                    _ => None,
                },
                url: g.doc.url.clone(),
                output: g.doc.output.clone(),
                extra: Vec::new(),
                previous: None,
                next: None,
            };
            match &g.what {
                What::Home => {
                    jobs.extend(self.paginated(
                        job,
                        per_page.unwrap_or(THEME_PAGINATE),
                        &summaries,
                    ));
                    continue;
                }
                What::Term(kind, term) => job
                    .extra
                    .push(("taxonomy", taxonomy::term_value(*kind, term, &summaries))),
                What::Index(kind, terms) => job
                    .extra
                    .push(("taxonomy", taxonomy::index_value(*kind, terms))),
                What::NotFound => {}
            }
            jobs.push(job);
        }
        let plan = Plan { jobs };
        self.check_duplicates(&plan)?;
        Ok(plan)
    }

    fn paginated(&self, first: Job<'a>, per_page: usize, summaries: &[Value]) -> Vec<Job<'a>> {
        let pages = paginate::total_pages(summaries.len(), per_page);
        (1..=pages)
            .map(|n| {
                let url = paginate::page_url(n, &first.url, &self.config.paginate_path);
                Job {
                    doc: first.doc,
                    converted: first.converted,
                    layout: first.layout.clone(),
                    output: crate::permalink::output_path(&url),
                    extra: vec![(
                        "paginator",
                        paginate::paginator(
                            n,
                            per_page,
                            summaries,
                            &first.url,
                            &self.config.paginate_path,
                        ),
                    )],
                    url,
                    previous: None,
                    next: None,
                }
            })
            .collect()
    }

    /// Pages the site did not write but a blog needs: home, taxonomies, 404.
    fn generated(&self) -> Vec<Generated> {
        let t = self.templates;
        let root = self.root;
        let mut out = Vec::new();
        let has_home = self.docs.iter().any(is_home);
        if !has_home && t.theme {
            let doc = Document::generated("home", &self.config.title, "/", "home", root);
            out.push(Generated {
                doc,
                what: What::Home,
            });
        }
        let post_refs: Vec<&Document> = self.posts().iter().collect();
        for kind in [Kind::Tag, Kind::Category] {
            let (term_layout, index_layout) = kind.layouts();
            let terms = taxonomy::collect(kind, &post_refs);
            if t.has_layout(term_layout) {
                for term in &terms {
                    let title = format!("{}: {}", kind.labels().0, term.name);
                    let what = format!("{term_layout} {}", term.slug);
                    let doc =
                        Document::generated(&what, &title, &term.url(kind), term_layout, root);
                    out.push(Generated {
                        doc,
                        what: What::Term(kind, term.clone()),
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
                    what: What::Index(kind, terms),
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
            .map(|j| (j.output.as_str(), j.doc.rel.as_str()));
        for (output, origin) in pages.chain(statics) {
            if let Some(other) = seen.insert(output, origin) {
                if other != origin {
                    problems.push(duplicate(output, origin, other).relative_to(self.root));
                }
            }
        }
        problems.into_result()
    }

    fn assemble(
        &self,
        plan: &Plan,
        pages: Vec<Vec<u8>>,
        converted: &[Converted],
    ) -> Result<RenderedSite> {
        let mut site = RenderedSite::default();
        let mut problems = Diagnostics::default();
        for (job, bytes) in plan.jobs.iter().zip(pages) {
            let file = OutputFile {
                body: Body::Bytes(bytes),
                origin: job.doc.rel.clone(),
            };
            if let Err(d) = site.insert(job.output.clone(), file) {
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
        site.stats.posts = self.posts;
        site.stats.pages = plan.jobs.len() - self.posts;
        site.stats.static_files = self.sources.of(Role::Static).count();
        self.add_generated_files(&mut site, converted);
        Ok(site)
    }

    fn add_generated_files(&self, site: &mut RenderedSite, converted: &[Converted]) {
        let root_url = self.config.site_root_url();
        let feed_posts: Vec<(&Document, &Converted)> = self.posts().iter().zip(converted).collect();
        site.insert_generated(
            feed::PATH,
            feed::atom(self.config, &feed_posts, &self.time).into_bytes(),
            "feed",
        );
        let entries: Vec<sitemap::Entry> = self
            .docs
            .iter()
            .filter(|d| d.output.ends_with(".html") && d.output != "404.html")
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
            .collect();
        site.insert_generated(
            sitemap::PATH,
            sitemap::xml(&root_url, &entries).into_bytes(),
            "sitemap",
        );
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

/// The site's root index page, which the paginator and the theme's home layout dress.
fn is_home(doc: &Document) -> bool {
    doc.output == "index.html" && doc.collection == crate::document::Collection::Pages
}

/// `site.time`: SOURCE_DATE_EPOCH, else the newest post's date, so the same sources always
/// give the same bytes.
fn site_time(posts: &[Document]) -> String {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
    {
        return dates::to_rfc3339(&t.fixed_offset());
    }
    posts.first().and_then(|p| p.date).map_or_else(
        || "1970-01-01T00:00:00+00:00".to_string(),
        |d| dates::to_rfc3339(&d),
    )
}
