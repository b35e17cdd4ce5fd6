//! `_config.yml`: Jekyll's keys with Jekyll's defaults, so an existing blog's config works as
//! it is. Keys Galley does not know are kept and reach templates as `site.*`.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value};

pub use galley_diagnostic::config_file::{find, is_toml, toml_diagnostic, yaml_diagnostic};

use crate::error::{Diagnostic, Result};

/// Files the author never wants published, as Jekyll excludes them by default.
const DEFAULT_EXCLUDES: &[&str] = &[
    "Gemfile",
    "Gemfile.lock",
    "node_modules",
    "vendor/bundle",
    "vendor/cache",
    "vendor/gems",
    "vendor/ruby",
    ".sass-cache",
    ".jekyll-cache",
    "gemfiles",
];

/// Left out of Galley's own sites (Jekyll copies them, so Jekyll sites keep them).
pub const GALLEY_EXCLUDES: &[&str] = &["README.md", "LICENSE"];

/// One `defaults:` entry: front matter applied to every document in a scope.
#[derive(Debug, Clone, Deserialize)]
pub struct DefaultsEntry {
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub values: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub path: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The config file as written; `Config::load` turns it into the settings the builder uses.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    title: Option<String>,
    description: Option<String>,
    url: Option<String>,
    baseurl: Option<String>,
    permalink: Option<String>,
    paginate: Option<usize>,
    paginate_path: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    defaults: Vec<DefaultsEntry>,
    excerpt_separator: Option<String>,
    #[serde(default)]
    future: bool,
    smart_punctuation: Option<bool>,
    highlight_theme: Option<String>,
    feed_limit: Option<usize>,
    template_engine: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Which language the site's layouts, includes and pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Jekyll's Liquid: the default, so a Jekyll site builds with no Galley key.
    #[default]
    Liquid,
    /// Tera, chosen with `template_engine: tera`.
    Tera,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Liquid => "liquid",
            Engine::Tera => "tera",
        }
    }
}

/// The site's settings, with defaults filled in.
#[derive(Debug, Clone)]
pub struct Config {
    pub title: String,
    pub description: String,
    /// Scheme and host, no trailing slash (`https://example.com`).
    pub url: String,
    /// Path prefix of the site, empty or starting with `/`, no trailing slash.
    pub baseurl: String,
    /// `baseurl` as the config writes it, for `site.baseurl` (Jekyll gives templates the
    /// value as written: `baseurl: /` stays `/`, which themes prefix to relative paths).
    pub baseurl_as_written: Option<String>,
    pub permalink: String,
    pub paginate: Option<usize>,
    pub paginate_path: String,
    pub timezone: Option<Tz>,
    pub exclude: Vec<String>,
    pub include: Vec<String>,
    pub defaults: Vec<DefaultsEntry>,
    pub excerpt_separator: String,
    pub future: bool,
    pub smart_punctuation: bool,
    pub highlight_theme: String,
    pub feed_limit: usize,
    /// `template_engine:` (`liquid`, the default, or `tera`).
    pub engine: Engine,
    /// Jekyll's `liquid: strict_variables: true`.
    pub strict_variables: bool,
    /// Jekyll's `liquid: strict_filters: true`: an unknown filter is an error instead of
    /// passing its input through (with a warning).
    pub strict_filters: bool,
    /// The site follows Jekyll's model: Liquid templates of its own (not Galley's built-in
    /// theme). Pages keep their names (`about.md` is `/about.html`), a permalink without an
    /// extension gets the page's (`/categories` is `categories.html`), and feeds, sitemaps
    /// and archives come only from the plugins the site lists. Set once sources are known.
    pub jekyll: bool,
    /// `collections:` (see `collections`).
    pub collections: Vec<crate::collections::CollectionSpec>,
    /// The installed gem theme, when `theme:` names one (see `gem_theme`).
    pub theme: Option<crate::gem_theme::Theme>,
    /// Everything else, `author` and `deploy` included, as written.
    pub extra: Map<String, Value>,
    /// Where the config came from, for messages.
    pub source: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_raw(RawConfig::default(), None)
    }
}

