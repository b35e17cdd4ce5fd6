//! Diagnostics: every problem the builder finds names a file, a line and a column where it
//! can, says what is wrong and what to do, so an author can fix it without reading our code.

use std::fmt;
use std::path::Path;

pub use galley_diagnostic::{line_col, Diagnostic};

/// Everything that went wrong in one build, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub diagnostics: Vec<Diagnostic>,
}

impl BuildError {
    /// Every problem is the machine's (permissions, disk full), none the sources'.
    pub fn is_io(&self) -> bool {
        !self.diagnostics.is_empty() && self.diagnostics.iter().all(|d| d.io)
    }

    pub fn one(diagnostic: Diagnostic) -> Self {
        BuildError {
            diagnostics: vec![diagnostic],
        }
    }

    /// Names every file as the author reaches it from where they ran Galley: the site folder
    /// joined with the file's path inside the site.
    pub fn under_site(mut self, root: &Path) -> Self {
        self.diagnostics = self
            .diagnostics
            .into_iter()
            .map(|d| d.under_site(root))
            .collect();
        self
    }
}

impl From<Diagnostic> for BuildError {
    fn from(d: Diagnostic) -> Self {
        BuildError::one(d)
    }
}

impl From<Vec<Diagnostic>> for BuildError {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        BuildError { diagnostics }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let n = self.diagnostics.len();
        if n > 1 {
            write!(f, "\n{n} errors")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildError {}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;

/// Collects diagnostics across a stage so that one run reports every problem at once.
#[derive(Debug, Default)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(ds);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok if nothing was collected, else every diagnostic sorted by file and position.
    pub fn into_result(mut self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.0.dedup();
        Err(BuildError {
            diagnostics: self.0,
        })
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

/// An I/O failure on a named file, with the OS's reason and what to do about that reason.
pub fn io_error(path: &Path, action: &str, err: &std::io::Error) -> Diagnostic {
    use std::io::ErrorKind;
    let hint = match err.kind() {
        ErrorKind::PermissionDenied => "check the permissions of the file and its folder",
        ErrorKind::NotFound => "check that the path exists (it may have been removed meanwhile)",
        ErrorKind::StorageFull => "free some disk space, then run again",
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only: choose a writable place",
        ErrorKind::IsADirectory => "a folder stands where a file is expected",
        _ if is_symlink_loop(err) => {
            "a symbolic link loops back on itself: point it at a real file"
        }
        _ => "check that the file exists and is readable by you",
    };
    let mut d = Diagnostic::new(path, format!("cannot {action}: {err}")).hint(hint);
    d.io = true;
    d
}

/// ELOOP: "too many levels of symbolic links".
pub fn is_symlink_loop(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}

/// A source file as text. Not UTF-8 is the author's to fix, so it is reported at the line
/// and column of the first bad byte.
pub fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, "read", &e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let text = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, column) = line_col(text, valid);
        Diagnostic::new(
            path,
            format!("not valid UTF-8 (byte 0x{:02x})", bytes[valid]),
        )
        .at(line, column)
        .hint("save the file as UTF-8 (most editors have an encoding setting)")
    })
}
