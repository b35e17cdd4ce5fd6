//! The Liquid that Jekyll content uses: `{{ site.* }}`, `{{ page.* | filter }}`, `{% raw %}`,
//! `{% comment %}`, `{% highlight %}`, `{% post_url %}`, `{% link %}`, `{% include %}` and
//! `{% include_relative %}`. Logic tags (`for`, `if`, `assign`) belong in Tera layouts; any
//! tag we do not run is an error at its line, never printed as text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};
use tera::Context;

use crate::error::{line_col, Diagnostic};
use crate::filters::{Args, Filter};
use crate::highlight;
use crate::templates::Templates;

/// Everything Liquid in one document can refer to.
pub struct Env<'a> {
    pub templates: &'a Templates,
    pub filters: &'a HashMap<&'static str, Filter>,
    pub site: &'a Value,
    pub page: &'a Value,
    /// Post file stem (`2024-05-01-hello`) to URL, for `post_url`.
    pub posts: &'a HashMap<String, String>,
    /// Source path (`about.md`, `_posts/…`) to URL, for `link`.
    pub links: &'a HashMap<String, String>,
    pub baseurl: &'a str,
    pub root: &'a Path,
    /// The document: its file for messages, its folder for `include_relative`.
    pub file: &'a Path,
    pub line_offset: usize,
}

/// `src` with its Liquid run: output markup (`{{ … }}`) and the tags content may use.
pub fn render<'s>(src: &'s str, env: &Env) -> Result<Cow<'s, str>, Diagnostic> {
    if !src.contains("{{") && !src.contains("{%") {
        return Ok(Cow::Borrowed(src));
    }
    let mut out = String::with_capacity(src.len() + 256);
    let mut pos = 0;
    while let Some(rel) = next_open(&src[pos..]) {
        let start = pos + rel;
        out.push_str(&src[pos..start]);
        pos = if src[start..].starts_with("{{") {
            output(src, start, env, &mut out)?
        } else {
            tag(src, start, env, &mut out)?
        };
    }
    out.push_str(&src[pos..]);
    Ok(Cow::Owned(out))
}

/// The output markup at `start` (`{{ expression | filters }}`), printed into `out`; returns
/// the offset just past it.
fn output(src: &str, start: usize, env: &Env, out: &mut String) -> Result<usize, Diagnostic> {
    let end = src[start..].find("}}").ok_or_else(|| {
        error(
            env,
            src,
            start,
            "`{{` is never closed",
            "close it with `}}`, or wrap literal braces in {% raw %}…{% endraw %}",
        )
    })?;
    let expr = src[start + 2..start + end].trim_matches('-').trim();
    let value = eval_expr(expr, env, &Map::new())
        .map_err(|m| error(env, src, start, &m, "check the variable and filter names"))?;
    out.push_str(&crate::filters::text(&value));
    Ok(start + end + 2)
}

