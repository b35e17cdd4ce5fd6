//! Watching the site's folder: every burst of saves (debounced) that changed a source file
//! rebuilds what it affects, swaps the new site in and tells open pages to reload.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use galley_server::listener::SharedSite;
use galley_server::preview::Preview;
use galley_site_builder::Session;
use notify_debouncer_mini::notify::RecursiveMode;

use super::files::updated_site;
use super::Event;

/// Quiet time after a change before rebuilding: editors write a file (or a temporary file
/// and a rename) within microseconds, and every millisecond here is one the author waits.
const DEBOUNCE: Duration = Duration::from_millis(8);

/// The file watcher, alive as long as it is kept.
pub type Watcher =
    notify_debouncer_mini::Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>;

/// Rebuilds after every burst of saves (debounced), swaps the new site in, and tells
/// `on_event` what happened.
pub fn watch(
    root: &Path,
    mut session: Session,
    shared: SharedSite,
    preview: Arc<Preview>,
    on_event: impl Fn(Event) + Send + 'static,
) -> Result<Watcher, String> {
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut seen = Fingerprints::scan(&canonical);
    // After a failed rebuild the preview may lag the session: make it whole again next time.
    let mut stale = false;
    let mut debouncer = notify_debouncer_mini::new_debouncer(
        DEBOUNCE,
        move |res: notify_debouncer_mini::DebounceEventResult| {
            let Ok(events) = res else { return };
            let changed: Vec<String> = events
                .iter()
                .filter_map(|e| relevant(&canonical, &e.path).map(|rel| (e, rel)))
                .filter(|(e, _)| seen.changed(&e.path))
                .map(|(_, rel)| rel)
                .collect();
            if changed.is_empty() {
                return;
            }
            let started = Instant::now();
            let last = shared.read().map(|s| Arc::clone(&s));
            let site = session
                .rebuild(&changed)
                .map_err(|e| e.to_string())
                .and_then(|update| {
                    let built = session.site().ok_or("no build")?;
                    let last = last.map_err(|_| "preview lock poisoned")?;
                    updated_site(built, &update, &last, stale).map(|site| (site, update))
                });
            match site {
                Ok((site, update)) => {
                    stale = false;
                    if let Ok(mut s) = shared.write() {
                        *s = Arc::new(site);
                    }
                    preview.reload();
                    on_event(Event::Rebuilt {
                        full: update.full.clone(),
                        files: update.changed.len(),
                        millis: started.elapsed().as_millis(),
                        changed: &changed,
                    });
                }
                Err(e) => {
                    stale = true;
                    preview.error(&e);
                    on_event(Event::Failed(&e));
                }
            }
        },
    )
    .map_err(|e| e.to_string())?;
    debouncer
        .watcher()
        .watch(root, RecursiveMode::Recursive)
        .map_err(|e| e.to_string())?;
    Ok(debouncer)
}

/// What each source file looked like (modification time and size). inotify also reports
/// reads, our own among them while rebuilding; only a file whose fingerprint moved, or that
/// appeared or vanished, is a change.
struct Fingerprints {
    files: HashMap<PathBuf, Option<(SystemTime, u64)>>,
    /// Folders seen so far: an event naming a new folder (moved in with its files) is a
    /// change, as is one naming a known folder that is gone.
    dirs: HashSet<PathBuf>,
}

impl Fingerprints {
    fn scan(root: &Path) -> Self {
        let mut prints = Fingerprints {
            files: HashMap::new(),
            dirs: HashSet::new(),
        };
        for e in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| relevant(root, e.path()).is_some() || e.depth() == 0)
            .filter_map(Result::ok)
        {
            if e.file_type().is_file() {
                prints
                    .files
                    .insert(e.path().to_path_buf(), fingerprint(e.path()));
            } else if e.file_type().is_dir() {
                prints.dirs.insert(e.path().to_path_buf());
            }
        }
        prints
    }

    fn changed(&mut self, path: &Path) -> bool {
        if path.is_dir() {
            return self.dirs.insert(path.to_path_buf());
        }
        if self.dirs.remove(path) {
            return true;
        }
        let now = fingerprint(path);
        self.files.insert(path.to_path_buf(), now) != Some(now)
    }
}

fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}

/// A change that can affect the site: not the output, not VCS or editor scratch files.
fn relevant(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let rel_str = rel.to_string_lossy().replace('\\', "/");
    let ignored = rel.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        // A build's staging folder, a previous site being removed or kept as a spare.
        let builds = name.starts_with('.') && name.contains(".galley-");
        name == "_site" || name == ".git" || name == ".galley" || name.starts_with(".#") || builds
    }) || rel_str.ends_with('~')
        || rel_str.ends_with(".swp")
        || rel_str.ends_with(".swx");
    (!ignored && !rel_str.is_empty()).then_some(rel_str)
}

#[cfg(test)]
mod tests {
    use super::relevant;
    use std::path::Path;

    #[test]
    fn builds_folders_beside_the_output_are_not_changes_to_the_site() {
        let root = Path::new("/site");
        for ignored in [
            "_site/index.html",
            "._site.galley-tmp-42/index.html",
            "._site.galley-old-43/about/index.html",
            "._site.galley-spare/index.html",
            ".git/HEAD",
            "_posts/.#draft.md",
            "about.md~",
        ] {
            assert_eq!(relevant(root, &root.join(ignored)), None, "{ignored}");
        }
        for change in ["about.md", "_posts/2024-01-01-a.md", "notes.galley-plan.md"] {
            assert_eq!(
                relevant(root, &root.join(change)).as_deref(),
                Some(change),
                "{change}"
            );
        }
    }
}
