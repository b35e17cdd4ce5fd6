//! Jekyll's collections: `collections:` in the config names folders `_<label>/` whose files
//! with front matter are documents, listed as `site.<label>` and written out (at the
//! collection's `permalink`, `/:collection/:path:output_ext` by default) only when the
//! collection says `output: true`. `site.collections` and `site.documents` list them all.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

/// One collection as the config declares it (`posts` is Galley's own and not listed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionSpec {
    pub label: &'static str,
    pub output: bool,
    pub permalink: Option<String>,
    /// A front matter key to order the documents by (then by path), as `sort_by:` says.
    pub sort_by: Option<String>,
}

impl CollectionSpec {
    /// The folder its documents live in.
    pub fn folder(&self) -> String {
        format!("_{}", self.label)
    }

    /// The URL pattern of its documents.
    pub fn pattern(&self) -> &str {
        self.permalink
            .as_deref()
            .unwrap_or("/:collection/:path:output_ext")
    }
}

/// A label as a `&'static str`, kept once per process: documents carry their collection's
/// name by copy, and the handful of labels a site declares live as long as the program.
fn intern(label: &str) -> &'static str {
    static LABELS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| Mutex::new(HashSet::new()));
    let Ok(mut labels) = labels.lock() else {
        return "documents";
    };
    if let Some(known) = labels.get(label) {
        return known;
    }
    let leaked: &'static str = Box::leak(label.to_string().into_boxed_str());
    labels.insert(leaked);
    leaked
}

/// `collections:` as a list of labels or a map of label to settings.
pub fn from_config(extra: &Map<String, Value>) -> Vec<CollectionSpec> {
    let spec = |label: &str, settings: Option<&Value>| {
        let get = |k: &str| settings.and_then(|s| s.get(k));
        CollectionSpec {
            label: intern(label),
            output: get("output").and_then(Value::as_bool).unwrap_or(false),
            permalink: get("permalink").and_then(Value::as_str).map(str::to_string),
            sort_by: get("sort_by").and_then(Value::as_str).map(str::to_string),
        }
    };
    let mut out: Vec<CollectionSpec> = match extra.get("collections") {
        Some(Value::Array(labels)) => labels
            .iter()
            .filter_map(Value::as_str)
            .map(|l| spec(l, None))
            .collect(),
        Some(Value::Object(map)) => map.iter().map(|(l, s)| spec(l, Some(s))).collect(),
        _ => Vec::new(),
    };
    out.retain(|c| c.label != "posts" && !c.label.is_empty() && !c.label.contains('/'));
    out
}

/// The collection a source path (`_docs/intro.md`) belongs to.
pub fn of_path<'a>(specs: &'a [CollectionSpec], rel: &str) -> Option<&'a CollectionSpec> {
    let top = rel.split('/').next()?;
    specs
        .iter()
        .find(|c| top.strip_prefix('_') == Some(c.label))
}

/// `site.collections` entries: each collection's label, settings and documents.
pub fn site_collections(
    specs: &[CollectionSpec],
    posts: &[Value],
    docs_of: impl Fn(&str) -> Vec<Value>,
) -> Value {
    let entry = |label: &str, output: bool, permalink: Option<&str>, docs: Vec<Value>| {
        let mut m = Map::new();
        m.insert("label".into(), label.into());
        m.insert("output".into(), output.into());
        m.insert(
            "permalink".into(),
            permalink.map_or(Value::Null, Value::from),
        );
        m.insert("relative_directory".into(), format!("_{label}").into());
        m.insert("directory".into(), format!("_{label}").into());
        m.insert("files".into(), Value::Array(Vec::new()));
        m.insert("docs".into(), Value::Array(docs));
        Value::Object(m)
    };
    let mut out = vec![("posts", entry("posts", true, None, posts.to_vec()))];
    for c in specs {
        let docs = docs_of(c.label);
        out.push((
            c.label,
            entry(c.label, c.output, c.permalink.as_deref(), docs),
        ));
    }
    // Jekyll lists them by label.
    out.sort_by_key(|(label, _)| *label);
    Value::Array(out.into_iter().map(|(_, v)| v).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_maps_declare_collections() {
        let list: Map<String, Value> =
            serde_json::from_str(r#"{"collections": ["docs", "posts"]}"#).expect("json");
        let specs = from_config(&list);
        assert_eq!(specs.len(), 1);
        assert_eq!((specs[0].label, specs[0].output), ("docs", false));
        let map: Map<String, Value> = serde_json::from_str(
            r#"{"collections": {"guides": {"output": true, "permalink": "/g/:path/", "sort_by": "order"}}}"#,
        )
        .expect("json");
        let specs = from_config(&map);
        assert_eq!(specs[0].label, "guides");
        assert!(specs[0].output);
        assert_eq!(specs[0].pattern(), "/g/:path/");
        assert_eq!(specs[0].sort_by.as_deref(), Some("order"));
        assert_eq!(
            of_path(&specs, "_guides/a/b.md").map(|c| c.label),
            Some("guides")
        );
        assert!(of_path(&specs, "guides/a.md").is_none());
    }
}
