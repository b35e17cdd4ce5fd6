//! One module per subcommand: each parses its arguments, calls the pipeline, and prints the
//! report. Exit codes are the one thing decided here, from the failure's kind.

pub mod build;
pub mod check;
pub mod image;
pub mod local;
pub mod new;
pub mod publish;
pub mod scale;
pub mod serve;
pub mod site;
pub mod sources;

use std::process::ExitCode;

use galley_pipeline::{Failure, Kind};

/// Exit code for problems in the site's sources (bad input): the author must fix something.
pub const EXIT_SITE_ERROR: u8 = 1;

/// Exit code for a wrong command line (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

/// Exit code when a service Galley talks to failed: the Docker engine, a registry, AWS.
pub const EXIT_SERVICE: u8 = 3;

/// The new release never got healthy and was rolled back (the old one still serves).
pub const EXIT_UNHEALTHY: u8 = 4;

/// Another publish holds the site's lock.
pub const EXIT_LOCKED: u8 = 5;

/// AWS cannot be used from here: no region, no credentials, or credentials it refuses.
pub const EXIT_AWS_SETUP: u8 = 6;

/// Exit code when the machine refused a read or write (permissions, disk full): not a
/// problem in the sources.
pub const EXIT_IO: u8 = 7;

/// Prints `message` to stderr and gives `code` as the exit code.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// Prints a failed flow to stderr and gives the exit code for its kind. A build's
/// diagnostics are printed as they are (each already says `error:` at its place).
pub fn exit(failure: Failure) -> ExitCode {
    let code = match failure.kind() {
        Kind::Site => EXIT_SITE_ERROR,
        Kind::Usage => EXIT_USAGE,
        Kind::Service => EXIT_SERVICE,
        Kind::Unhealthy => EXIT_UNHEALTHY,
        Kind::Locked => EXIT_LOCKED,
        Kind::AwsSetup => EXIT_AWS_SETUP,
        Kind::Io => EXIT_IO,
    };
    match failure {
        Failure::Build(e) => eprintln!("{e}"),
        other => eprintln!("error: {other}"),
    }
    ExitCode::from(code)
}

/// Prints a build error's diagnostics to stderr and gives the exit code for it.
pub fn report(err: galley_site_builder::BuildError) -> ExitCode {
    exit(Failure::Build(err))
}

/// The async runtime the service commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new()
        .map_err(|e| fail(EXIT_SERVICE, format!("cannot start the async runtime: {e}")))
}

/// Prints `value` as one pretty JSON document on stdout.
pub fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
