//! Jekyll's tags on top of Shopify's Liquid: `include` (with parameters and `{{ }}` in its
//! markup), `include_relative`, `highlight` (with `linenos`), `post_url` and `link`. Their
//! markup arrives encoded by `markup::protect` and is parsed here as Jekyll parses it.

use std::io::Write;
use std::sync::Arc;

use liquid_core::model::{ScalarCow, Value as LValue};
use liquid_core::{
    BlockReflection, Error, Language, Object, ParseBlock, ParseTag, Renderable, Result, Runtime,
    TagBlock, TagReflection, TagTokenIter, Template,
};

use super::markup;
use super::runtime::{file, tools};
use crate::{highlight, rouge_classes};

/// Registers Jekyll's tags and blocks, replacing Shopify's `include`.
pub fn register(language: &mut Language) {
    for tag in [
        JekyllTag::Include,
        JekyllTag::IncludeRelative,
        JekyllTag::PostUrl,
        JekyllTag::Link,
    ] {
        language
            .tags
            .register(tag.name().to_string(), Box::new(tag));
    }
    language
        .blocks
        .register("highlight".to_string(), Box::new(Highlight));
    language
        .blocks
        .register("for".to_string(), Box::new(ForAny));
    language
        .tags
        .register("assign".to_string(), Box::new(super::assign::AssignTag));
    use super::conditions::{Case, Conditional};
    for block in [Conditional::IF, Conditional::UNLESS] {
        language
            .blocks
            .register(block.start_tag().to_string(), Box::new(block));
    }
    language.blocks.register("case".to_string(), Box::new(Case));
}

/// jekyll-include-cache's tag, registered when the site lists the plugin.
pub fn include_cached() -> Box<dyn ParseTag> {
    Box::new(JekyllTag::IncludeCached)
}

/// The markup of a protected tag.
fn markup_of(arguments: &mut TagTokenIter<'_>, tag: &str) -> Result<String> {
    markup::read(arguments, tag, &format!("`{tag}` needs an argument"))
}

/// Markup that holds `{{ }}` is rendered first, as Jekyll does, then parsed.
#[derive(Debug)]
enum Markup {
    Fixed(String),
    Rendered(Template),
}

impl Markup {
    fn parse(text: String, language: &Language) -> Result<Markup> {
        if text.contains("{{") {
            let parsed = liquid_core::parser::parse(&text, language)?;
            Ok(Markup::Rendered(Template::new(parsed)))
        } else {
            Ok(Markup::Fixed(text))
        }
    }

