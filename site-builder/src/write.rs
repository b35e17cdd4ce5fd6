//! Writing the rendered site atomically: pages go into a staging folder beside the
//! destination as they render, the rest of the site after them, and the folder is then
//! swapped in with one rename. A failed build never touches the previous site. The staging
//! folder is the destination's spare when there is one (the site before the previous one,
//! brought up to date here), so a rebuild neither deletes nor creates a whole tree.

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
    /// Whether the staging folder is the destination's spare, an earlier site being
    /// brought up to date (see [`Removal::Spare`]), rather than an empty folder.
    recycled: bool,
    /// In a recycled folder, the folders the streamed pages need: a folder there where a
    /// page goes is an earlier site's only if this build does not need it.
    folders: BTreeSet<String>,
    /// What becomes of the previous site at the swap (and whether a spare was taken).
    removal: Removal,
}

impl Stream {
    /// Opens a staging folder beside `destination` with the folders `paths` need: the
    /// destination's spare when `removal` keeps one and there is one, else a new folder.
    pub fn open<'a>(
        destination: &Path,
        paths: impl Iterator<Item = &'a str>,
        removal: Removal,
    ) -> Result<Stream> {
        let staging = if removal == Removal::Spare {
            Staging::recycling(destination)
        } else {
            Staging::new(destination)
        }
        .map_err(swap_error)?;
        let recycled = staging.recycled();
        let root = staging.path();
        std::fs::create_dir_all(root).map_err(|e| io_error(root, "create folder", &e))?;
        let io = io_pool(root)?;
        let needed = folders_of(paths);
        // Nothing of this build is written yet: whatever is in a recycled folder where a
        // folder is wanted is left from an earlier site.
        if let Err(e) = io.install(|| make_folders(&needed, root, recycled)) {
            if recycled {
                staging.spoil();
            }
            return Err(e);
        }
        let previous = destination.is_dir().then(|| destination.to_path_buf());
        let folders = if recycled {
            needed.into_iter().map(String::from).collect()
        } else {
            BTreeSet::new()
        };
        Ok(Stream {
            staging,
            io,
            previous,
            recycled,
            folders,
            removal,
        })
    }

    /// Runs `render` with a sink that writes each page it is given on writer threads (file
    /// creation waits on the disk, so the renderer does not), and waits for every write.
    pub fn scope<R>(&self, render: impl FnOnce(&Sink) -> R) -> Result<R> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(String, String, Vec<u8>)>(IO_THREADS * 4);
        let rx = std::sync::Mutex::new(rx);
        let failed: std::sync::Mutex<Option<Diagnostic>> = std::sync::Mutex::new(None);
        let root = self.staging.path();
        let to = self.target();
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
                    if let Err(d) = put(&to, &rel, &origin, &Body::Bytes(bytes)) {
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
        let failed = match failed.into_inner() {
            Ok(None) => return Ok(out),
            Ok(Some(d)) => d,
            Err(_) => Diagnostic::new(root, "a writer thread failed"),
        };
        self.spoil();
        Err(failed.into())
    }

    /// Writes what is still in memory (everything not sent through a sink), marks the folder
    /// as Galley's and swaps it in, carrying `keep` over from the previous site, which goes
    /// as the `removal` given to [`Stream::open`] says. Returns warnings about folders left
    /// beside the site.
    pub fn finish(self, site: &RenderedSite, keep: &[String]) -> Result<Vec<String>> {
        let to = self.target();
        let filled = self.io.install(|| {
            if to.recycled {
                prune(to.staging, site)?;
            }
            fill(site, &to)
        });
        if filled.is_err() {
            self.spoil();
        }
        filled?;
        let marker = self.staging.path().join(MARKER);
        // A recycled folder has an earlier build's marker, its own file (never linked): a
        // fresh one keeps it so.
        let _ = std::fs::remove_file(&marker);
        std::fs::write(
            &marker,
            "written by galley build; a later build may replace this folder\n",
        )
        .map_err(|e| io_error(&marker, "write", &e))?;
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        let committed = self
            .staging
            .commit_keeping(&keep, self.removal)
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

    /// Where this build's files go.
    fn target(&self) -> Target<'_> {
        Target {
            staging: self.staging.path(),
            previous: self.previous.as_deref(),
            recycled: self.recycled,
            folders: &self.folders,
        }
    }

    /// After a failed write: a recycled folder that could not be brought up to date is not
    /// kept as the spare (it may hold what the next build cannot change either).
    fn spoil(&self) {
        if self.recycled {
            self.staging.spoil();
        }
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

/// Where files go: the staging folder, the site it replaces (whose files with the same
/// bytes are linked, not written), and whether the staging folder holds an earlier site.
struct Target<'a> {
    staging: &'a Path,
    previous: Option<&'a Path>,
    recycled: bool,
    /// The folders this build's streamed pages need (see [`Stream`]).
    folders: &'a BTreeSet<String>,
}

/// Writes every file held in memory (or copied from a source) into the staging folder, on
/// the pool it is run in.
fn fill(site: &RenderedSite, to: &Target) -> Result<()> {
    let pending = site
        .files
        .iter()
        .filter(|(_, f)| !matches!(f.body, Body::Written));
    make_folders(
        &folders_of(pending.clone().map(|(rel, _)| rel.as_str())),
        to.staging,
        false,
    )?;
    let pending: Vec<_> = pending.collect();
    pending
        .par_iter()
        .try_for_each(|(rel, file)| put(to, rel, &file.origin, &file.body))
        .map_err(Into::into)
}

