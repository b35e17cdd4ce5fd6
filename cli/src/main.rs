//! `galley`: one command from markdown to a live site. This crate only parses arguments,
//! reads the environment (`edge`), calls the pipeline and prints its reports; what happens to
//! a site, an image or a release is decided in `galley-pipeline` and the crates below it.

mod commands;
mod edge;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: builds spend much of their time allocating from many threads, where it is
/// ~1.2× faster than glibc's malloc at 10k posts (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs [`tune_allocator`] as the program loads, before the first allocation: an arena
/// made before the options are set is committed eagerly for good (set in `main`, the Tera
/// bench site peaked at 266 MiB; set here, as with `MIMALLOC_*` in the environment, ~247).
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

/// `mi_option_purge_delay` and `mi_option_arena_eager_commit` in mimalloc.h; the sys
/// crate names neither, and mimalloc keeps option numbers stable.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Returns freed memory to the system at once and commits arena memory only as it is
/// used, which keeps a build's peak memory where glibc's malloc had it.
extern "C" fn tune_allocator() {
    // SAFETY: option setters of the allocator, with valid ids and values, called while the
    // program loads, before any thread or allocation exists.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

/// Keeps memory freed during the next minute before returning it to the system. The
/// preview plans and renders again on every save, and returning that memory at once made
/// each save fault it back in: at 100k posts a save went from 41–56 ms to 18–50 ms to
/// reload (BENCHMARKS.md), for about 1% more resident memory.
pub(crate) fn hold_freed_memory() {
    // SAFETY: an option setter of the allocator with a valid id and value. mimalloc reads
    // this option afresh each time it purges, and setting it stores one word.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 60_000) };
}

#[derive(Parser)]
#[command(
    name = "galley",
    version,
    about = "Build, preview, bake and ship a Jekyll-style blog."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the site to static files, atomically.
    Build(commands::build::Args),
    /// Report every problem in the site: front matter, templates, internal links.
    Check(commands::check::Args),
    /// Preview the site on 127.0.0.1 with live reload.
    Serve(commands::serve::Args),
    /// Bake the site into an OCI image; load, run or push it.
    #[command(subcommand)]
    Image(commands::image::Command),
    /// Build, bake, push and put the site live on AWS, or with `--target local` in local
    /// containers (health-gated, rolled back on failure).
    Publish(commands::publish::PublishArgs),
    /// Put an already pushed image live.
    Deploy(commands::publish::DeployArgs),
    /// What is live: release, capacity, instances per AZ, target health.
    Status(commands::site::Site),
    /// Change how many instances the live release runs on AWS (no new release).
    Scale(commands::scale::Args),
    /// The site's releases, newest first (* = live).
    Releases(commands::site::Site),
    /// Put an earlier release live again.
    Rollback(commands::publish::RollbackArgs),
    /// Remove everything Galley created on AWS for the site.
    Destroy(commands::site::Site),
    /// The local load balancer that `publish --target local` starts (runs until stopped).
    #[command(hide = true)]
    Balancer(commands::local::BalancerArgs),
    /// Create a new site or post.
    #[command(subcommand)]
    New(commands::new::What),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => commands::build::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::New(what) => commands::new::run(what),
        Command::Image(command) => commands::image::run(command),
        Command::Publish(args) => commands::publish::publish(args),
        Command::Deploy(args) => commands::publish::deploy_digest(args),
        Command::Status(args) => commands::site::status(args),
        Command::Scale(args) => commands::scale::run(args),
        Command::Releases(args) => commands::site::releases(args),
        Command::Rollback(args) => commands::publish::rollback(args),
        Command::Destroy(args) => commands::site::destroy(args),
        Command::Balancer(args) => commands::local::balancer(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