/// The tag at `start`, run into `out`; returns the offset just past it (past its closing
/// tag for blocks).
fn tag(src: &str, start: usize, env: &Env, out: &mut String) -> Result<usize, Diagnostic> {
    let (inner, after) = tag_at(src, start).ok_or_else(|| {
        error(
            env,
            src,
            start,
            "`{%` is never closed",
            "close the tag with `%}`",
        )
    })?;
    let (name, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
    let args = args.trim();
    Ok(match name {
        "raw" => {
            let (body_end, next) = closing(src, after, "endraw").ok_or_else(|| unclosed(env, src, start, "raw"))?;
            out.push_str(&src[after..body_end]);
            next
        }
        "comment" => closing(src, after, "endcomment").ok_or_else(|| unclosed(env, src, start, "comment"))?.1,
        "highlight" => {
            let (body_end, next) = closing(src, after, "endhighlight").ok_or_else(|| unclosed(env, src, start, "highlight"))?;
            let lang = args.split_whitespace().next();
            // Liquid runs inside the block first, as in Jekyll, so `{% raw %}` works there.
            let inner = render(&src[after..body_end], env)?;
            let code = inner.trim_start_matches(['\r', '\n']).trim_end();
            out.push_str("\n\n");
            out.push_str(&highlight::block(&format!("{code}\n"), lang));
            out.push_str("\n\n");
            next
        }
        "post_url" => {
            let stem = args.rsplit('/').next().unwrap_or(args).trim_end_matches(".md");
            let url = env.posts.get(stem).ok_or_else(|| {
                error(env, src, start, &format!("no post named `{args}` for post_url"), "use the post's file name without extension, e.g. {% post_url 2024-05-01-hello %}")
            })?;
            out.push_str(env.baseurl);
            out.push_str(url);
            after
        }
        "link" => {
            let path = args.trim_start_matches('/');
            let url = env.links.get(path).ok_or_else(|| {
                error(env, src, start, &format!("no file `{path}` for link"), "give the source path from the site root, e.g. {% link _posts/2024-05-01-hello.md %} or {% link about.md %}")
            })?;
            out.push_str(env.baseurl);
            out.push_str(url);
            after
        }
        "include" => {
            out.push_str(&include(args, env).map_err(|m| error(env, src, start, &m, "includes live in _includes/; pass parameters as key=\"value\""))?);
            after
        }
        "include_relative" => {
            out.push_str(&include_relative(args, env).map_err(|m| error(env, src, start, &m, "give a path relative to this file, inside the site"))?);
            after
        }
        "for" | "if" | "unless" | "case" | "assign" | "capture" | "increment" | "decrement" | "cycle" | "tablerow" => {
            return Err(error(
                env,
                src,
                start,
                &format!("Liquid tag `{name}` is not run inside posts and pages"),
                "move the logic into a Tera layout in _layouts/ (Tera has {% for %}, {% if %} and {% set %}), or wrap literal text in {% raw %}…{% endraw %}",
            ))
        }
        other => {
            return Err(error(
                env,
                src,
                start,
                &format!("unknown Liquid tag `{other}`"),
                "supported in content: raw, comment, highlight, post_url, link, include, include_relative; wrap literal text in {% raw %}…{% endraw %}",
            ))
        }
    })
}

fn next_open(s: &str) -> Option<usize> {
    let a = s.find("{{");
    let b = s.find("{%");
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The trimmed inside of the tag at `start` and the offset just past it.
fn tag_at(src: &str, start: usize) -> Option<(&str, usize)> {
    let end = src[start..].find("%}")?;
    let inner = src[start + 2..start + end].trim_matches('-').trim();
    Some((inner, start + end + 2))
}

/// Finds `{% end… %}` after `from`: (where the body ends, where the closing tag ends).
fn closing(src: &str, from: usize, end_name: &str) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(rel) = src[pos..].find("{%") {
        let start = pos + rel;
        let (inner, after) = tag_at(src, start)?;
        if inner == end_name {
            return Some((start, after));
        }
        pos = after;
    }
    None
}

fn error(env: &Env, src: &str, offset: usize, message: &str, hint: &str) -> Diagnostic {
    let (line, col) = line_col(src, offset);
    Diagnostic::new(env.file, message.to_string())
        .at(line + env.line_offset, col)
        .hint(hint.to_string())
}

fn unclosed(env: &Env, src: &str, offset: usize, name: &str) -> Diagnostic {
    error(
        env,
        src,
        offset,
        &format!("`{{% {name} %}}` is never closed"),
        &format!("add `{{% end{name} %}}`"),
    )
}

/// `{% include file.html key="value" other=page.title %}`: the include rendered by Tera with
/// `site`, `page` and `include` (the parameters).
fn include(args: &str, env: &Env) -> Result<String, String> {
    let mut words = split_outside_quotes(args, char::is_whitespace).into_iter();
    let name = words.next().ok_or("include needs a file name")?;
    if !env.templates.has_include(&name) {
        return Err(format!("no include named `{name}` in _includes/"));
    }
    let mut params = Map::new();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("include parameter `{word}` is not key=value"))?;
        params.insert(key.to_string(), operand(value, env, &Map::new())?);
    }
    let mut ctx = Context::new();
    ctx.insert("site", env.site);
    ctx.insert("page", env.page);
    ctx.insert("include", &params);
    env.templates
        .render_include(&name, &ctx)
        .map_err(|d| d.to_string())
}

fn include_relative(args: &str, env: &Env) -> Result<String, String> {
    let name = args
        .split_whitespace()
        .next()
        .ok_or("include_relative needs a file name")?;
    let (real, _) = relative_file(env.root, env.file, name)?;
    std::fs::read_to_string(&real).map_err(|e| format!("cannot read `{name}`: {e}"))
}

