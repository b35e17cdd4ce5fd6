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
