//! The rendered site: every output file, in memory or as a source to copy, keyed by its
//! relative path. This is the builder's boundary value: written to disk by `write`, served
//! from memory by the preview server, packed into layers by the image writer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Diagnostic;

#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Vec<u8>),
    /// A static file, copied from the source when written.
    Copy(PathBuf),
    /// Already in the staging folder: `build` writes pages as they render and keeps only
    /// their names (see `write::Stream`). Never in a site rendered for memory.
    Written,
}

#[derive(Debug, Clone)]
pub struct OutputFile {
    pub body: Body,
    /// The source it came from (`_posts/…`, `assets/x.png`) or `(generated) feed`.
    pub origin: String,
}

impl OutputFile {
    pub fn bytes(&self) -> std::io::Result<Cow<'_, [u8]>> {
        match &self.body {
            Body::Bytes(b) => Ok(Cow::Borrowed(b)),
            Body::Copy(p) => std::fs::read(p).map(Cow::Owned),
            Body::Written => Err(std::io::Error::other(format!(
                "{} was written to disk by the build, not kept in memory",
                self.origin
            ))),
        }
    }
}

/// Counts for the build summary.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub posts: usize,
    pub pages: usize,
    pub static_files: usize,
}

#[derive(Debug, Clone, Default)]
pub struct RenderedSite {
    pub files: BTreeMap<String, OutputFile>,
    pub stats: Stats,
}

impl RenderedSite {
    /// Adds a file; two sources for one output path is an error naming both.
    pub fn insert(&mut self, path: String, file: OutputFile) -> Result<(), Diagnostic> {
        if let Some(existing) = self.files.get(&path) {
            return Err(duplicate(&path, &file.origin, &existing.origin));
        }
        self.files.insert(path, file);
        Ok(())
    }

    /// Adds a generated file unless the site has its own file at that path (the site wins).
    pub fn insert_generated(&mut self, path: &str, bytes: Vec<u8>, what: &str) {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| OutputFile {
                body: Body::Bytes(bytes),
                origin: format!("(generated) {what}"),
            });
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

pub fn duplicate(path: &str, a: &str, b: &str) -> Diagnostic {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    Diagnostic::new(
        second,
        format!("writes to /{path}, which {first} writes too"),
    )
    .at_line(1)
    .hint("give one of them another `permalink:` or file name")
}
