//! `galley image build|load|run|push`: bake the site into an OCI image, try it in the local
//! Docker engine, push it to a registry or ECR.

use std::path::PathBuf;
use std::process::ExitCode;

use galley_image::registry::push::Event;
use galley_pipeline::image::{self, PushTo};
use galley_pipeline::{bake, Recipe};

use super::{exit, fail, print_json, runtime, EXIT_USAGE};
use crate::edge;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Render the site and write it, with galley-server, as an OCI image folder.
    Build(BuildArgs),
    /// Load the image into the local Docker engine.
    Load(ImageDir),
    /// Load and start the image in the local Docker engine; print its URL once healthy.
    Run(RunArgs),
    /// Push the image to a registry (or to ECR with --ecr).
    Push(PushArgs),
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The site folder.
    #[arg(default_value = ".")]
    pub site: PathBuf,
    /// The image folder (default: SITE/_image).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Name and tag recorded in the image (default: <site folder>:latest).
    #[arg(long)]
    pub tag: Option<String>,
    /// The static galley-server to put in the image (default: beside `galley`).
    #[arg(long, env = "GALLEY_SERVER_BINARY")]
    pub server_binary: Option<PathBuf>,
    /// Brotli quality of the precompressed variants (0-11).
    #[arg(long, default_value_t = 11, value_parser = clap::value_parser!(u32).range(0..=11))]
    pub brotli_quality: u32,
    /// Precompress (a .br in the image) only files of at least this many bytes; the
    /// server compresses smaller ones at start. 0 = every file (larger image).
    #[arg(long, default_value_t = galley_image::input::PRECOMPRESS_ABOVE)]
    pub precompress_above: usize,
    /// ... and of at most this many: the server compresses larger ones (big lists,
    /// sitemaps) at start, where a fast quality takes milliseconds a file.
    #[arg(long, default_value_t = galley_image::input::PRECOMPRESS_UP_TO)]
    pub precompress_up_to: usize,
    /// Compress every layer again instead of taking unchanged ones (and unchanged pages'
    /// variants) from the image already in --out. The image is the same either way.
    #[arg(long)]
    pub no_reuse: bool,
    /// Print digest, layers and sizes as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ImageDir {
    /// The image folder written by `galley image build`.
    #[arg(long, default_value = "_image")]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub image: ImageDir,
    /// Host port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// REGISTRY/REPOSITORY[:TAG]; with --ecr, the repository name (default: the image's name).
    pub reference: Option<String>,
    #[command(flatten)]
    pub image: ImageDir,
    /// Push to Amazon ECR: create the repository if missing, authenticate with the AWS chain.
    #[arg(long)]
    pub ecr: bool,
    /// With --ecr, push to this registry host instead of the one ECR names (tests, mirrors).
    #[arg(long, env = "GALLEY_ECR_REGISTRY")]
    pub ecr_registry: Option<String>,
    /// Allow plain HTTP, for loopback registries only.
    #[arg(long)]
    pub insecure: bool,
    /// Print the push report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: Command) -> Result<(), ExitCode> {
    match command {
        Command::Build(args) => build(args),
        Command::Load(args) => load(args),
        Command::Run(args) => run_container(args),
        Command::Push(args) => push(args),
    }
}

fn build(args: BuildArgs) -> Result<(), ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| args.site.join("_image"));
    let recipe = Recipe {
        site: &args.site,
        out: &out,
        tag: args.tag.clone(),
        server_binary: args.server_binary.clone(),
        program: std::env::current_exe().ok(),
        brotli_quality: args.brotli_quality,
        precompress_above: args.precompress_above,
        precompress_up_to: args.precompress_up_to,
        reuse: !args.no_reuse,
        options: edge::build_options()?,
    };
    let baked = bake(&recipe).map_err(exit)?;
    let image = &baked.image;
    if args.json {
        let layers: Vec<_> = image
            .layers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "name": l.name(),
                    "digest": l.blob.digest,
                    "size": l.blob.size(),
                    "diff_id": l.diff_id,
                    "files": l.files,
                    "reused": l.reused,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "digest": image.digest(),
            "tag": image.tag,
            "out": out,
            "config": {"digest": image.config.digest, "size": image.config.size()},
            "layers": layers,
            "size": image.layers.iter().map(|l| l.blob.size()).sum::<u64>() + image.config.size() + image.manifest.size(),
            "created": baked.epoch.rfc3339(),
            "created_from": baked.epoch.source.name(),
        }));
        return Ok(());
    }
    eprintln!(
        "rendered {} files in {} ms; image in {} ms ({})",
        baked.built.site.files.len(),
        baked.render_ms,
        baked.image_ms,
        out.display()
    );
    for l in &image.layers {
        eprintln!(
            "  layer {:<14} {:>6} files {:>10}  {}{}",
            l.name(),
            l.files,
            human(l.blob.size()),
            &l.blob.digest[..19],
            if l.reused { "  (reused)" } else { "" }
        );
    }
    eprintln!("  tag {}", image.tag);
    eprintln!("  created {}", baked.epoch.describe());
    println!("{}", image.digest());
    Ok(())
}

fn load(args: ImageDir) -> Result<(), ExitCode> {
    let loaded = runtime()?.block_on(image::load(&args.out)).map_err(exit)?;
    println!("loaded {} ({})", loaded.name, loaded.digest);
    Ok(())
}

fn run_container(args: RunArgs) -> Result<(), ExitCode> {
    let started = runtime()?
        .block_on(image::run(&args.image.out, args.port))
        .map_err(exit)?;
    eprintln!(
        "container {} of {} is healthy",
        galley_image::blob::short(&started.container),
        started.name
    );
    println!("{}", started.url);
    Ok(())
}

fn push(args: PushArgs) -> Result<(), ExitCode> {
    let to = match (args.ecr, args.reference.as_deref()) {
        (true, repository) => PushTo::Ecr(repository),
        (false, Some(reference)) => PushTo::Registry(reference),
        (false, None) => {
            return Err(fail(EXIT_USAGE, "give REGISTRY/REPOSITORY[:TAG], or --ecr"));
        }
    };
    let services = edge::services(args.ecr_registry.clone())?;
    let pushed = runtime()?
        .block_on(image::push(
            &args.image.out,
            to,
            args.insecure,
            &services,
            |event| match event {
                Event::Skipped { digest, size } => {
                    eprintln!("  exists   {} {:>10}", &digest[..19], human(size))
                }
                Event::Uploaded { digest, size } => {
                    eprintln!("  uploaded {} {:>10}", &digest[..19], human(size))
                }
            },
        ))
        .map_err(exit)?;
    if let Some(repo) = &pushed.created {
        eprintln!("created ECR repository {repo} (tags immutable, scan on push)");
    }
    let report = &pushed.report;
    if args.json {
        print_json(report);
        return Ok(());
    }
    println!(
        "pushed {}@{}: uploaded {} of {} blobs, {} in {:.1} s",
        report.reference,
        report.digest,
        report.blobs_uploaded,
        report.blobs,
        human(report.bytes_uploaded),
        pushed.seconds
    );
    Ok(())
}

/// Bytes for people: B, KiB, MiB, GiB.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
