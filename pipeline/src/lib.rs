//! Galley's flows, end to end: what happens to a site when someone builds, previews, bakes,
//! pushes, publishes, scales, rolls back or tears down. The stage crates each answer one question
//! (`galley-site-builder`: what does the site render to; `galley-image`: what image holds
//! it; `galley-infra`: how does an image go live); this crate strings them together, so
//! every front end (the `galley` command, tests, CI scripts) runs the same pipeline.
//!
//! Data flows one way: sources → [`galley_site_builder`]'s rendered site → [`bake`] (the
//! image) → [`image::push`] or [`publish`] (a release, health-gated, via [`target`]'s one
//! connection per site). [`preview`] is the loop beside it: build into memory, serve, and
//! rebuild on every save.
//!
//! Inputs are typed requests; everything read from the environment arrives in
//! [`Services`] or the build options, so the library reads no hidden global state. Results
//! are typed reports ([`publish::Published`], [`image::Pushed`], [`galley_infra::Status`])
//! that the caller prints as it likes; failures are a [`Failure`] whose [`Kind`] says who
//! has to act (the author, the caller, a service).

pub mod bake;
pub mod destination;
pub mod failure;
pub mod image;
pub mod invalidation;
pub mod preview;
pub mod publish;
pub mod scale;
pub mod services;
pub mod steps;
pub mod target;

pub use bake::{bake, Baked, Recipe};
pub use failure::{Failure, Kind};
pub use services::Services;