    fn text(&self, runtime: &dyn Runtime) -> Result<String> {
        match self {
            Markup::Fixed(t) => Ok(t.clone()),
            Markup::Rendered(t) => t.render(runtime),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum JekyllTag {
    Include,
    /// jekyll-include-cache's `include_cached`: the same output as `include` (Galley parses
    /// each include once anyway).
    IncludeCached,
    IncludeRelative,
    PostUrl,
    Link,
}

impl JekyllTag {
    fn name(self) -> &'static str {
        match self {
            JekyllTag::Include => "include",
            JekyllTag::IncludeCached => "include_cached",
            JekyllTag::IncludeRelative => "include_relative",
            JekyllTag::PostUrl => "post_url",
            JekyllTag::Link => "link",
        }
    }
}

impl TagReflection for JekyllTag {
    fn tag(&self) -> &str {
        self.name()
    }
    fn description(&self) -> &str {
        "Jekyll's tag of this name"
    }
}

impl ParseTag for JekyllTag {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let text = markup_of(&mut arguments, self.name())?;
        Ok(Box::new(Tag {
            kind: *self,
            markup: Markup::parse(text, options)?,
        }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Debug)]
struct Tag {
    kind: JekyllTag,
    markup: Markup,
}

impl Renderable for Tag {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        self.run(writer, runtime).map_err(|e| {
            let source = match &self.markup {
                Markup::Fixed(t) => t.clone(),
                Markup::Rendered(_) => String::new(),
            };
            e.trace(format!("{{% {} {source} %}}", self.kind.name()))
        })
    }
}

impl Tag {
    fn run(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let markup = self.markup.text(runtime)?;
        let tools = tools(runtime)?;
        let out = match self.kind {
            JekyllTag::Include | JekyllTag::IncludeCached | JekyllTag::IncludeRelative => {
                let (name, params) = split_params(&markup, runtime)?;
                let template = if !matches!(self.kind, JekyllTag::IncludeRelative) {
                    tools.include(&name)?
                } else {
                    tools.include_relative(&file(runtime), &name)?
                };
                let mut out = Vec::new();
                if params.is_empty() {
                    template.render_to(&mut out, runtime)?;
                } else {
                    // `include` is set for the include's duration and then restored, as in
                    // Jekyll (a global, so that it is read leniently like every variable).
                    let before = runtime.set_global("include".into(), LValue::Object(params));
                    let rendered = template.render_to(&mut out, runtime);
                    runtime.set_global("include".into(), before.unwrap_or(LValue::Nil));
                    rendered?;
                }
                out
            }
            JekyllTag::PostUrl => {
                let name = markup.trim();
                let stem = name.rsplit('/').next().unwrap_or(name);
                let stem = stem
                    .strip_suffix(".md")
                    .or_else(|| stem.strip_suffix(".markdown"))
                    .unwrap_or(stem);
                let url = tools.posts.get(stem).ok_or_else(|| {
                    Error::with_msg(format!(
                        "post_url: no post named `{name}` (give the post's file name without its extension, e.g. 2024-05-01-hello)"
                    ))
                })?;
                format!("{}{url}", tools.base.baseurl).into_bytes()
            }
            JekyllTag::Link => {
                let path = markup.trim().trim_start_matches('/');
                let url = tools.links.get(path).ok_or_else(|| {
                    Error::with_msg(format!(
                        "link: no file `{path}` in the site (give its path from the site root, e.g. about.md)"
                    ))
                })?;
                format!("{}{url}", tools.base.baseurl).into_bytes()
            }
        };
        writer
            .write_all(&out)
            .map_err(|e| Error::with_msg(format!("writing output: {e}")))
    }
}

/// `file.html key="value" other=page.title`: the file name and the evaluated parameters
/// (quoted values as written, bare ones looked up as variables).
fn split_params(markup: &str, runtime: &dyn Runtime) -> Result<(String, Object)> {
    let markup = markup.trim();
    let (name, rest) = markup
        .split_once(char::is_whitespace)
        .unwrap_or((markup, ""));
    if name.is_empty() {
        return Err(Error::with_msg("include needs a file name"));
    }
    let mut params = Object::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or_else(|| {
            Error::with_msg(format!("include parameter `{rest}` is not key=value"))
        })?;
        let key = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let (value, remaining) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let end = after[1..].find(q).ok_or_else(|| {
                    Error::with_msg(format!("include parameter `{key}`: unclosed quote"))
                })?;
                (
                    LValue::scalar(after[1..1 + end].to_string()),
                    &after[end + 2..],
                )
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (lookup(&after[..end], runtime), &after[end..])
            }
        };
        params.insert(key.to_string().into(), value);
        rest = remaining.trim_start();
    }
    Ok((name.to_string(), params))
}

/// A bare parameter value: a number, or a variable path (`page.title`, `site.data.x[0]`)
/// read by Liquid's own variable grammar.
fn lookup(text: &str, runtime: &dyn Runtime) -> LValue {
    if let Ok(i) = text.parse::<i64>() {
        return LValue::scalar(i);
    }
    let Ok(variable) = liquid_core::parser::parse_variable(text) else {
        return LValue::Nil;
    };
    variable
        .try_evaluate(runtime)
        .and_then(|path| runtime.try_get(&path).map(|v| v.into_owned()))
        .unwrap_or(LValue::Nil)
}

/// `{% highlight lang [linenos] %}code{% endhighlight %}`: the body runs as Liquid first, as
/// in Jekyll, then is highlighted.
#[derive(Clone, Copy, Debug)]
struct Highlight;

impl BlockReflection for Highlight {
    fn start_tag(&self) -> &str {
        "highlight"
    }
    fn end_tag(&self) -> &str {
        "endhighlight"
    }
    fn description(&self) -> &str {
        "Jekyll's syntax-highlighted code block"
    }
}

