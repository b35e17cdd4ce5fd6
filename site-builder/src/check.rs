//! `galley check`: every problem in the site at once — front matter, data, templates, and
//! internal links (each `href`/`src` must reach an output file, each `#anchor` an id).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use regex::Regex;

use crate::build::{load_config, render_site, BuildOptions};
use crate::discover;
use crate::document;
use crate::error::{BuildError, Diagnostic, Diagnostics, Result};
use crate::filters;
use crate::output::RenderedSite;
use crate::templates::Templates;

/// What a clean check looked at.
#[derive(Debug)]
pub struct CheckReport {
    pub pages: usize,
    pub links: usize,
}

pub fn check(root: &Path, options: &BuildOptions) -> Result<CheckReport> {
    check_steps(root, options).map_err(|e| e.under_site(root))
}

fn check_steps(root: &Path, options: &BuildOptions) -> Result<CheckReport> {
    // Sources are checked stage by stage without stopping, so one run shows every problem.
    let mut config = load_config(root, options)?;
    let sources = discover::discover(root, &config, options.destination.as_deref())?;
    config.jekyll = crate::build::follows_jekyll(&config, &sources);
    let mut problems = Diagnostics::default();
    let selection = options.selection();
    let mut collect = |r: Result<()>| {
        if let Err(e) = r {
            problems.extend(e.diagnostics);
        }
    };
    collect(document::load_all(&sources, &config, &selection).map(|_| ()));
    collect(crate::data::load(&sources).map(|_| ()));
    let filters = filters::all(
        &config.url_base(),
        crate::markdown::Style::of(&config),
        config.date_zone(),
    );
    collect(Templates::load(&sources, &filters, &config).map(|_| ()));
    problems.into_result()?;

    let built = render_site(root, options)?;
    let (links, broken) = check_links(&built.site, &built.config.baseurl, root);
    if !broken.is_empty() {
        return Err(BuildError::from(broken));
    }
    Ok(CheckReport {
        pages: built
            .site
            .files
            .keys()
            .filter(|p| p.ends_with(".html"))
            .count(),
        links,
    })
}

