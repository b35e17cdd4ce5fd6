//! Documents: posts, drafts and pages, read from their sources with front matter, defaults,
//! dates, titles, categories, tags and URLs resolved. Nothing is rendered here.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::dates;
use crate::discover::{Role, Source, Sources};
use crate::error::{Diagnostic, Diagnostics, Result};
use crate::frontmatter;
use crate::permalink::{self, Vars};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Posts,
    Drafts,
    Pages,
    /// A collection from `collections:` (its label).
    Named(&'static str),
}

impl Collection {
    pub fn name(self) -> &'static str {
        match self {
            Collection::Posts => "posts",
            Collection::Drafts => "drafts",
            Collection::Pages => "pages",
            Collection::Named(label) => label,
        }
    }
}

/// How a document's body is turned into output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    /// `.scss` (`indented: false`) or `.sass`.
    Sass {
        indented: bool,
    },
    /// Any other text with front matter: Liquid only.
    Other,
}

/// The `layout:` a document asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutChoice {
    /// Not set: the theme's default for this kind of document applies, if a theme is in use.
    Unset,
    /// `layout: none` or `layout: null`: output the body as it is.
    None,
    Named(String),
}

#[derive(Debug, Clone)]
pub struct Document {
    /// Relative source path, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    pub collection: Collection,
    pub format: Format,
    /// Front matter after `defaults:` were applied.
    pub front: Map<String, Value>,
    pub body: String,
    /// Lines of front matter above the body, to report body errors at file lines.
    pub body_line_offset: usize,
    pub title: String,
    /// True when the title was taken from the body's first `#` heading.
    pub title_from_content: bool,
    pub slug: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub layout: LayoutChoice,
    /// Canonical URL without baseurl: `/2024/01/02/hello.html`, `/about/`.
    pub url: String,
    /// Output file, relative, `/`-separated.
    pub output: String,
    /// `published: false` or `draft: true`, or a file in `_drafts`.
    pub draft: bool,
    /// `hidden: true`: jekyll-paginate leaves the post out of the pager. Read once here, as
    /// a preview works out the pagination of every post on each save.
    pub hidden: bool,
}

impl Document {
    pub fn is_post(&self) -> bool {
        matches!(self.collection, Collection::Posts | Collection::Drafts)
    }

    /// The file line of a front matter key, for errors about its value.
    pub fn key_line(&self, key: &str) -> Option<usize> {
        let text = std::fs::read_to_string(&self.abs).ok()?;
        key_line(&text, key)
    }
}

/// Which documents a build includes.
#[derive(Debug, Clone)]
pub struct Selection {
    pub drafts: bool,
    pub future: bool,
    pub now: DateTime<FixedOffset>,
}

/// Reads every post, draft and page, in parallel, reporting every bad file at once.
pub fn load_all(sources: &Sources, config: &Config, select: &Selection) -> Result<Vec<Document>> {
    let candidates: Vec<&Source> = sources
        .files
        .iter()
        .filter(|s| matches!(s.role, Role::Post | Role::Draft | Role::Page))
        .filter(|s| select.drafts || config.flag("show_drafts") || s.role != Role::Draft)
        .collect();
    let results: Vec<Result<Option<Document>, Diagnostic>> =
        candidates.par_iter().map(|s| load(s, config)).collect();
    let mut problems = Diagnostics::default();
    let mut docs = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(Some(doc)) => docs.push(doc),
            Ok(None) => {}
            Err(d) => problems.push(d),
        }
    }
    problems.into_result()?;
    let future = select.future || config.future;
    // `--drafts` shows both; Jekyll's `show_drafts:` and `unpublished:` one each.
    let drafts = select.drafts || config.flag("show_drafts");
    let unpublished = select.drafts || config.flag("unpublished");
    docs.retain(|d| {
        let shown = match (d.draft, d.collection) {
            (false, _) => true,
            (true, Collection::Drafts) => drafts,
            (true, _) => unpublished,
        };
        shown && (future || !d.is_post() || d.date.is_none_or(|date| date <= select.now))
    });
    Ok(docs)
}

