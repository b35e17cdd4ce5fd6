//! A site's deployment, opened once for every command that reads or changes it: the
//! `deploy:` settings read, then AWS connected and checked, or the local state found. What
//! is live, the release history and tearing down go through here for both targets.

use std::path::Path;
use std::time::Duration;

use galley_infra::aws::{self, status as aws_status, Aws};
use galley_infra::local::deploy::{self as local_deploy, LocalTarget};
use galley_infra::local::state::StateDir;
use galley_infra::{settings, Releases, Status, Target};

use crate::failure::{Failure, Kind};
use crate::services::Services;

/// A site's deployment on one target, ready to use.
pub enum Opened {
    /// Connected and checked (boxed: the SDK clients are large).
    Aws(Box<Aws>),
    Local(LocalTarget),
}

/// Reads the site's `deploy:` settings and opens its deployment on `target`. On AWS the
/// section is required and AWS is checked (region, credentials, endpoint) before anything
/// else; locally it is optional (a laptop needs no AWS settings).
pub async fn open(site: &Path, target: Target, services: &Services) -> Result<Opened, Failure> {
    match target {
        Target::Aws => Ok(Opened::Aws(Box::new(aws(site, services).await?))),
        Target::Local => local(site, None, services).map(Opened::Local),
    }
}

/// The one way Galley connects to AWS for a site: its `deploy:` settings (required), then
/// AWS connected and checked. The settings travel with the clients (`Aws::settings`).
pub async fn aws(site: &Path, services: &Services) -> Result<Aws, Failure> {
    let settings = settings::load(site).map_err(Failure::site)?;
    Ok(Aws::connect(&settings, services.aws_timeouts).await?)
}

/// The local target for the site: its settings (or defaults), state folder and balancer.
pub fn local(site: &Path, port: Option<u16>, services: &Services) -> Result<LocalTarget, Failure> {
    let settings = settings::load_local(site).map_err(Failure::site)?;
    let state = StateDir::for_site(&settings.site, services.state_home.clone())
        .map_err(|e| Failure::service_chain(&e))?;
    Ok(LocalTarget {
        site: settings.site.clone(),
        state,
        port,
        program: services.program.clone(),
        containers: settings.instance_count,
        health_path: settings.health_check_path.clone(),
        health_timeout: Duration::from_secs(settings.health_timeout),
        canary: settings
            .canary
            .map(|c| (c.percent, Duration::from_secs(c.seconds))),
    })
}

impl Opened {
    /// The site's name (`deploy: site:`).
    pub fn site(&self) -> &str {
        match self {
            Opened::Aws(aws) => aws.site(),
            Opened::Local(local) => &local.site,
        }
    }

    pub fn target(&self) -> Target {
        match self {
            Opened::Aws(_) => Target::Aws,
            Opened::Local(_) => Target::Local,
        }
    }

    /// What is live and every instance or container with its health.
    pub async fn status(&self) -> Result<Status, Failure> {
        match self {
            Opened::Aws(aws) => aws_status::status(aws).await,
            Opened::Local(local) => local_deploy::status(local).await,
        }
        .map_err(|e| Failure::service_chain(&e))
    }

    /// The release history, newest first, and which one is live.
    pub async fn releases(&self) -> Result<Releases, Failure> {
        match self {
            Opened::Aws(aws) => aws_status::releases(aws).await,
            Opened::Local(local) => local_deploy::releases(local).await,
        }
        .map_err(|e| Failure::service_chain(&e))
    }

    /// Removes everything Galley created for the site on this target; `say` hears each
    /// step. Returns the summary: what went and what stays.
    pub async fn destroy(&self, say: impl Fn(&str)) -> Result<String, Failure> {
        match self {
            Opened::Aws(aws) => {
                aws::lock::acquire(aws, chrono::Utc::now())
                    .await
                    .map_err(|e| match e {
                        aws::lock::LockError::Held(_) => Failure::new(Kind::Locked, e),
                        aws::lock::LockError::Service(_) => Failure::service(e),
                    })?;
                aws::destroy::destroy(aws, say)
                    .await
                    .map_err(|e| Failure::service_chain(&e))?;
                Ok(format!(
                    "destroyed everything Galley created for site {} (the ECR repository and its images stay)",
                    aws.site()
                ))
            }
            Opened::Local(local) => {
                local_deploy::destroy(local, say)
                    .await
                    .map_err(|e| Failure::service_chain(&e))?;
                Ok(format!(
                    "stopped site {} locally: balancer, containers and images removed (the release history stays)",
                    local.site
                ))
            }
        }
    }
}
