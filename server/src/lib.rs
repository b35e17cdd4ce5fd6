//! Galley's static file server: the library behind `galley serve` and the `galley-server`
//! binary that goes into the image.
//!
//! A request goes through a short pipeline, one file per step: [`path`] sanitises the target
//! into a key of the in-memory site, [`encoding`] picks a precompressed variant, [`range`]
//! handles `Range`, [`cache_control`] and [`mime`] set headers.
//!
//! Status (issue #4): these pipeline steps exist and are tested; the in-memory site index,
//! the HTTP layer, `galley-server`, `galley serve` and the benchmarks do not yet.

pub mod cache_control;
pub mod encoding;
pub mod mime;
pub mod path;
pub mod range;
