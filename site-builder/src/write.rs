//! Writing the rendered site atomically: pages go into a staging folder beside the
//! destination as they render, the rest of the site after them, and the folder is then
//! swapped in with one rename. A failed build never touches the previous site.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use galley_atomic::{Refusal, Removal, Rules, Staging, MARKER};
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

/// A build being written as it renders: pages go into the staging folder the moment they
/// are made (so the build never holds every page at once), the rest of the site at
/// `finish`, and only then is the folder swapped in. Dropped unfinished, it leaves the
/// previous site as it was.
pub struct Stream {
    staging: Staging,
    /// Threads for folder creation and the writes at `finish` (the disk, not the CPU,
    /// bounds them), made once per build.
    io: rayon::ThreadPool,
    /// The site being replaced, if there is one: a file whose bytes it already has is
    /// hard-linked from it instead of written again.
    previous: Option<PathBuf>,
}

impl Stream {
    /// Opens a staging folder beside `destination` with the folders `paths` need.
    pub fn open<'a>(destination: &Path, paths: impl Iterator<Item = &'a str>) -> Result<Stream> {
        let staging = Staging::new(destination).map_err(swap_error)?;
        let root = staging.path();
        std::fs::create_dir_all(root).map_err(|e| io_error(root, "create folder", &e))?;
        let io = io_pool(root)?;
        let paths: Vec<&str> = paths.collect();
        io.install(|| make_folders(paths.into_iter(), root))?;
        let previous = destination.is_dir().then(|| destination.to_path_buf());
        Ok(Stream {
            staging,
            io,
            previous,
        })
    }

    /// Runs `render` with a sink that writes each page it is given on writer threads (file
    /// creation waits on the disk, so the renderer does not), and waits for every write.
    pub fn scope<R>(&self, render: impl FnOnce(&Sink) -> R) -> Result<R> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(String, String, Vec<u8>)>(IO_THREADS * 4);
        let rx = std::sync::Mutex::new(rx);
        let failed: std::sync::Mutex<Option<Diagnostic>> = std::sync::Mutex::new(None);
        let root = self.staging.path();
        let previous = self.previous.as_deref();
        let out = std::thread::scope(|scope| {
            for _ in 0..IO_THREADS {
                scope.spawn(|| loop {
                    let next = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((rel, origin, bytes)) = next else {
                        return;
                    };
                    if let Err(d) = put(root, previous, &rel, &origin, &Body::Bytes(bytes)) {
                        if let Ok(mut first) = failed.lock() {
                            first.get_or_insert(d);
                        }
                    }
                });
            }
            let sink = Sink { tx };
            let out = render(&sink);
            drop(sink);
            out
        });
        match failed.into_inner() {
            Ok(None) => Ok(out),
            Ok(Some(d)) => Err(d.into()),
            Err(_) => Err(Diagnostic::new(root, "a writer thread failed").into()),
        }
    }

    /// Writes what is still in memory (everything not sent through a sink), marks the folder
    /// as Galley's and swaps it in, carrying `keep` over from the previous site, which goes
    /// as `removal` says. Returns warnings about folders left beside the site.
    pub fn finish(
        self,
        site: &RenderedSite,
        keep: &[String],
        removal: Removal,
    ) -> Result<Vec<String>> {
        self.io
            .install(|| fill(site, self.staging.path(), self.previous.as_deref()))?;
        let marker = self.staging.path().join(MARKER);
        std::fs::write(
            &marker,
            "written by galley build; a later build may replace this folder\n",
        )
        .map_err(|e| io_error(&marker, "write", &e))?;
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        let committed = self
            .staging
            .commit_keeping(&keep, removal)
            .map_err(swap_error)?;
        let leftover = committed.leftover.map(|(old, e)| {
            format!(
                "the previous site, moved to {}, could not be removed ({e}); the next build retries, or remove it yourself",
                old.display()
            )
        });
        let stale = committed.stale.into_iter().map(|(dir, e)| {
            format!(
                "{}, left by an earlier build, could not be removed ({e}); the next build retries, or remove it yourself",
                dir.display()
            )
        });
        Ok(leftover.into_iter().chain(stale).collect())
    }
}

/// Where rendering hands each finished page while a [`Stream`] writes them.
pub struct Sink {
    tx: std::sync::mpsc::SyncSender<(String, String, Vec<u8>)>,
}

