//! Jekyll's filters on top of Shopify's: the ones Galley already has for Tera (URL, date,
//! XML and array filters, written once over JSON in `crate::filters`) bridged in, and the
//! ones that need Liquid itself (`where_exp`, `find_exp`, `group_by_exp` run a Liquid
//! expression per item) or Jekyll's own semantics (`date`, `sort` with nil order).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use liquid_core::model::{KStringCow, KStringRef, State, Value as LValue, ValueView};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::runtime::StackFrame;
use liquid_core::{
    Error, Expression, Filter as LFilter, FilterReflection, Language, ParseFilter, Renderable,
    Result, Runtime, Template,
};
use serde_json::Value;

use super::engine::Parsed;
use super::json::{from_liquid, to_liquid};
use super::runtime::tools;
use crate::dates;
use crate::filters::{Args, Filter};

type Run = Arc<dyn Fn(&dyn ValueView, &[LValue], &dyn Runtime) -> Result<LValue> + Send + Sync>;

/// A filter: its name and what it does with the input and its evaluated arguments.
#[derive(Clone)]
pub(super) struct Jekyll {
    name: &'static str,
    run: Run,
}

/// Registers Jekyll's filters over Shopify's (Jekyll's win where both have a name).
pub fn register(language: &mut Language, shared: &[Filter]) {
    for f in shared.iter().filter(|f| f.for_tera) {
        let run = f.run.clone();
        let positional = f.positional;
        let name = f.name;
        let filter = Jekyll {
            name,
            run: Arc::new(move |input, args, _| {
                let mut a = Args::new();
                for (i, v) in args.iter().enumerate() {
                    let key = positional.get(i).ok_or_else(|| {
                        Error::with_msg(format!(
                            "filter `{name}` takes {} argument(s)",
                            positional.len()
                        ))
                    })?;
                    a.insert(key.to_string(), from_liquid(v));
                }
                let out = run(&from_liquid(input), &a)
                    .map_err(|e| Error::with_msg(format!("filter `{name}`: {e}")))?;
                Ok(to_liquid(&out))
            }),
        };
        language
            .filters
            .register(name.to_string(), Box::new(filter));
    }
    let own: Vec<Jekyll> = vec![
        native("date", date),
        native("where_exp", |i, a, r| select(i, a, r, Select::All)),
        native("find_exp", |i, a, r| select(i, a, r, Select::First)),
        native("find", find),
        native("group_by_exp", group_by_exp),
        native("sort", sort),
        native("sample", |i, _, _| {
            // Jekyll picks at random; Galley picks the first so builds stay reproducible.
            Ok(i.as_array()
                .and_then(|a| a.first())
                .map_or(LValue::Nil, |v| v.to_value()))
        }),
        native("smartify", |i, _, _| {
            Ok(LValue::scalar(smartify(&i.to_kstr())))
        }),
        native("scssify", |i, _, r| sass(i, false, r)),
        native("sassify", |i, _, r| sass(i, true, r)),
        native("default", default),
        native("map", map),
        // Ruby's CGI.escape: `+` for spaces.
        native("url_encode", |i, _, _| {
            Ok(LValue::scalar(crate::filters::percent_encode(
                &i.to_kstr(),
                true,
            )))
        }),
        // Ruby's `capitalize`: the first letter up, the rest down.
        native("capitalize", |i, _, _| {
            let text = i.to_kstr();
            let mut chars = text.chars();
            Ok(LValue::scalar(match chars.next() {
                Some(c) => c
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }))
        }),
        // Jekyll's inspect prints Ruby's form, escaped for HTML.
        native("inspect", |i, _, _| {
            Ok(LValue::scalar(crate::highlight::escape(&inspect(
                &from_liquid(i),
            ))))
        }),
    ];
    for f in own.into_iter().chain(super::numbers::filters()) {
        language.filters.register(f.name.to_string(), Box::new(f));
    }
    language
        .filters
        .register("slugify".to_string(), Box::new(liquid_lib::jekyll::Slugify));
    for (name, f) in [
        (
            "push",
            Box::new(liquid_lib::jekyll::Push) as Box<dyn ParseFilter>,
        ),
        ("pop", Box::new(liquid_lib::jekyll::Pop)),
        ("shift", Box::new(liquid_lib::jekyll::Shift)),
        ("unshift", Box::new(liquid_lib::jekyll::Unshift)),
    ] {
        language.filters.register(name.to_string(), f);
    }
}

pub(super) fn native(
    name: &'static str,
    run: impl Fn(&dyn ValueView, &[LValue], &dyn Runtime) -> Result<LValue> + Send + Sync + 'static,
) -> Jekyll {
    Jekyll {
        name,
        run: Arc::new(run),
    }
}

