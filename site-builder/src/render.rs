//! Rendering documents in two parallel passes: first each body (Liquid, then markdown or
//! Sass), then each output page through its layouts, once the site-wide lists exist.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use liquid_core::ValueView;
use rayon::prelude::*;
use serde_json::Value;
use tera::Context;

use crate::config::Config;
use crate::context::{to_value, LinkView, PageView};
use crate::document::{Collection, Document, Format, LayoutChoice};
use crate::error::{Diagnostic, Diagnostics, Result};
use crate::filters::Filter;
use crate::jekyll::{self, Json};
use crate::liquid;
use crate::lists::{Extra, Lists, Summaries, Terms};
use crate::markdown::{self, TocEntry};
use crate::paginate;
use crate::sass;
use crate::templates::Templates;
use crate::write::Sink;

/// A document's body, rendered but not yet laid out.
#[derive(Debug, Default, Clone)]
pub struct Converted {
    pub html: String,
    pub excerpt: String,
    pub toc: Vec<TocEntry>,
    pub words: usize,
}

/// What pass one needs besides the document.
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub root: &'a Path,
    pub templates: &'a Templates,
    pub filters: &'a HashMap<&'static str, Filter>,
    pub site: &'a Value,
    /// The site's tags and categories, which Liquid sees in `site` (see `jekyll::views`).
    pub terms: &'a Terms,
    pub posts: &'a HashMap<String, String>,
    pub links: &'a HashMap<String, String>,
    /// Jekyll's Liquid, unless the site chose Tera.
    pub tools: Option<&'a Arc<jekyll::Tools>>,
    /// `jekyll` (`environment`, `version`).
    pub jekyll: &'a Value,
}

impl<'a> Inputs<'a> {
    /// The same inputs with another `site` (the build makes it anew as content converts).
    pub fn with_site<'b>(&'b self, site: &'b Value) -> Inputs<'b> {
        Inputs { site, ..*self }
    }

    /// `site` as Liquid content sees it (with the tag and category views); as it is where
    /// content is not Liquid.
    fn liquid_site(&self) -> jekyll::views::WithEntries<'a, jekyll::views::TermLists<'a>> {
        match self.tools {
            Some(_) => jekyll::views::site(self.site, self.terms),
            None => jekyll::views::site(&Value::Null, self.terms),
        }
    }
}

/// Pass one, in parallel; every document's errors are reported together.
pub fn convert_all(docs: &[Document], inputs: &Inputs) -> Result<Vec<Converted>> {
    let site = inputs.liquid_site();
    collect_converted(
        docs.par_iter()
            .map(|d| convert_in(d, inputs, &site))
            .collect(),
    )
}

/// As `convert_all`, letting go of each of the first `posts` documents' source once it is
/// converted: a streaming build needs it no more, and would otherwise hold every post's
/// source and HTML at once.
pub fn convert_all_releasing(
    docs: &mut [Document],
    posts: usize,
    inputs: &Inputs,
) -> Result<Vec<Converted>> {
    let site = inputs.liquid_site();
    let results = docs
        .par_iter_mut()
        .enumerate()
        .map(|(i, d)| {
            let converted = convert_in(d, inputs, &site);
            if i < posts {
                d.body = String::new();
            }
            converted
        })
        .collect();
    collect_converted(results)
}

/// The converted documents, or every problem among them.
fn collect_converted(results: Vec<Result<Converted, Diagnostic>>) -> Result<Vec<Converted>> {
    let mut problems = Diagnostics::default();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(c) => out.push(c),
            Err(d) => {
                problems.push(d);
                out.push(Converted::default());
            }
        }
    }
    problems.into_result()?;
    Ok(out)
}

/// Pass one of some documents, one after another, with `site` seen once for all of them
/// (the preview's documents that read a list a save changed).
pub fn convert_some(docs: &[&Document], inputs: &Inputs) -> Result<Vec<Converted>, Diagnostic> {
    let site = inputs.liquid_site();
    docs.iter().map(|d| convert_in(d, inputs, &site)).collect()
}

/// One document's pass one (the preview's: a build converts them together).
pub fn convert(doc: &Document, inputs: &Inputs) -> Result<Converted, Diagnostic> {
    convert_in(doc, inputs, &inputs.liquid_site())
}

