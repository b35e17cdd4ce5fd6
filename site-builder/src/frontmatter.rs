//! Front matter: YAML between `---` lines or TOML between `+++` lines at the top of a file.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::yaml_diagnostic;
use crate::error::{line_col, Diagnostic};

/// A file split into its front matter and body.
#[derive(Debug)]
pub struct Split<'a> {
    /// `None` when the file has no front matter at all (not even an empty `---\n---`).
    pub front: Option<Map<String, Value>>,
    pub body: &'a str,
    /// Number of lines before the body, so body positions map back to file lines.
    pub body_line_offset: usize,
}

/// True when the file starts with a front matter fence; cheap, for classifying files.
pub fn starts_with_fence(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.starts_with(b"---\n")
        || head.starts_with(b"---\r\n")
        || head.starts_with(b"+++\n")
        || head.starts_with(b"+++\r\n")
        || head == b"---"
}

/// Splits and parses front matter. Errors carry the file's own line numbers.
pub fn split<'a>(path: &Path, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fence = if text.starts_with("---") {
        "---"
    } else if text.starts_with("+++") {
        "+++"
    } else {
        return Ok(no_front(text));
    };
    let Some(first_nl) = text.find('\n') else {
        return Ok(no_front(text));
    };
    if text[..first_nl].trim_end() != fence {
        return Ok(no_front(text));
    }
    let after = &text[first_nl + 1..];
    let closers: &[&str] = if fence == "---" {
        &["---", "..."]
    } else {
        &["+++"]
    };
    let mut offset = 0;
    let mut close = None;
    for line in after.split_inclusive('\n') {
        if closers.contains(&line.trim_end()) {
            close = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((fm_end, body_start)) = close else {
        return Err(Diagnostic::new(
            path,
            format!("front matter opened with `{fence}` is never closed"),
        )
        .at(1, 1)
        .hint(format!("add a line `{fence}` after the front matter")));
    };
    let fm = &after[..fm_end];
    let body = &after[body_start..];
    let body_line_offset = 2 + fm.matches('\n').count();
    let front = if fence == "---" {
        parse_yaml(path, fm)?
    } else {
        parse_toml(path, fm)?
    };
    Ok(Split {
        front: Some(front),
        body,
        body_line_offset,
    })
}

fn no_front(text: &str) -> Split<'_> {
    Split {
        front: None,
        body: text,
        body_line_offset: 0,
    }
}

fn parse_yaml(path: &Path, fm: &str) -> Result<Map<String, Value>, Diagnostic> {
    if fm.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_saphyr::from_str(fm).map_err(|e| yaml_diagnostic(path, &e, 1))?;
    as_map(path, value)
}

fn parse_toml(path: &Path, fm: &str) -> Result<Map<String, Value>, Diagnostic> {
    let value: Value = toml::from_str(fm).map_err(|e| {
        let (line, col) = line_col(fm, e.span().map_or(0, |s| s.start));
        Diagnostic::new(
            path,
            format!("invalid TOML front matter: {}", e.message().trim()),
        )
        .at(line + 1, col)
        .hint("TOML needs `key = value` with quoted strings")
    })?;
    as_map(path, value)
}

fn as_map(path: &Path, value: Value) -> Result<Map<String, Value>, Diagnostic> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(
            Diagnostic::new(path, "front matter must be a mapping of keys to values")
                .at(2, 1)
                .hint("write `key: value` lines between the `---` fences"),
        ),
    }
}