/// One source read as a document: front matter (over the site's defaults), date, slug,
/// title, taxonomies, layout and URL. `None` for files Jekyll would not render.
pub(crate) fn load(source: &Source, config: &Config) -> Result<Option<Document>, Diagnostic> {
    let file_name = source.rel.rsplit('/').next().unwrap_or(&source.rel);
    let (stem, ext) = match file_name.rsplit_once('.') {
        Some((s, e)) => (s, e.to_ascii_lowercase()),
        None => (file_name, String::new()),
    };
    let format = format_of(&ext);
    let collection = collection_of(source, config);
    if matches!(collection, Collection::Posts | Collection::Drafts)
        && !matches!(format, Format::Markdown | Format::Html)
    {
        // Jekyll ignores other files inside _posts and _drafts; so do we.
        return Ok(None);
    }
    let text = crate::error::read_text(&source.abs)?;
    let split = frontmatter::split(&source.abs, &text)?;
    let has_front = split.front.is_some();
    let own = split.front.unwrap_or_default();
    let mut front = defaults_for(config, &source.rel, collection);
    for (k, v) in own {
        front.insert(k, v);
    }

    let (date, slug) = date_and_slug(source, config, collection, stem, &front, &text)?;
    let (title, title_from_content) =
        title_of(&front, split.body, format, collection, config, &slug);
    let mut categories = path_categories(&source.rel);
    extend_words(&mut categories, front.get("category"));
    extend_words(&mut categories, front.get("categories"));
    let mut tags = Vec::new();
    extend_words(&mut tags, front.get("tag"));
    extend_words(&mut tags, front.get("tags"));
    let layout = layout_of(&front, source, &text)?;
    let draft = collection == Collection::Drafts
        || front.get("published") == Some(&Value::Bool(false))
        || front.get("draft") == Some(&Value::Bool(true));

    let (url, output) = place(
        source,
        config,
        &Placing {
            collection,
            format,
            stem,
            ext: &ext,
            date: date.as_ref(),
            categories: &categories,
            slug: &slug,
            front: &front,
            text: &text,
        },
    )?;
    if !has_front
        && collection == Collection::Pages
        && !crate::jekyll::github_pages::is_page_without_front_matter(
            config,
            &source.rel,
            &source.abs,
        )
    {
        return Ok(None);
    }
    let hidden = front.get("hidden") == Some(&Value::Bool(true));
    Ok(Some(Document {
        rel: source.rel.clone(),
        abs: source.abs.clone(),
        collection,
        format,
        front,
        body: split.body.to_string(),
        body_line_offset: split.body_line_offset,
        title,
        title_from_content,
        slug,
        date,
        categories,
        tags,
        layout,
        url,
        output,
        draft,
        hidden,
    }))
}

/// What a file is, by its extension (lowercased).
fn format_of(ext: &str) -> Format {
    match ext {
        "md" | "markdown" | "mdown" | "mkd" | "mkdn" => Format::Markdown,
        "html" | "htm" => Format::Html,
        "scss" => Format::Sass { indented: false },
        "sass" => Format::Sass { indented: true },
        _ => Format::Other,
    }
}

/// Which collection a source belongs to.
fn collection_of(source: &Source, config: &Config) -> Collection {
    let spec = crate::collections::of_path(&config.collections, &source.rel);
    match (source.role, spec) {
        (Role::Post, _) => Collection::Posts,
        (Role::Draft, _) => Collection::Drafts,
        (_, Some(spec)) => Collection::Named(spec.label),
        _ => Collection::Pages,
    }
}

