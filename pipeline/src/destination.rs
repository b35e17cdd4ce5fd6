//! Where a site's images go: the registry `deploy: registry:` names, else the site's ECR
//! repository (`galley/<site>`, created when missing), and how instances pull from it.

use galley_image::registry::{self, Reference};
use galley_infra::aws::{self, Aws};
use galley_infra::user_data::Pull;

use crate::failure::Failure;
use crate::services::Services;

pub struct Destination {
    pub reference: Reference,
    pub credentials: Option<registry::Credentials>,
    pub pull: Pull,
}

impl Destination {
    /// `host/repository`, which releases pin by digest.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.reference.registry, self.reference.repository)
    }
}

pub async fn resolve(aws: &Aws, services: &Services) -> Result<Destination, Failure> {
    let settings = &aws.settings;
    if let Some(r) = &settings.registry {
        let reference =
            Reference::parse(r).map_err(|e| Failure::site(format!("deploy.registry: {e}")))?;
        return Ok(Destination {
            reference,
            credentials: services.registry_credentials.clone(),
            pull: Pull::Anonymous,
        });
    }
    let repo = format!("galley/{}", settings.site);
    let tags = [(aws::TAG_SITE.to_string(), settings.site.clone())];
    let ecr = galley_image::ecr::prepare(&aws.sdk, &repo, &tags)
        .await
        .map_err(Failure::service)?;
    let host = services.ecr_registry.clone().unwrap_or(ecr.registry);
    let reference = Reference::parse(&format!("{host}/{repo}")).map_err(Failure::service)?;
    Ok(Destination {
        reference,
        credentials: Some(ecr.credentials),
        pull: Pull::Ecr {
            region: aws.region(),
        },
    })
}

/// How instances pull an image already in the site's registry (a rollback's).
pub fn pull_for(aws: &Aws) -> Pull {
    if aws.settings.registry.is_some() {
        Pull::Anonymous
    } else {
        Pull::Ecr {
            region: aws.region(),
        }
    }
}