/// The file `include_relative name` names from `file`: its real path and its path from the
/// site root. A path that leaves the site (`..`, a symlink) is refused.
pub fn relative_file(
    root: &Path,
    file: &Path,
    name: &str,
) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let dir = file.parent().unwrap_or(root);
    let real = dir
        .join(name)
        .canonicalize()
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    match real.strip_prefix(&root) {
        Ok(rel) => {
            let rel = rel.to_path_buf();
            Ok((real, rel))
        }
        Err(_) => Err(format!("`{name}` is outside the site")),
    }
}

/// Evaluates `value | filter: arg, arg | filter`.
pub fn eval_expr(expr: &str, env: &Env, locals: &Map<String, Value>) -> Result<Value, String> {
    let mut parts = split_outside_quotes(expr, |c| c == '|').into_iter();
    let first = parts.next().unwrap_or_default();
    let mut value = operand(first.trim(), env, locals)?;
    for part in parts {
        let part = part.trim();
        let (name, raw_args) = part.split_once(':').unwrap_or((part, ""));
        let name = name.trim();
        let filter = env
            .filters
            .get(name)
            .ok_or_else(|| format!("unknown Liquid filter `{name}`"))?;
        let mut args = Args::new();
        for (i, raw) in split_outside_quotes(raw_args, |c| c == ',')
            .into_iter()
            .enumerate()
        {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let Some(param) = filter.positional.get(i) else {
                return Err(format!(
                    "filter `{name}` takes {} argument(s)",
                    filter.positional.len()
                ));
            };
            args.insert(param.to_string(), operand(raw, env, locals)?);
        }
        value = (filter.run)(&value, &args).map_err(|e| format!("filter `{name}`: {e}"))?;
    }
    Ok(value)
}

/// A literal or a variable path.
fn operand(raw: &str, env: &Env, locals: &Map<String, Value>) -> Result<Value, String> {
    let raw = raw.trim();
    if let Some(s) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(s) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Ok(Value::String(s.to_string()));
    }
    match raw {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "nil" | "null" | "" => return Ok(Value::Null),
        _ => {}
    }
    if let Ok(n) = raw.parse::<i64>() {
        return Ok(n.into());
    }
    if let Ok(f) = raw.parse::<f64>() {
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    Ok(lookup(raw, env, locals))
}

/// `site.data.team[0].name`; a missing key is nil, as in Liquid.
fn lookup(path: &str, env: &Env, locals: &Map<String, Value>) -> Value {
    let segments = path_segments(path);
    let mut iter = segments.iter();
    let Some(root) = iter.next() else {
        return Value::Null;
    };
    let mut current: &Value = match root.as_str() {
        "site" => env.site,
        "page" => env.page,
        other => match locals.get(other) {
            Some(v) => v,
            None => return Value::Null,
        },
    };
    let mut owned;
    for seg in iter {
        let next = match (current, seg.as_str()) {
            (Value::Array(a), "size") | (Value::Array(a), "length") => {
                owned = Value::from(a.len());
                &owned
            }
            (Value::String(s), "size") => {
                owned = Value::from(s.chars().count());
                &owned
            }
            (Value::Array(a), "first") => a.first().unwrap_or(&Value::Null),
            (Value::Array(a), "last") => a.last().unwrap_or(&Value::Null),
            (Value::Array(a), idx) => idx
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .unwrap_or(&Value::Null),
            (Value::Object(m), key) => m.get(key).unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
        current = next;
    }
    current.clone()
}

fn path_segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(rest[..b].to_string());
            }
            rest = &rest[b..];
            while let Some(inner) = rest.strip_prefix('[') {
                let Some(close) = inner.find(']') else { break };
                out.push(inner[..close].trim_matches(['"', '\'']).to_string());
                rest = &inner[close + 1..];
            }
        } else {
            out.push(rest.to_string());
        }
    }
    out
}

fn split_outside_quotes(s: &str, is_sep: impl Fn(char) -> bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                current.push(c);
            }
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                current.push(c);
            }
            None if is_sep(c) => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
            }
            None => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        assert_eq!(
            path_segments("site.data.team[0].name"),
            ["site", "data", "team", "0", "name"]
        );
        assert_eq!(path_segments("page[\"title\"]"), ["page", "title"]);
    }

    #[test]
    fn quoted_splits() {
        assert_eq!(
            split_outside_quotes("a | b: \"x|y\"", |c| c == '|'),
            ["a ", " b: \"x|y\""]
        );
    }
}