/// Pass one of `doc`, where Liquid sees `site` as `site_view`.
fn convert_in(
    doc: &Document,
    inputs: &Inputs,
    site_view: &dyn ValueView,
) -> Result<Converted, Diagnostic> {
    let page = to_value(&PageView::new(doc, "", 0));
    let body = match inputs.tools {
        Some(tools) => body_liquid(doc, inputs, tools, site_view, &page)?,
        None => body_mini(doc, inputs, &page)?,
    };
    finish(doc, inputs, body)
}

/// A body run through Jekyll's Liquid (unless `render_with_liquid: false`).
fn body_liquid<'d>(
    doc: &'d Document,
    inputs: &Inputs,
    tools: &Arc<jekyll::Tools>,
    site: &dyn ValueView,
    page: &Value,
) -> Result<Cow<'d, str>, Diagnostic> {
    if doc.front.get("render_with_liquid") == Some(&Value::Bool(false))
        || !(doc.body.contains("{{") || doc.body.contains("{%"))
    {
        return Ok(Cow::Borrowed(&doc.body));
    }
    let roots: jekyll::Roots = vec![
        ("site", site),
        ("page", Json::of(page)),
        ("jekyll", Json::of(inputs.jekyll)),
    ];
    jekyll::render_text(tools, &doc.body, &doc.abs, doc.body_line_offset, roots).map(Cow::Owned)
}

/// A body in a Tera site: the Liquid tags content uses, without logic.
fn body_mini<'d>(
    doc: &'d Document,
    inputs: &Inputs,
    page: &Value,
) -> Result<Cow<'d, str>, Diagnostic> {
    let env = liquid::Env {
        templates: inputs.templates,
        filters: inputs.filters,
        site: inputs.site,
        page,
        posts: inputs.posts,
        links: inputs.links,
        baseurl: &inputs.config.baseurl,
        root: inputs.root,
        file: &doc.abs,
        line_offset: doc.body_line_offset,
    };
    liquid::render(&doc.body, &env)
}

fn finish(doc: &Document, inputs: &Inputs, body: Cow<'_, str>) -> Result<Converted, Diagnostic> {
    let style = markdown::Style::of(inputs.config);
    let (mut html, toc) = match doc.format {
        Format::Markdown => {
            let r = markdown::render(&body, style);
            let html = if inputs.config.has_plugin("jekyll-relative-links") {
                crate::jekyll::github_pages::relative_links(
                    &r.html,
                    &doc.rel,
                    inputs.links,
                    &inputs.config.baseurl,
                )
            } else {
                r.html
            };
            (html, r.toc)
        }
        Format::Sass { indented } => (
            sass::compile(
                &doc.abs,
                &body,
                indented,
                inputs.root,
                inputs.config.theme.as_ref().map(|t| t.dir.as_path()),
                doc.body_line_offset,
            )?,
            Vec::new(),
        ),
        Format::Html | Format::Other => (body.into_owned(), Vec::new()),
    };
    // Excerpts are shown on other pages, so in-page links must name their page.
    let mut excerpt = excerpt(doc, &html, inputs.config).replace(
        "href=\"#",
        &format!("href=\"{}{}#", inputs.config.baseurl, doc.url),
    );
    let words = if doc.is_post() || doc.format == Format::Markdown {
        count_words(&html)
    } else {
        0
    };
    // Kept until the page renders, for every document at once: no spare capacity.
    html.shrink_to_fit();
    excerpt.shrink_to_fit();
    Ok(Converted {
        html,
        excerpt,
        toc,
        words,
    })
}

/// Front matter `excerpt:`, else the text before `excerpt_separator` if the author put one,
/// else the first paragraph.
fn excerpt(doc: &Document, html: &str, config: &Config) -> String {
    if !doc.is_post() && doc.format != Format::Markdown {
        return String::new();
    }
    if let Some(Value::String(e)) = doc.front.get("excerpt") {
        return markdown::render(e, markdown::Style::of(config)).html;
    }
    let sep = &config.excerpt_separator;
    if sep != "\n\n" {
        if let Some((before, _)) = doc.body.split_once(sep.as_str()) {
            return markdown::render(before, markdown::Style::of(config)).html;
        }
    }
    markdown::first_paragraph(html).to_string()
}

