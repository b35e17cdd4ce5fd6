//! Jekyll's `theme: NAME`: a theme installed as a Ruby gem on this machine (RubyGems' and
//! Debian's gem folders; Debian packs minima as `jekyll-theme-minima`). Its `_layouts`,
//! `_includes`, `_sass`, `_data` and `assets` join the site's sources, and a site file at
//! the same path wins, as in Jekyll. Galley reads the gem's files; it runs no Ruby.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::Config;
use crate::error::Diagnostic;

/// The theme folders Jekyll reads.
pub const FOLDERS: &[&str] = &["_layouts", "_includes", "_sass", "_data", "assets"];

/// Gem folders every build looks in (the caller adds `GEM_HOME`, `GEM_PATH` and the user's
/// own gem folders through `BuildOptions::gem_dirs`). A `*` is one folder level (a Ruby
/// version).
const SYSTEM_GEM_DIRS: &[&str] = &[
    "/usr/share/rubygems-integration/all/gems",
    "/usr/share/rubygems-integration/*/gems",
    "/var/lib/gems/*/gems",
    "/usr/lib/ruby/gems/*/gems",
    "/usr/local/lib/ruby/gems/*/gems",
    "/usr/local/share/gems/gems",
    "/usr/share/gems/gems",
];

/// An installed gem theme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub dir: PathBuf,
    /// The Jekyll plugins its gemspec depends on: Jekyll turns them on for the site (minima
    /// needs jekyll-seo-tag and jekyll-feed).
    pub plugins: Vec<String>,
}

/// `remote_theme: owner/name` (jekyll-remote-theme) from a local copy of the repository:
/// Galley builds offline, so without one it is an error saying how to give it.
pub fn remote(config: &Config, local_copy: Option<&Path>) -> Result<Option<Theme>, Diagnostic> {
    let Some(name) = config.extra.get("remote_theme").and_then(Value::as_str) else {
        return Ok(None);
    };
    match local_copy {
        Some(dir) if dir.is_dir() => Ok(Some(Theme {
            dir: dir.to_path_buf(),
            plugins: Vec::new(),
        })),
        _ => {
            let (file, line) = config.key_place("remote_theme");
            let repo = name.trim().split('@').next().unwrap_or(name).trim();
            let given = local_copy
                .map(|d| format!(" (`{}` is not a folder)", d.display()))
                .unwrap_or_default();
            Err(Diagnostic::new(
                file,
                format!("`remote_theme: {name}` would be downloaded from GitHub, and Galley builds offline{given}"),
            )
            .at_line(line)
            .hint(format!(
                "clone it once (`git clone https://github.com/{repo}`) and pass the folder with `--remote-theme <folder>`, or install the theme as a gem and use `theme:`"
            )))
        }
    }
}

/// The installed theme, when the config names one; an error at the `theme:` line saying
/// where Galley looked when it is not installed.
pub fn resolve(config: &Config, extra_dirs: &[PathBuf]) -> Result<Option<Theme>, Diagnostic> {
    let Some(name) = config.extra.get("theme").and_then(Value::as_str) else {
        return Ok(None);
    };
    let name = name.trim();
    let mut searched: Vec<PathBuf> = extra_dirs.to_vec();
    for pattern in SYSTEM_GEM_DIRS {
        searched.extend(expand(pattern));
    }
    let found = searched
        .iter()
        .flat_map(|dir| versions_in(dir, name))
        .max_by(|a, b| compare_versions(&a.0, &b.0));
    if let Some((version, dir)) = found {
        let plugins = plugin_dependencies(&dir, name, &version);
        return Ok(Some(Theme { dir, plugins }));
    }
    let (file, line) = config.key_place("theme");
    let places: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
    Err(Diagnostic::new(
        file,
        format!(
            "theme `{name}` is not installed on this machine (looked for `{name}-<version>` in {})",
            if places.is_empty() { "no gem folder".to_string() } else { places.join(", ") }
        ),
    )
    .at_line(line)
    .hint(format!(
        "install the theme gem (`gem install {name}`, or Debian's `jekyll-theme-{}` package), set GEM_HOME/GEM_PATH to where it is, or remove `theme:` to use the site's own layouts",
        name.trim_start_matches("jekyll-theme-")
    )))
}

