//! Galley's static file server: the library behind `galley serve` and the `galley-server`
//! binary that goes into the image.
//!
//! At start the whole site is loaded into memory ([`site`]): bytes, headers and
//! precompressed variants, computed once. A request then goes through a short pipeline, one
//! file per step: [`path`] sanitises the target into a key of the site, [`encoding`] picks a
//! variant, [`range`] handles `Range`, [`cache_control`] and [`mime`] set headers.
//!
//! [`handler::respond`] runs the pipeline for one request. Status (issue #4): the index,
//! the steps and the handler exist and are tested; the socket layer,
//! `galley-server`, `galley serve` and the benchmarks do not yet.

pub mod cache_control;
pub mod conditional;
pub mod encoding;
pub mod handler;
pub mod mime;
pub mod path;
pub mod range;
pub mod security_headers;
pub mod site;
