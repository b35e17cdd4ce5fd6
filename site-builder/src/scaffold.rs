//! `galley new site DIR` and `galley new post "Title"`: a starter site and new posts.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::error::{io_error, Diagnostic, Result};
use crate::slug::slugify;

const CONFIG: &str = r#"title: My Galley blog
description: Notes, written in markdown, published with Galley.
url: https://example.com
baseurl: ""
author: Your Name
permalink: date
paginate: 10
timezone: UTC

# Publishing settings for `galley publish` (see the Galley README).
deploy:
  site: my-blog
  region: us-east-1
"#;

const ABOUT: &str =
    "---\ntitle: About\n---\n\nThis blog is built with [Galley](https://example.com).\n";

/// The output, a build's staging folder and the previous output while it is removed in the
/// background (both beside `_site`, in the site's folder), and Galley's local state.
const GITIGNORE: &str = "_site/\n._site.galley-*/\n.galley/\n";

/// Writes a starter site into `dir`, which must be empty or not exist yet.
pub fn new_site(dir: &Path, today: NaiveDate) -> Result<Vec<PathBuf>> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, "read", &e))?
            .next()
            .is_some()
    {
        return Err(Diagnostic::new(dir, "folder is not empty")
            .hint("choose a new folder name; Galley never overwrites an existing site")
            .into());
    }
    let post_name = format!("_posts/{}-welcome-to-galley.md", today.format("%Y-%m-%d"));
    let post = format!(
        "---\ntitle: Welcome to Galley\ntags: [galley]\n---\n\nThis is your first post. Edit `{post_name}` or add a new one with\n`galley new post \"My title\"`, then run `galley serve` to preview.\n\n## Code\n\n```rust\nfn main() {{\n    println!(\"hello, world\");\n}}\n```\n"
    );
    let files = [
        ("_config.yml", CONFIG.to_string()),
        ("about.md", ABOUT.to_string()),
        (".gitignore", GITIGNORE.to_string()),
        (post_name.as_str(), post),
    ];
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, "create folder", &e))?;
        }
        std::fs::write(&path, text).map_err(|e| io_error(&path, "write", &e))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `_posts/<today>-<slug>.md`; an existing post of that name is left alone.
pub fn new_post(site: &Path, title: &str, today: NaiveDate) -> Result<PathBuf> {
    let slug = slugify(title);
    if slug.is_empty() {
        return Err(
            Diagnostic::new(site, format!("`{title}` gives an empty file name"))
                .hint("use a title with letters or digits")
                .into(),
        );
    }
    let dir = site.join("_posts");
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "create folder", &e))?;
    let path = dir.join(format!("{}-{slug}.md", today.format("%Y-%m-%d")));
    if path.exists() {
        return Err(
            Diagnostic::new(&path, "a post with this name exists already")
                .hint("pick another title, or edit the existing post")
                .into(),
        );
    }
    let escaped = title.replace('\\', "\\\\").replace('"', "\\\"");
    let text = format!(
        "---\ntitle: \"{escaped}\"\ndate: {}\ntags: []\n---\n\nWrite here.\n",
        today.format("%Y-%m-%d")
    );
    std::fs::write(&path, text).map_err(|e| io_error(&path, "write", &e))?;
    Ok(path)
}