fn count_words(html: &str) -> usize {
    let mut in_tag = false;
    let mut words = 0;
    let mut in_word = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                in_word = false;
            }
            '>' => in_tag = false,
            c if in_tag => {
                let _ = c;
            }
            c if c.is_whitespace() => in_word = false,
            _ => {
                if !in_word {
                    words += 1;
                }
                in_word = true;
            }
        }
    }
    words
}

/// Which layout a document is rendered with; an unknown one is an error at its `layout:` line.
pub fn layout_for(
    doc: &Document,
    templates: &Templates,
    config: &Config,
    is_home: bool,
) -> Result<Option<String>, Diagnostic> {
    match &doc.layout {
        LayoutChoice::None => Ok(None),
        LayoutChoice::Named(name) if templates.has_layout(name) => Ok(Some(name.clone())),
        LayoutChoice::Named(name) => Err(Diagnostic::new(
            &doc.abs,
            format!("unknown layout `{name}`"),
        )
        .at_line(doc.key_line("layout").unwrap_or(1))
        .hint(format!(
            "create _layouts/{name}.html, or use one of the layouts the site has{}",
            if templates.theme {
                " (built-in theme: post, page, home)"
            } else {
                ""
            }
        ))),
        LayoutChoice::Unset if templates.theme => Ok(match (doc.collection, doc.format) {
            (_, Format::Sass { .. } | Format::Other) => None,
            _ if is_home => Some("home".to_string()),
            (Collection::Posts | Collection::Drafts, _) => Some("post".to_string()),
            (Collection::Pages | Collection::Named(_), _) => Some("page".to_string()),
        }),
        LayoutChoice::Unset if config.has_plugin("jekyll-default-layout") => Ok(
            crate::jekyll::github_pages::default_layout(doc, is_home, |l| templates.has_layout(l)),
        ),
        LayoutChoice::Unset => Ok(None),
    }
}

/// One output page: a document (or a generated one) at a URL, with its layout and any extra
/// context (`paginator`, `taxonomy`), made when it renders.
pub struct Job<'a> {
    pub doc: &'a Document,
    /// The document's place in the site's list (posts first), or `None` for a generated page.
    pub index: Option<usize>,
    pub converted: Content<'a>,
    pub layout: Option<&'a str>,
    /// Borrowed from the document except on paginator pages: a preview rebuild plans every
    /// page of a 10,000-post site and must not allocate for each.
    pub url: Cow<'a, str>,
    pub output: Cow<'a, str>,
    pub extra: Extra,
    pub previous: Option<&'a Document>,
    pub next: Option<&'a Document>,
}

/// A job's converted content: the build's, or the job's own when a streaming build hands a
/// post's HTML to its page alone, to free it once the page is written. Boxed, so that a
/// preview rebuild's plan of every page stays small.
#[derive(Clone)]
pub enum Content<'a> {
    Shared(&'a Converted),
    Own(Box<Converted>),
}

impl std::ops::Deref for Content<'_> {
    type Target = Converted;

    fn deref(&self) -> &Converted {
        match self {
            Content::Shared(c) => c,
            Content::Own(c) => c,
        }
    }
}

/// Below this many pages, rendering reuses the caller's context on one thread: cloning a
/// context that holds 10,000 post summaries costs more than rendering a few pages.
const SERIAL_JOBS: usize = 32;