impl Sink {
    /// Queues `bytes` for `rel` (waiting while the writers are behind, which bounds memory).
    pub fn write(&self, rel: &str, origin: &str, bytes: Vec<u8>) -> Result<(), Diagnostic> {
        self.tx
            .send((rel.to_string(), origin.to_string(), bytes))
            .map_err(|_| Diagnostic::new(origin, "the site writer stopped"))
    }
}

fn swap_error(e: galley_atomic::staging::SwapError) -> crate::error::BuildError {
    io_error(&e.path, e.action, &e.source).into()
}

/// Threads for writing: file creation waits on the disk, not the CPU, so more requests in
/// flight than cores keeps the disk busy.
const IO_THREADS: usize = 16;

/// A pool of [`IO_THREADS`] for folder creation and writes, which wait on the disk.
fn io_pool(staging: &Path) -> Result<rayon::ThreadPool, Diagnostic> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(IO_THREADS)
        .build()
        .map_err(|e| Diagnostic::new(staging, format!("cannot start writer threads: {e}")))
}

/// Writes every file held in memory (or copied from a source) into `staging`, on the
/// pool it is run in.
fn fill(site: &RenderedSite, staging: &Path, previous: Option<&Path>) -> Result<()> {
    let pending = site
        .files
        .iter()
        .filter(|(_, f)| !matches!(f.body, Body::Written));
    make_folders(pending.clone().map(|(rel, _)| rel.as_str()), staging)?;
    let pending: Vec<_> = pending.collect();
    pending
        .par_iter()
        .try_for_each(|(rel, file)| put(staging, previous, rel, &file.origin, &file.body))
        .map_err(Into::into)
}

/// Writes one file into `staging`, or links the previous site's copy when it has the same
/// bytes: a rebuild then writes only what changed (a link is a name, not data), and the
/// previous site stays whole until the swap, so a failed build still leaves it as it was.
fn put(
    staging: &Path,
    previous: Option<&Path>,
    rel: &str,
    origin: &str,
    body: &Body,
) -> Result<(), Diagnostic> {
    // Every path was checked where it was made; this is the last line of defence.
    if rel.starts_with('/') || rel.split('/').any(|s| s == ".." || s == ".") {
        return Err(
            Diagnostic::new(origin, format!("output path `{rel}` leaves the site"))
                .hint("give the page a permalink inside the site"),
        );
    }
    let target = staging.join(rel);
    // The previous site's file, linked into place when `same` says it has these bytes (a
    // failed link, say across file systems, falls back to writing).
    let old = previous.map(|p| p.join(rel));
    let linked = |same: &dyn Fn(&Path) -> bool| {
        old.as_deref()
            .is_some_and(|old| same(old) && std::fs::hard_link(old, &target).is_ok())
    };
    match body {
        Body::Bytes(bytes) if linked(&|old| same_file_bytes(old, bytes)) => Ok(()),
        Body::Bytes(bytes) => {
            std::fs::write(&target, bytes).map_err(|e| io_error(&target, "write", &e))
        }
        Body::Copy(source) if linked(&|old| same_files(source, old)) => Ok(()),
        Body::Copy(source) => std::fs::copy(source, &target)
            .map(|_| ())
            .map_err(|e| io_error(source, "copy", &e)),
        Body::Written => Ok(()),
    }
}

/// Whether `path` is a plain file (not a link) holding exactly `bytes`. The size is
/// compared first, so most changed files cost one `stat`.
fn same_file_bytes(path: &Path, bytes: &[u8]) -> bool {
    let plain =
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    plain && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Whether the plain file `old` has the bytes of `source`.
fn same_files(source: &Path, old: &Path) -> bool {
    let size = |p: &Path| {
        std::fs::symlink_metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    match (size(source), size(old)) {
        (Some(a), Some(b)) if a == b => std::fs::read(source)
            .ok()
            .is_some_and(|bytes| same_file_bytes(old, &bytes)),
        _ => false,
    }
}

/// Creates every output folder, shallowest first, each level in parallel.
/// Folders that exist already (made for pages written earlier) are left as they are.
fn make_folders<'a>(paths: impl Iterator<Item = &'a str>, staging: &Path) -> Result<()> {
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    for rel in paths {
        let mut path = rel;
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
            match std::fs::create_dir(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists || !dir.is_dir() => {
                    Err(io_error(&dir, "create folder", &e))
                }
                _ => Ok(()),
            }
        })?;
    }
    Ok(())
}
