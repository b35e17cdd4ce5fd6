//! `_data/`: YAML, JSON, TOML and CSV files exposed to templates as `site.data.<name>`;
//! folders nest (`_data/team/leads.yml` is `site.data.team.leads`).

use serde_json::{Map, Value};

use crate::config::yaml_diagnostic;
use crate::discover::{Role, Sources};
use crate::error::{io_error, line_col, Diagnostic, Diagnostics, Result};

pub fn load(sources: &Sources) -> Result<Map<String, Value>> {
    let mut root = Map::new();
    let mut problems = Diagnostics::default();
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

fn read(path: &std::path::Path, ext: &str) -> Result<Option<Value>, Diagnostic> {
    if !matches!(ext, "yml" | "yaml" | "json" | "toml" | "csv" | "tsv") {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, "read", &e))?;
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