/// The document's date (front matter, else the post's file name, else a draft's
/// modification time) and slug (front matter, else the file name).
fn date_and_slug(
    source: &Source,
    config: &Config,
    collection: Collection,
    stem: &str,
    front: &Map<String, Value>,
    text: &str,
) -> Result<(Option<DateTime<FixedOffset>>, String), Diagnostic> {
    let (file_date, file_slug) = match collection {
        Collection::Posts => {
            let (date, slug) = parse_post_name(stem, config).map_err(|msg| {
                Diagnostic::new(&source.abs, msg).at(1, 1).hint(
                    "name posts `YYYY-MM-DD-slug.md`, e.g. `_posts/2024-05-01-hello-world.md`",
                )
            })?;
            (Some(date), slug)
        }
        _ => (None, stem.to_string()),
    };
    let date = match front.get("date") {
        Some(Value::String(s)) => Some(dates::parse(s, config.timezone).ok_or_else(|| {
            Diagnostic::new(&source.abs, format!("invalid date `{s}`"))
                .at_line(key_line(text, "date").unwrap_or(1))
                .hint("write dates as `2024-05-01` or `2024-05-01 14:30:00 +0200`")
        })?),
        Some(Value::Null) | None => match collection {
            Collection::Drafts => Some(mtime_date(&source.abs, config)),
            _ => file_date,
        },
        Some(other) => {
            return Err(
                Diagnostic::new(&source.abs, format!("invalid date `{other}`"))
                    .at_line(key_line(text, "date").unwrap_or(1))
                    .hint("write dates as `2024-05-01` or `2024-05-01 14:30:00 +0200`"),
            )
        }
    };
    let slug = match front.get("slug") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => file_slug,
    };
    Ok((date, slug))
}

/// The title, and whether it came from the content's first heading.
fn title_of(
    front: &Map<String, Value>,
    body: &str,
    format: Format,
    collection: Collection,
    config: &Config,
    slug: &str,
) -> (String, bool) {
    match front.get("title") {
        Some(Value::String(t)) => (t.clone(), false),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => (v.to_string(), false),
        // Jekyll takes no title from a heading unless jekyll-titles-from-headings is on.
        _ => match first_heading(body)
            .filter(|_| format == Format::Markdown)
            .filter(|_| !config.jekyll || config.has_plugin("jekyll-titles-from-headings"))
        {
            Some(h) => (h, true),
            None if collection == Collection::Pages => (String::new(), false),
            None => (titleize(slug), false),
        },
    }
}

/// The `layout:` the front matter asks for.
fn layout_of(
    front: &Map<String, Value>,
    source: &Source,
    text: &str,
) -> Result<LayoutChoice, Diagnostic> {
    Ok(match front.get("layout") {
        None => LayoutChoice::Unset,
        Some(Value::Null) => LayoutChoice::None,
        Some(Value::String(s)) if s == "none" || s.is_empty() => LayoutChoice::None,
        Some(Value::String(s)) => LayoutChoice::Named(s.clone()),
        Some(other) => {
            return Err(
                Diagnostic::new(&source.abs, format!("`layout: {other}` is not a name"))
                    .at_line(key_line(text, "layout").unwrap_or(1))
                    .hint("write the name of a file in _layouts, e.g. `layout: post`"),
            )
        }
    })
}

/// What a document's URL and output path are made from.
struct Placing<'a> {
    collection: Collection,
    format: Format,
    stem: &'a str,
    ext: &'a str,
    date: Option<&'a DateTime<FixedOffset>>,
    categories: &'a [String],
    slug: &'a str,
    front: &'a Map<String, Value>,
    text: &'a str,
}

