//! How a flow fails, sorted by who can fix it, so the command line can give each kind its
//! own exit code without knowing where it came from.

use std::fmt;

use galley_infra::aws::access::AccessError;
use galley_infra::deployment::DeployError;
use galley_site_builder::BuildError;

/// Who has to act on a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The site's sources or its `deploy:` settings: the author fixes something.
    Site,
    /// The request itself: a flag that does not apply, a malformed reference.
    Usage,
    /// A service Galley talks to failed: the Docker engine, a registry, AWS.
    Service,
    /// The new release never got healthy and was rolled back; the old one still serves.
    Unhealthy,
    /// Another publish holds the site's lock.
    Locked,
    /// AWS cannot be used from here: no region, no credentials, or refused credentials.
    AwsSetup,
    /// The machine refused a read or write (permissions, disk full).
    Io,
}

/// A failed flow: its kind and the message for the person who runs it.
#[derive(Debug)]
pub enum Failure {
    /// Problems in the site's sources, each already placed at file:line with what to do.
    Build(BuildError),
    /// Anything else, one message.
    Other { kind: Kind, message: String },
}

impl Failure {
    pub fn new(kind: Kind, message: impl fmt::Display) -> Failure {
        Failure::Other {
            kind,
            message: message.to_string(),
        }
    }

    pub fn site(message: impl fmt::Display) -> Failure {
        Failure::new(Kind::Site, message)
    }

    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure::new(Kind::Usage, message)
    }

    pub fn service(message: impl fmt::Display) -> Failure {
        Failure::new(Kind::Service, message)
    }

    /// A service failure from an `anyhow` chain, every cause on one line.
    pub fn service_chain(e: &impl fmt::Display) -> Failure {
        Failure::new(Kind::Service, format!("{e:#}"))
    }

    pub fn kind(&self) -> Kind {
        match self {
            Failure::Build(e) if e.is_io() => Kind::Io,
            Failure::Build(_) => Kind::Site,
            Failure::Other { kind, .. } => *kind,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Build(e) => write!(f, "{e}"),
            Failure::Other { message, .. } => write!(f, "{message}"),
        }
    }
}

impl From<BuildError> for Failure {
    fn from(e: BuildError) -> Failure {
        Failure::Build(e)
    }
}

impl From<DeployError> for Failure {
    fn from(e: DeployError) -> Failure {
        let kind = match &e {
            DeployError::Locked(_) => Kind::Locked,
            DeployError::Rollout(r) if r.unhealthy => Kind::Unhealthy,
            _ => Kind::Service,
        };
        Failure::new(kind, e)
    }
}

impl From<AccessError> for Failure {
    fn from(e: AccessError) -> Failure {
        let kind = if e.is_setup() {
            Kind::AwsSetup
        } else {
            Kind::Service
        };
        Failure::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use galley_site_builder::Diagnostic;

    #[test]
    fn a_build_failure_is_the_machines_only_when_every_problem_is() {
        let mut io = Diagnostic::new("a.md", "cannot read");
        io.io = true;
        let source = Diagnostic::new("b.md", "bad front matter");
        assert_eq!(Failure::from(BuildError::one(io.clone())).kind(), Kind::Io);
        let both = BuildError::from(vec![io, source]);
        assert_eq!(Failure::from(both).kind(), Kind::Site);
    }
}
