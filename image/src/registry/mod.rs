//! A registry client for the OCI distribution API: just what pushing an image needs.
//!
//! [`reference`] parses `host[:port]/name[:tag]`; [`auth`] answers `401` challenges
//! (anonymous, basic, bearer token); [`client`] sends requests with retries; [`push`] is the
//! upload itself: HEAD every blob and skip what the registry has, POST then one PUT for the
//! rest, then the manifest; [`pull`] reads a manifest and its blobs back by digest.

pub mod auth;
pub mod client;
pub mod pull;
pub mod push;
pub mod reference;

pub use auth::Credentials;
pub use client::{Client, RegistryError};
pub use push::{push, PushReport};
pub use reference::Reference;
