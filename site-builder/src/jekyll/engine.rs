//! The Liquid engine for Jekyll sites: one `Language` (Shopify's tags and filters, then
//! Jekyll's), every layout and include parsed once, and the per-build tools that Jekyll's
//! tags need (post URLs, source links, the site's URL base).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use liquid_core::model::ValueView;
use liquid_core::{Error, Language, Renderable, Template};

use super::diagnose::{
    diagnose, unknown_filter, unknown_filter_diagnostic, unregistered_filter_at,
};
use super::filters::{self, Expressions};
use super::lenient::Arenas;
use super::runtime::scope;
use super::{markup, tags};
use crate::error::Diagnostic;
use crate::filters::{Filter, UrlBase};

/// A template's text as parsed, with where it came from for messages.
struct Source {
    rel: String,
    line_offset: usize,
    parsed: Result<Arc<Template>, Diagnostic>,
}

/// The site's layouts and includes, parsed once per load.
pub struct Parsed {
    /// Grows while parsing: an unknown filter is added as a pass-through (Jekyll's default).
    language: RwLock<Language>,
    templates: HashMap<String, Source>,
    /// `liquid: strict_filters: true`: an unknown filter is an error.
    strict_filters: bool,
    /// Unknown filters passed through, each where it was first used.
    warnings: Mutex<Vec<Diagnostic>>,
}

/// Shopify's standard tags and filters, then Jekyll's over them.
fn language(shared: &[Filter], plugins: &[String]) -> Language {
    use liquid_lib::stdlib;
    let mut l = Language::default();
    macro_rules! tags { ($($t:expr),*) => { $( l.tags.register(liquid_core::TagReflection::tag(&$t).to_string(), Box::new($t)); )* } }
    macro_rules! blocks { ($($t:expr),*) => { $( l.blocks.register(liquid_core::BlockReflection::start_tag(&$t).to_string(), Box::new($t)); )* } }
    macro_rules! filters { ($($t:expr),*) => { $( l.filters.register(liquid_core::FilterReflection::name(&$t).to_string(), Box::new($t)); )* } }
    tags!(
        stdlib::AssignTag,
        stdlib::BreakTag,
        stdlib::ContinueTag,
        stdlib::CycleTag,
        stdlib::IncrementTag,
        stdlib::DecrementTag
    );
    blocks!(
        stdlib::RawBlock,
        stdlib::IfBlock,
        stdlib::UnlessBlock,
        stdlib::IfChangedBlock,
        stdlib::ForBlock,
        stdlib::TableRowBlock,
        stdlib::CommentBlock,
        stdlib::CaptureBlock,
        stdlib::CaseBlock
    );
    filters!(
        stdlib::Abs,
        stdlib::Append,
        stdlib::AtLeast,
        stdlib::AtMost,
        stdlib::Capitalize,
        stdlib::Ceil,
        stdlib::Compact,
        stdlib::Concat,
        stdlib::Default,
        stdlib::DividedBy,
        stdlib::Downcase,
        stdlib::Escape,
        stdlib::EscapeOnce,
        stdlib::First,
        stdlib::Floor,
        stdlib::Join,
        stdlib::Last,
        stdlib::Lstrip,
        stdlib::Map,
        stdlib::Minus,
        stdlib::Modulo,
        stdlib::NewlineToBr,
        stdlib::Plus,
        stdlib::Prepend,
        stdlib::Remove,
        stdlib::RemoveFirst,
        stdlib::Replace,
        stdlib::ReplaceFirst,
        stdlib::Reverse,
        stdlib::Round,
        stdlib::Rstrip,
        stdlib::Size,
        stdlib::Slice,
        stdlib::SortNatural,
        stdlib::Split,
        stdlib::Strip,
        stdlib::StripHtml,
        stdlib::StripNewlines,
        stdlib::Times,
        stdlib::Truncate,
        stdlib::TruncateWords,
        stdlib::Uniq,
        stdlib::Upcase,
        stdlib::UrlDecode,
        stdlib::UrlEncode
    );
    tags::register(&mut l);
    filters::register(&mut l, shared);
    super::plugins::register(&mut l, plugins);
    l
}

