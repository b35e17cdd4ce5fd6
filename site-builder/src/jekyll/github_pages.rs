//! GitHub Pages' default plugins, built in and on only when the site asks for GitHub Pages'
//! behaviour with `github_pages: true` (plain Jekyll is the default) or lists them:
//! - jekyll-optional-front-matter: Markdown files without front matter are pages;
//! - jekyll-readme-index: a folder's README is its index when it has none;
//! - jekyll-default-layout: pages without `layout:` get `post`, `home` or `page` (else
//!   `default`) when the site has that layout;
//! - jekyll-relative-links: links to Markdown files point at their pages;
//! - jekyll-github-metadata: `site.github` from the config and the git remote, offline;
//! - jekyll-titles-from-headings, jekyll-paginate and jekyll-gist are built in elsewhere.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::document::{Collection, Document, Format};

/// The plugins GitHub Pages turns on for every site.
pub const DEFAULTS: &[&str] = &[
    "jekyll-default-layout",
    "jekyll-gist",
    "jekyll-github-metadata",
    "jekyll-optional-front-matter",
    "jekyll-paginate",
    "jekyll-readme-index",
    "jekyll-relative-links",
    "jekyll-titles-from-headings",
];

/// Files jekyll-optional-front-matter leaves alone (their stems, any case).
const NOT_PAGES: &[&str] = &[
    "readme",
    "license",
    "licence",
    "copying",
    "code_of_conduct",
    "contributing",
    "issue_template",
    "pull_request_template",
];

fn is_markdown(rel: &str) -> bool {
    let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some("md" | "markdown" | "mdown" | "mkd" | "mkdn")
    )
}

fn stem(rel: &str) -> String {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rsplit_once('.')
        .map_or(name, |(s, _)| s)
        .to_ascii_lowercase()
}

/// Whether a Markdown file without front matter is a page (optional-front-matter, or the
/// README that readme-index makes an index).
pub fn is_page_without_front_matter(config: &Config, rel: &str, abs: &Path) -> bool {
    if !is_markdown(rel) {
        return false;
    }
    let stem = stem(rel);
    if stem == "readme" && config.has_plugin("jekyll-readme-index") {
        return readme_is_index(abs);
    }
    config.has_plugin("jekyll-optional-front-matter") && !NOT_PAGES.contains(&stem.as_str())
}

/// A README is its folder's index when the folder has no `index` page.
pub fn readme_is_index(abs: &Path) -> bool {
    let Some(dir) = abs.parent() else {
        return false;
    };
    let has_index = ["index.html", "index.md", "index.markdown", "index.htm"]
        .iter()
        .any(|i| dir.join(i).is_file());
    !has_index
}

/// The layout jekyll-default-layout gives a document without `layout:`, if the site has it.
pub fn default_layout(
    doc: &Document,
    is_home: bool,
    has_layout: impl Fn(&str) -> bool,
) -> Option<String> {
    if !matches!(doc.format, Format::Markdown | Format::Html) {
        return None;
    }
    let wanted: &[&str] = match doc.collection {
        Collection::Posts | Collection::Drafts => &["post", "default"],
        _ if is_home => &["home", "page", "default"],
        _ => &["page", "default"],
    };
    wanted.iter().find(|l| has_layout(l)).map(|l| l.to_string())
}

