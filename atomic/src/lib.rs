//! Galley's outputs (a built site, an image layout) replace a folder the user already has.
//! This crate answers two questions for every writer, so each has one answer:
//!
//! - May this folder be replaced at all? [`guard::check`] refuses, before anything is
//!   touched, a destination that is the site, holds the site, lies inside a folder Galley
//!   reads, is not a folder, or is a non-empty folder that is not a previous output.
//! - How is it replaced? [`Staging`] is a folder beside the destination that the writer
//!   fills; [`Staging::commit`] swaps it in with one exchange (or two renames that restore
//!   the old folder on failure). A failure before or during the swap leaves the old folder
//!   exactly as it was and removes the staging folder; folders left by a process that died
//!   are removed by the next writer. The previous output is removed before the commit
//!   returns, or by a process of its own ([`Removal::Background`]), or kept as the
//!   target's spare for the next writer to update ([`Removal::Spare`],
//!   [`Staging::recycling`]).

pub mod guard;
pub mod staging;

pub use guard::{check, Refusal, Rules};
pub use staging::{spare_of, wait_for_background_removal, Committed, Removal, Staging};

/// The file that marks a folder as a site Galley wrote, so a later build may replace it.
/// It sits at the output's root; the server never serves it.
pub const MARKER: &str = ".galley-output";
