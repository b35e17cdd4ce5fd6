//! Galley's static file server: the library behind `galley serve` and the `galley-server`
//! binary that goes into the image.
//!
//! At start the whole site is loaded into memory ([`site`]): bytes, headers and
//! precompressed variants, computed once. A request then goes through a short pipeline, one
//! file per step: [`path`] sanitises the target into a key of the site, [`encoding`] picks a
//! variant, [`range`] handles `Range`, [`cache_control`] and [`mime`] set headers.
//!
//! Status (issue #4): the index and these steps exist and are tested; the HTTP layer,
//! `galley-server`, `galley serve` and the benchmarks do not yet.

pub mod cache_control;
pub mod encoding;
pub mod mime;
pub mod path;
pub mod range;
pub mod site;
