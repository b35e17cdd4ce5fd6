//! `build`: the recipe from a site folder to a rendered site, one timed step per line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use tera::Context;

use galley_atomic::Removal;

use crate::config::Config;
use crate::discover::{self, Sources};
use crate::document::{self, Collection, Document, Selection};
use crate::error::Result;
use crate::filters::{self, Filter};
use crate::jekyll;
use crate::lists::{Lists, Summaries, Terms};
use crate::output::RenderedSite;
use crate::plan::{self, FeedsOf, Generated, Index, Site};
use crate::render::{self, Content, Converted, Inputs, Job};
use crate::templates::Templates;
use crate::{data, write};

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
    /// Replace a non-empty destination folder that Galley did not write.
    pub force: bool,
    /// `site.time`, in seconds since 1970 (the caller reads `SOURCE_DATE_EPOCH`); the build's
    /// "now" when unset, as in Jekyll.
    pub source_date_epoch: Option<i64>,
    /// `jekyll.environment` (the caller reads `JEKYLL_ENV`); `development` when unset.
    pub environment: Option<String>,
    /// Gem folders to look for a `theme:` gem in before the system's (the caller reads
    /// `GEM_HOME`, `GEM_PATH` and the user's gem folders).
    pub gem_dirs: Vec<PathBuf>,
    /// Config files to read instead of the site's `_config.yml`, merged in order
    /// (`--config a.yml,b.yml`).
    pub config_files: Vec<PathBuf>,
    /// A local copy of the repository `remote_theme:` names (`--remote-theme`).
    pub remote_theme: Option<PathBuf>,
    /// What becomes of the previous output once the new one is in place: `galley build`
    /// keeps it as the destination's spare, which its next build updates and swaps in, so
    /// that a rebuild neither deletes nor creates a whole tree.
    pub remove_previous: Removal,
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
    /// What went wrong without failing the build (the previous site could not be removed).
    pub warnings: Vec<String>,
    /// The site's folders that hold sources: no output may be written inside them.
    pub source_folders: Vec<PathBuf>,
}

/// Builds `root` into `destination`, swapping the new site in only if every step succeeded.
/// Pages are written into the staging folder as they render, so the build never holds the
/// whole rendered site in memory.
pub fn build(root: &Path, destination: &Path, options: &BuildOptions) -> Result<Built> {
    let mut options = options.clone();
    options.destination = Some(destination.to_path_buf());
    let spare = galley_atomic::spare_of(destination);
    let had_spare = options.remove_previous == Removal::Spare && spare.is_dir();
    let steps = match render_steps(root, &options, Some(destination)) {
        // The spare could not be brought up to date (a file in it that cannot be removed,
        // say) and was discarded: the spare is only a shortcut, so build without it.
        Err(e) if had_spare && e.is_io() && !spare.exists() => {
            options.remove_previous = Removal::Background;
            let (mut state, timings) =
                render_steps(root, &options, Some(destination)).map_err(|e| e.under_site(root))?;
            state.leftover.push(format!(
                "{}, an earlier site kept to make rebuilds faster, could not be brought up to date, so this build wrote the site afresh and set that copy aside to be removed: {e}",
                spare.display()
            ));
            (state, timings)
        }
        steps => steps.map_err(|e| e.under_site(root))?,
    };
    built(root, steps)
}

/// Renders the whole site in memory.
pub fn render_site(root: &Path, options: &BuildOptions) -> Result<Built> {
    built(root, render_state(root, options)?)
}