/// The URL (from `permalink:`, else the collection's or the site's style) and the output
/// path; a permalink that climbs out of the site with `..` is an error.
fn place(source: &Source, config: &Config, doc: &Placing) -> Result<(String, String), Diagnostic> {
    let Placing {
        collection,
        format,
        stem,
        ext,
        date,
        categories,
        slug,
        text,
        ..
    } = *doc;
    let dir = source.rel.rsplit_once('/').map_or("", |(d, _)| d);
    // In a collection `:path` is the file's path inside the collection, without extension.
    let in_collection = match collection {
        Collection::Named(label) => source
            .rel
            .strip_prefix(&format!("_{label}/"))
            .map(|r| r.rsplit_once('.').map_or(r, |(p, _)| p)),
        _ => None,
    };
    let output_ext = match format {
        Format::Markdown | Format::Html => ".html".to_string(),
        Format::Sass { .. } => ".css".to_string(),
        Format::Other => format!(".{ext}"),
    };
    let vars = Vars {
        date,
        categories,
        title: slug,
        path: in_collection.unwrap_or(dir),
        basename: stem,
        output_ext: &output_ext,
        collection: collection.name(),
    };
    let readme_index = collection == Collection::Pages
        && stem.eq_ignore_ascii_case("readme")
        && format == Format::Markdown
        && config.has_plugin("jekyll-readme-index")
        && crate::jekyll::github_pages::readme_is_index(&source.abs);
    let pattern = match doc.front.get("permalink") {
        Some(Value::String(p)) => p.clone(),
        _ if readme_index => "/:path/".to_string(),
        _ => match collection {
            Collection::Posts | Collection::Drafts => {
                permalink::style_pattern(&config.permalink).to_string()
            }
            Collection::Pages if config.jekyll => {
                jekyll_page_pattern(stem, &output_ext, &config.permalink)
            }
            Collection::Pages => page_pattern(stem, format, &config.permalink),
            Collection::Named(label) => config
                .collections
                .iter()
                .find(|c| c.label == label)
                .map_or("/:collection/:path:output_ext", |c| c.pattern())
                .to_string(),
        },
    };
    let expanded = permalink::expand(&pattern, &vars);
    let url = if config.jekyll {
        expanded
    } else {
        permalink::canonical_url(&expanded)
    };
    if url
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("permalink"))
            .map_or(1, |i| i + 1);
        return Err(Diagnostic::new(
            &source.abs,
            format!("permalink `{pattern}` gives `{url}`, which climbs out of the site with `..`"),
        )
        .at_line(line)
        .hint("write the page's path from the site root, e.g. `permalink: /about/`"));
    }
    let output = if config.jekyll {
        permalink::jekyll_output_path(&url, &output_ext)
    } else {
        permalink::output_path(&url)
    };
    Ok((url, output))
}

/// Pages: `about.md` is `/about/`, `contact.html` keeps its name (as Jekyll does, so old links
/// keep working), `index.*` is its folder, `404.*` is `/404.html` where servers look for it.
fn page_pattern(stem: &str, format: Format, style: &str) -> String {
    match (stem, format) {
        ("404", Format::Markdown | Format::Html) => "/404.html".to_string(),
        ("index", Format::Markdown | Format::Html) => "/:path/".to_string(),
        (_, Format::Markdown) => "/:path/:basename/".to_string(),
        (_, Format::Html) if style == "pretty" => "/:path/:basename/".to_string(),
        _ => "/:path/:basename:output_ext".to_string(),
    }
}

/// Jekyll 4's page URLs: an HTML page (Markdown or HTML) keeps its name, ending as the
/// permalink style says (`pretty` or a style ending in `/`: a folder; `date`, `ordinal`,
/// `none` or a style ending in `:output_ext`: `.html`; otherwise bare, and the output file
/// gets `.html`); `index` is its folder; anything else keeps its own extension.
fn jekyll_page_pattern(stem: &str, output_ext: &str, style: &str) -> String {
    if output_ext != ".html" {
        return "/:path/:basename:output_ext".to_string();
    }
    if stem == "index" {
        return "/:path/".to_string();
    }
    let suffix = match style {
        "pretty" => "/",
        "date" | "ordinal" | "none" => ":output_ext",
        s if s.ends_with('/') => "/",
        s if s.ends_with(":output_ext") => ":output_ext",
        _ => "",
    };
    format!("/:path/:basename{suffix}")
}

/// `2024-05-01-hello-world` into its date and slug.
fn parse_post_name(stem: &str, config: &Config) -> Result<(DateTime<FixedOffset>, String), String> {
    let bytes = stem.as_bytes();
    let shaped = bytes.len() > 11
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'-'
        && bytes[..10]
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(format!(
            "post file name `{stem}` does not start with a date (YYYY-MM-DD-)"
        ));
    }
    let date = dates::parse(&stem[..10], config.timezone)
        .ok_or_else(|| format!("`{}` in the file name is not a valid date", &stem[..10]))?;
    Ok((date, stem[11..].to_string()))
}

/// The text of the first `# ` heading, for posts written without front matter.
fn first_heading(body: &str) -> Option<String> {
    let mut in_fence = false;
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(h) = t.strip_prefix("# ") {
            let h = h.trim().trim_end_matches('#').trim();
            if !h.is_empty() {
                return Some(h.to_string());
            }
        }
    }
    None
}