/// Writes one file into the staging folder, or links the previous site's copy when it has
/// the same bytes: a rebuild then writes only what changed (a link is a name, not data),
/// and the previous site stays whole until the swap, so a failed build still leaves it as
/// it was. In a recycled folder, a file that already is that link stays; anything else
/// there is replaced, never written into, since it may be a link to the live site's file.
fn put(to: &Target, rel: &str, origin: &str, body: &Body) -> Result<(), Diagnostic> {
    // Every path was checked where it was made; this is the last line of defence.
    if rel.starts_with('/') || rel.split('/').any(|s| s == ".." || s == ".") {
        return Err(
            Diagnostic::new(origin, format!("output path `{rel}` leaves the site"))
                .hint("give the page a permalink inside the site"),
        );
    }
    let target = to.staging.join(rel);
    let old = to.previous.map(|p| p.join(rel));
    let same = |old: &Path| match body {
        Body::Bytes(bytes) => same_file_bytes(old, bytes),
        Body::Copy(source) => same_files(source, old),
        Body::Written => true,
    };
    if matches!(body, Body::Written) {
        return Ok(());
    }
    let unchanged = old.as_deref().filter(|old| same(old));
    let here = if to.recycled {
        std::fs::symlink_metadata(&target).ok()
    } else {
        None
    };
    if let (Some(old), Some(here)) = (unchanged, &here) {
        if std::fs::symlink_metadata(old).is_ok_and(|m| same_inode(&m, here)) {
            return Ok(());
        }
    }
    // A folder this build needs stays (the write below then fails, as into a new folder:
    // two outputs want the path as a file and as a folder).
    if let Some(here) = here.filter(|h| !(h.is_dir() && to.folders.contains(rel))) {
        remove(&target, here.is_dir())?;
    }
    // A failed link (say, across file systems) falls back to writing.
    if unchanged.is_some_and(|old| std::fs::hard_link(old, &target).is_ok()) {
        return Ok(());
    }
    match body {
        Body::Bytes(bytes) => {
            std::fs::write(&target, bytes).map_err(|e| io_error(&target, "write", &e))
        }
        Body::Copy(source) => std::fs::copy(source, &target)
            .map(|_| ())
            .map_err(|e| io_error(source, "copy", &e)),
        Body::Written => Ok(()),
    }
}

fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Removes a file or folder an earlier site left in a recycled folder.
fn remove(path: &Path, is_dir: bool) -> Result<(), Diagnostic> {
    if is_dir {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
    .map_err(|e| io_error(path, "remove an earlier build's file", &e))
}

/// Removes from a recycled folder every file and folder the new site lacks, before the
/// files kept in memory are written (so an earlier file where the site now has a folder
/// is gone first). Pages already streamed in are in `site` and stay.
fn prune(staging: &Path, site: &RenderedSite) -> Result<()> {
    let folders = folders_of(site.files.keys().map(String::as_str));
    let keep = Keep {
        files: &site.files,
        folders: &folders,
    };
    prune_in(staging, "", &keep).map_err(Into::into)
}

/// What a recycled folder keeps: the new site's files and the folders that hold them.
struct Keep<'a> {
    files: &'a std::collections::BTreeMap<String, crate::output::OutputFile>,
    folders: &'a BTreeSet<&'a str>,
}

fn prune_in(dir: &Path, prefix: &str, keep: &Keep) -> Result<(), Diagnostic> {
    let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .and_then(|entries| entries.collect())
        .map_err(|e| io_error(dir, "list", &e))?;
    entries.par_iter().try_for_each(|entry| {
        let name = entry.file_name();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let Some(name) = name.to_str() else {
            // Never a name of this build's: remove it.
            return remove(&entry.path(), is_dir);
        };
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        if is_dir && keep.folders.contains(rel.as_str()) {
            prune_in(&entry.path(), &rel, keep)
        } else if !is_dir && keep.files.contains_key(&rel) {
            Ok(())
        } else {
            remove(&entry.path(), is_dir)
        }
    })
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

/// Every folder that holds one of `paths` (`a/b/c.html` needs `a` and `a/b`).
fn folders_of<'a>(paths: impl Iterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut folders = BTreeSet::new();
    for rel in paths {
        let mut path = rel;
        while let Some((parent, _)) = path.rsplit_once('/') {
            if !folders.insert(parent) {
                break;
            }
            path = parent;
        }
    }
    folders
}

/// Creates `folders` (see [`folders_of`]), shallowest first, each level in parallel.
/// Folders that exist already (made for pages written earlier) are left as they are; with
/// `replace`, a file where a folder is wanted is an earlier site's, and goes.
fn make_folders(folders: &BTreeSet<&str>, staging: &Path, replace: bool) -> Result<()> {
    let mut by_depth: Vec<Vec<&str>> = Vec::new();
    for &d in folders {
        let depth = d.matches('/').count();
        if by_depth.len() <= depth {
            by_depth.resize_with(depth + 1, Vec::new);
        }
        by_depth[depth].push(d);
    }
    for level in by_depth {
        level.par_iter().try_for_each(|d| {
            let dir = staging.join(d);
            if replace {
                if let Ok(here) = std::fs::symlink_metadata(&dir) {
                    if !here.is_dir() {
                        remove(&dir, false)?;
                    }
                }
            }
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
