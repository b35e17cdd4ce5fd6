//! A problem in a source file, placed where the author can find it: the file, the line and
//! the column, what is wrong and what to do. The builder reports the site's problems this
//! way, and the deployment reads `deploy:` from the same config file, so both share it
//! ([`config_file`]: which file holds a site's settings, and where a parse error in it is).

pub mod config_file;

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in the site's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file at fault, relative to the site root where possible.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    pub message: String,
    /// What the author can do about it.
    pub hint: Option<String>,
    /// The machine failed (a read or write the OS refused), not the site's sources.
    pub io: bool,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            hint: None,
            io: false,
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line.max(1));
        self.column = Some(column.max(1));
        self
    }

    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line.max(1));
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Shifts the position by `lines`, for errors found in a slice of a file (front matter).
    pub fn offset_lines(mut self, lines: usize) -> Self {
        if let Some(line) = self.line.as_mut() {
            *line += lines;
        }
        self
    }

    /// Reports the file relative to `root`, which is how authors think of their site.
    pub fn relative_to(mut self, root: &Path) -> Self {
        if let Ok(rel) = self.file.strip_prefix(root) {
            self.file = rel.to_path_buf();
        }
        self
    }
}

impl Diagnostic {
    /// The file as the author reaches it from where they ran Galley (see
    /// `BuildError::under_site`).
    pub fn under_site(mut self, root: &Path) -> Self {
        let generated = self.file.to_string_lossy().starts_with('(');
        if self.file.is_relative() && !generated && !self.file.starts_with(root) {
            self.file = root.join(&self.file);
        }
        self
    }

    /// `file:line:column`, as far as known.
    pub fn place(&self) -> String {
        let mut place = self.file.display().to_string();
        if let Some(line) = self.line {
            place.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                place.push_str(&format!(":{column}"));
            }
        }
        place
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.place(), self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
