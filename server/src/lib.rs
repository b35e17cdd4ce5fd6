//! Galley's static file server: the library behind `galley serve` and the `galley-server`
//! binary that goes into the image.
//!
//! At start the whole site is loaded into memory ([`site`]): bytes, headers and
//! precompressed variants, computed once. A request then goes through a short pipeline, one
//! file per step: [`path`] sanitises the target into a key of the site, [`encoding`] picks a
//! variant, [`range`] handles `Range`, [`cache_control`] and [`mime`] set headers.
//!
//! [`handler::respond`] runs the pipeline for one request; [`listener::serve`] puts it on a
//! socket (hyper, HTTP/1.1 keep-alive, timeouts, connection cap, graceful drain).
//! `galley-server` runs one single-threaded runtime per core ([`workers`]) and can keep big
//! bodies in an [`arena`] that [`sendfile`] sends without copying.
//!
//! [`preview`] adds live reload for `galley serve`.
//!
//! [`precompress`] decides which files carry `.br`/`.gz` variants; the image writer uses it
//! to make them once, at image time.

pub mod access_log;
pub mod arena;
pub mod cache_control;
pub mod conditional;
pub mod encoding;
pub mod handler;
pub mod idle;
pub mod listener;
pub mod mime;
pub mod path;
pub mod precompress;
pub mod preview;
pub mod range;
pub mod security_headers;
pub mod sendfile;
pub mod site;
pub mod workers;
