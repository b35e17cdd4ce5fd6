//! A staging folder beside the destination, swapped in whole.
//!
//! Names carry the writer's process id (`.NAME.galley-tmp-PID`, `.NAME.galley-old-PID`), so a
//! later writer can tell a folder left by a process that died (removed) from one a running
//! build is still filling (left alone). A previous output removed in the background is named
//! after the process removing it, for the same reason. A previous output kept for the next
//! writer to update is `.NAME.galley-spare` ([`Removal::Spare`]).

use std::io;
use std::path::{Path, PathBuf};

/// A folder to write the new output into; removed on drop unless committed.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
    /// Whether the folder is a previous output to bring up to date ([`Staging::recycling`]).
    recycled: bool,
    /// Set when updating a recycled folder failed: dropped, it is then removed rather than
    /// kept as the spare (see [`Staging::spoil`]).
    spoiled: std::sync::atomic::AtomicBool,
    /// What [`remove_stale`] could not remove, reported at the commit.
    stale: Vec<(PathBuf, io::Error)>,
}

/// When the previous output is removed, once the new one is in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Removal {
    /// Before `commit` returns, so that a failure is reported in [`Committed::leftover`].
    #[default]
    Wait,
    /// By a process of its own (`rm -rf`) that outlives the caller, so a command that has
    /// swapped in its output returns at once: removing a large tree costs as much as
    /// writing it on some disks. The folder is renamed after that process, so other writers
    /// leave it alone while it runs; if it fails, the next writer finds the folder, removes
    /// it and reports what it cannot. Where no such process can start, as `Wait`.
    Background,
    /// Never: it stays beside the target as its spare (`.NAME.galley-spare`), for the next
    /// [`Staging::recycling`] to bring up to date and swap in. On a disk where creating
    /// and deleting tens of thousands of folders is slow, a rebuild then writes only what
    /// changed, and nothing is deleted. Where it cannot be kept, as `Background`.
    Spare,
}

/// What a successful swap left behind.
#[derive(Debug, Default)]
pub struct Committed {
    /// The previous output, moved aside, when it could not be removed (an immutable file,
    /// a read-only folder): the new output is in place, the old one waits here for the next
    /// writer (or the user) to remove it.
    pub leftover: Option<(PathBuf, io::Error)>,
    /// Folders earlier writers left beside the target (a previous output their removal
    /// could not take away, a dead build's staging folder) that this one could not remove
    /// either.
    pub stale: Vec<(PathBuf, io::Error)>,
}

/// Why the swap failed; the previous output is as it was.
#[derive(Debug)]
pub struct SwapError {
    pub path: PathBuf,
    pub action: &'static str,
    pub source: io::Error,
}

impl std::fmt::Display for SwapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: cannot {}: {}",
            self.path.display(),
            self.action,
            self.source
        )
    }
}

impl std::error::Error for SwapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Staging {
    /// Creates the staging folder beside `target` (and `target`'s parent if missing), after
    /// removing staging folders that dead writers left there.
    pub fn new(target: &Path) -> Result<Staging, SwapError> {
        Self::open(target, false)
    }

    /// As `new`, but the staging folder is the target's spare when it has one (see
    /// [`Removal::Spare`]): an earlier output, which the writer brings up to date (it holds
    /// anything, since a build that failed may have left it half updated). Taking it is one
    /// rename, so two writers never share it. [`Staging::recycled`] says which it got.
    pub fn recycling(target: &Path) -> Result<Staging, SwapError> {
        Self::open(target, true)
    }

