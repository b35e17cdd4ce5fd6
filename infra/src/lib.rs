//! Galley's deployment stage: puts an image (pushed, pinned by digest) live.
//!
//! [`rollout`] is the engine: health-gated blue/green with rollback, driven through three
//! traits (compute, load balancer, health gate) so it knows nothing of AWS. [`settings`] is
//! `deploy:` from `_config.yml`; [`release`] names what goes live. The targets are [`aws`]
//! (EC2 behind an ALB) and [`local`] (containers behind Galley's own load balancer).

pub mod aws;
pub mod deployment;
pub mod local;
pub mod release;
pub mod rollout;
pub mod settings;
pub mod status;
pub mod token;
pub mod user_data;

pub use release::Release;
pub use settings::DeploySettings;
pub use status::{Capacity, Member, Releases, Status, Target};
