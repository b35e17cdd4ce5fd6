//! Which file holds a site's settings, and where a parse error in it is. The builder and
//! `deploy:` read the same file through [`find`], and report its mistakes alike.

use std::path::{Path, PathBuf};

use crate::{line_col, Diagnostic};

/// The site's configuration file, first found of `_config.yml`, `_config.yaml` and
/// `_config.toml`. One lookup for the builder and for `deploy:`, so both read the same file.
pub fn find(root: &Path) -> Option<PathBuf> {
    ["_config.yml", "_config.yaml", "_config.toml"]
        .iter()
        .map(|c| root.join(c))
        .find(|p| p.is_file())
}

/// Whether `path` is read as TOML (else YAML).
pub fn is_toml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

/// A TOML error in `text` (the contents of `path`) as file:line:column with a hint.
pub fn toml_diagnostic(path: &Path, text: &str, e: &toml::de::Error) -> Diagnostic {
    let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
    Diagnostic::new(path, format!("invalid TOML: {}", e.message()))
        .at(line, col)
        .hint("fix the syntax at this position; TOML strings need quotes")
}

/// A YAML error as a diagnostic; `line_offset` shifts it for YAML embedded in a file (front matter).
pub fn yaml_diagnostic(path: &Path, err: &serde_saphyr::Error, line_offset: usize) -> Diagnostic {
    let message = first_line(&err.to_string());
    let mut d = Diagnostic::new(path, format!("invalid YAML: {message}"))
        .hint("check indentation and quoting; a value with `:` or `#` needs quotes");
    if let Some(loc) = err.location() {
        d = d.at(loc.line() as usize + line_offset, loc.column() as usize);
    }
    d
}

/// The parser's first line, without the position it repeats (we report the file's own).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s);
    let re = regex::Regex::new(r"^(?:error: )?line \d+ column \d+: ").ok();
    re.map_or(line.to_string(), |re| re.replace(line, "").into_owned())
}