/// jekyll-relative-links: `href="other.md"` (relative to the document, or from the site
/// root with a leading `/`) becomes the URL of the page made from that file.
pub fn relative_links(
    html: &str,
    doc_rel: &str,
    links: &HashMap<String, String>,
    baseurl: &str,
) -> String {
    static LINK: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // Compiled once: this runs on every Markdown page of a site with the plugin.
    let Some(re) = LINK
        .get_or_init(|| {
            regex::Regex::new(r#"href="([^":#?]+\.(?:md|markdown|mdown|mkd|mkdn))(#[^"]*)?""#).ok()
        })
        .as_ref()
    else {
        return html.to_string();
    };
    let dir = doc_rel.rsplit_once('/').map_or("", |(d, _)| d);
    re.replace_all(html, |c: &regex::Captures| {
        let target = &c[1];
        let joined = match target.strip_prefix('/') {
            Some(from_root) => from_root.to_string(),
            None if dir.is_empty() => target.to_string(),
            None => format!("{dir}/{target}"),
        };
        match links.get(&normalize(&joined)) {
            Some(url) => format!(
                "href=\"{baseurl}{url}{}\"",
                c.get(2).map_or("", |m| m.as_str())
            ),
            None => c[0].to_string(),
        }
    })
    .into_owned()
}

/// `a/./b/../c.md` as `a/c.md`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// `site.github`, offline: the repository from `repository:` in the config or the git
/// remote `origin`; never the network (no API fields).
pub fn metadata(config: &Config, root: &Path) -> Value {
    let nwo = config
        .extra
        .get("repository")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| origin_repository(root));
    let (owner, name) = nwo
        .as_deref()
        .and_then(|n| n.split_once('/'))
        .map_or((String::new(), String::new()), |(o, n)| {
            (o.to_string(), n.to_string())
        });
    let user_page = !owner.is_empty() && name.eq_ignore_ascii_case(&format!("{owner}.github.io"));
    let pages_url = if owner.is_empty() {
        Value::Null
    } else if user_page {
        format!("https://{}.github.io", owner.to_ascii_lowercase()).into()
    } else {
        format!("https://{}.github.io/{name}", owner.to_ascii_lowercase()).into()
    };
    let mut m: Map<String, Value> = Map::new();
    m.insert("hostname".into(), "github.com".into());
    m.insert("pages_hostname".into(), "github.io".into());
    m.insert("api_url".into(), "https://api.github.com".into());
    m.insert("help_url".into(), "https://help.github.com".into());
    m.insert("environment".into(), "development".into());
    m.insert("pages_env".into(), "development".into());
    m.insert("public_repositories".into(), json!([]));
    m.insert("organization_members".into(), json!([]));
    m.insert("contributors".into(), json!([]));
    m.insert("releases".into(), json!([]));
    if let Some(nwo) = &nwo {
        m.insert("repository_nwo".into(), nwo.clone().into());
        m.insert("repository_name".into(), name.clone().into());
        m.insert("owner_name".into(), owner.clone().into());
        m.insert(
            "owner_url".into(),
            format!("https://github.com/{owner}").into(),
        );
        m.insert(
            "repository_url".into(),
            format!("https://github.com/{nwo}").into(),
        );
        m.insert(
            "issues_url".into(),
            format!("https://github.com/{nwo}/issues").into(),
        );
        m.insert(
            "clone_url".into(),
            format!("https://github.com/{nwo}.git").into(),
        );
        m.insert(
            "zip_url".into(),
            format!("https://github.com/{nwo}/zipball/gh-pages").into(),
        );
        m.insert("project_title".into(), name.clone().into());
        m.insert("is_user_page".into(), user_page.into());
        m.insert("is_project_page".into(), (!user_page).into());
        m.insert("url".into(), pages_url);
        m.insert("show_downloads".into(), false.into());
    }
    Value::Object(m)
}

/// `owner/name` from `.git/config`'s `origin` URL on github.com.
fn origin_repository(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join(".git/config")).ok()?;
    let mut in_origin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
            continue;
        }
        let Some(url) = line
            .strip_prefix("url")
            .map(|r| r.trim_start_matches([' ', '=']))
        else {
            continue;
        };
        if !in_origin {
            continue;
        }
        let rest = url
            .split_once("github.com")
            .map(|(_, r)| r.trim_start_matches([':', '/']))?;
        let nwo = rest.trim_end_matches('/').trim_end_matches(".git");
        return (nwo.split('/').count() == 2).then(|| nwo.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_markdown_files_point_at_their_pages() {
        let links = HashMap::from([
            ("docs/setup.md".to_string(), "/docs/setup.html".to_string()),
            ("README.md".to_string(), "/".to_string()),
        ]);
        let html = r#"<a href="setup.md#install">s</a> <a href="../README.md">r</a> <a href="https://x.md">x</a> <a href="missing.md">m</a>"#;
        let out = relative_links(html, "docs/guide.md", &links, "/blog");
        assert_eq!(
            out,
            r#"<a href="/blog/docs/setup.html#install">s</a> <a href="/blog/">r</a> <a href="https://x.md">x</a> <a href="missing.md">m</a>"#
        );
    }

    #[test]
    fn the_repository_comes_from_the_git_remote() {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(tmp.path().join(".git")).expect("mkdir");
        std::fs::write(
            tmp.path().join(".git/config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:octo/project.git\n",
        )
        .expect("write");
        let m = metadata(&Config::default(), tmp.path());
        assert_eq!(m["repository_nwo"], "octo/project");
        assert_eq!(m["url"], "https://octo.github.io/project");
        assert_eq!(m["is_project_page"], true);
    }
}
