//! How to reach the services a flow talks to, as the caller read them from its environment:
//! the library reads no environment itself, so a test or another front end passes its own.

use std::path::PathBuf;
use std::time::Duration;

use galley_image::registry::Credentials;
use galley_infra::aws::access::Timeouts;
use galley_infra::local::state;

#[derive(Debug, Clone)]
pub struct Services {
    /// How long one AWS call may take.
    pub aws_timeouts: Timeouts,
    /// How often rollouts poll health; `None` takes the target's own default (AWS's
    /// target health changes every few seconds, containers' in well under one).
    pub poll: Option<Duration>,
    /// Basic credentials for the registry named in `deploy: registry:` (or `image push`).
    pub registry_credentials: Option<Credentials>,
    /// Push to this registry host instead of the one ECR names (tests, mirrors).
    pub ecr_registry: Option<String>,
    /// Where the local target keeps each site's state.
    pub state_home: state::Where,
    /// The `galley` executable, started as `galley balancer` by the local target.
    pub program: PathBuf,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            aws_timeouts: Timeouts::default(),
            poll: None,
            registry_credentials: None,
            ecr_registry: None,
            state_home: state::Where::Under(None),
            program: PathBuf::from("galley"),
        }
    }
}