impl FilterReflection for Jekyll {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "Jekyll's filter of this name"
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Jekyll {
    fn parse(&self, arguments: FilterArguments) -> Result<Box<dyn LFilter>> {
        let mut args: Vec<Expression> = arguments.positional.collect();
        // Keyword arguments (`sort: "date", nil_order: "last"`) count in order of writing.
        args.extend(arguments.keyword.map(|(_, e)| e));
        Ok(Box::new(Call {
            filter: self.clone(),
            args,
        }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

/// A filter with its arguments, in a parsed template.
struct Call {
    filter: Jekyll,
    args: Vec<Expression>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.filter.name)
    }
}
impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.filter.name)
    }
}

impl LFilter for Call {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<LValue> {
        let args = self
            .args
            .iter()
            .map(|e| e.evaluate(runtime).map(|v| v.into_owned()))
            .collect::<Result<Vec<_>>>()?;
        (self.filter.run)(input, &args, runtime)
    }
}

/// Jekyll's `scssify` and `sassify`.
fn sass(input: &dyn ValueView, indented: bool, runtime: &dyn Runtime) -> Result<LValue> {
    let root = tools(runtime)?.root.clone();
    crate::sass::filter(&input.to_kstr(), indented, &root)
        .map(LValue::scalar)
        .map_err(|e| Error::with_msg(format!("Sass error: {e}")))
}

/// Ruby Liquid's `default`: the fallback for nil, false (unless `allow_false: true`) and
/// empty strings, lists and hashes.
fn default(input: &dyn ValueView, args: &[LValue], _: &dyn Runtime) -> Result<LValue> {
    let fallback = args.first().map_or(LValue::Nil, |v| v.to_value());
    let allow_false = args.get(1).is_some_and(|v| v.query_state(State::Truthy));
    let is_false = !allow_false && input.as_scalar().and_then(|s| s.to_bool()) == Some(false);
    let empty = input.is_nil()
        || is_false
        || input.query_state(State::Empty)
        || input.as_object().is_some_and(|o| o.size() == 0);
    Ok(if empty { fallback } else { input.to_value() })
}

/// Ruby Liquid's `map`: a hash counts as a list of one, nil as an empty list.
fn map(input: &dyn ValueView, args: &[LValue], _: &dyn Runtime) -> Result<LValue> {
    let key = arg(args, 0, "map", "a property name")?;
    let one = [input];
    let items: Vec<&dyn ValueView> = match input.as_array() {
        Some(a) => a.values().collect(),
        None if input.is_nil() => Vec::new(),
        None => one.to_vec(),
    };
    Ok(LValue::Array(
        items
            .into_iter()
            .map(|item| {
                item.as_object()
                    .and_then(|o| o.get(key.as_str()))
                    .map_or(LValue::Nil, |v| v.to_value())
            })
            .collect(),
    ))
}

/// `date: "%b %-d, %Y"` with Ruby's strftime on Jekyll's date forms; nil stays nil.
fn date(input: &dyn ValueView, args: &[LValue], _: &dyn Runtime) -> Result<LValue> {
    if input.is_nil() {
        return Ok(LValue::Nil);
    }
    let text = input.to_kstr();
    let parsed = match text.as_str() {
        "now" | "today" => Some(chrono::Utc::now().fixed_offset()),
        t => dates::parse(t, None).or_else(|| {
            t.parse::<i64>()
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|d| d.fixed_offset())
        }),
    };
    let Some(d) = parsed else {
        // Liquid prints what it cannot read as a date unchanged.
        return Ok(input.to_value());
    };
    let Some(format) = args.first().filter(|f| !f.is_nil()) else {
        return Ok(input.to_value());
    };
    let format = format.to_kstr().to_string();
    let mut out = String::new();
    write!(out, "{}", d.format(&format))
        .map_err(|_| Error::with_msg(format!("date: `{format}` is not a date format")))?;
    Ok(LValue::scalar(out))
}

/// A filter the site uses that neither Liquid nor Jekyll has: Jekyll's Liquid leaves the
/// input as it is (unless `strict_filters`), and so does this.
#[derive(Debug, Clone)]
pub struct PassThrough {
    name: String,
}

impl PassThrough {
    pub fn new(name: String) -> PassThrough {
        PassThrough { name }
    }
}

