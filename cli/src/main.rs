//! `galley`: one command from markdown to a live site. This crate only parses arguments and
//! wires the builder, server, image and deployment crates together.

mod bake;
mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
