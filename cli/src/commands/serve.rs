//! `galley serve [SITE] [--port P] [--open]`: builds the site into memory, serves it with the
//! production server library on 127.0.0.1, rebuilds what every save changes (the builder's
//! incremental session) and tells open pages to reload. A failed rebuild shows in the terminal
//! and over the page, and the last good build keeps being served.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use galley_server::handler::Settings;
use galley_server::listener::{serve, shutdown_signal, Limits, SharedSite};
use galley_server::preview::{inject, Preview};
use galley_server::site::{File, Site};
use galley_site_builder::{BuildOptions, RenderedSite, Session, Update};
use notify_debouncer_mini::notify::RecursiveMode;

#[derive(clap::Args)]
pub struct Args {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Open the site in a browser.
    #[arg(long)]
    pub open: bool,
    /// Config files to read instead of the site's _config.yml, merged in order (Jekyll's
    /// `--config a.yml,b.yml`).
    #[arg(long = "config", value_delimiter = ',')]
    pub config_files: Vec<PathBuf>,
    /// A local copy of the repository that `remote_theme:` names (Galley never downloads).
    #[arg(long = "remote-theme")]
    pub remote_theme: Option<PathBuf>,
    /// Include drafts and unpublished posts.
    #[arg(long)]
    pub drafts: bool,
    /// Include posts dated in the future.
    #[arg(long)]
    pub future: bool,
}

pub fn run(args: Args) -> Result<(), ExitCode> {
    let listener =
        std::net::TcpListener::bind(SocketAddr::new(args.host, args.port)).map_err(|e| {
            eprintln!("cannot listen on {}:{}: {e}", args.host, args.port);
            ExitCode::from(super::EXIT_SITE_ERROR)
        })?;
    let addr = listener.local_addr().map_err(|_| ExitCode::FAILURE)?;
    // The preview serves from its own root, so links use this address and no baseurl.
    let options = BuildOptions {
        drafts: args.drafts,
        future: args.future,
        base_url: Some(format!("http://{addr}")),
        destination: Some(args.site.join("_site")),
        now: None,
        force: false,
        source_date_epoch: super::source_date_epoch()?,
        environment: super::jekyll_env(),
        gem_dirs: super::gem_dirs(),
        config_files: args.config_files.clone(),
        remote_theme: args.remote_theme.clone(),
    };
    let started = Instant::now();
    let session = Session::start(&args.site, &options).map_err(|e| super::report(&e))?;
    for warning in session.warnings() {
        eprintln!("warning: {warning}");
    }
    let built = session.site().ok_or(ExitCode::FAILURE)?;
    let site = preview_site(built).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(super::EXIT_SITE_ERROR)
    })?;
    println!(
        "built {} pages in {} ms",
        built.files.len(),
        started.elapsed().as_millis()
    );
    let shared: SharedSite = Arc::new(RwLock::new(Arc::new(site)));
    let preview = Arc::new(Preview::default());
    let _watcher = watch(&args.site, session, shared.clone(), preview.clone()).map_err(|e| {
        eprintln!("cannot watch {}: {e}", args.site.display());
        ExitCode::FAILURE
    })?;
    let url = format!("http://{addr}/");
    println!("serving {url} (Ctrl-C to stop)");
    if args.open {
        let _ = std::process::Command::new("xdg-open").arg(&url).spawn();
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|_| ExitCode::FAILURE)?;
    let result = runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let limits = Limits {
            access_log: false,
            drain_timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        serve(
            listener,
            shared,
            Arc::new(Settings::default()),
            limits,
            Some(preview),
            shutdown_signal(),
        )
        .await
    });
    result.map_err(|e| {
        eprintln!("preview server: {e}");
        ExitCode::FAILURE
    })
}

/// The rendered site as the server's files, with the reload script in every page.
fn preview_site(site: &RenderedSite) -> Result<Site, String> {
    let files = preview_files(site, site.files.keys())?;
    Ok(Site::from_files_uncompressed(files))
}

/// The preview after a rebuild: the whole site again, or the last one with only the changed
/// files made anew.
fn updated_site(
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

/// Quiet time after a change before rebuilding: editors write a file (or a temporary file
/// and a rename) within microseconds, and every millisecond here is one the author waits.
const DEBOUNCE: Duration = Duration::from_millis(8);

/// Rebuilds after every burst of saves (debounced) and swaps the new site in.
fn watch(
    root: &Path,
    mut session: Session,
    shared: SharedSite,
    preview: Arc<Preview>,
) -> Result<
    notify_debouncer_mini::Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
    String,
> {
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
                    let what = match &update.full {
                        Some(reason) => format!("everything: {reason}"),
                        None => format!("{} files", update.changed.len()),
                    };
                    println!(
                        "rebuilt {what} in {} ms ({})",
                        started.elapsed().as_millis(),
                        changed.join(", ")
                    );
                }
                Err(e) => {
                    stale = true;
                    eprintln!("{e}");
                    preview.error(&e);
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
        name == "_site" || name == ".git" || name == ".galley" || name.starts_with(".#")
    }) || rel_str.ends_with('~')
        || rel_str.ends_with(".swp")
        || rel_str.ends_with(".swx")
        || rel_str.contains(".galley-tmp-");
    (!ignored && !rel_str.is_empty()).then_some(rel_str)
}