impl FilterReflection for PassThrough {
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        "an unknown filter: the input passes through unchanged"
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for PassThrough {
    fn parse(&self, _: FilterArguments) -> Result<Box<dyn LFilter>> {
        Ok(Box::new(self.clone()))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

impl fmt::Display for PassThrough {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl LFilter for PassThrough {
    fn evaluate(&self, input: &dyn ValueView, _: &dyn Runtime) -> Result<LValue> {
        Ok(input.to_value())
    }
}

/// One variable bound to one value, for running an expression per item (Liquid reads a
/// map of views as an object, as its own `for` does).
fn bind<'a>(name: &'a str, value: &'a dyn ValueView) -> HashMap<KStringRef<'a>, &'a dyn ValueView> {
    HashMap::from([(KStringRef::from_ref(name), value)])
}

/// Expressions parsed once per build, by their text.
#[derive(Default)]
pub struct Expressions(Mutex<HashMap<String, Arc<Template>>>);

impl Expressions {
    fn get(&self, source: String, parsed: &Parsed) -> Result<Arc<Template>> {
        let mut cache = self
            .0
            .lock()
            .map_err(|_| Error::with_msg("expression cache poisoned"))?;
        if let Some(t) = cache.get(&source) {
            return Ok(t.clone());
        }
        let template = Arc::new(parsed.parse_expression(&source)?);
        cache.insert(source, template.clone());
        Ok(template)
    }
}

/// The items of an array input (a hash counts as its values, as in Jekyll).
fn items(input: &dyn ValueView) -> Vec<&dyn ValueView> {
    if let Some(a) = input.as_array() {
        a.values().collect()
    } else if let Some(o) = input.as_object() {
        o.values().collect()
    } else {
        Vec::new()
    }
}

fn arg<'a>(args: &'a [LValue], i: usize, filter: &str, what: &str) -> Result<KStringCow<'a>> {
    args.get(i)
        .map(|v| v.to_kstr())
        .ok_or_else(|| Error::with_msg(format!("{filter} needs {what}")))
}

enum Select {
    All,
    First,
}

/// `where_exp: "item", "item.year > 2020"` and `find_exp`.
fn select(
    input: &dyn ValueView,
    args: &[LValue],
    runtime: &dyn Runtime,
    mode: Select,
) -> Result<LValue> {
    let var = arg(args, 0, "where_exp", "a variable name")?;
    let condition = arg(args, 1, "where_exp", "a condition")?;
    let tools = tools(runtime)?;
    let test = tools.expressions.get(
        format!("{{% if {condition} %}}1{{% endif %}}"),
        &tools.parsed,
    )?;
    let mut out = Vec::new();
    for item in items(input) {
        let frame = bind(&var, item);
        let scope = StackFrame::new(runtime, &frame);
        if test.render(&scope)? == "1" {
            if matches!(mode, Select::First) {
                return Ok(item.to_value());
            }
            out.push(item.to_value());
        }
    }
    Ok(match mode {
        Select::All => LValue::Array(out),
        Select::First => LValue::Nil,
    })
}

/// `find: "property", "value"`: the first item whose property equals the value.
fn find(input: &dyn ValueView, args: &[LValue], _: &dyn Runtime) -> Result<LValue> {
    let prop = arg(args, 0, "find", "a property")?;
    let want = args
        .get(1)
        .map(|v| v.to_kstr().to_string())
        .unwrap_or_default();
    Ok(items(input)
        .into_iter()
        .find(|item| {
            item.as_object()
                .and_then(|o| o.get(&prop))
                .is_some_and(|v| v.to_kstr() == want.as_str())
        })
        .map_or(LValue::Nil, |v| v.to_value()))
}

/// `group_by_exp: "item", "item.date | date: '%Y'"`.
fn group_by_exp(input: &dyn ValueView, args: &[LValue], runtime: &dyn Runtime) -> Result<LValue> {
    let var = arg(args, 0, "group_by_exp", "a variable name")?;
    let expr = arg(args, 1, "group_by_exp", "an expression")?;
    let tools = tools(runtime)?;
    let key = tools
        .expressions
        .get(format!("{{{{ {expr} }}}}"), &tools.parsed)?;
    let mut groups: Vec<(String, Vec<LValue>)> = Vec::new();
    for item in items(input) {
        let frame = bind(&var, item);
        let name = key.render(&StackFrame::new(runtime, &frame))?;
        match groups.iter_mut().find(|(k, _)| *k == name) {
            Some((_, list)) => list.push(item.to_value()),
            None => groups.push((name, vec![item.to_value()])),
        }
    }
    Ok(LValue::Array(
        groups
            .into_iter()
            .map(|(name, items)| {
                let mut o = liquid_core::Object::new();
                o.insert("name".into(), LValue::scalar(name));
                o.insert("items".into(), LValue::Array(items.clone()));
                o.insert("size".into(), LValue::scalar(items.len() as i64));
                LValue::Object(o)
            })
            .collect(),
    ))
}

/// Jekyll's `sort`: by the value itself, or by a property with nils `first` (default) or
/// `last`.
fn sort(input: &dyn ValueView, args: &[LValue], _: &dyn Runtime) -> Result<LValue> {
    if input.is_nil() {
        return Err(Error::with_msg("sort: cannot sort a null object"));
    }
    let prop = args
        .first()
        .filter(|p| !p.is_nil())
        .map(|p| p.to_kstr().to_string());
    let nils_last = args.get(1).is_some_and(|o| o.to_kstr() == "last");
    let mut keyed: Vec<(Value, LValue)> = items(input)
        .into_iter()
        .map(|item| {
            let key = match &prop {
                Some(p) => item
                    .as_object()
                    .and_then(|o| o.get(p))
                    .map_or(Value::Null, from_liquid),
                None => from_liquid(item),
            };
            (key, item.to_value())
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nils_last {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, true) => {
            if nils_last {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, false) => compare(a, b),
    });
    Ok(LValue::Array(keyed.into_iter().map(|(_, v)| v).collect()))
}

/// Numbers by value, anything else by its text.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => crate::filters::text(a).cmp(&crate::filters::text(b)),
    }
}