/// The report of a build from what its steps made.
fn built(root: &Path, (state, timings): (State, Vec<(&'static str, Duration)>)) -> Result<Built> {
    Ok(Built {
        source_folders: discover::source_folders(root, &state.config)?,
        warnings: state.warnings(),
        site: state.site,
        config: state.config,
        timings,
    })
}

/// Renders the whole site and keeps what made it, for a preview to rebuild from.
pub(crate) fn render_state(
    root: &Path,
    options: &BuildOptions,
) -> Result<(State, Vec<(&'static str, Duration)>)> {
    render_steps(root, options, None).map_err(|e| e.under_site(root))
}

/// Everything a build read and made, owned: a preview keeps it and redoes only what a saved
/// file changes (see `incremental`).
pub(crate) struct State {
    pub root: PathBuf,
    pub options: BuildOptions,
    pub config: Config,
    pub sources: Sources,
    pub docs: Vec<Document>,
    pub data: Map<String, Value>,
    pub filters: Vec<Filter>,
    pub filter_map: HashMap<&'static str, Filter>,
    pub templates: Templates,
    pub index: Index,
    pub terms: Terms,
    pub layouts: Vec<Option<String>>,
    /// Every document's converted content (after a streaming build, the posts' without
    /// their HTML, which went to disk with their pages).
    pub converted: Vec<Converted>,
    /// `site.posts` entries with excerpts (what paginators and taxonomy pages show).
    pub summaries: Vec<Value>,
    /// `site` for Liquid in content, rendered before excerpts exist.
    pub meta: Value,
    /// The layout pass's context: `site` with excerpts.
    pub base: Context,
    pub generated: Vec<Generated>,
    pub site: RenderedSite,
    /// Jekyll's Liquid for this build, unless the site chose Tera.
    pub tools: Option<Arc<jekyll::Tools>>,
    /// `jekyll` as templates see it.
    pub jekyll: Value,
    /// Why a previous site is still beside the new one (it could not be removed).
    pub leftover: Vec<String>,
}

impl State {
    /// What the build let through that an author may want to fix (unknown Liquid filters),
    /// sorted so that parallel rendering does not reorder them.
    pub fn warnings(&self) -> Vec<String> {
        let mut w: Vec<String> = self
            .tools
            .as_ref()
            .map(|t| t.parsed.warnings())
            .unwrap_or_default()
            .into_iter()
            .map(|d| {
                let d = d.under_site(&self.root);
                format!("{}: {}", d.place(), d.message)
            })
            .collect();
        w.sort();
        if self.config.jekyll {
            w.extend(jekyll::plugins::missing(&self.config));
        }
        w.extend(self.leftover.clone());
        w
    }

    pub fn view(&self) -> Site<'_> {
        Site {
            root: &self.root,
            config: &self.config,
            docs: &self.docs,
            sources: &self.sources,
            templates: &self.templates,
            data: &self.data,
            index: &self.index,
            terms: &self.terms,
        }
    }

    pub fn inputs<'a>(&'a self, meta: &'a Value) -> Inputs<'a> {
        Inputs {
            config: &self.config,
            root: &self.root,
            templates: &self.templates,
            filters: &self.filter_map,
            site: meta,
            terms: &self.terms,
            posts: &self.index.post_urls,
            links: &self.index.links,
            tools: self.tools.as_ref(),
            jekyll: &self.jekyll,
        }
    }

    pub fn lists(&self) -> Lists<'_> {
        Lists::new(
            Summaries::Made(&self.summaries),
            &self.docs[..self.index.posts],
            &self.terms,
            &self.config.paginate_path,
        )
    }
}

/// Puts `site` into a context without serialising it again (it can hold every post).
pub(crate) fn site_context(site: Value) -> Context {
    let mut m = Map::new();
    m.insert("site".to_string(), site);
    Context::from_value(Value::Object(m)).unwrap_or_default()
}

/// The build's steps. With `destination`, pages stream into a staging folder beside it as
/// they render, the rest follows, and the folder is swapped in (the returned state then
/// holds the pages' names, not their bytes, and no `site` for a preview to reuse).
fn render_steps(
    root: &Path,
    options: &BuildOptions,
    destination: Option<&Path>,
) -> Result<(State, Vec<(&'static str, Duration)>)> {
    let mut t = Timings::default();
    let mut config = t.step("config", || load_config(root, options))?;
    let sources = t.step("discover", || {
        discover::discover(root, &config, options.destination.as_deref())
    })?;
    config.jekyll = follows_jekyll(&config, &sources);
    let selection = options.selection();
    let mut docs = t.step("read", || document::load_all(&sources, &config, &selection))?;
    sort_documents(&mut docs);
    if let Some(limit) = config.limit_posts() {
        let posts = docs.iter().take_while(|d| d.is_post()).count();
        if posts > limit {
            docs.drain(limit..posts);
        }
    }
    let data = t.step("data", || data::load(&sources))?;
    let filters = filters::all(
        &config.url_base(),
        crate::markdown::Style::of(&config),
        config.date_zone(),
    );
    let templates = t.step("templates", || Templates::load(&sources, &filters, &config))?;
    let filter_map: HashMap<&'static str, Filter> =
        filters.iter().map(|f| (f.name, f.clone())).collect();
    let time = options
        .source_date_epoch
        .unwrap_or_else(|| selection.now.timestamp());
    let mut index = Index::new(&docs, &sources, &templates, time);
    if let Some(environment) = &options.environment {
        index.environment = environment.clone();
    }
    let tools = liquid_tools(root, &config, &templates, &index);
    let jekyll = jekyll_value(options);
    let terms = plan::terms(&docs[..index.posts]);
    macro_rules! site {
        () => {
            Site {
                root,
                config: &config,
                docs: &docs,
                sources: &sources,
                templates: &templates,
                data: &data,
                index: &index,
                terms: &terms,
            }
        };
    }
    let site = site!();
    let layouts = t.step("layouts", || site.resolve_layouts())?;
    let wants_summaries = index.wants.post_summaries();
    let meta = site.value_owned(
        if wants_summaries {
            site.summaries(None)
        } else {
            Vec::new()
        },
        &site.documents(None),
        tools.is_some(),
    );
    let null = Value::Null;
    let inputs = Inputs {
        config: &config,
        root,
        templates: &templates,
        filters: &filter_map,
        site: &null,
        terms: &terms,
        posts: &index.post_urls,
        links: &index.links,
        tools: tools.as_ref(),
        jekyll: &jekyll,
    };
    let mut early_feeds = None;
    let (mut converted, meta) = if destination.is_some() && tools.is_none() {
        // Tera content sees no posts' content: convert in one pass, freeing each post's
        // source as it goes.
        let converted = t.step("markdown", || {
            render::convert_all_releasing(&mut docs, index.posts, &inputs.with_site(&meta))
        })?;
        (converted, meta)
    } else if destination.is_some() {
        // Liquid content: the posts first, freeing each one's source as it goes (what
        // content after them sees of a post is its summary), then the rest in order.
        let pass = t.step("markdown", || {
            let posts = render::convert_all_releasing(
                &mut docs[..index.posts],
                index.posts,
                &inputs.with_site(&meta),
            )?;
            convert_in_order(&site!(), &inputs, meta, Some(posts))
        })?;
        early_feeds = pass.feeds;
        (pass.converted, pass.meta)
    } else {
        t.step("markdown", || {
            convert_in_order(&site, &inputs, meta, None).map(|pass| (pass.converted, pass.meta))
        })?
    };
    // A build that writes to disk keeps no preview state: `site` for content and the posts'
    // sources are done with (layouts see the posts' HTML; only a paginated page renders its
    // body again). `meta` is dropped, not shadowed: a shadowed value would live to the end.
    // Its posts' summaries are what the site's own Liquid layouts see too: kept, not made
    // again.
    let liquid_layouts = plan::layouts_show_content(&templates);
    let mut kept_summaries = None;
    let meta = if destination.is_some() {
        let mut meta = meta;
        if liquid_layouts {
            if let Some(Value::Array(posts)) = meta.get_mut("posts").map(Value::take) {
                kept_summaries = Some(posts);
            }
        }
        drop(meta);
        for doc in &mut docs[..index.posts] {
            doc.body = String::new();
        }
        Value::Null
    } else {
        meta
    };
    let site = site!();
    // A streaming build of a site whose templates read no post list from `site` makes each
    // post's summary when a list page shows it, instead of holding every post's.
    let on_demand =
        destination.is_some() && !liquid_layouts && !config.jekyll && !index.wants.post_summaries();
    let summaries = match kept_summaries {
        _ if on_demand => Vec::new(),
        Some(kept) => kept,
        None => site.layout_summaries(Some(&converted)),
    };
    let made: Vec<std::sync::OnceLock<Value>> = if on_demand {
        (0..index.posts)
            .map(|_| std::sync::OnceLock::new())
            .collect()
    } else {
        Vec::new()
    };
    let generated = site.generated();
    let documents = site.documents(Some(&converted));
    // A build that streams keeps one copy of the posts' summaries (with every post's
    // content), inside `site`, and its lists read them there.
    let moved = destination.is_some() && site.posts_in_value(liquid_layouts);
    let (mut base, summaries) = if moved {
        let site = site.value_owned(summaries, &documents, liquid_layouts);
        (site_context(site), Vec::new())
    } else {
        let value = site.value(&summaries, &documents, liquid_layouts);
        (site_context(value), summaries)
    };
    drop(documents);
    let feeds = match early_feeds {
        Some(feeds) => feeds,
        None => site.feeds(&converted)?,
    };
    // A streaming build hands each post's HTML to the job of its page, which lets go of it
    // once the page is written: the build never holds every post's page and HTML at once.
    // Where the summaries carry the posts' content (the site's own Liquid layouts), that is
    // the one copy kept, and a post's page reads its HTML there (`render::html_of`).
    let mut html: Vec<String> = Vec::new();
    if destination.is_some() {
        for c in &mut converted[..index.posts] {
            let h = std::mem::take(&mut c.html);
            if !liquid_layouts {
                html.push(h);
            }
        }
    }
    let empty = Converted::default();
    let mut plan = t.step("plan", || {
        site.plan(&converted, &layouts, &generated, &empty)
    })?;
    for job in &mut plan.jobs {
        if let Some(h) = job.index.and_then(|i| html.get_mut(i)) {
            let c = &job.converted;
            job.converted = Content::Own(Box::new(Converted {
                html: std::mem::take(h),
                excerpt: c.excerpt.clone(),
                toc: c.toc.clone(),
                words: c.words,
            }));
        }
    }
    drop(html);
    let stream = destination
        .map(|d| open_stream(root, &config, d, options, &plan.jobs))
        .transpose()?;
    let pages = t.step("render", || {
        let liquid = tools.as_ref().map(|tools| render::Liquid {
            tools,
            jekyll: &jekyll,
            markdown: crate::markdown::Style::of(&config),
            mentions: jekyll::mentions::base_url(&config),
            emoji: jekyll::emoji::source(&config),
        });
        let summaries = (!moved).then(|| {
            if on_demand {
                Summaries::OnDemand {
                    posts: &docs[..index.posts],
                    converted: &converted[..index.posts],
                    made: &made,
                }
            } else {
                Summaries::Made(&summaries)
            }
        });
        render_pages(
            &mut plan.jobs,
            &templates,
            liquid.as_ref(),
            &mut base,
            (summaries, &docs[..index.posts]),
            (&terms, &config.paginate_path),
            stream.as_ref(),
        )
    })?;
    let rendered = t.step("assemble", || site.assemble(&plan, pages, feeds))?;
    drop(plan);
    let leftover = match stream {
        Some(stream) => t.step("write", || stream.finish(&rendered, &config.keep_files()))?,
        None => Vec::new(),
    };
    let state = State {
        root: root.to_path_buf(),
        options: options.clone(),
        config,
        sources,
        docs,
        data,
        filters,
        filter_map,
        templates,
        index,
        terms,
        layouts,
        converted,
        summaries,
        meta,
        base,
        generated,
        site: rendered,
        tools,
        jekyll,
        leftover,
    };
    Ok((state, t.0))
}

/// Every page through its layouts, into memory, or with `stream` straight into the
/// staging folder (then `None`). The lists read the posts' summaries from `summaries`, or,
/// when the build moved them into `site` (`None`), from there; `docs` are the posts, which
/// say which of them the pager leaves out.
fn render_pages(
    jobs: &mut [Job],
    templates: &Templates,
    liquid: Option<&render::Liquid>,
    base: &mut Context,
    (summaries, docs): (Option<Summaries>, &[Document]),
    (terms, paginate_path): (&Terms, &str),
    stream: Option<&write::Stream>,
) -> Result<Option<Vec<Vec<u8>>>> {
    let mut render = |base: render::Base, lists: &Lists| {
        let render = |sink: Option<&write::Sink>| {
            render::layout_all(jobs, templates, base, lists, liquid, sink)
        };
        match stream {
            Some(stream) => stream.scope(|sink| render(Some(sink)))?.map(|_| None),
            None => render(None).map(Some),
        }
    };
    match summaries {
        None => {
            let posts = base
                .get("site")
                .and_then(|s| s.get("posts"))
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let lists = Lists::new(Summaries::Made(posts), docs, terms, paginate_path);
            render(render::Base::Shared(base), &lists)
        }
        Some(summaries) => {
            let lists = Lists::new(summaries, docs, terms, paginate_path);
            render(render::Base::Reusable(base), &lists)
        }
    }
}

/// The staging folder beside `destination` that pages stream into, once the destination
/// is known to be one Galley may replace.
fn open_stream(
    root: &Path,
    config: &Config,
    destination: &Path,
    options: &BuildOptions,
    jobs: &[Job],
) -> Result<write::Stream> {
    let folders = discover::source_folders(root, config)?;
    write::check_destination(root, &folders, destination, options.force)?;
    write::Stream::open(
        destination,
        jobs.iter().map(|j| j.output.as_ref()),
        options.remove_previous,
    )
}

/// What the content pass leaves: every document converted, `site` as content last saw
/// it, and the feeds where the pass had to make them before letting go of the posts' HTML.
struct ContentPass {
    converted: Vec<Converted>,
    meta: Value,
    feeds: Option<Vec<plan::Feed>>,
}

/// Every document's content converted (Liquid, then Markdown), in Jekyll's order when the
/// site is Liquid: posts first, then collection documents (which see the posts' content),
/// then pages (which see both), each group with a `site` that holds what came before.
/// `posts`: the posts, when a build to disk converted them already (a Liquid site's).
fn convert_in_order(
    site: &Site,
    inputs: &Inputs,
    meta: Value,
    posts: Option<Vec<Converted>>,
) -> Result<ContentPass> {
    let index = site.index;
    if inputs.tools.is_none() {
        let converted = render::convert_all(site.docs, &inputs.with_site(&meta))?;
        return Ok(ContentPass {
            converted,
            meta,
            feeds: None,
        });
    }
    // Liquid pages run after the posts, as in Jekyll, so a feed or archive page written
    // in Liquid sees each post's `content`.
    // Collection documents next (they see the posts' content), then pages.
    let pages_start = index.posts + index.documents;
    // Each `site` is dropped before the next is made: with every post's content in it,
    // two at once would double the build's peak memory.
    // A build to disk of a site with its own Liquid layouts, whose `site` holds the posts'
    // summaries, keeps each post's HTML once: moved into its summary (which layouts and
    // the post's page read too, see `render::html_of`), once the posts' feeds, which read
    // it from `converted`, are made; the other collections' feeds follow their documents.
    let move_html =
        posts.is_some() && plan::layouts_show_content(site.templates) && site.posts_in_value(true);
    let mut converted = match posts {
        Some(posts) => posts,
        None => render::convert_all(&site.docs[..index.posts], &inputs.with_site(&meta))?,
    };
    drop(meta);
    // The posts' summaries, where content after them reads a list of posts.
    let summaries_of = |converted: &[Converted]| {
        if index.wants.post_summaries() {
            site.summaries(Some(converted))
        } else {
            Vec::new()
        }
    };
    let mut feeds = if move_html {
        Some(site.feeds_of(&converted, FeedsOf::Posts)?)
    } else {
        None
    };
    let summaries = if move_html {
        site.summaries_taking_html(&mut converted)
    } else {
        summaries_of(&converted)
    };
    let mut meta = site.value_owned(summaries, &site.documents(None), true);
    if index.documents > 0 {
        converted.extend(render::convert_all(
            &site.docs[index.posts..pages_start],
            &inputs.with_site(&meta),
        )?);
        // Again, now with the documents' content (without collections nothing changed).
        // The posts' summaries are as they were: taken along where `site` holds them.
        let posts = match meta.get_mut("posts").map(Value::take) {
            Some(Value::Array(posts)) => posts,
            _ => summaries_of(&converted),
        };
        drop(meta);
        meta = site.value_owned(posts, &site.documents(Some(&converted)), true);
    }
    if let Some(feeds) = &mut feeds {
        feeds.extend(site.feeds_of(&converted, FeedsOf::Collections)?);
    }
    converted.extend(render::convert_all(
        &site.docs[pages_start..],
        &inputs.with_site(&meta),
    )?);
    Ok(ContentPass {
        converted,
        meta,
        feeds,
    })
}

/// A site with Liquid layouts of its own is a Jekyll site and gets Jekyll's model (see
/// `Config::jekyll`); the built-in theme and Tera sites keep Galley's.
pub(crate) fn follows_jekyll(config: &Config, sources: &Sources) -> bool {
    config.engine == crate::config::Engine::Liquid
        && sources.of(discover::Role::Layout).next().is_some()
}

/// The tools Jekyll's tags need, when the site's templates are Liquid.
pub(crate) fn liquid_tools(
    root: &Path,
    config: &Config,
    templates: &Templates,
    index: &Index,
) -> Option<Arc<jekyll::Tools>> {
    templates.liquid.as_ref().map(|parsed| {
        Arc::new(jekyll::Tools::new(
            parsed.clone(),
            Arc::clone(&index.post_urls),
            Arc::clone(&index.links),
            config.url_base(),
            root,
            config.strict_variables,
        ))
    })
}

/// `jekyll.environment` and `jekyll.version` (the Jekyll whose behaviour Galley follows).
fn jekyll_value(options: &BuildOptions) -> Value {
    serde_json::json!({
        "environment": options.environment.as_deref().unwrap_or("development"),
        "version": "4.3.1",
    })
}

/// `_config.yml` with the time zone resolved and `--base-url` applied.
pub(crate) fn load_config(root: &Path, options: &BuildOptions) -> Result<Config> {
    let mut config = if options.config_files.is_empty() {
        Config::load(root)?
    } else {
        Config::load_files(&options.config_files)?
    };
    config.resolve_timezone()?;
    config.theme = match crate::gem_theme::remote(&config, options.remote_theme.as_deref())? {
        Some(theme) => Some(theme),
        None => crate::gem_theme::resolve(&config, &options.gem_dirs)?,
    };
    // Jekyll copies README.md and LICENSE; Galley's own sites leave them out. (Whether the
    // site is a Jekyll site is settled once its sources are known; the folder tells here.)
    let jekyll = config.engine == crate::config::Engine::Liquid
        && (root.join("_layouts").is_dir() || config.theme.is_some());
    if !jekyll {
        config
            .exclude
            .extend(crate::config::GALLEY_EXCLUDES.iter().map(|s| s.to_string()));
    }
    if let Some(base) = &options.base_url {
        config.baseurl_as_written = None;
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

/// Posts newest first (same-day posts by path descending, as `site.posts` in Jekyll), then
/// pages by path.
pub(crate) fn sort_documents(docs: &mut [Document]) {
    // Posts, then collection documents, then pages.
    let rank = |d: &Document| match d.collection {
        Collection::Posts | Collection::Drafts => 0,
        Collection::Named(_) => 1,
        Collection::Pages => 2,
    };
    docs.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| b.date.cmp(&a.date))
            // Jekyll orders same-day posts by path, then lists them newest first.
            .then_with(|| {
                if a.is_post() {
                    b.rel.cmp(&a.rel)
                } else {
                    a.rel.cmp(&b.rel)
                }
            })
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