/// Checks every internal link in every HTML page; returns the number checked and the broken.
pub fn check_links(site: &RenderedSite, baseurl: &str, root: &Path) -> (usize, Vec<Diagnostic>) {
    let (Ok(attr), Ok(id)) = (
        Regex::new(r#"(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')"#),
        Regex::new(r#"\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)')"#),
    ) else {
        return (0, Vec::new());
    };
    let mut ids: HashMap<&str, HashSet<String>> = HashMap::new();
    let pages: Vec<(&String, String)> = site
        .files
        .iter()
        .filter(|(p, _)| p.ends_with(".html"))
        .filter_map(|(p, f)| {
            f.bytes()
                .ok()
                .map(|b| (p, String::from_utf8_lossy(&b).into_owned()))
        })
        .collect();
    for (path, html) in &pages {
        let set = id
            .captures_iter(html)
            .filter_map(|c| {
                c.get(1)
                    .or_else(|| c.get(2))
                    .map(|m| m.as_str().to_string())
            })
            .collect();
        ids.insert(path.as_str(), set);
    }
    let mut checked = 0;
    let mut places = Places::new(root, site);
    for (path, html) in &pages {
        let origin = site.files[path.as_str()].origin.clone();
        // The n-th time a link appears on a page is its n-th appearance in the page's source
        // (or, failing that, in a template or another document it shows).
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for cap in attr.captures_iter(html) {
            let Some(link) = cap.get(1).or_else(|| cap.get(2)).map(|m| m.as_str()) else {
                continue;
            };
            if is_external(link) {
                continue;
            }
            checked += 1;
            let nth = seen.entry(link).or_default();
            *nth += 1;
            if let Some(problem) = resolve(link, path, baseurl, site, &ids) {
                places.add(&origin, link, *nth, problem, path);
            }
        }
    }
    (checked, places.into_diagnostics())
}

/// What is wrong with a link, and the pages showing it.
type Seen = (String, Vec<String>);

/// Where each broken link is written: one report per place, however many pages show it.
struct Places<'a> {
    root: &'a Path,
    /// Source text by site-relative path, read once.
    texts: HashMap<String, Option<String>>,
    /// Layouts and includes, then every page's source: searched in that order when a page's
    /// own source lacks the link (it came from a template, or it is another post's excerpt
    /// on a list page).
    elsewhere: Vec<String>,
    /// (file, line, column, link) -> problem and the pages it appears on.
    found: BTreeMap<(String, usize, usize, String), Seen>,
    /// Links whose place is unknown, by page source.
    unplaced: BTreeMap<(String, String), Seen>,
}

impl<'a> Places<'a> {
    fn new(root: &'a Path, site: &RenderedSite) -> Places<'a> {
        let mut templates: Vec<String> = ["_layouts", "_includes"]
            .iter()
            .flat_map(|dir| walkdir::WalkDir::new(root.join(dir)).into_iter().flatten())
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                e.path()
                    .strip_prefix(root)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            })
            .collect();
        templates.sort();
        let mut documents: Vec<String> = site
            .files
            .iter()
            .filter(|(p, _)| p.ends_with(".html"))
            .map(|(_, f)| f.origin.clone())
            .collect();
        documents.sort();
        documents.dedup();
        templates.extend(documents);
        Places {
            root,
            texts: HashMap::new(),
            elsewhere: templates,
            found: Default::default(),
            unplaced: Default::default(),
        }
    }

    fn text(&mut self, rel: &str) -> Option<&str> {
        let root = self.root;
        self.texts
            .entry(rel.to_string())
            .or_insert_with(|| std::fs::read_to_string(root.join(rel)).ok())
            .as_deref()
    }

    /// Places the `nth` appearance of `link` on `page` (whose source is `origin`).
    fn add(&mut self, origin: &str, link: &str, nth: usize, problem: String, page: &str) {
        let spelled = link.replace("&amp;", "&");
        let own = self
            .text(origin)
            .and_then(|t| positions(t, &spelled).into_iter().nth(nth - 1));
        let place = own.map(|(l, c)| (origin.to_string(), l, c)).or_else(|| {
            let elsewhere = self.elsewhere.clone();
            elsewhere.iter().find_map(|t| {
                let first = self
                    .text(t)
                    .and_then(|text| positions(text, &spelled).into_iter().next());
                first.map(|(l, c)| (t.clone(), l, c))
            })
        });
        let page = format!("/{page}");
        match place {
            Some((file, line, column)) => {
                let entry = self
                    .found
                    .entry((file, line, column, link.to_string()))
                    .or_insert((problem, Vec::new()));
                entry.1.push(page);
            }
            None => {
                let entry = self
                    .unplaced
                    .entry((origin.to_string(), link.to_string()))
                    .or_insert((problem, Vec::new()));
                entry.1.push(page);
            }
        }
    }

    fn into_diagnostics(self) -> Vec<Diagnostic> {
        let hint = "fix the link, or create the page it points to";
        let placed =
            self.found
                .into_iter()
                .map(|((file, line, column, link), (problem, pages))| {
                    let template = file.starts_with("_layouts/") || file.starts_with("_includes/");
                    let on = if template {
                        format!(" (shown on {})", pages_text(&pages))
                    } else {
                        String::new()
                    };
                    Diagnostic::new(file, format!("broken link `{link}`: {problem}{on}"))
                        .at(line, column)
                        .hint(hint)
                });
        let unplaced = self
            .unplaced
            .into_iter()
            .map(|((file, link), (problem, pages))| {
                Diagnostic::new(
                    file,
                    format!("broken link `{link}` on {}: {problem}", pages_text(&pages)),
                )
                .hint(hint)
            });
        placed.chain(unplaced).collect()
    }
}