/// `over` merged into `base`: maps key by key, anything else replaced.
fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// A YAML config whose top level is a list (`- title: x`) is a common slip: say so, instead
/// of the parser's "expected mapping start".
fn not_a_list(path: &Path, text: &str) -> Result<()> {
    let first = text.lines().enumerate().find(|(_, l)| {
        !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---"
    });
    match first {
        Some((i, line)) if line.starts_with("- ") || line.trim() == "-" => Err(Diagnostic::new(
            path,
            "the config is a list; it must be a mapping of settings",
        )
        .at(i + 1, 1)
        .hint("write each setting as `key: value` at the start of a line, without a leading `- `")
        .into()),
        _ => Ok(()),
    }
}

/// `baseurl` is a path on the site's host: `/blog`, or nothing. `../..` or a full URL would
/// make every link point somewhere else.
fn validate_baseurl(path: &Path, text: &str, baseurl: &str) -> Result<()> {
    let bad = baseurl.contains("://")
        || baseurl.split('/').any(|s| s == ".." || s == ".")
        || baseurl.contains(['?', '#', '\\', ' ']);
    if !bad {
        return Ok(());
    }
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("baseurl"))
        .map_or(1, |i| i + 1);
    Err(Diagnostic::new(path, format!("`baseurl: {baseurl}` is not a path on the site's host"))
        .at_line(line)
        .hint("use the folder the site is served under, e.g. `baseurl: /blog`, or leave it empty; the host goes in `url:`")
        .into())
}

