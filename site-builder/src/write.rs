//! Writing the rendered site atomically: everything goes into a staging folder beside the
//! destination, which is then swapped in with one rename. A failed build never touches the
//! previous site.

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{io_error, Diagnostic, Result};
use crate::output::{Body, RenderedSite};

pub fn write_atomically(site: &RenderedSite, destination: &Path) -> Result<()> {
    let parent = destination
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io_error(parent, "create folder", &e))?;
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "_site".to_string());
    let staging = parent.join(format!(".{name}.galley-tmp-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| io_error(&staging, "remove stale staging folder", &e))?;
    }
    let result = fill(site, &staging).and_then(|()| swap(&staging, destination));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
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

/// Puts `staging` where `destination` is. On Linux an exchanging rename swaps the two folders
/// in one step, so readers see the old site or the new one, never neither.
fn swap(staging: &Path, destination: &Path) -> Result<()> {
    if !destination.exists() {
        return std::fs::rename(staging, destination)
            .map_err(|e| io_error(destination, "move the new site into place", &e).into());
    }
    let exchanged = rustix::fs::renameat_with(
        rustix::fs::CWD,
        staging,
        rustix::fs::CWD,
        destination,
        rustix::fs::RenameFlags::EXCHANGE,
    );
    if exchanged.is_ok() {
        // `staging` now holds the previous site.
        return std::fs::remove_dir_all(staging)
            .map_err(|e| io_error(staging, "remove the previous site", &e).into());
    }
    let old = staging.with_extension("old");
    std::fs::rename(destination, &old)
        .map_err(|e| io_error(destination, "move the previous site aside", &e))?;
    if let Err(e) = std::fs::rename(staging, destination) {
        let _ = std::fs::rename(&old, destination);
        return Err(io_error(destination, "move the new site into place", &e).into());
    }
    std::fs::remove_dir_all(&old).map_err(|e| io_error(&old, "remove the previous site", &e).into())
}