fn pages_text(pages: &[String]) -> String {
    match pages {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} other page(s)", rest.len()),
        [] => String::new(),
    }
}

/// 1-based (line, column) of every place `link` is written as a link in `text`: after
/// `](`, `="`, `='`, `]: ` or `<` (Markdown links, HTML attributes, reference definitions,
/// autolinks) and ending there; a mention in prose is not a link.
fn positions(text: &str, link: &str) -> Vec<(usize, usize)> {
    if link.is_empty() {
        return Vec::new();
    }
    text.match_indices(link)
        .filter(|(at, _)| {
            let before = text[..*at].trim_end_matches(' ');
            let after = text[at + link.len()..].chars().next();
            ["](", "=\"", "='", "]:", "<", "("]
                .iter()
                .any(|p| before.ends_with(p))
                && after
                    .is_none_or(|c| matches!(c, ')' | '"' | '\'' | '>' | ' ' | '\n' | '\r' | '\t'))
        })
        .map(|(at, _)| crate::error::line_col(text, at))
        .collect()
}

fn is_external(link: &str) -> bool {
    let link = link.trim();
    if link.is_empty() || link.starts_with("//") {
        return true;
    }
    match link.find(':') {
        Some(colon) => {
            let scheme = &link[..colon];
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !link[..colon].contains('/')
        }
        None => false,
    }
}

/// Why `link` on page `from` does not resolve, or None if it does.
fn resolve(
    link: &str,
    from: &str,
    baseurl: &str,
    site: &RenderedSite,
    ids: &HashMap<&str, HashSet<String>>,
) -> Option<String> {
    let (path_part, fragment) = link.split_once('#').unwrap_or((link, ""));
    let path_part = path_part.split('?').next().unwrap_or("");
    let target = if path_part.is_empty() {
        from.to_string()
    } else {
        let absolute = if let Some(p) = path_part.strip_prefix('/') {
            let with_slash = format!("/{p}");
            match with_slash.strip_prefix(baseurl) {
                Some(rest) if baseurl.is_empty() || rest.is_empty() || rest.starts_with('/') => {
                    rest.trim_start_matches('/').to_string()
                }
                _ => return Some(format!("it is outside the site's baseurl `{baseurl}`")),
            }
        } else {
            let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{path_part}")
        };
        let normal = normalize(&percent_decode(&absolute))?;
        let candidates = if normal.is_empty() || normal.ends_with('/') {
            vec![format!("{normal}index.html")]
        } else {
            // As the server finds them: the file, then `x.html` (Jekyll's extensionless
            // permalinks), then the folder's index.
            vec![
                normal.clone(),
                format!("{normal}.html"),
                format!("{normal}/index.html"),
            ]
        };
        match candidates.into_iter().find(|c| site.contains(c)) {
            Some(found) => found,
            None => return Some("no such page or file".to_string()),
        }
    };
    if fragment.is_empty() || !target.ends_with(".html") {
        return None;
    }
    let fragment = percent_decode(fragment);
    match ids.get(target.as_str()) {
        Some(set) if set.contains(&fragment) => None,
        _ => Some(format!("no element with id `{fragment}` on /{target}")),
    }
}

/// Resolves `.` and `..`; None if the path climbs above the site root.
fn normalize(path: &str) -> Option<String> {
    let trailing = path.ends_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if trailing && !out.is_empty() {
        out.push('/');
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_links_are_skipped() {
        assert!(is_external("https://x.org/"));
        assert!(is_external("mailto:a@b"));
        assert!(is_external("//cdn.x/y.js"));
        assert!(!is_external("/about/"));
        assert!(!is_external("../a.html"));
        assert!(!is_external("#top"));
    }

    #[test]
    fn normalizes_dots() {
        assert_eq!(
            normalize("a/b/../c/./d.html").as_deref(),
            Some("a/c/d.html")
        );
        assert_eq!(normalize("../x"), None);
    }
}