impl Config {
    /// Reads `_config.yml` (or `.yaml`, `.toml`) from the site root; a site without one gets
    /// the defaults.
    pub fn load(root: &Path) -> Result<Config> {
        let Some(path) = find(root) else {
            return Ok(Config::default());
        };
        let text = crate::error::read_text(&path)?;
        let raw: RawConfig = if is_toml(&path) {
            toml::from_str(&text).map_err(|e| toml_diagnostic(&path, &text, &e))?
        } else if text.trim().is_empty() {
            RawConfig::default()
        } else {
            not_a_list(&path, &text)?;
            serde_saphyr::from_str(&text).map_err(|e| yaml_diagnostic(&path, &e, 0))?
        };
        if let Some(engine) = raw
            .template_engine
            .as_deref()
            .filter(|e| !matches!(*e, "liquid" | "tera"))
        {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("template_engine"))
                .map_or(1, |i| i + 1);
            return Err(Diagnostic::new(
                &path,
                format!("`template_engine: {engine}` is not an engine Galley has"),
            )
            .at_line(line)
            .hint(
                "use `template_engine: liquid` (Jekyll's, the default) or `template_engine: tera`",
            )
            .into());
        }
        let config = Config::from_raw(raw, Some(path.clone()));
        config.validate(&path)?;
        validate_baseurl(&path, &text, &config.baseurl)?;
        Ok(config)
    }

    /// Jekyll's `--config a.yml,b.yml`: each file read in turn, later keys winning (maps
    /// merged key by key), instead of the site's own `_config.yml`.
    pub fn load_files(files: &[PathBuf]) -> Result<Config> {
        let mut merged = Value::Object(Map::new());
        for path in files {
            let text = crate::error::read_text(path)?;
            let value: Value = if is_toml(path) {
                toml::from_str(&text).map_err(|e| toml_diagnostic(path, &text, &e))?
            } else if text.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                not_a_list(path, &text)?;
                serde_saphyr::from_str(&text).map_err(|e| yaml_diagnostic(path, &e, 0))?
            };
            deep_merge(&mut merged, value);
        }
        let last = files.last().cloned().unwrap_or_default();
        let raw: RawConfig = serde_json::from_value(merged).map_err(|e| {
            Diagnostic::new(&last, format!("the merged config is not valid: {e}"))
                .hint("each --config file must be a map of settings, as _config.yml is")
        })?;
        if let Some(engine) = raw
            .template_engine
            .as_deref()
            .filter(|e| !matches!(*e, "liquid" | "tera"))
        {
            return Err(Diagnostic::new(
                &last,
                format!("`template_engine: {engine}` is not an engine Galley has"),
            )
            .hint(
                "use `template_engine: liquid` (Jekyll's, the default) or `template_engine: tera`",
            )
            .into());
        }
        let config = Config::from_raw(raw, Some(last.clone()));
        config.validate(&last)?;
        let text = crate::error::read_text(&last)?;
        validate_baseurl(&last, &text, &config.baseurl)?;
        Ok(config)
    }

    fn from_raw(raw: RawConfig, source: Option<PathBuf>) -> Config {
        let mut exclude: Vec<String> = DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect();
        exclude.extend(raw.exclude);
        Config {
            title: raw.title.unwrap_or_default(),
            description: raw.description.unwrap_or_default(),
            url: raw
                .url
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            baseurl: normalize_baseurl(raw.baseurl.as_deref().unwrap_or("")),
            baseurl_as_written: raw.baseurl.clone(),
            permalink: raw.permalink.unwrap_or_else(|| "date".to_string()),
            paginate: raw.paginate.filter(|n| *n > 0),
            paginate_path: raw
                .paginate_path
                .unwrap_or_else(|| "/page:num/".to_string()),
            timezone: None,
            exclude,
            include: raw.include,
            defaults: raw.defaults,
            excerpt_separator: raw.excerpt_separator.unwrap_or_else(|| "\n\n".to_string()),
            future: raw.future,
            smart_punctuation: raw.smart_punctuation.unwrap_or(true),
            highlight_theme: raw
                .highlight_theme
                .unwrap_or_else(|| "InspiredGitHub".to_string()),
            feed_limit: raw.feed_limit.unwrap_or(20),
            engine: match raw.template_engine.as_deref() {
                Some("tera") => Engine::Tera,
                _ => Engine::Liquid,
            },
            strict_variables: raw
                .extra
                .get("liquid")
                .and_then(|l| l.get("strict_variables"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            jekyll: false,
            theme: None,
            collections: crate::collections::from_config(&raw.extra),
            strict_filters: raw
                .extra
                .get("liquid")
                .and_then(|l| l.get("strict_filters"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            extra: {
                let mut extra = raw.extra;
                if let Some(tz) = raw.timezone {
                    extra.insert("timezone".into(), Value::String(tz));
                }
                extra
            },
            source,
        }
    }

    fn validate(&self, path: &Path) -> Result<()> {
        if !(self.url.is_empty()
            || self.url.starts_with("http://")
            || self.url.starts_with("https://"))
        {
            return Err(Diagnostic::new(
                path,
                format!("`url: {}` is not an absolute URL", self.url),
            )
            .hint("write the scheme and host, e.g. `url: https://blog.example.com`")
            .into());
        }
        if !self.paginate_path.contains(":num") {
            return Err(Diagnostic::new(path, "`paginate_path` must contain `:num`")
                .hint("e.g. `paginate_path: /page:num/`")
                .into());
        }
        Ok(())
    }

    /// Resolves `timezone:`; an unknown name is an error rather than a silent UTC.
    pub fn resolve_timezone(&mut self) -> Result<()> {
        let Some(Value::String(name)) = self.extra.get("timezone") else {
            return Ok(());
        };
        match name.parse::<Tz>() {
            Ok(tz) => {
                self.timezone = Some(tz);
                Ok(())
            }
            Err(_) => {
                let file = self.source.clone().unwrap_or_else(|| "_config.yml".into());
                let line = std::fs::read_to_string(&file)
                    .ok()
                    .and_then(|t| t.lines().position(|l| l.starts_with("timezone:")))
                    .map_or(1, |i| i + 1);
                Err(Diagnostic::new(file, format!("unknown timezone `{name}`"))
                    .at_line(line)
                    .hint("use an IANA name such as `Europe/Berlin` or `America/New_York`")
                    .into())
            }
        }
    }

    /// The zone Jekyll's `date_to_*` filters show dates in: a Jekyll site's `timezone:`, or
    /// UTC (Jekyll uses the machine's zone; Galley does not read it, so builds agree
    /// everywhere). Galley's own sites keep each date's offset.
    pub fn date_zone(&self) -> Option<Tz> {
        self.jekyll.then(|| self.timezone.unwrap_or(Tz::UTC))
    }

    /// The site's public root: url plus baseurl, without a trailing slash.
    pub fn site_root_url(&self) -> String {
        let url = if self.url.is_empty() {
            "http://localhost:4000"
        } else {
            &self.url
        };
        format!("{url}{}", self.baseurl)
    }

    /// The plugins that are on: those the site lists (`plugins:`, or `gems:` as older sites
    /// write it), those its gem theme depends on, and GitHub Pages' defaults when asked for.
    fn plugins_on(&self) -> impl Iterator<Item = &str> {
        let listed = ["plugins", "gems"]
            .into_iter()
            .filter_map(|k| self.extra.get(k))
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_str);
        let theme = self
            .theme
            .iter()
            .flat_map(|t| t.plugins.iter().map(String::as_str));
        let github = self
            .github_pages()
            .then_some(crate::jekyll::github_pages::DEFAULTS)
            .into_iter()
            .flatten()
            .copied();
        listed.chain(theme).chain(github)
    }

    /// The plugins that are on (see `plugins_on`), as names.
    pub fn plugins(&self) -> Vec<String> {
        self.plugins_on().map(str::to_string).collect()
    }

    /// The site's URL and path prefix, as the URL filters and plugins use them.
    pub fn url_base(&self) -> crate::filters::UrlBase {
        crate::filters::UrlBase {
            url: self.url.clone(),
            baseurl: self.baseurl.clone(),
        }
    }

    /// The config file (or `_config.yml` when the site has none) and the line of `key` in
    /// it, for messages about a setting.
    pub fn key_place(&self, key: &str) -> (PathBuf, usize) {
        let file = self.source.clone().unwrap_or_else(|| "_config.yml".into());
        let line = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| crate::document::key_line(&t, key))
            .unwrap_or(1);
        (file, line)
    }

    /// A `true`/`false` setting Jekyll reads from the config (`show_drafts`, `unpublished`).
    pub fn flag(&self, key: &str) -> bool {
        self.extra.get(key) == Some(&Value::Bool(true))
    }

    /// `keep_files:` (Jekyll's default: `.git` and `.svn`): what a rebuild keeps of the
    /// previous output when the new one has no file there.
    pub fn keep_files(&self) -> Vec<String> {
        match self.extra.get("keep_files").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            None => vec![".git".to_string(), ".svn".to_string()],
        }
    }

    /// `limit_posts: N`: only the N newest posts are built, as in Jekyll.
    pub fn limit_posts(&self) -> Option<usize> {
        self.extra
            .get("limit_posts")
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .map(|n| n as usize)
    }

    /// `github_pages: true`: GitHub Pages' default plugins are on, as on github.io.
    pub fn github_pages(&self) -> bool {
        self.extra.get("github_pages") == Some(&Value::Bool(true))
    }

    /// Whether `doc` is written out: everything but the documents of a collection without
    /// `output: true`.
    pub fn writes(&self, doc: &crate::document::Document) -> bool {
        match doc.collection {
            crate::document::Collection::Named(label) => self
                .collections
                .iter()
                .any(|c| c.label == label && c.output),
            _ => true,
        }
    }

    /// Whether the site lists `name` (or its theme depends on it).
    pub fn has_plugin(&self, name: &str) -> bool {
        self.plugins_on().any(|p| p == name)
    }

    pub fn to_site_value(&self) -> Map<String, Value> {
        let mut map = self.extra.clone();
        map.insert("title".into(), self.title.clone().into());
        map.insert("description".into(), self.description.clone().into());
        map.insert("url".into(), self.url.clone().into());
        let baseurl = self.baseurl_as_written.as_ref().unwrap_or(&self.baseurl);
        map.insert("baseurl".into(), baseurl.clone().into());
        map.insert("permalink".into(), self.permalink.clone().into());
        map.insert(
            "paginate".into(),
            self.paginate.map_or(Value::Null, |n| n.into()),
        );
        map.insert("paginate_path".into(), self.paginate_path.clone().into());
        map
    }
}

fn normalize_baseurl(raw: &str) -> String {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}
