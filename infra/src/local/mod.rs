//! The local target: the rollout engine against the local Docker engine, with Galley's own
//! load balancer on a loopback port in place of the ALB. Staging that behaves like
//! production on a laptop, and the test bed for health gating with real containers.
//!
//! - [`balancer`]: the reverse proxy and its control API (runs as `galley balancer`);
//! - [`keeper`]: inside it, restarts the live release's containers that were stopped;
//! - [`routes`]: its routing table; [`control`]: starting and driving it;
//! - [`containers`]: releases as containers, and health from their own ports;
//! - [`state`]: the per-site folder (lock, balancer address, history);
//! - [`deploy`]: publish, status and destroy.

pub mod balancer;
pub mod containers;
pub mod control;
pub mod deploy;
pub mod keeper;
pub mod routes;
pub mod state;
