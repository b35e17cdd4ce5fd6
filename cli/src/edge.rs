//! What the command reads from its environment, read once here at the edge and handed to
//! the libraries as options: they read none of it themselves.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use galley_image::registry::Credentials;
use galley_infra::aws::access::Timeouts;
use galley_infra::local::state;
use galley_pipeline::Services;
use galley_site_builder::BuildOptions;

use crate::commands::{fail, EXIT_USAGE};

/// `SOURCE_DATE_EPOCH`; a malformed value is a usage error, never silently ignored.
pub fn source_date_epoch() -> Result<Option<i64>, ExitCode> {
    let raw = std::env::var("SOURCE_DATE_EPOCH").ok();
    galley_image::epoch::parse_source_date_epoch(raw.as_deref()).map_err(|e| fail(EXIT_USAGE, e))
}

/// `JEKYLL_ENV`: `jekyll.environment` in templates.
pub fn jekyll_env() -> Option<String> {
    std::env::var("JEKYLL_ENV").ok().filter(|e| !e.is_empty())
}

/// Where RubyGems puts gems for this user: `GEM_HOME`, each `GEM_PATH` entry, and the
/// per-user gem folders (`~/.gem/ruby/*`, `~/.local/share/gem/ruby/*`), each as its `gems`
/// folder. The system's folders are the library's own.
pub fn gem_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("GEM_HOME") {
        roots.push(home.into());
    }
    if let Some(paths) = std::env::var_os("GEM_PATH") {
        roots.extend(std::env::split_paths(&paths));
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        for base in [home.join(".gem/ruby"), home.join(".local/share/gem/ruby")] {
            let mut versions: Vec<PathBuf> = std::fs::read_dir(&base)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .collect();
            versions.sort();
            roots.extend(versions);
        }
    }
    roots.into_iter().map(|r| r.join("gems")).collect()
}

/// Build options with what the environment says (dates, Jekyll's environment, gems).
pub fn build_options() -> Result<BuildOptions, ExitCode> {
    Ok(BuildOptions {
        source_date_epoch: source_date_epoch()?,
        environment: jekyll_env(),
        gem_dirs: gem_dirs(),
        ..BuildOptions::default()
    })
}

/// How to reach the services: `GALLEY_AWS_TIMEOUT` (seconds per AWS call attempt),
/// `GALLEY_POLL_MS` (tests against emulators poll fast), the registry's
/// `GALLEY_REGISTRY_USERNAME`/`GALLEY_REGISTRY_PASSWORD` (never flags, which would land in
/// shell history), the local state home and this executable.
pub fn services(ecr_registry: Option<String>) -> Result<Services, ExitCode> {
    let aws_timeouts = std::env::var("GALLEY_AWS_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or_else(Timeouts::default, |s| {
            Timeouts::with_attempt(Duration::from_secs_f64(s))
        });
    let poll = std::env::var("GALLEY_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis);
    let registry_credentials = std::env::var("GALLEY_REGISTRY_USERNAME")
        .ok()
        .zip(std::env::var("GALLEY_REGISTRY_PASSWORD").ok())
        .map(|(username, password)| Credentials { username, password });
    let program = std::env::current_exe().map_err(|e| {
        fail(
            crate::commands::EXIT_SERVICE,
            format!("cannot find the galley executable: {e}"),
        )
    })?;
    Ok(Services {
        aws_timeouts,
        poll,
        registry_credentials,
        ecr_registry,
        state_home: state_home(),
        program,
    })
}

/// Where local state lives: `GALLEY_STATE_DIR`, else `$XDG_STATE_HOME`, else
/// `~/.local/state`.
fn state_home() -> state::Where {
    match std::env::var_os("GALLEY_STATE_DIR") {
        Some(dir) => state::Where::Exactly(dir.into()),
        None => state::Where::Under(
            std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state"))
                }),
        ),
    }
}
