//! Errors of the image stage: each says what failed, where, and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("server binary {path}: {reason}\n  hint: build a static one with scripts/build-server and pass it with --server-binary (or GALLEY_SERVER_BINARY)")]
    ServerBinary { path: PathBuf, reason: String },
    #[error("{dir}: not an image written by `galley image build` ({reason})\n  hint: run `galley image build --out {dir}` first")]
    NotAnImage { dir: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl ImageError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

/// An error and its causes as one line, `outer: inner: innermost`, for people: the SDKs'
/// own context formatters append a `Debug` dump of nested structures.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = inner.source();
    }
    text
}