impl ParseBlock for Highlight {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let markup = markup_of(&mut arguments, "highlight")?;
        let mut words = markup.split_whitespace();
        let lang = words
            .next()
            .ok_or_else(|| {
                Error::with_msg("highlight needs a language, e.g. {% highlight ruby %}")
            })?
            .to_string();
        let linenos = words.any(|w| w == "linenos" || w.starts_with("linenos="));
        let body = Template::new(block.parse_all(options)?);
        block.assert_empty();
        Ok(Box::new(Highlighted {
            lang,
            linenos,
            body: Arc::new(body),
        }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct Highlighted {
    lang: String,
    linenos: bool,
    body: Arc<Template>,
}

impl Renderable for Highlighted {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let code = self.body.render(runtime)?;
        let code = code
            .trim_start_matches(['\r', '\n'])
            .trim_end_matches(['\r', '\n']);
        // Rouge's table keeps the code's last newline; the plain form drops it.
        let inner = if self.linenos {
            let html = rouge_classes::highlighted(&format!("{code}\n"), &self.lang);
            numbered(&html, code.lines().count())
        } else {
            rouge_classes::highlighted(code, &self.lang)
        };
        let lang = highlight::escape(&self.lang);
        write!(
            writer,
            "<figure class=\"highlight\"><pre><code class=\"language-{lang}\" data-lang=\"{lang}\">{inner}</code></pre></figure>"
        )
        .map_err(|e| Error::with_msg(format!("writing output: {e}")))
    }
}

/// Jekyll's `linenos` layout: a table with the line numbers beside the code.
fn numbered(html: &str, lines: usize) -> String {
    let numbers: String = (1..=lines.max(1)).map(|n| format!("{n}\n")).collect();
    format!(
        "<table class=\"rouge-table\"><tbody><tr><td class=\"gutter gl\"><pre class=\"lineno\">{numbers}</pre></td><td class=\"code\"><pre>{html}</pre></td></tr></tbody></table>"
    )
}

/// Ruby's Liquid loops over a string as over a one-item list (minima writes
/// `{% for author in page.author %}` for one author or several) and over nil as over
/// nothing; the `liquid` crate refuses both. This `for` is Shopify's, given such a value as
/// a list.
#[derive(Clone, Copy, Debug)]
pub struct ForAny;

impl BlockReflection for ForAny {
    fn start_tag(&self) -> &str {
        "for"
    }
    fn end_tag(&self) -> &str {
        "endfor"
    }
    fn description(&self) -> &str {
        "Liquid's for loop, over strings and nil as Ruby's Liquid loops over them"
    }
}

impl ParseBlock for ForAny {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        block: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let inner = liquid_lib::stdlib::ForBlock.parse(arguments, block, options)?;
        Ok(Box::new(Loop { inner }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct Loop {
    inner: Box<dyn Renderable>,
}

impl Renderable for Loop {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let listify = Listify {
            inner: runtime,
            first: std::cell::Cell::new(true),
            pairs: std::cell::OnceCell::new(),
        };
        self.inner.render_to(writer, &listify)
    }
}

/// A runtime whose first lookup (the loop's collection, which the loop evaluates before
/// anything else) turns a string into a one-item list and nil into an empty one, and
/// gives a hash's `[key, value]` pairs as views of its entries: the `liquid` crate copies
/// each value, and `{% for tag in site.tags %}` would copy every post once per tag.
struct Listify<'r> {
    inner: &'r dyn Runtime,
    first: std::cell::Cell<bool>,
    pairs: std::cell::OnceCell<super::views::Pairs<'r>>,
}

impl<'r> Listify<'r> {
    fn adapt<'s>(&'s self, v: liquid_core::ValueCow<'r>) -> liquid_core::ValueCow<'s> {
        if !self.first.replace(false) {
            return v;
        }
        if let liquid_core::ValueCow::Borrowed(view) = v {
            if let Some(object) = view.as_object() {
                let pairs = self.pairs.get_or_init(|| super::views::Pairs::of(object));
                return liquid_core::ValueCow::Borrowed(pairs);
            }
        }
        let view = v.as_view();
        if view.is_nil() {
            return liquid_core::ValueCow::Owned(LValue::Array(Vec::new()));
        }
        let item = match view.as_scalar() {
            Some(s) if view.source().to_string().starts_with('"') => LValue::Scalar(s.into_owned()),
            _ => return v,
        };
        liquid_core::ValueCow::Owned(LValue::Array(vec![item]))
    }
}

impl<'r> Runtime for Listify<'r> {
    fn partials(&self) -> &dyn liquid_core::runtime::PartialStore {
        self.inner.partials()
    }
    fn name(&self) -> Option<liquid_core::model::KStringRef<'_>> {
        self.inner.name()
    }
    fn roots(&self) -> std::collections::BTreeSet<liquid_core::model::KStringCow<'_>> {
        self.inner.roots()
    }
    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<liquid_core::ValueCow<'_>> {
        let inner: &'r dyn Runtime = self.inner;
        inner.try_get(path).map(|v| self.adapt(v))
    }
    fn get(&self, path: &[ScalarCow<'_>]) -> Result<liquid_core::ValueCow<'_>> {
        let inner: &'r dyn Runtime = self.inner;
        inner.get(path).map(|v| self.adapt(v))
    }
    fn set_global(&self, name: liquid_core::model::KString, val: LValue) -> Option<LValue> {
        self.inner.set_global(name, val)
    }
    fn set_index(&self, name: liquid_core::model::KString, val: LValue) -> Option<LValue> {
        self.inner.set_index(name, val)
    }
    fn get_index<'a>(&'a self, name: &str) -> Option<liquid_core::ValueCow<'a>> {
        self.inner.get_index(name)
    }
    fn registers(&self) -> &liquid_core::runtime::Registers {
        self.inner.registers()
    }
}
