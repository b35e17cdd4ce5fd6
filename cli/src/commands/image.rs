//! `galley image build|load|run|push`: bake the site into an OCI image, try it in the local
//! Docker engine, push it to a registry or ECR.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use galley_image::layout::split_tag;
use galley_image::registry::{self, Client, Credentials, Reference};
use galley_image::Layout;
use galley_site_builder::BuildOptions;

use super::{fail, EXIT_SERVICE, EXIT_SITE_ERROR};
use crate::bake::{bake, BakeError, Recipe};

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
    /// Precompress (.br/.gz in the image) only files of at least this many bytes; the
    /// server compresses smaller ones at start. 0 = every file (larger image).
    #[arg(long, default_value_t = galley_image::input::PRECOMPRESS_ABOVE)]
    pub precompress_above: usize,
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
        Command::Load(args) => runtime()?.block_on(load(args)),
        Command::Run(args) => runtime()?.block_on(run_container(args)),
        Command::Push(args) => runtime()?.block_on(push(args)),
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new()
        .map_err(|e| fail(EXIT_SERVICE, format!("cannot start the async runtime: {e}")))
}

fn build(args: BuildArgs) -> Result<(), ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| args.site.join("_image"));
    let recipe = Recipe {
        site: &args.site,
        out: &out,
        tag: args.tag.clone(),
        server_binary: args.server_binary.clone(),
        brotli_quality: args.brotli_quality,
        precompress_above: args.precompress_above,
        options: BuildOptions {
            source_date_epoch: super::source_date_epoch()?,
            environment: super::jekyll_env(),
            gem_dirs: super::gem_dirs(),
            ..BuildOptions::default()
        },
    };
    let baked = bake(&recipe).map_err(|e| match e {
        BakeError::Site(e) => super::report(&e),
        BakeError::Image(e) => fail(EXIT_SITE_ERROR, e),
    })?;
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
                })
            })
            .collect();
        let doc = serde_json::json!({
            "digest": image.digest(),
            "tag": image.tag,
            "out": out,
            "config": {"digest": image.config.digest, "size": image.config.size()},
            "layers": layers,
            "size": image.layers.iter().map(|l| l.blob.size()).sum::<u64>() + image.config.size() + image.manifest.size(),
            "created": baked.epoch.rfc3339(),
            "created_from": baked.epoch.source.name(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
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
            "  layer {:<7} {:>6} files {:>10}  {}",
            l.name(),
            l.files,
            human(l.blob.size()),
            &l.blob.digest[..19]
        );
    }
    eprintln!("  tag {}", image.tag);
    eprintln!("  created {}", baked.epoch.describe());
    println!("{}", image.digest());
    Ok(())
}

fn open(dir: &ImageDir) -> Result<Layout, ExitCode> {
    Layout::open(&dir.out).map_err(|e| fail(EXIT_SITE_ERROR, e.to_string()))
}

/// Opens the image folder and loads it into the local engine: (engine, image, loaded name).
async fn open_and_load(
    dir: &ImageDir,
) -> Result<(galley_image::docker::Docker, Layout, String), ExitCode> {
    let layout = open(dir)?;
    let docker = galley_image::docker::connect()
        .await
        .map_err(|e| fail(EXIT_SERVICE, e.to_string()))?;
    let name = galley_image::docker::load(&docker, &layout)
        .await
        .map_err(|e| fail(EXIT_SERVICE, e.to_string()))?;
    Ok((docker, layout, name))
}

async fn load(args: ImageDir) -> Result<(), ExitCode> {
    let (_, layout, name) = open_and_load(&args).await?;
    println!("loaded {name} ({})", layout.manifest_digest);
    Ok(())
}

async fn run_container(args: RunArgs) -> Result<(), ExitCode> {
    let (docker, layout, name) = open_and_load(&args.image).await?;
    let options = galley_image::docker::RunOptions {
        port: args.port,
        labels: [("galley.image".to_string(), layout.manifest_digest.clone())].into(),
        ..Default::default()
    };
    let running = galley_image::docker::run(&docker, &name, &options)
        .await
        .map_err(|e| fail(EXIT_SERVICE, e.to_string()))?;
    eprintln!(
        "container {} of {name} is healthy",
        galley_image::blob::short(&running.id)
    );
    println!("{}", running.url);
    Ok(())
}

async fn push(args: PushArgs) -> Result<(), ExitCode> {
    let started = Instant::now();
    let layout = open(&args.image)?;
    let image_name = layout.tag.clone().unwrap_or_else(|| "site:latest".into());
    let (target, credentials) = if args.ecr {
        let (repo, tag) = split_tag(args.reference.as_deref().unwrap_or(&image_name));
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let ecr = galley_image::ecr::prepare(&sdk, repo, &[("galley:site".into(), repo.into())])
            .await
            .map_err(|e| fail(EXIT_SERVICE, e.to_string()))?;
        if ecr.created {
            eprintln!("created ECR repository {repo} (tags immutable, scan on push)");
        }
        let host = args.ecr_registry.clone().unwrap_or(ecr.registry);
        let reference = Reference::parse(&format!("{host}/{repo}:{tag}"))
            .map_err(|e| fail(super::EXIT_USAGE, e))?;
        (reference, Some(ecr.credentials))
    } else {
        let Some(text) = args.reference.as_deref() else {
            return Err(fail(
                super::EXIT_USAGE,
                "give REGISTRY/REPOSITORY[:TAG], or --ecr",
            ));
        };
        let reference = Reference::parse(text).map_err(|e| fail(super::EXIT_USAGE, e))?;
        (reference, credentials_from_env())
    };
    let tag = target
        .tag
        .clone()
        .unwrap_or_else(|| split_tag(&image_name).1.to_string());
    let client = Client::new(target, credentials, args.insecure)
        .map_err(|e| fail(super::EXIT_USAGE, e.to_string()))?;
    let report = registry::push(&layout, &client, &tag, |event| match event {
        registry::push::Event::Skipped { digest, size } => {
            eprintln!("  exists   {} {:>10}", &digest[..19], human(size))
        }
        registry::push::Event::Uploaded { digest, size } => {
            eprintln!("  uploaded {} {:>10}", &digest[..19], human(size))
        }
    })
    .await
    .map_err(|e| fail(EXIT_SERVICE, e.to_string()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "pushed {}@{}: uploaded {} of {} blobs, {} in {:.1} s",
        report.reference,
        report.digest,
        report.blobs_uploaded,
        report.blobs,
        human(report.bytes_uploaded),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Basic credentials for a registry, from the environment (never from a flag, which would
/// land in shell history and process lists).
fn credentials_from_env() -> Option<Credentials> {
    let username = std::env::var("GALLEY_REGISTRY_USERNAME").ok()?;
    let password = std::env::var("GALLEY_REGISTRY_PASSWORD").ok()?;
    Some(Credentials { username, password })
}

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
