//! One module per subcommand.

pub mod build;
pub mod check;
pub mod image;
pub mod local;
pub mod new;
pub mod publish;
pub mod serve;

use std::process::ExitCode;

use galley_site_builder::BuildError;

/// Exit code for problems in the site's sources (bad input): the author must fix something.
pub const EXIT_SITE_ERROR: u8 = 1;

/// Exit code for a wrong command line (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

/// Exit code when a service Galley talks to failed: the Docker engine, a registry, AWS.
pub const EXIT_SERVICE: u8 = 3;

/// `SOURCE_DATE_EPOCH`, read here at the edge and handed to the libraries as an option; a
/// malformed value is a usage error, never silently ignored.
pub fn source_date_epoch() -> Result<Option<i64>, ExitCode> {
    let raw = std::env::var("SOURCE_DATE_EPOCH").ok();
    galley_image::epoch::parse_source_date_epoch(raw.as_deref()).map_err(|e| fail(EXIT_USAGE, e))
}

/// `JEKYLL_ENV`, read here at the edge: `jekyll.environment` in templates.
pub fn jekyll_env() -> Option<String> {
    std::env::var("JEKYLL_ENV").ok().filter(|e| !e.is_empty())
}

/// Where RubyGems puts gems for this user, read here at the edge: `GEM_HOME`, each
/// `GEM_PATH` entry, and the per-user gem folders (`~/.gem/ruby/*`,
/// `~/.local/share/gem/ruby/*`), each as its `gems` folder. The system's folders are the
/// library's own.
pub fn gem_dirs() -> Vec<std::path::PathBuf> {
    use std::path::PathBuf;
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

/// Prints `message` to stderr and gives `code` as the exit code.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// Exit code when the machine refused a read or write (permissions, disk full): not a
/// problem in the sources.
pub const EXIT_IO: u8 = 7;

/// Prints a build error's diagnostics to stderr and gives the exit code for it.
pub fn report(err: &BuildError) -> ExitCode {
    eprintln!("{err}");
    ExitCode::from(if err.is_io() {
        EXIT_IO
    } else {
        EXIT_SITE_ERROR
    })
}