    fn open(target: &Path, recycle: bool) -> Result<Staging, SwapError> {
        let parent = parent_of(target);
        std::fs::create_dir_all(parent).map_err(|e| fail(parent, "create folder", e))?;
        let stale = remove_stale(target);
        let dir = sibling(target, "tmp", std::process::id());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| fail(&dir, "remove an earlier staging folder", e))?;
        }
        let spare = spare_of(target);
        // A plain folder only: a link there would have the build write wherever it points.
        let recycled = recycle
            && std::fs::symlink_metadata(&spare).is_ok_and(|m| m.is_dir())
            && std::fs::rename(&spare, &dir).is_ok();
        if !recycled {
            std::fs::create_dir(&dir).map_err(|e| fail(&dir, "create the staging folder", e))?;
        }
        Ok(Staging {
            dir,
            target: target.to_path_buf(),
            committed: false,
            recycled,
            spoiled: std::sync::atomic::AtomicBool::new(false),
            stale,
        })
    }

    /// Says that the writer could not bring a recycled folder up to date (a file it cannot
    /// remove, a folder it cannot write): dropped, the folder is then removed (in the
    /// background) instead of going back to be the spare, so the next writer starts afresh.
    pub fn spoil(&self) {
        self.spoiled
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the staging folder holds an earlier output (the target's spare) rather than
    /// nothing: the writer must then replace what differs and remove what the new output
    /// lacks.
    pub fn recycled(&self) -> bool {
        self.recycled
    }

    /// Where the writer puts the new output.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Puts the staged folder where the target is. On error nothing was changed: the target
    /// is as it was and the staging folder is removed.
    pub fn commit(self) -> Result<Committed, SwapError> {
        self.commit_keeping(&[], Removal::Wait)
    }

    /// As `commit`, and the entries of the previous output named in `keep` (paths relative
    /// to it, e.g. `.git`) that the new output lacks move into the new one (Jekyll's
    /// `keep_files`). If one cannot be moved, the previous output is left aside rather than
    /// removed, so nothing kept is lost. `removal` says when the previous output goes.
    pub fn commit_keeping(
        mut self,
        keep: &[&str],
        removal: Removal,
    ) -> Result<Committed, SwapError> {
        let target = self.target.clone();
        let mut stale = std::mem::take(&mut self.stale);
        if removal != Removal::Spare {
            // Asked not to keep one: an earlier build's spare goes too.
            stale.extend(discard(&spare_of(&target), &target, removal));
        }
        if std::fs::symlink_metadata(&target).is_err() {
            std::fs::rename(&self.dir, &target)
                .map_err(|e| fail(&target, "move the new output into place", e))?;
            self.committed = true;
            return Ok(Committed {
                leftover: None,
                stale,
            });
        }
        let exchanged = rustix::fs::renameat_with(
            rustix::fs::CWD,
            &self.dir,
            rustix::fs::CWD,
            &target,
            rustix::fs::RenameFlags::EXCHANGE,
        );
        let old = if exchanged.is_ok() {
            // The staging path now holds the previous output.
            self.dir.clone()
        } else {
            let old = sibling(&target, "old", std::process::id());
            swap_by_renames(&self.dir, &target, &old)?;
            old
        };
        // The new output is in place: the staging path is no longer ours to remove.
        self.committed = true;
        if let Err(e) = carry_over(&old, &target, keep) {
            return Ok(Committed {
                leftover: Some((old, e)),
                stale,
            });
        }
        let removal = match removal {
            Removal::Spare if keep_as_spare(&old, &target).is_ok() => {
                return Ok(Committed {
                    leftover: None,
                    stale,
                })
            }
            Removal::Spare => Removal::Background,
            other => other,
        };
        Ok(Committed {
            leftover: discard(&old, &target, removal),
            stale,
        })
    }
}

/// Where the spare of `target` is kept (see [`Removal::Spare`]).
pub fn spare_of(target: &Path) -> PathBuf {
    parent_of(target).join(format!(".{}.galley-spare", name_of(target)))
}

/// Moves the previous output `old` (or a spare a failed writer gives back) to be
/// `target`'s spare, unless another writer put one there meanwhile. The spare ignores itself in git (a `.gitignore` of `*`, which the
/// next writer removes with the rest of what its output lacks), so a site whose
/// `.gitignore` names only `_site` does not show it as new files.
fn keep_as_spare(old: &Path, target: &Path) -> io::Result<()> {
    let spare = spare_of(target);
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        old,
        rustix::fs::CWD,
        &spare,
        rustix::fs::RenameFlags::NOREPLACE,
    )?;
    // Only a convenience: a spare that git lists is still a good spare. Never over a
    // `.gitignore` the site itself has: that file may be a link to the live site's.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(spare.join(".gitignore"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"*\n"));
    Ok(())
}

/// Removes `dir` as `removal` says, if it is there; returns why it could not.
fn discard(dir: &Path, target: &Path, removal: Removal) -> Option<(PathBuf, io::Error)> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    if removal != Removal::Wait && remove_in_background(dir, target).is_ok() {
        return None;
    }
    remove_tree(dir).err().map(|e| (dir.to_path_buf(), e))
}

