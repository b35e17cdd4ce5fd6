//! What a deployment reports and how it fails, the same for every target (AWS, local), so
//! the CLI prints and exits the same way whichever it deployed to.

use std::time::Duration;

use serde::Serialize;

use crate::rollout::{Outcome, RolloutError};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub outcome: Outcome,
    /// The CDN paths this release invalidated (none without a CDN).
    pub invalidated: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0:#}")]
    Infra(anyhow::Error),
    #[error("the publish lock is held: {0:#}")]
    Locked(anyhow::Error),
    /// The site's domain got no certificate; nothing of the release was created.
    #[error("{0}\nnothing changed: the previous release is still serving")]
    Certificate(String),
    #[error("release failed at {}: {}{}", .0.step, .0.detail, if .0.rolled_back { "\nrolled back: the previous release is still serving" } else { "" })]
    Rollout(RolloutError),
}

/// Timing knobs; tests shorten them.
#[derive(Debug, Clone)]
pub struct Timing {
    pub poll: Duration,
    pub report_every: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            report_every: Duration::from_secs(5),
        }
    }
}