impl Parsed {
    pub fn new(shared: &[Filter], plugins: &[String], strict_filters: bool) -> Parsed {
        Parsed {
            language: RwLock::new(language(shared, plugins)),
            templates: HashMap::new(),
            strict_filters,
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// What parsing let through that Jekyll lets through too (unknown filters), as warnings.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Parses `text` (from `rel`, whose body starts after `line_offset` lines). An unknown
    /// filter passes its input through, as Jekyll's Liquid does unless `strict_filters`,
    /// and is reported once as a warning.
    fn parse(&self, text: &str, rel: &str, line_offset: usize) -> Result<Template, Diagnostic> {
        let protected = markup::protect(text);
        loop {
            let attempt = {
                let language = self
                    .language
                    .read()
                    .map_err(|_| Diagnostic::new(rel, "Liquid parser poisoned"))?;
                liquid_core::parser::parse(&protected, &language).map(Template::new)
            };
            let err = match attempt {
                Ok(t) => return Ok(t),
                Err(e) => e,
            };
            let unknown = unknown_filter(&err).or_else(|| {
                // Tags that parse their own filter chain (`assign`) lose the filter's name
                // from the error; find an unregistered filter on the line it points at.
                let language = self.language.read().ok()?;
                unregistered_filter_at(&err, text, &language)
            });
            let mut diagnostic = diagnose(&err, rel, line_offset, text);
            if let (Some(name), true) = (&unknown, self.strict_filters) {
                diagnostic = unknown_filter_diagnostic(name, rel, line_offset, text);
            }
            let (Some(name), false) = (unknown, self.strict_filters) else {
                return Err(diagnostic);
            };
            let mut language = self
                .language
                .write()
                .map_err(|_| Diagnostic::new(rel, "Liquid parser poisoned"))?;
            if language.filters.get(&name).is_some() {
                // Another thread added it meanwhile.
                continue;
            }
            if let Ok(mut w) = self.warnings.lock() {
                let mut warning = diagnostic;
                warning.message = format!(
                    "unknown Liquid filter `{name}` passes its input through unchanged, as Jekyll does (set `liquid: strict_filters: true` to make it an error)"
                );
                w.push(warning);
            }
            language
                .filters
                .register(name.clone(), Box::new(filters::PassThrough::new(name)));
        }
    }

    /// Parses a layout or include. A broken include is reported only when something
    /// includes it, as in Jekyll; the caller reports broken layouts at once.
    pub fn add(&mut self, name: &str, rel: &str, text: &str, line_offset: usize) {
        let parsed = self.parse(text, rel, line_offset).map(Arc::new);
        self.templates.insert(
            name.to_string(),
            Source {
                rel: rel.to_string(),
                line_offset,
                parsed,
            },
        );
    }

    /// A filter's expression (`where_exp`'s condition), with the site's language.
    pub fn parse_expression(&self, source: &str) -> liquid_core::Result<Template> {
        let language = self
            .language
            .read()
            .map_err(|_| Error::with_msg("Liquid parser poisoned"))?;
        liquid_core::parser::parse(source, &language).map(Template::new)
    }

    /// The parse error of a template, if it has one.
    pub fn error(&self, name: &str) -> Option<&Diagnostic> {
        self.templates
            .get(name)
            .and_then(|s| s.parsed.as_ref().err())
    }

    fn template(&self, name: &str) -> Option<&Source> {
        self.templates.get(name)
    }
}

/// What Jekyll's tags and filters need during one build.
pub struct Tools {
    pub parsed: Arc<Parsed>,
    /// Post file stem to URL, for `post_url`.
    pub posts: Arc<HashMap<String, String>>,
    /// Source path to URL, for `link`.
    pub links: Arc<HashMap<String, String>>,
    pub base: UrlBase,
    pub root: PathBuf,
    /// `liquid: strict_variables: true`: an undefined variable is an error.
    pub strict_variables: bool,
    pub expressions: Expressions,
    relative: Mutex<HashMap<PathBuf, Arc<Template>>>,
}

impl Tools {
    pub fn new(
        parsed: Arc<Parsed>,
        posts: Arc<HashMap<String, String>>,
        links: Arc<HashMap<String, String>>,
        base: UrlBase,
        root: &Path,
        strict_variables: bool,
    ) -> Tools {
        Tools {
            parsed,
            posts,
            links,
            base,
            root: root.to_path_buf(),
            strict_variables,
            expressions: Expressions::default(),
            relative: Mutex::new(HashMap::new()),
        }
    }

    /// `{% include name %}`: from `_includes/` (the site's, then its theme's).
    pub fn include(&self, name: &str) -> liquid_core::Result<Arc<Template>> {
        match self.parsed.template(&format!("include:{name}")) {
            Some(Source { parsed: Ok(t), .. }) => Ok(t.clone()),
            Some(Source { parsed: Err(d), .. }) => Err(Error::with_msg(d.to_string())),
            None => Err(Error::with_msg(format!(
                "could not find `{name}` in _includes/ (includes live in the site's _includes folder or its theme's)"
            ))),
        }
    }

    /// `{% include_relative path %}`: a file beside the one being rendered, inside the site.
    pub fn include_relative(&self, file: &Path, name: &str) -> liquid_core::Result<Arc<Template>> {
        let (real, rel) = crate::liquid::relative_file(&self.root, file, name)
            .map_err(|m| Error::with_msg(format!("include_relative: {m}")))?;
        let mut cache = self
            .relative
            .lock()
            .map_err(|_| Error::with_msg("include_relative cache poisoned"))?;
        if let Some(t) = cache.get(&real) {
            return Ok(t.clone());
        }
        let text = std::fs::read_to_string(&real)
            .map_err(|e| Error::with_msg(format!("include_relative: cannot read `{name}`: {e}")))?;
        let rel = rel.display().to_string();
        let t = Arc::new(
            self.parsed
                .parse(&text, &rel, 0)
                .map_err(|d| Error::with_msg(d.to_string()))?,
        );
        cache.insert(real, t.clone());
        Ok(t)
    }
}

/// The roots a render sees.
pub type Roots<'a> = Vec<(&'static str, &'a dyn ValueView)>;

/// Renders a document's body: parsed here (each body renders once), run with `roots`.
pub fn render_text(
    tools: &Arc<Tools>,
    text: &str,
    file: &Path,
    line_offset: usize,
    roots: Roots<'_>,
) -> Result<String, Diagnostic> {
    let rel = file
        .strip_prefix(&tools.root)
        .unwrap_or(file)
        .display()
        .to_string();
    let template = tools.parsed.parse(text, &rel, line_offset)?;
    let arenas = Arenas::default();
    let runtime = scope(roots, tools, file.to_path_buf(), &arenas);
    template
        .render(&runtime)
        .map_err(|e| diagnose(&e, &rel, line_offset, text))
}

/// Renders the layout `name` (its template file, e.g. `default.html`) with `roots`.
pub fn render_layout(
    tools: &Arc<Tools>,
    name: &str,
    file: &Path,
    roots: Roots<'_>,
) -> Result<String, Diagnostic> {
    let source = tools
        .parsed
        .template(&format!("layout:{name}"))
        .ok_or_else(|| Diagnostic::new(format!("_layouts/{name}"), "layout not loaded"))?;
    let template = source.parsed.as_ref().map_err(Clone::clone)?;
    let arenas = Arenas::default();
    let runtime = scope(roots, tools, file.to_path_buf(), &arenas);
    template.render(&runtime).map_err(|e| {
        let text = std::fs::read_to_string(tools.root.join(&source.rel)).unwrap_or_default();
        diagnose(&e, &source.rel, source.line_offset, &text)
    })
}
