//! `_data/`: YAML, JSON, TOML and CSV files exposed to templates as `site.data.<name>`;
//! folders nest (`_data/team/leads.yml` is `site.data.team.leads`).

use serde_json::{Map, Value};

use crate::config::yaml_diagnostic;
use crate::discover::{Role, Sources};
use crate::error::{line_col, Diagnostic, Diagnostics, Result};

pub fn load(sources: &Sources) -> Result<Map<String, Value>> {
    let mut root = Map::new();
    let mut problems = Diagnostics::default();
    let mut claims = Claims::default();
    for source in sources.of(Role::Data) {
        let rel = source.rel.trim_start_matches("_data/");
        let Some((path_part, ext)) = rel.rsplit_once('.') else {
            continue;
        };
        let value = match read(&source.abs, &ext.to_ascii_lowercase()) {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(d) => {
                problems.push(d);
                continue;
            }
        };
        if let Some(other) = claims.clash(path_part, &source.rel) {
            problems.push(
                Diagnostic::new(
                    &source.abs,
                    format!(
                        "`site.data.{}` is defined twice: here and by {other}",
                        path_part.replace('/', ".")
                    ),
                )
                .hint(
                    "rename the file or the folder: one of them would silently replace the other",
                ),
            );
            continue;
        }
        let mut keys: Vec<&str> = path_part.split('/').collect();
        let last = keys.pop().unwrap_or(path_part);
        let mut node = &mut root;
        for k in keys {
            let entry = node
                .entry(k.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(m) = entry else {
                unreachable!("made an object above")
            };
            node = m;
        }
        node.insert(last.to_string(), value);
    }
    problems.into_result()?;
    Ok(root)
}

/// Which source gave each `site.data` key: a file (`team.yml` gives `team`) or a folder
/// (`team/a.yml` makes `team` a folder). Two files with one stem, or a file beside a folder
/// of its name, would overwrite each other.
#[derive(Default)]
struct Claims {
    files: std::collections::HashMap<String, String>,
    folders: std::collections::HashMap<String, String>,
}

impl Claims {
    /// Records `key` (`team/leads`) for `rel`; returns the source it clashes with, if any.
    fn clash(&mut self, key: &str, rel: &str) -> Option<String> {
        if let Some(other) = self.files.get(key).or_else(|| self.folders.get(key)) {
            return Some(other.clone());
        }
        let mut prefix = key;
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            if let Some(other) = self.files.get(parent) {
                return Some(other.clone());
            }
            prefix = parent;
        }
        self.files.insert(key.to_string(), rel.to_string());
        let mut prefix = key;
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            self.folders
                .entry(parent.to_string())
                .or_insert_with(|| rel.to_string());
            prefix = parent;
        }
        None
    }
}

fn read(path: &std::path::Path, ext: &str) -> Result<Option<Value>, Diagnostic> {
    if !matches!(ext, "yml" | "yaml" | "json" | "toml" | "csv" | "tsv") {
        return Ok(None);
    }
    let text = crate::error::read_text(path)?;
    let value = match ext {
        "yml" | "yaml" => {
            if text.trim().is_empty() {
                Value::Null
            } else {
                serde_saphyr::from_str(&text).map_err(|e| yaml_diagnostic(path, &e, 0))?
            }
        }
        "json" => serde_json::from_str(&text).map_err(|e| {
            Diagnostic::new(path, format!("invalid JSON: {e}"))
                .at(e.line(), e.column())
                .hint("check for a missing comma or quote")
        })?,
        "toml" => toml::from_str(&text).map_err(|e| {
            let (line, col) = line_col(&text, e.span().map_or(0, |s| s.start));
            Diagnostic::new(path, format!("invalid TOML: {}", e.message())).at(line, col)
        })?,
        _ => read_table(path, &text, if ext == "tsv" { b'\t' } else { b',' })?,
    };
    Ok(Some(value))
}

/// CSV and TSV as a list of rows keyed by the header row, as Jekyll does.
fn read_table(path: &std::path::Path, text: &str, delimiter: u8) -> Result<Value, Diagnostic> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Diagnostic::new(path, format!("invalid CSV header: {e}")).at_line(1))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(1, |p| p.line() as usize);
            Diagnostic::new(path, format!("invalid CSV: {e}"))
                .at_line(line)
                .hint("every row needs as many fields as the header row")
        })?;
        let row: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_beside_a_folder_of_its_name_and_two_files_of_one_stem_clash() {
        let mut c = Claims::default();
        assert_eq!(c.clash("team/leads", "_data/team/leads.yml"), None);
        assert_eq!(
            c.clash("team", "_data/team.yml").as_deref(),
            Some("_data/team/leads.yml")
        );
        assert_eq!(c.clash("links", "_data/links.csv"), None);
        assert_eq!(
            c.clash("links", "_data/links.json").as_deref(),
            Some("_data/links.csv")
        );
        assert_eq!(
            c.clash("links/x", "_data/links/x.yml").as_deref(),
            Some("_data/links.csv")
        );
        assert_eq!(c.clash("team/other", "_data/team/other.yml"), None);
    }
}
