//! Sass: `.scss`/`.sass` pages with front matter compiled to CSS with grass, importing
//! partials from `_sass/` as Jekyll does.

use std::path::Path;

use crate::error::Diagnostic;

pub fn compile(
    source: &Path,
    body: &str,
    indented: bool,
    site_root: &Path,
    theme_root: Option<&Path>,
    body_line_offset: usize,
) -> Result<String, Diagnostic> {
    let mut options = grass::Options::default().load_path(site_root.join("_sass"));
    // The gem theme's partials come after the site's, so a site partial overrides one.
    if let Some(theme) = theme_root {
        options = options.load_path(theme.join("_sass"));
    }
    let options = options
        .load_path(source.parent().unwrap_or(site_root))
        .style(grass::OutputStyle::Compressed)
        .input_syntax(if indented {
            grass::InputSyntax::Sass
        } else {
            grass::InputSyntax::Scss
        });
    grass::from_string(body.to_string(), &options).map_err(|e| {
        let text = e.to_string();
        let mut d = Diagnostic::new(
            source,
            format!("Sass error: {}", text.lines().next().unwrap_or("")),
        )
        .hint("fix the stylesheet; partials are looked up in _sass/");
        if let Some((line, col)) = sass_position(&text) {
            d = d.at(line + body_line_offset, col);
        }
        d
    })
}

/// grass reports `--> input.scss:LINE:COL` (or `LINE:COL` after a file name).
fn sass_position(text: &str) -> Option<(usize, usize)> {
    let re = regex::Regex::new(r"(\d+):(\d+)").ok()?;
    let caps = re.captures_iter(text).next()?;
    Some((caps[1].parse().ok()?, caps[2].parse().ok()?))
}

/// `scssify` / `sassify`: a string of Sass as CSS in Jekyll's filter style (each rule on one
/// line, `a b { color: red; }`), with the site's `_sass` partials importable.
pub fn filter(text: &str, indented: bool, site_root: &Path) -> Result<String, String> {
    let options = grass::Options::default()
        .load_path(site_root.join("_sass"))
        .style(grass::OutputStyle::Expanded)
        .input_syntax(if indented {
            grass::InputSyntax::Sass
        } else {
            grass::InputSyntax::Scss
        });
    let css = grass::from_string(text.to_string(), &options)
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())?;
    Ok(compact(&css))
}

/// Expanded CSS with every block's inside on the line of its selector.
fn compact(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut depth = 0usize;
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                depth += 1;
                out.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            '\n' if depth > 0 => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let mut out = out.trim_end().to_string();
    out.push('\n');
    out
}
