//! Finding the site's sources and sorting them by role, the way Jekyll reads a site:
//! `_posts`, `_drafts`, `_layouts`, `_includes`, `_data`, `_sass`, pages, static files.

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::Config;
use crate::error::{io_error, Diagnostic, Diagnostics, Result};
use crate::frontmatter::starts_with_fence;

/// What a source file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Post,
    Draft,
    /// A file with front matter outside the special folders: rendered.
    Page,
    Layout,
    Include,
    Data,
    /// Copied as it is.
    Static,
}

/// A source file: where it is and what it is for.
#[derive(Debug, Clone)]
pub struct Source {
    /// Relative to the site root, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    pub role: Role,
}

/// Every source of the site, sorted by relative path so builds are deterministic.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<Source>,
}

impl Sources {
    pub fn of(&self, role: Role) -> impl Iterator<Item = &Source> {
        self.files.iter().filter(move |s| s.role == role)
    }
}

/// Walks `root`, skipping the destination and anything excluded.
pub fn discover(root: &Path, config: &Config, destination: Option<&Path>) -> Result<Sources> {
    let excludes = glob_set(&config.exclude, config)?;
    let dest = destination.and_then(|d| d.canonicalize().ok());
    let mut files = Vec::new();
    let mut problems = Diagnostics::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || walks_into(root, e, config, &excludes, dest.as_deref())
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                problems.push(Diagnostic::new(path, format!("cannot read: {e}")));
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        if entry.file_type().is_symlink() {
            if let Some(problem) = symlink_problem(root, entry.path()) {
                problems.push(problem);
                continue;
            }
        }
        match source(root, entry.path(), config) {
            Ok(Some(source)) => files.push(source),
            Ok(None) => {}
            Err(d) => problems.push(d),
        }
    }
    if let Some(theme) = &config.theme {
        add_theme_files(&theme.dir, &mut files, &mut problems);
    }
    problems.into_result()?;
    Ok(Sources { files })
}

/// Whether the walk takes in this entry: not excluded, not hidden, not a build's output
/// and not the destination.
fn walks_into(
    root: &Path,
    e: &walkdir::DirEntry,
    config: &Config,
    excludes: &GlobSet,
    destination: Option<&Path>,
) -> bool {
    let rel = relative(root, e.path());
    if excludes.is_match(&rel) {
        return false;
    }
    if e.file_type().is_dir() && e.path().join(galley_atomic::MARKER).is_file() {
        // Some build's output, not sources.
        return false;
    }
    if let Some(dest) = destination {
        if e.file_type().is_dir() && e.path().canonicalize().is_ok_and(|p| p == dest) {
            return false;
        }
    }
    !is_hidden(e.file_name().to_string_lossy().as_ref(), &rel, config)
}

/// A file as a source: its role by path, else by whether it has front matter. `None` for
/// a file the site does not publish (another file of a collection that does not output).
fn source(root: &Path, path: &Path, config: &Config) -> Result<Option<Source>, Diagnostic> {
    let rel = relative(root, path);
    let role = match role_by_path(&rel) {
        Some(role) => role,
        None => match has_front_matter(path)? {
            true => Role::Page,
            false
                if crate::jekyll::github_pages::is_page_without_front_matter(
                    config, &rel, path,
                ) =>
            {
                Role::Page
            }
            false => Role::Static,
        },
    };
    let mut rel = rel;
    if role == Role::Static {
        if let Some(spec) = crate::collections::of_path(&config.collections, &rel) {
            // A collection's other files are copied only when it outputs, under its
            // name without the underscore, as Jekyll does.
            if !spec.output {
                return Ok(None);
            }
            rel = rel[1..].to_string();
        }
    }
    Ok(Some(Source {
        rel,
        abs: path.to_path_buf(),
        role,
    }))
}

/// The gem theme's files that the site does not have at the same path (a site file
/// overrides the theme's, as in Jekyll), in path order among the site's.
fn add_theme_files(theme: &Path, files: &mut Vec<Source>, problems: &mut Diagnostics) {
    let site: std::collections::HashSet<String> = files.iter().map(|f| f.rel.clone()).collect();
    for folder in crate::gem_theme::FOLDERS {
        let walker = walkdir::WalkDir::new(theme.join(folder))
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker.into_iter().flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = relative(theme, entry.path());
            if site.contains(&rel) {
                continue;
            }
            let role = match role_by_path(&rel) {
                Some(role) => role,
                None => match has_front_matter(entry.path()) {
                    Ok(true) => Role::Page,
                    Ok(false) => Role::Static,
                    Err(d) => {
                        problems.push(d);
                        continue;
                    }
                },
            };
            files.push(Source {
                rel,
                abs: entry.path().to_path_buf(),
                role,
            });
        }
    }
    files.sort_by(|a, b| a.rel.split('/').cmp(b.rel.split('/')));
}

