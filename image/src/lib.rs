//! Galley's image stage: a reproducible OCI image FROM scratch, holding the static
//! `galley-server` binary and a rendered site, with no Dockerfile, base image or daemon.
//!
//! The boundary value is [`Image`]: built in memory by [`build::build`] from plain files
//! ([`input::ImageInput`]), written as an OCI layout plus a Docker `manifest.json` by
//! [`layout::write`], and read back by [`layout::Layout::open`] for the three things one does
//! with it: [`docker`] loads and runs it in a local engine (bollard), [`registry`] pushes it
//! to any registry over the distribution HTTP API, [`ecr`] gets credentials and a repository
//! for Amazon ECR.
//!
//! This crate knows nothing of how the site was made: it takes paths and bytes.

pub mod blob;
pub mod build;
pub mod canonical_json;
pub mod changes;
pub mod config;
pub mod docker;
pub mod ecr;
pub mod epoch;
pub mod error;
pub mod input;
pub mod layer;
pub mod layout;
pub mod registry;
pub mod reuse;
pub mod server_binary;

pub use build::{build, Image};
pub use error::ImageError;
pub use input::{ImageInput, Metadata, SiteFile};
pub use layout::Layout;