fn titleize(slug: &str) -> String {
    slug.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Folders above `_posts` are categories, as in Jekyll (`rust/_posts/x.md` is in `rust`).
fn path_categories(rel: &str) -> Vec<String> {
    let segments: Vec<&str> = rel.split('/').collect();
    match segments
        .iter()
        .position(|s| *s == "_posts" || *s == "_drafts")
    {
        Some(i) => segments[..i].iter().map(|s| s.to_string()).collect(),
        None => Vec::new(),
    }
}

/// Categories and tags as a list or a space-separated string.
fn extend_words(into: &mut Vec<String>, value: Option<&Value>) {
    let mut add = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && !into.iter().any(|x| x == s) {
            into.push(s.to_string());
        }
    };
    match value {
        Some(Value::String(s)) => s.split_whitespace().for_each(&mut add),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => add(s),
                    Value::Number(n) => add(&n.to_string()),
                    _ => {}
                }
            }
        }
        Some(Value::Number(n)) => add(&n.to_string()),
        _ => {}
    }
}

/// `defaults:` entries that apply to this file, least specific first, merged.
fn defaults_for(config: &Config, rel: &str, collection: Collection) -> Map<String, Value> {
    let mut applicable: Vec<_> = config
        .defaults
        .iter()
        .filter(|d| {
            let kind_ok = match d.scope.kind.as_deref() {
                None => true,
                Some("posts") => collection != Collection::Pages,
                Some(k) => k == collection.name(),
            };
            kind_ok && scope_matches(&d.scope.path, rel)
        })
        .collect();
    applicable.sort_by_key(|d| (d.scope.path.len(), d.scope.kind.is_some()));
    let mut merged = Map::new();
    for d in applicable {
        for (k, v) in &d.values {
            merged.insert(k.clone(), v.clone());
        }
    }
    merged
}

fn scope_matches(scope: &str, rel: &str) -> bool {
    let scope = scope.trim_matches('/');
    if scope.is_empty() {
        return true;
    }
    if scope.contains('*') {
        return globset::Glob::new(scope)
            .map(|g| g.compile_matcher().is_match(rel))
            .unwrap_or(false);
    }
    rel == scope || rel.starts_with(&format!("{scope}/"))
}

/// Drafts without a date are dated by their file's modification time, as in Jekyll.
fn mtime_date(path: &std::path::Path, config: &Config) -> DateTime<FixedOffset> {
    let t: DateTime<chrono::Utc> = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(Into::into)
        .unwrap_or_default();
    match config.timezone {
        Some(tz) => t.with_timezone(&tz).fixed_offset(),
        None => t.fixed_offset(),
    }
}

/// 1-based line of `key:` at the start of a line in the front matter, if present.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    let mut lines = text.lines().enumerate();
    lines.next()?;
    for (i, line) in lines {
        let t = line.trim_end();
        if t == "---" || t == "+++" {
            return None;
        }
        if let Some(rest) = line.strip_prefix(key) {
            let rest = rest.trim_start();
            if rest.starts_with(':') || rest.starts_with('=') {
                return Some(i + 1);
            }
        }
    }
    None
}

impl Document {
    /// A page Galley makes itself (home, tag pages, 404), dressed by a layout like any other.
    pub fn generated(
        what: &str,
        title: &str,
        url: &str,
        layout: &str,
        root: &std::path::Path,
    ) -> Document {
        Document {
            rel: format!("(generated) {what}"),
            abs: root.to_path_buf(),
            collection: Collection::Pages,
            format: Format::Html,
            front: Map::new(),
            body: String::new(),
            body_line_offset: 0,
            title: title.to_string(),
            title_from_content: false,
            slug: what.to_string(),
            date: None,
            categories: Vec::new(),
            tags: Vec::new(),
            layout: LayoutChoice::Named(layout.to_string()),
            url: url.to_string(),
            output: permalink::output_path(url),
            draft: false,
            hidden: false,
        }
    }
}