/// The site-wide context pages render in.
pub enum Base<'a> {
    /// Read only: a handful of pages renders in one copy of it.
    Shared(&'a Context),
    /// The caller's own, reused for a handful of pages (a preview rebuild, which must not
    /// copy a 10,000-post `site`) and left holding the last page's keys.
    Reusable(&'a mut Context),
}

/// Pass two, in parallel. The site-wide context is cloned once per chunk of pages, not per
/// page, which keeps a 10,000-post `site.posts` affordable.
pub fn layout_all(
    jobs: &mut [Job],
    templates: &Templates,
    mut base: Base,
    lists: &Lists,
    liquid: Option<&Liquid>,
    sink: Option<&Sink>,
) -> Result<Vec<Vec<u8>>> {
    // With a sink each page leaves as soon as it is made, and an empty body stands in for it;
    // the HTML the job owned goes with it.
    let deliver = |job: &mut Job, page: Result<Vec<u8>, Diagnostic>| match (sink, page) {
        (Some(sink), Ok(bytes)) => {
            if let Content::Own(converted) = &mut job.converted {
                **converted = Converted::default();
            }
            sink.write(&job.output, &job.doc.rel, bytes)
                .map(|()| Vec::new())
        }
        (_, page) => page,
    };
    let results: Vec<Result<Vec<u8>, Diagnostic>> =
        if let Some(liquid) = liquid.filter(|_| !templates.theme) {
            // Liquid reads `site` in place, so pages share one context and need no copies.
            let null = Value::Null;
            let site = jekyll::views::site(base.get().get("site").unwrap_or(&null), lists.terms);
            jobs.par_iter_mut()
                .map(|job| {
                    let page = render_job_liquid(job, templates, &site, lists, liquid);
                    deliver(job, page)
                })
                .collect()
        } else if jobs.len() < SERIAL_JOBS {
            let mut copy;
            let ctx = match &mut base {
                Base::Reusable(ctx) => &mut **ctx,
                Base::Shared(ctx) => {
                    copy = (*ctx).clone();
                    &mut copy
                }
            };
            jobs.iter_mut()
                .map(|job| {
                    let page = render_job(job, templates, ctx, lists);
                    deliver(job, page)
                })
                .collect()
        } else {
            let base = base.get();
            // Pages whose layouts name none of the site-wide lists render in a copy of
            // `site` without them: a post page need not carry 10,000 summaries.
            let mut reads: HashMap<&str, bool> = HashMap::new();
            for layout in jobs.iter().filter_map(|j| j.layout) {
                reads
                    .entry(layout)
                    .or_insert_with(|| templates.layout_reads(layout).any());
            }
            let reads_lists = |job: &Job| job.layout.is_some_and(|l| reads[l]);
            let light = without_lists(base);
            let chunk = (jobs.len() / (rayon::current_num_threads() * 4)).max(1);
            jobs.par_chunks_mut(chunk)
                .flat_map_iter(|chunk| {
                    let mut plain = light.clone();
                    let mut full = None;
                    chunk
                        .iter_mut()
                        .map(|job| {
                            let ctx = if reads_lists(job) {
                                full.get_or_insert_with(|| base.clone())
                            } else {
                                &mut plain
                            };
                            let page = render_job(job, templates, ctx, lists);
                            deliver(job, page)
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
    let mut problems = Diagnostics::default();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(b) => out.push(b),
            Err(d) => problems.push(d),
        }
    }
    problems.into_result()?;
    Ok(out)
}

/// `base` with `site`'s lists (`posts`, `related_posts`, `pages`, `html_pages`, `tags`,
/// `categories`, `collections`, `documents`: what `Reads` tracks) left out.
fn without_lists(base: &Context) -> Context {
    const LISTS: [&str; 8] = [
        "posts",
        "related_posts",
        "pages",
        "html_pages",
        "tags",
        "categories",
        "collections",
        "documents",
    ];
    let site: serde_json::Map<String, Value> = base
        .get("site")
        .and_then(Value::as_object)
        .map(|site| {
            site.iter()
                .filter(|(k, _)| !LISTS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    crate::build::site_context(Value::Object(site))
}

impl Base<'_> {
    fn get(&self) -> &Context {
        match self {
            Base::Shared(ctx) => ctx,
            Base::Reusable(ctx) => ctx,
        }
    }
}

/// What rendering layouts in Liquid needs besides the pages.
pub struct Liquid<'a> {
    pub tools: &'a Arc<jekyll::Tools>,
    pub jekyll: &'a Value,
    pub markdown: markdown::Style,
    /// jekyll-mentions' profile host, when the site lists it.
    pub mentions: Option<String>,
    /// jemoji's image location, when the site lists it.
    pub emoji: Option<String>,
}

/// The page as layouts see it, with `html` as its content.
fn page_view<'a>(job: &'a Job, html: &'a str, toc_html: &'a mut String) -> PageView<'a> {
    let mut view = PageView::new(job.doc, &job.converted.excerpt, job.converted.words);
    view.url = &job.url;
    view.content = Some(html);
    if job.doc.front.get("toc") == Some(&Value::Bool(true)) {
        *toc_html = markdown::toc_html(&job.converted.toc);
        view.toc = Some(toc_html);
    }
    view.previous = job.previous.map(LinkView::of);
    view.next = job.next.map(LinkView::of);
    view
}

/// A page's converted HTML. A streaming build of a site with Liquid layouts keeps each
/// post's HTML once, as its summary's `content` (which is that HTML), and a post's job
/// holds none; an empty post reads the same empty text there.
fn html_of<'a>(job: &'a Job, lists: &'a Lists) -> &'a str {
    let own = job.converted.html.as_str();
    if !own.is_empty() || !job.doc.is_post() {
        return own;
    }
    job.index
        .and_then(|i| lists.summaries.made()?.get(i)?.get("content")?.as_str())
        .unwrap_or(own)
}

/// A page through its layout chain in Liquid: `content` is what the layout below made,
/// `layout` the layout's own front matter, as in Jekyll.
fn render_job_liquid(
    job: &Job,
    templates: &Templates,
    site: &dyn ValueView,
    lists: &Lists,
    liquid: &Liquid,
) -> Result<Vec<u8>, Diagnostic> {
    let mut page = render_job_liquid_page(job, templates, site, lists, liquid)?;
    if !job.output.ends_with(".html") {
        return Ok(page);
    }
    // Plugins that rewrite the finished page's text.
    if let Some(base_url) = &liquid.mentions {
        page = jekyll::mentions::link(&String::from_utf8_lossy(&page), base_url).into_bytes();
    }
    if let Some(src) = &liquid.emoji {
        page = jekyll::emoji::replace(&String::from_utf8_lossy(&page), src).into_bytes();
    }
    Ok(page)
}

/// Jekyll's `site.related_posts`: on a post, the ten newest other posts; elsewhere nil.
/// Borrowed views of the site's entries, not copies (Liquid builds always make them).
fn related_posts<'l>(job: &Job, lists: &'l Lists) -> Option<Vec<&'l Json>> {
    match job.index {
        Some(i) if job.doc.is_post() => Some(
            lists
                .summaries
                .made()?
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .take(10)
                .map(|(_, p)| Json::of(p))
                .collect(),
        ),
        _ => None,
    }
}

/// A page's extra root for Liquid: its list's value and, for a paginator where the
/// summaries are made, views of its posts to put in place of copies (the value's `posts`
/// is then empty).
fn liquid_extra<'l>(
    job: &Job,
    lists: &'l Lists,
) -> Option<(&'static str, Value, Option<Vec<&'l Json>>)> {
    match (&job.extra, &lists.summaries) {
        (
            Extra::Paginator {
                page,
                per_page,
                home_url,
            },
            Summaries::Made(made),
        ) => {
            let posts =
                jekyll::views::listed(made, paginate::slice_of(*page, *per_page, &lists.listed));
            let frame = paginate::frame(
                *page,
                *per_page,
                Vec::new(),
                lists.listed.len(),
                home_url,
                lists.paginate_path,
            );
            Some(("paginator", frame, Some(posts)))
        }
        _ => lists
            .value(&job.extra)
            .map(|(key, value)| (key, value, None)),
    }
}

