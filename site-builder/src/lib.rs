//! Galley's site builder: a Jekyll-style source tree in (`_config.yml`, `_posts`, `_drafts`,
//! `_layouts`, `_includes`, `_data`, `_sass`, pages and static files), a [`RenderedSite`] out.
//!
//! The recipe is [`build::render_site`]: config, discover, read, data, templates, markdown,
//! plan, render, assemble. [`incremental::Session`] keeps a build for `galley serve` and redoes
//! only what a saved file changes. [`build::build`] streams each page into a staging folder as it
//! renders and swaps the folder in at the end, so a failed build never leaves a half-written
//! site and a build never holds every page at once. Every error is a [`Diagnostic`] with file, line and a hint.

pub mod build;
pub mod check;
pub mod collections;
pub mod config;
pub mod context;
pub mod cycles;
pub mod data;
pub mod dates;
pub mod discover;
pub mod document;
pub mod error;
pub mod feed;
pub mod filters;
pub mod frontmatter;
pub mod gem_theme;
pub mod highlight;
pub mod incremental;
pub mod jekyll;
pub mod kramdown;
pub mod liquid;
pub mod lists;
pub mod markdown;
pub mod output;
pub mod paginate;
pub mod permalink;
mod plan;
pub mod render;
pub mod rouge_classes;
pub mod sass;
pub mod scaffold;
pub mod sitemap;
pub mod slug;
pub mod taxonomy;
pub mod templates;
pub mod theme;
pub mod write;

pub use build::{build, render_site, BuildOptions, Built};
pub use check::{check, CheckReport};
pub use error::{BuildError, Diagnostic};
/// When a build's previous output is removed ([`BuildOptions::remove_previous`]).
pub use galley_atomic::Removal;
pub use incremental::{Session, Update};
pub use output::{Body, OutputFile, RenderedSite};
