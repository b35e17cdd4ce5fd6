//! Site to image: renders the site in memory and hands its files to the image writer. The
//! one place that knows both the builder's output and the image's input; `image build` and
//! `publish` share it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use galley_image::epoch::{self, Epoch};
use galley_image::input::Content;
use galley_image::{Image, ImageInput, Metadata, SiteFile};
use galley_site_builder::{render_site, Body, BuildOptions, Built};

use crate::failure::Failure;

/// What to bake and where.
pub struct Recipe<'a> {
    pub site: &'a Path,
    pub out: &'a Path,
    pub tag: Option<String>,
    pub server_binary: Option<PathBuf>,
    /// The running program; without `server_binary`, `galley-server` is looked for beside it.
    pub program: Option<PathBuf>,
    pub brotli_quality: u32,
    pub precompress_above: usize,
    pub precompress_up_to: usize,
    /// Take unchanged layers and variants from the image already in `out` instead of
    /// compressing them again (same bytes either way; `false` proves it).
    pub reuse: bool,
    pub options: BuildOptions,
}

/// The image written, the site it holds, and what each half took.
pub struct Baked {
    pub image: Image,
    pub built: Built,
    pub epoch: Epoch,
    pub render_ms: u128,
    pub image_ms: u128,
}

/// Renders, writes the image atomically to `out`, and returns it. A failure at any step
/// leaves the previous image in `out` untouched.
pub fn bake(recipe: &Recipe) -> Result<Baked, Failure> {
    // The image's own date is also the site's `site.time`, so the same site gives the same
    // digest however it was dated.
    let epoch =
        Epoch::resolve(recipe.site, recipe.options.source_date_epoch).map_err(Failure::site)?;
    let options = BuildOptions {
        source_date_epoch: Some(epoch.seconds),
        ..recipe.options.clone()
    };
    let started = Instant::now();
    let built = render_site(recipe.site, &options).map_err(Failure::Build)?;
    let render_ms = started.elapsed().as_millis();
    galley_atomic::check(
        recipe.out,
        &galley_atomic::Rules {
            site: recipe.site,
            sources: &built.source_folders,
            is_output: &galley_image::layout::is_layout,
            force: false,
            flag: "--out",
        },
    )
    .map_err(|refusal| Failure::site(refusal.describe("--out")))?;
    let started = Instant::now();
    let server_binary = galley_image::server_binary::locate(
        recipe.server_binary.as_deref(),
        recipe.program.as_deref(),
    )
    .map_err(Failure::site)?;
    let files = built
        .site
        .files
        .iter()
        .map(|(path, file)| {
            Ok(SiteFile {
                path: path.clone(),
                content: match &file.body {
                    Body::Bytes(b) => Content::Bytes(b.clone()),
                    Body::Copy(p) => Content::File(p.clone()),
                    Body::Written => {
                        return Err(Failure::site(format!(
                            "{path}: the site was rendered to disk, not into memory"
                        )))
                    }
                },
            })
        })
        .collect::<Result<_, _>>()?;
    let input = ImageInput {
        server_binary,
        files,
        metadata: metadata(recipe.site, &built, &epoch),
        epoch,
        tag: recipe
            .tag
            .clone()
            .unwrap_or_else(|| default_tag(recipe.site)),
        brotli_quality: recipe.brotli_quality,
        precompress_above: recipe.precompress_above,
        precompress_up_to: recipe.precompress_up_to,
        reuse_from: recipe.reuse.then(|| recipe.out.to_path_buf()),
    };
    let image = galley_image::build(&input).map_err(Failure::site)?;
    galley_image::layout::write(&image, recipe.out).map_err(Failure::site)?;
    Ok(Baked {
        image,
        built,
        epoch,
        render_ms,
        image_ms: started.elapsed().as_millis(),
    })
}

fn metadata(site: &Path, built: &Built, epoch: &Epoch) -> Metadata {
    let url = format!("{}{}", built.config.url, built.config.baseurl);
    Metadata {
        title: built.config.title.clone(),
        source: epoch::git_remote_url(site).unwrap_or(if url.is_empty() {
            "unknown".into()
        } else {
            url
        }),
        revision: epoch::git_revision(site).unwrap_or_else(|| "unknown".into()),
        version: epoch::git_describe(site).unwrap_or_else(|| {
            chrono::DateTime::from_timestamp(epoch.seconds, 0)
                .unwrap_or_default()
                .format("%Y.%m.%d")
                .to_string()
        }),
    }
}

/// `<site folder name>:latest`, lowercased to a valid repository name.
pub fn default_tag(site: &Path) -> String {
    let name = site
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let clean: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{}:latest", if clean.is_empty() { "site" } else { clean })
}
