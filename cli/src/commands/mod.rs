//! One module per subcommand.

pub mod build;
pub mod check;
pub mod new;
pub mod serve;

use std::process::ExitCode;

use galley_site_builder::BuildError;

/// Exit code for problems in the site's sources (bad input): the author must fix something.
pub const EXIT_SITE_ERROR: u8 = 1;

/// Prints a build error's diagnostics to stderr and gives the exit code for it.
pub fn report(err: &BuildError) -> ExitCode {
    eprintln!("{err}");
    ExitCode::from(EXIT_SITE_ERROR)
}