/// The `jekyll-*` runtime dependencies in the gem's specification, which RubyGems and
/// Debian keep in `specifications/` beside `gems/`.
fn plugin_dependencies(dir: &Path, name: &str, version: &str) -> Vec<String> {
    let Some(spec) = dir.parent().and_then(Path::parent).map(|root| {
        root.join("specifications")
            .join(format!("{name}-{version}.gemspec"))
    }) else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(spec) else {
        return Vec::new();
    };
    let Ok(re) = regex::Regex::new(r"add_(?:runtime_)?dependency\(?\s*%q<(jekyll-[^>]+)>") else {
        return Vec::new();
    };
    let mut plugins: Vec<String> = re.captures_iter(&text).map(|c| c[1].to_string()).collect();
    plugins.sort();
    plugins.dedup();
    plugins
}

/// `pattern` with its `*` levels expanded to the folders that exist.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("/")];
    for part in Path::new(pattern).components().skip(1) {
        let part = part.as_os_str().to_string_lossy();
        found = found
            .into_iter()
            .flat_map(|base| {
                if part == "*" {
                    let mut subs: Vec<PathBuf> = std::fs::read_dir(&base)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect();
                    subs.sort();
                    subs
                } else {
                    vec![base.join(part.as_ref())]
                }
            })
            .collect();
    }
    found.into_iter().filter(|p| p.is_dir()).collect()
}

/// `NAME-<version>` folders in `dir`, with their versions.
fn versions_in(dir: &Path, name: &str) -> Vec<(String, PathBuf)> {
    let prefix = format!("{name}-");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let version = file.strip_prefix(&prefix)?;
            let starts_with_digit = version.starts_with(|c: char| c.is_ascii_digit());
            (starts_with_digit && e.path().is_dir()).then(|| (version.to_string(), e.path()))
        })
        .collect()
}

/// Gem versions by their numeric parts (`2.10.0` after `2.9.1`).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_of_the_named_gem_is_chosen() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let specs = tmp.path().join("specifications");
        std::fs::create_dir_all(&specs).expect("mkdir");
        std::fs::write(
            specs.join("minima-2.10.0.gemspec"),
            "s.add_runtime_dependency(%q<jekyll>.freeze, [\">= 3.5\"])\n s.add_runtime_dependency(%q<jekyll-seo-tag>.freeze, [\"~> 2.1\"])\n s.add_dependency(%q<jekyll-seo-tag>.freeze)\n",
        )
        .expect("write");
        let gems = tmp.path().join("gems");
        for d in [
            "minima-2.5.1",
            "minima-2.10.0",
            "minima-extra-9.0",
            "minimal-1.0",
        ] {
            std::fs::create_dir_all(gems.join(d)).expect("mkdir");
        }
        let mut config = Config::default();
        config.extra.insert("theme".into(), "minima".into());
        let theme = resolve(&config, std::slice::from_ref(&gems)).expect("found");
        assert_eq!(
            theme,
            Some(Theme {
                dir: gems.join("minima-2.10.0"),
                plugins: vec!["jekyll-seo-tag".to_string()],
            })
        );
    }

    #[test]
    fn a_missing_theme_says_where_galley_looked() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config
            .extra
            .insert("theme".into(), "no-such-theme-galley".into());
        let err = resolve(&config, &[tmp.path().to_path_buf()]).expect_err("missing");
        let text = err.to_string();
        assert!(
            text.contains("theme `no-such-theme-galley` is not installed"),
            "{text}"
        );
        assert!(text.contains(&tmp.path().display().to_string()), "{text}");
        assert!(text.contains("help: install the theme gem"), "{text}");
    }
}
