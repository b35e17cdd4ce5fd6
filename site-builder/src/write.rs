//! Writing the rendered site atomically: everything goes into a staging folder beside the
//! destination, which is then swapped in with one rename. A failed build never touches the
//! previous site.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use galley_atomic::{Refusal, Rules, Staging, MARKER};
use rayon::prelude::*;

use crate::error::{io_error, Diagnostic, Result};
use crate::output::{Body, RenderedSite};

/// Refuses, before anything is written, a destination whose replacement would delete
/// something that is not a previous output: the site, a parent of it, a folder Galley reads,
/// a file, or a folder of someone else's files (that last one only without `force`). The
/// site's own `_site` counts as an output (Jekyll's convention: Jekyll replaces it too).
pub fn check_destination(
    root: &Path,
    folders: &[PathBuf],
    destination: &Path,
    force: bool,
) -> Result<()> {
    let conventional = galley_atomic::guard::absolute(&root.join("_site"));
    let is_output = |dir: &Path| {
        dir.join(MARKER).is_file() || galley_atomic::guard::absolute(dir) == conventional
    };
    let rules = Rules {
        site: root,
        sources: folders,
        is_output: &is_output,
        force,
        flag: "--destination",
    };
    galley_atomic::check(destination, &rules)
        .map_err(|refusal| refused(destination, &refusal).into())
}

fn refused(destination: &Path, refusal: &Refusal) -> Diagnostic {
    let (message, hint) = refusal.explain("--destination");
    let message = message
        .strip_prefix(&format!("{}: ", destination.display()))
        .unwrap_or(&message)
        .to_string();
    Diagnostic::new(destination, message).hint(hint)
}

/// Writes the site into a staging folder beside `destination` and swaps it in. On error
/// nothing was written. Returns a warning when the previous site could not be removed
/// after the swap (the new one is in place; the old one is removed by the next build).
/// `keep`: entries of the previous site to carry into the new one (Jekyll's `keep_files`).
pub fn write_atomically(
    site: &RenderedSite,
    destination: &Path,
    keep: &[String],
) -> Result<Option<String>> {
    let staging = Staging::new(destination).map_err(swap_error)?;
    fill(site, staging.path())?;
    let marker = staging.path().join(MARKER);
    std::fs::write(
        &marker,
        "written by galley build; a later build may replace this folder\n",
    )
    .map_err(|e| io_error(&marker, "write", &e))?;
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    let committed = staging.commit_keeping(&keep).map_err(swap_error)?;
    Ok(committed.leftover.map(|(old, e)| {
        format!(
            "the previous site, moved to {}, could not be removed ({e}); the next build retries, or remove it yourself",
            old.display()
        )
    }))
}

fn swap_error(e: galley_atomic::staging::SwapError) -> crate::error::BuildError {
    io_error(&e.path, e.action, &e.source).into()
}

/// Threads for writing: file creation waits on the disk, not the CPU, so more requests in
/// flight than cores keeps the disk busy.
const IO_THREADS: usize = 16;

fn fill(site: &RenderedSite, staging: &Path) -> Result<()> {
    std::fs::create_dir_all(staging).map_err(|e| io_error(staging, "create folder", &e))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(IO_THREADS)
        .build()
        .map_err(|e| Diagnostic::new(staging, format!("cannot start writer threads: {e}")))?;
    pool.install(|| {
        make_folders(site, staging)?;
        site.files
            .par_iter()
            .try_for_each(|(rel, file)| -> Result<(), Diagnostic> {
                // Every path was checked where it was made; this is the last line of defence.
                if rel.starts_with('/') || rel.split('/').any(|s| s == ".." || s == ".") {
                    return Err(Diagnostic::new(
                        &file.origin,
                        format!("output path `{rel}` leaves the site"),
                    )
                    .hint("give the page a permalink inside the site"));
                }
                let target = staging.join(rel);
                match &file.body {
                    Body::Bytes(bytes) => {
                        std::fs::write(&target, bytes).map_err(|e| io_error(&target, "write", &e))
                    }
                    Body::Copy(source) => std::fs::copy(source, &target)
                        .map(|_| ())
                        .map_err(|e| io_error(source, "copy", &e)),
                }
            })
            .map_err(Into::into)
    })
}

/// Creates every output folder, shallowest first, each level in parallel.
fn make_folders(site: &RenderedSite, staging: &Path) -> Result<()> {
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    for rel in site.files.keys() {
        let mut path = rel.as_str();
        while let Some((parent, _)) = path.rsplit_once('/') {
            if !dirs.insert(parent) {
                break;
            }
            path = parent;
        }
    }
    let mut by_depth: Vec<Vec<&str>> = Vec::new();
    for d in dirs {
        let depth = d.matches('/').count();
        if by_depth.len() <= depth {
            by_depth.resize_with(depth + 1, Vec::new);
        }
        by_depth[depth].push(d);
    }
    for level in by_depth {
        level.par_iter().try_for_each(|d| {
            let dir = staging.join(d);
            std::fs::create_dir(&dir).map_err(|e| io_error(&dir, "create folder", &e))
        })?;
    }
    Ok(())
}