/// Ruby's `inspect` of a value, as Jekyll's `inspect` filter and printing a hash show it.
pub fn inspect(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inspect).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => inspect_map(m),
        other => other.to_string(),
    }
}

/// Ruby's `inspect` of a hash: `{"a"=>1}`.
pub fn inspect_map(m: &serde_json::Map<String, Value>) -> String {
    format!(
        "{{{}}}",
        m.iter()
            .map(|(k, v)| format!("{k:?}=>{}", inspect(v)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Typographic quotes, dashes, ellipses and guillemets, as Jekyll's `smartify` (kramdown's
/// SmartyPants parser and HTML output): tags pass through, entities become characters
/// (except the four HTML needs), and a bare `&`, `<` or `>` is escaped.
pub fn smartify(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut prev: Option<char> = None;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<' && !rest.starts_with("<<") {
            if let Some(tag) = html_tag(rest) {
                out.push_str(tag);
                rest = &rest[tag.len()..];
                continue;
            }
        }
        if c == '&' {
            if let Some(entity) = html_entity(rest) {
                let decoded = html_escape::decode_html_entities(entity);
                match decoded.as_ref() {
                    "&" | "<" | ">" | "\"" => out.push_str(entity),
                    d if d != entity => out.push_str(d),
                    _ => {
                        out.push_str("&amp;");
                        out.push_str(&entity[1..]);
                    }
                }
                prev = entity.chars().last();
                rest = &rest[entity.len()..];
                continue;
            }
        }
        let symbols: [(&str, &str); 7] = [
            ("---", "\u{2014}"),
            ("--", "\u{2013}"),
            ("...", "\u{2026}"),
            ("<< ", "\u{ab}\u{a0}"),
            (" >>", "\u{a0}\u{bb}"),
            ("<<", "\u{ab}"),
            (">>", "\u{bb}"),
        ];
        if let Some((from, to)) = symbols.iter().find(|(from, _)| rest.starts_with(from)) {
            out.push_str(to);
            prev = to.chars().last();
            rest = &rest[from.len()..];
            continue;
        }
        let opening =
            prev.is_none_or(|p| p.is_whitespace() || "([{\u{2014}\u{2013}\u{a0}".contains(p));
        match c {
            '"' => out.push(if opening { '\u{201c}' } else { '\u{201d}' }),
            '\'' => out.push(if opening { '\u{2018}' } else { '\u{2019}' }),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// An HTML tag at the start of `s` (`<b>`, `</p>`, `<!-- … -->`), as kramdown keeps them.
fn html_tag(s: &str) -> Option<&str> {
    let second = s[1..].chars().next()?;
    if !(second.is_ascii_alphabetic() || second == '/' || second == '!' || second == '?') {
        return None;
    }
    s.find('>').map(|end| &s[..=end])
}

/// A character reference at the start of `s` (`&copy;`, `&#8217;`, `&#x2014;`).
fn html_entity(s: &str) -> Option<&str> {
    let end = s.find(';')?;
    let body = &s[1..end];
    let valid = if let Some(num) = body.strip_prefix('#') {
        match num.strip_prefix(['x', 'X']) {
            Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
            None => !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()),
        }
    } else {
        body.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && body.chars().all(|c| c.is_ascii_alphanumeric())
    };
    valid.then(|| &s[..=end])
}
