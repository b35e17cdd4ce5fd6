//! The built site as the preview serves it: the server's in-memory files, with the
//! live-reload script in every page, made whole or patched with a rebuild's changes.

use std::time::SystemTime;

use galley_server::preview::inject;
use galley_server::site::{File, Site};
use galley_site_builder::{RenderedSite, Update};

/// The rendered site as the server's files, with the reload script in every page.
pub fn preview_site(site: &RenderedSite) -> Result<Site, String> {
    let files = preview_files(site, site.files.keys())?;
    Ok(Site::from_files_uncompressed(files))
}

/// The preview after a rebuild: the whole site again, or the last one with only the changed
/// files made anew.
pub fn updated_site(
    site: &RenderedSite,
    update: &Update,
    last: &Site,
    whole: bool,
) -> Result<Site, String> {
    if whole || update.full.is_some() {
        return preview_site(site);
    }
    let files = preview_files(site, update.changed.iter())?;
    Ok(last.with_changes(files, &update.removed, false))
}

/// Some of the rendered site's files as the server's, with the reload script in every page.
/// A static file that cannot be read (permissions, removed mid-build) is an error, as in
/// `galley build`, not a silently missing page.
fn preview_files<'a>(
    site: &RenderedSite,
    paths: impl Iterator<Item = &'a String>,
) -> Result<Vec<File>, String> {
    let now = SystemTime::now();
    let mut files = Vec::with_capacity(paths.size_hint().0);
    let mut problems = Vec::new();
    for path in paths {
        let Some(file) = site.files.get(path) else {
            continue;
        };
        let bytes = match file.bytes() {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!(
                    "{path}: error: cannot read the file to serve: {e}\n  help: check that the file exists and is readable"
                ));
                continue;
            }
        };
        let bytes = if path.ends_with(".html") {
            inject(&bytes)
        } else {
            bytes.into_owned()
        };
        files.push(File {
            path: path.clone(),
            bytes,
            modified: now,
        });
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(files)
}