/// A paginated page's body for one pager page: its Liquid run again with that page's
/// `paginator`, then its Markdown.
fn paginated_body(
    job: &Job,
    liquid: &Liquid,
    view: &PageView,
    site: &dyn ValueView,
    (key, paginator): (&'static str, &dyn ValueView),
) -> Result<String, Diagnostic> {
    let page = to_value(view);
    let roots: jekyll::Roots = vec![
        ("site", site),
        ("page", Json::of(&page)),
        ("jekyll", Json::of(liquid.jekyll)),
        (key, paginator),
    ];
    let text = jekyll::render_text(
        liquid.tools,
        &job.doc.body,
        &job.doc.abs,
        job.doc.body_line_offset,
        roots,
    )?;
    Ok(match job.doc.format {
        Format::Markdown => markdown::render(&text, liquid.markdown).html,
        _ => text,
    })
}

/// The page through its layouts, before plugins that rewrite whole pages.
fn render_job_liquid_page(
    job: &Job,
    templates: &Templates,
    site: &dyn ValueView,
    lists: &Lists,
    liquid: &Liquid,
) -> Result<Vec<u8>, Diagnostic> {
    let html = html_of(job, lists);
    let Some(layout) = &job.layout else {
        return Ok(html.as_bytes().to_vec());
    };
    let mut toc_html = String::new();
    let null = Value::Null;
    let extra = liquid_extra(job, lists);
    // What a view falls back to where a value is not an object (never, as made here).
    let empty = serde_json::Map::new();
    let paginator_view = extra.as_ref().and_then(|(_, value, posts)| {
        posts.as_ref().map(|posts| jekyll::views::WithEntries {
            base: value.as_object().unwrap_or(&empty),
            entries: vec![("posts", posts.clone())],
        })
    });
    let extra: Option<(&'static str, &dyn ValueView)> =
        extra.as_ref().map(|(key, value, _)| match &paginator_view {
            Some(view) => (*key, view as &dyn ValueView),
            None => (*key, Json::of(value) as &dyn ValueView),
        });
    let related = related_posts(job, lists);
    let related: &dyn liquid_core::ValueView = match &related {
        Some(posts) => posts,
        None => Json::of(&null),
    };
    // A page that reads `paginator` (a paginated home) renders its body once per pager
    // page, with that page's paginator, as jekyll-paginate does.
    let body;
    let mut view = page_view(job, html, &mut toc_html);
    if let Some((key @ "paginator", value)) = extra {
        if job.doc.body.contains("paginator") {
            body = paginated_body(job, liquid, &view, site, (key, value))?;
            view.content = Some(&body);
        }
    }
    let page = to_value(&view);
    // jekyll-archives' `page.posts`: viewed in place where the summaries are made.
    let owned: Vec<Value>;
    let listed: Vec<&Json> = match (&job.extra, &lists.summaries) {
        (Extra::Archive(posts), Summaries::Made(made)) => jekyll::views::listed(made, posts),
        (Extra::Archive(posts), summaries) => {
            owned = posts.iter().filter_map(|&i| summaries.get(i)).collect();
            owned.iter().map(Json::of).collect()
        }
        _ => Vec::new(),
    };
    let with_posts = jekyll::views::WithEntries {
        base: page.as_object().unwrap_or(&empty),
        entries: vec![("posts", listed)],
    };
    let page_root: &dyn ValueView = match job.extra {
        Extra::Archive(_) => &with_posts,
        _ => Json::of(&page),
    };
    let mut content = view.content.unwrap_or_default().to_string();
    let mut name = layout.to_string();
    for _ in 0..16 {
        let Some(l) = templates.layout(&name) else {
            return Err(Diagnostic::new(
                &job.doc.abs,
                format!("unknown layout `{name}`"),
            ));
        };
        let text = liquid_core::model::Value::scalar(std::mem::take(&mut content));
        let mut roots: jekyll::Roots = vec![
            ("site", site),
            ("page", page_root),
            ("layout", Json::of(&l.front)),
            ("content", &text),
            ("jekyll", Json::of(liquid.jekyll)),
            ("site.related_posts", related),
        ];
        if let Some(extra) = extra {
            roots.push(extra);
        }
        content = jekyll::render_layout(liquid.tools, &l.template, &job.doc.abs, roots)?;
        match &l.parent {
            Some(p) => name = p.clone(),
            None => return Ok(content.into_bytes()),
        }
    }
    Err(
        Diagnostic::new(format!("_layouts/{name}"), "layouts nest more than 16 deep")
            .hint("a layout's `layout:` must not lead back to itself"),
    )
}

fn render_job(
    job: &Job,
    templates: &Templates,
    ctx: &mut Context,
    lists: &Lists,
) -> Result<Vec<u8>, Diagnostic> {
    let Some(layout) = &job.layout else {
        return Ok(job.converted.html.clone().into_bytes());
    };
    let mut toc_html = String::new();
    let view = page_view(job, &job.converted.html, &mut toc_html);
    ctx.insert("page", &view);
    for key in ["paginator", "taxonomy"] {
        ctx.remove(key);
    }
    if let Some((key, value)) = lists.value(&job.extra) {
        // Moved in, not serialised again: a term page's list can hold thousands of posts.
        let mut extra = serde_json::Map::new();
        extra.insert(key.to_string(), value);
        if let Ok(extra) = Context::from_value(Value::Object(extra)) {
            ctx.extend(extra);
        }
    }
    templates
        .apply_layouts(layout, job.converted.html.clone(), ctx)
        .map(String::into_bytes)
        .map_err(|d| {
            if d.file.as_os_str() == "_layouts" {
                d.relative_to(Path::new(""))
            } else {
                d
            }
        })
}
