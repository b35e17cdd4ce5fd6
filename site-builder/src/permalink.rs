//! Permalinks: Jekyll's named styles and `:placeholder` patterns, turned into URLs and the
//! output files that serve them.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

use crate::slug::slugify;

/// What a permalink pattern can refer to.
pub struct Vars<'a> {
    pub date: Option<&'a DateTime<FixedOffset>>,
    pub categories: &'a [String],
    /// The slug from the file name (or front matter `slug`).
    pub title: &'a str,
    /// Directory of the source, relative to the site root, without slashes at the ends.
    pub path: &'a str,
    /// File name without extension.
    pub basename: &'a str,
    /// `.html` for rendered documents, the source's extension otherwise.
    pub output_ext: &'a str,
    /// The collection's label (`:collection`), empty outside collections.
    pub collection: &'a str,
}

/// Expands a named style (`date`, `pretty`, `ordinal`, `weekdate`, `none`) to its pattern.
pub fn style_pattern(style: &str) -> &str {
    match style {
        "date" => "/:categories/:year/:month/:day/:title:output_ext",
        "pretty" => "/:categories/:year/:month/:day/:title/",
        "ordinal" => "/:categories/:year/:y_day/:title:output_ext",
        "weekdate" => "/:categories/:year/W:week/:short_day/:title:output_ext",
        "none" => "/:categories/:title:output_ext",
        custom => custom,
    }
}

/// Fills a pattern's placeholders and normalises slashes. Unknown placeholders stay as written.
pub fn expand(pattern: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(pos) = rest.find(':') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        match value(name, vars) {
            Some(v) => out.push_str(&v),
            None => {
                out.push(':');
                out.push_str(name);
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    normalize(&out)
}

fn value(name: &str, v: &Vars) -> Option<String> {
    let d = v.date;
    Some(match name {
        "year" => format!("{:04}", d?.year()),
        "short_year" => format!("{:02}", d?.year() % 100),
        "month" => format!("{:02}", d?.month()),
        "i_month" => d?.month().to_string(),
        "short_month" => d?.format("%b").to_string(),
        "long_month" => d?.format("%B").to_string(),
        "day" => format!("{:02}", d?.day()),
        "i_day" => d?.day().to_string(),
        "y_day" => format!("{:03}", d?.ordinal()),
        "week" => format!("{:02}", d?.iso_week().week()),
        "short_day" => d?.format("%a").to_string(),
        "long_day" => d?.format("%A").to_string(),
        "hour" => format!("{:02}", d?.hour()),
        "minute" => format!("{:02}", d?.minute()),
        "second" => format!("{:02}", d?.second()),
        "title" | "name" => v.title.to_string(),
        "slug" => slugify(v.title),
        "categories" => v
            .categories
            .iter()
            .map(|c| slugify(c))
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .join("/"),
        "path" => v.path.to_string(),
        "basename" => v.basename.to_string(),
        "output_ext" => v.output_ext.to_string(),
        "collection" => v.collection.to_string(),
        _ => return None,
    })
}

/// One leading slash, no empty segments.
fn normalize(url: &str) -> String {
    let trailing = url.ends_with('/');
    let mut out = String::with_capacity(url.len() + 1);
    for seg in url.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(seg);
    }
    if trailing || out.is_empty() {
        out.push('/');
    }
    out
}

/// The output file (relative, `/`-separated) that serves `url`.
/// `/a/` is `a/index.html`; `/a.html` is `a.html`; `/a` (no extension) is `a/index.html`.
pub fn output_path(url: &str) -> String {
    let trimmed = url.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        return format!("{trimmed}index.html");
    }
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if last.contains('.') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/index.html")
    }
}

/// Jekyll's output file for `url`: a folder URL is its `index.html`; any other URL gets the
/// document's extension unless it already ends with it (`/categories` is `categories.html`).
pub fn jekyll_output_path(url: &str, output_ext: &str) -> String {
    let trimmed = url.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        return format!("{trimmed}index.html");
    }
    if trimmed.ends_with(output_ext) {
        trimmed.to_string()
    } else {
        format!("{trimmed}{output_ext}")
    }
}

/// The URL authors link to for an output file: `a/index.html` is `/a/`.
pub fn canonical_url(url: &str) -> String {
    let path = output_path(url);
    match path.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates;

    fn vars<'a>(d: &'a DateTime<FixedOffset>, cats: &'a [String]) -> Vars<'a> {
        Vars {
            collection: "",
            date: Some(d),
            categories: cats,
            title: "hello-world",
            path: "",
            basename: "2024-03-05-hello-world",
            output_ext: ".html",
        }
    }

    #[test]
    fn named_styles() {
        let d = dates::parse("2024-03-05", None).expect("date");
        let cats = vec!["Rust Tips".to_string()];
        let v = vars(&d, &cats);
        assert_eq!(
            expand(style_pattern("date"), &v),
            "/rust-tips/2024/03/05/hello-world.html"
        );
        assert_eq!(
            expand(style_pattern("pretty"), &v),
            "/rust-tips/2024/03/05/hello-world/"
        );
        assert_eq!(
            expand(style_pattern("ordinal"), &v),
            "/rust-tips/2024/065/hello-world.html"
        );
        assert_eq!(
            expand(style_pattern("none"), &v),
            "/rust-tips/hello-world.html"
        );
        assert_eq!(expand("/blog/:year/:slug/", &v), "/blog/2024/hello-world/");
    }

    #[test]
    fn jekyll_output_paths_keep_the_url_and_add_the_extension() {
        assert_eq!(
            jekyll_output_path("/categories", ".html"),
            "categories.html"
        );
        assert_eq!(jekyll_output_path("/about.html", ".html"), "about.html");
        assert_eq!(jekyll_output_path("/a/b/", ".html"), "a/b/index.html");
        assert_eq!(jekyll_output_path("/", ".html"), "index.html");
        assert_eq!(jekyll_output_path("/feed.xml", ".xml"), "feed.xml");
    }

    #[test]
    fn output_paths() {
        assert_eq!(output_path("/"), "index.html");
        assert_eq!(output_path("/a/b/"), "a/b/index.html");
        assert_eq!(output_path("/a.html"), "a.html");
        assert_eq!(output_path("/feed.xml"), "feed.xml");
        assert_eq!(output_path("/about"), "about/index.html");
        assert_eq!(canonical_url("/about"), "/about/");
    }
}