/// The site's top-level folders that Galley would read sources from, whatever the build's
/// destination: no output may be written into one of them. A folder holding Galley's output
/// marker is an output, not sources.
pub fn source_folders(root: &Path, config: &Config) -> Result<Vec<PathBuf>> {
    let excludes = glob_set(&config.exclude, config)?;
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !excludes.is_match(&name) && !is_hidden(&name, &name, config)
        })
        .map(|e| e.path())
        .filter(|dir| !dir.join(galley_atomic::MARKER).exists() && holds_a_file(dir))
        .collect();
    out.sort();
    Ok(out)
}

fn holds_a_file(dir: &Path) -> bool {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(std::result::Result::ok)
        .any(|e| !e.file_type().is_dir())
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    out
}

/// Names starting with `_` or `.` are the site's machinery, not content, unless `include:`d.
/// The special `_` folders are let through here and given their role later.
fn is_hidden(name: &str, rel: &str, config: &Config) -> bool {
    if !(name.starts_with('_') || name.starts_with('.')) {
        return false;
    }
    if config
        .include
        .iter()
        .any(|i| i.trim_matches('/') == name || i.trim_matches('/') == rel)
    {
        return false;
    }
    if rel == name {
        let collection = config
            .collections
            .iter()
            .any(|c| name.strip_prefix('_') == Some(c.label));
        return !collection
            && !matches!(
                name,
                "_posts" | "_drafts" | "_layouts" | "_includes" | "_data" | "_sass"
            );
    }
    // `category/_posts` and `category/_drafts` hold posts too.
    !matches!(name, "_posts" | "_drafts")
}

fn role_by_path(rel: &str) -> Option<Role> {
    let top = rel.split('/').next().unwrap_or("");
    match top {
        "_layouts" => return Some(Role::Layout),
        "_includes" => return Some(Role::Include),
        "_data" => return Some(Role::Data),
        // Sass partials are read through the load path, never output on their own.
        "_sass" => return Some(Role::Include),
        _ => {}
    }
    let segments: Vec<&str> = rel.split('/').collect();
    let dirs = &segments[..segments.len().saturating_sub(1)];
    if dirs.contains(&"_posts") {
        return Some(Role::Post);
    }
    if dirs.contains(&"_drafts") {
        return Some(Role::Draft);
    }
    None
}

fn has_front_matter(path: &Path) -> Result<bool, Diagnostic> {
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, "open", &e))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(io_error(path, "read", &e)),
        }
    }
    Ok(starts_with_fence(&head[..n]))
}

/// A link Galley will not read, and why: it loops, leads outside the site, or names a
/// folder (links to folders are not followed: one pointing back up would never end).
fn symlink_problem(root: &Path, path: &Path) -> Option<Diagnostic> {
    let target = match path.canonicalize() {
        Ok(t) => t,
        Err(e) if crate::error::is_symlink_loop(&e) => {
            return Some(
                Diagnostic::new(path, "symbolic link loops back on itself")
                    .hint("point the link at a real file, or remove it"),
            )
        }
        Err(e) => {
            return Some(
                Diagnostic::new(path, format!("symbolic link leads nowhere: {e}"))
                    .hint("point the link at an existing file, or remove it"),
            )
        }
    };
    let inside = root.canonicalize().is_ok_and(|r| target.starts_with(r));
    if !inside {
        return Some(
            Diagnostic::new(path, "symlink points outside the site")
                .hint("copy the file into the site instead of linking to it"),
        );
    }
    if target.is_dir() {
        return Some(
            Diagnostic::new(
                path,
                "symbolic link to a folder; Galley follows links to files only",
            )
            .hint("replace the link with the folder itself, or link the files one by one"),
        );
    }
    None
}

/// `exclude:` entries match a path and everything below it; globs are allowed.
fn glob_set(patterns: &[String], config: &Config) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_matches('/');
        for pattern in [p.to_string(), format!("{p}/**")] {
            let glob = Glob::new(&pattern).map_err(|e| {
                Diagnostic::new(
                    config
                        .source
                        .clone()
                        .unwrap_or_else(|| "_config.yml".into()),
                    format!("invalid `exclude` pattern `{p}`: {e}"),
                )
            })?;
            builder.add(glob);
        }
    }
    builder.build().map_err(|e| {
        Diagnostic::new(
            config
                .source
                .clone()
                .unwrap_or_else(|| "_config.yml".into()),
            format!("invalid `exclude` patterns: {e}"),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_path() {
        assert_eq!(role_by_path("_posts/2024-01-01-a.md"), Some(Role::Post));
        assert_eq!(
            role_by_path("_posts/rust/2024-01-01-a.md"),
            Some(Role::Post)
        );
        assert_eq!(
            role_by_path("blog/_posts/2024-01-01-a.md"),
            Some(Role::Post)
        );
        assert_eq!(role_by_path("_drafts/a.md"), Some(Role::Draft));
        assert_eq!(role_by_path("_layouts/post.html"), Some(Role::Layout));
        assert_eq!(role_by_path("about.md"), None);
    }
}