/// Waits until every background removal beside `target` (see [`Removal::Background`]) has
/// finished, for a caller that measures or lists the folder next.
pub fn wait_for_background_removal(target: &Path) -> io::Result<()> {
    use rustix::event::{poll, PollFd, PollFlags};
    use rustix::process::{pidfd_open, Pid, PidfdFlags};
    let prefix = format!(".{}.galley-old-", name_of(target));
    for entry in std::fs::read_dir(parent_of(target))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<i32>().ok())
            .and_then(Pid::from_raw)
        else {
            continue;
        };
        let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fd,
            // Gone already.
            Err(rustix::io::Errno::SRCH) => continue,
            Err(e) => return Err(e.into()),
        };
        // A process's descriptor becomes readable when it exits.
        let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
        loop {
            match poll(&mut fds, None) {
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Hands `old` to a process that removes it after the caller has gone: a shell that waits
/// for a line on its input, then becomes `rm -rf` (keeping its process id). The folder is
/// renamed `.NAME.galley-old-PID` after that process before the line is sent, so a writer
/// that comes while it runs leaves it alone, and one that comes after it died removes what
/// it left. If the rename fails the shell reads no line and exits, and nothing was moved.
fn remove_in_background(old: &Path, target: &Path) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let prefix = format!(".{}.galley-old-", name_of(target));
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"read -r go && exec rm -rf -- "$1$$""#)
        .arg("sh")
        .arg(&prefix)
        .current_dir(parent_of(target))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own group, so that a Ctrl-C meant for what runs next does not stop it.
        .process_group(0)
        .spawn()?;
    let named = parent_of(target).join(format!("{prefix}{}", child.id()));
    let handed = std::fs::rename(old, &named).and_then(|()| match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(b"go\n"),
        None => Err(io::Error::other("the remover has no input")),
    });
    if let Err(e) = handed {
        drop(child.stdin.take());
        let _ = child.wait();
        if named.exists() {
            // The line was not sent: the folder is ours to remove again.
            std::fs::rename(&named, old)?;
        }
        return Err(e);
    }
    // Reap it if the caller lives on (a long-running process); one that exits first
    // leaves it to init.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // A spare taken for a write that failed is still a spare: the next writer checks
        // every file of it anyway.
        let spoiled = self.spoiled.load(std::sync::atomic::Ordering::Relaxed);
        let returned = self.recycled && !spoiled && keep_as_spare(&self.dir, &self.target).is_ok();
        if !returned && (!spoiled || remove_in_background(&self.dir, &self.target).is_err()) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Threads removing a previous output: each unlink waits on the disk, not the CPU, so
/// several in flight keep a slow disk busy (a 10k-page site is 10k unlinks).
const REMOVERS: usize = 16;

/// Removes `dir` and everything in it, its top-level entries shared among [`REMOVERS`]
/// threads.
fn remove_tree(dir: &Path) -> io::Result<()> {
    let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)?.collect::<io::Result<_>>()?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed: std::sync::Mutex<Option<io::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..REMOVERS.min(entries.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(entry) = entries.get(i) else { return };
                let path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                let removed = if is_dir {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                if let Err(e) = removed {
                    if let Ok(mut first) = failed.lock() {
                        first.get_or_insert(e);
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    std::fs::remove_dir(dir)
}

/// Moves each kept entry from the previous output into the new one, unless the new one has
/// its own.
fn carry_over(old: &Path, new: &Path, keep: &[&str]) -> io::Result<()> {
    for rel in keep {
        let rel = rel.trim_matches('/');
        if rel.is_empty() || rel.split('/').any(|s| s == ".." || s == ".") {
            continue;
        }
        let (from, to) = (old.join(rel), new.join(rel));
        if std::fs::symlink_metadata(&from).is_err() || std::fs::symlink_metadata(&to).is_ok() {
            continue;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(&from, &to)?;
    }
    Ok(())
}

/// Where the kernel cannot exchange two folders: the old output moves aside, the new one in,
/// and if that second step fails the old output goes back, so a failure loses nothing.
fn swap_by_renames(staging: &Path, target: &Path, old: &Path) -> Result<(), SwapError> {
    std::fs::rename(target, old).map_err(|e| fail(target, "move the previous output aside", e))?;
    if let Err(e) = std::fs::rename(staging, target) {
        let _ = std::fs::rename(old, target);
        return Err(fail(target, "move the new output into place", e));
    }
    Ok(())
}

fn parent_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn name_of(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into())
}

fn sibling(target: &Path, kind: &str, pid: u32) -> PathBuf {
    parent_of(target).join(format!(".{}.galley-{kind}-{pid}", name_of(target)))
}

/// Removes `.NAME.galley-{tmp,old}-PID` folders whose process is gone, and returns those
/// that could not be removed (the next writer tries again).
fn remove_stale(target: &Path) -> Vec<(PathBuf, io::Error)> {
    let prefix = format!(".{}.galley-", name_of(target));
    let mut failed = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent_of(target)) else {
        return failed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest
            .strip_prefix("tmp-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !process_alive(pid)) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                failed.push((entry.path(), e));
            }
        }
    }
    failed
}

/// Whether `pid` runs. A process that exited but was not yet reaped (a zombie, as a
/// background remover is once its parent has gone and until init reaps it) does not.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `PID (COMM) STATE ...`, where COMM may itself hold parentheses.
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

fn fail(path: &Path, action: &'static str, source: io::Error) -> SwapError {
    SwapError {
        path: path.to_path_buf(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).expect("folder");
        std::fs::write(dir.join(name), text).expect("file");
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).expect("read")
    }

    #[test]
    fn kept_entries_of_the_previous_output_move_into_the_new_one() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        write(&target, "index.html", "old");
        write(&target.join(".git"), "HEAD", "ref: main");
        write(&target, "notes.txt", "old notes");
        let staging = Staging::new(&target).expect("staging");
        write(staging.path(), "index.html", "new");
        write(staging.path(), "notes.txt", "new notes");
        let committed = staging
            .commit_keeping(
                &[".git", "notes.txt", "missing", "../escape"],
                Removal::Wait,
            )
            .expect("commit");
        assert!(committed.leftover.is_none());
        assert_eq!(read(&target, "index.html"), "new");
        assert_eq!(read(&target.join(".git"), "HEAD"), "ref: main", "kept");
        assert_eq!(
            read(&target, "notes.txt"),
            "new notes",
            "the new output's own wins"
        );
    }

    #[test]
    fn commit_replaces_the_target_and_leaves_no_staging_folder() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        write(&target, "index.html", "old");
        let staging = Staging::new(&target).expect("staging");
        write(staging.path(), "index.html", "new");
        let committed = staging.commit().expect("commit");
        assert!(committed.leftover.is_none());
        assert_eq!(read(&target, "index.html"), "new");
        assert_eq!(names_in(tmp.path()), vec!["_site"]);
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_previous_output_removed_in_the_background_is_named_after_its_remover_and_goes() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        write(&target.join("deep/er"), "page.html", "old");
        write(&target.join(".git"), "HEAD", "ref: main");
        let staging = Staging::new(&target).expect("staging");
        write(staging.path(), "index.html", "new");
        let committed = staging
            .commit_keeping(&[".git"], Removal::Background)
            .expect("commit");
        assert!(committed.leftover.is_none());
        assert_eq!(read(&target, "index.html"), "new");
        assert_eq!(read(&target.join(".git"), "HEAD"), "ref: main", "kept");
        for name in names_in(tmp.path()) {
            assert!(
                name == "_site" || name.starts_with("._site.galley-old-"),
                "{name}"
            );
        }
        wait_for_background_removal(&target).expect("wait");
        assert_eq!(names_in(tmp.path()), vec!["_site"]);
        assert!(!target.join("deep").exists());
    }

    #[test]
    fn a_spare_is_kept_ignored_by_git_taken_by_the_next_writer_and_returned_if_it_fails() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        write(&target, "index.html", "first");
        let staging = Staging::recycling(&target).expect("staging");
        assert!(!staging.recycled(), "no spare yet");
        write(staging.path(), "index.html", "second");
        staging.commit_keeping(&[], Removal::Spare).expect("commit");
        let spare = spare_of(&target);
        assert_eq!(spare, tmp.path().join("._site.galley-spare"));
        assert_eq!(read(&spare, "index.html"), "first", "the previous output");
        assert_eq!(read(&spare, ".gitignore"), "*\n");
        assert_eq!(names_in(tmp.path()), vec!["._site.galley-spare", "_site"]);

        // The next writer takes it (one rename: it is gone from its place) ...
        let staging = Staging::recycling(&target).expect("staging");
        assert!(staging.recycled());
        assert_eq!(read(staging.path(), "index.html"), "first");
        assert!(!spare.exists());
        // ... and, failing, gives it back.
        drop(staging);
        assert_eq!(read(&spare, "index.html"), "first");
        assert_eq!(names_in(tmp.path()), vec!["._site.galley-spare", "_site"]);

        // One that could not update it does not.
        let staging = Staging::recycling(&target).expect("staging");
        staging.spoil();
        drop(staging);
        wait_for_background_removal(&target).expect("wait");
        assert_eq!(names_in(tmp.path()), vec!["_site"]);
        assert_eq!(read(&target, "index.html"), "second");
    }

    #[test]
    fn keeping_a_spare_never_writes_into_a_gitignore_the_site_has() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        write(&target, ".gitignore", "site rules\n");
        let staging = Staging::recycling(&target).expect("staging");
        // As a rebuild does with a file whose bytes did not change.
        std::fs::hard_link(target.join(".gitignore"), staging.path().join(".gitignore"))
            .expect("link");
        staging.commit_keeping(&[], Removal::Spare).expect("commit");
        assert_eq!(read(&target, ".gitignore"), "site rules\n");
        assert_eq!(read(&spare_of(&target), ".gitignore"), "site rules\n");
    }

    #[test]
    fn a_writer_not_keeping_a_spare_removes_an_earlier_one() {
        for removal in [Removal::Wait, Removal::Background] {
            let tmp = tempfile::tempdir().expect("temp dir");
            let target = tmp.path().join("_site");
            write(&target, "index.html", "first");
            write(&spare_of(&target).join("deep"), "page.html", "older");
            let staging = Staging::new(&target).expect("staging");
            write(staging.path(), "index.html", "second");
            let committed = staging.commit_keeping(&[], removal).expect("commit");
            assert!(committed.leftover.is_none() && committed.stale.is_empty());
            wait_for_background_removal(&target).expect("wait");
            assert_eq!(names_in(tmp.path()), vec!["_site"], "{removal:?}");
        }
    }

    #[test]
    fn a_staging_folder_dropped_uncommitted_is_removed_and_the_target_kept() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        write(&target, "index.html", "old");
        let staging = Staging::new(&target).expect("staging");
        write(staging.path(), "index.html", "new");
        let path = staging.path().to_path_buf();
        drop(staging);
        assert!(!path.exists());
        assert_eq!(read(&target, "index.html"), "old");
    }

    #[test]
    fn a_failed_swap_by_renames_puts_the_previous_output_back() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("image");
        write(&target, "oci-layout", "previous");
        // A staging folder that is not there makes the second rename fail.
        let staging = tmp.path().join(".image.galley-tmp-1");
        let old = tmp.path().join(".image.galley-old-1");
        assert!(swap_by_renames(&staging, &target, &old).is_err());
        assert_eq!(read(&target, "oci-layout"), "previous");
        assert!(!old.exists());
        write(&staging, "oci-layout", "new");
        swap_by_renames(&staging, &target, &old).expect("swap");
        assert_eq!(read(&target, "oci-layout"), "new");
        assert_eq!(read(&old, "oci-layout"), "previous");
    }

    #[test]
    fn staging_folders_of_dead_processes_are_removed_and_live_ones_kept() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("_site");
        // Process ids above the kernel's maximum (2^22) never run.
        let dead = [
            tmp.path().join("._site.galley-tmp-4999999"),
            tmp.path().join("._site.galley-old-4999998"),
        ];
        for d in &dead {
            write(d, "index.html", "stale");
        }
        let live = tmp.path().join("._site.galley-tmp-1");
        write(&live, "index.html", "pid 1 is running");
        let other = tmp.path().join(".other.galley-tmp-4999999");
        write(&other, "index.html", "another output's");
        let staging = Staging::new(&target).expect("staging");
        for d in &dead {
            assert!(!d.exists(), "{} should be removed", d.display());
        }
        assert!(live.exists());
        assert!(other.exists());
        drop(staging);
    }

    #[test]
    fn a_process_that_exited_unreaped_is_not_alive() {
        use rustix::event::{poll, PollFd, PollFlags};
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        assert!(process_alive(std::process::id()));
        let pid = rustix::process::Pid::from_child(&child);
        let pidfd =
            rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).expect("pidfd");
        // Readable once it has exited; not reaped until `wait`, so a zombie till then.
        poll(&mut [PollFd::new(&pidfd, PollFlags::IN)], None).expect("poll");
        assert!(!process_alive(child.id()), "a zombie is not a live writer");
        child.wait().expect("reap");
        assert!(!process_alive(child.id()));
    }

    #[test]
    fn a_new_target_is_created_with_its_parent() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let target = tmp.path().join("deep/er/_site");
        let staging = Staging::new(&target).expect("staging");
        write(staging.path(), "a.txt", "a");
        staging.commit().expect("commit");
        assert_eq!(read(&target, "a.txt"), "a");
    }
}
