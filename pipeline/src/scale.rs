//! `galley scale`: the live release's capacity changed in place, on AWS.

use std::path::Path;

use galley_infra::aws::scale::{self, ScaleError, Scaled};
use galley_infra::rollout::Progress;

use crate::failure::{Failure, Kind};
use crate::publish::timing;
use crate::services::Services;
use crate::target;

/// Resizes the site's live release to `count` instances and waits until they are healthy.
pub async fn scale(
    site: &Path,
    count: usize,
    services: &Services,
    progress: &dyn Progress,
) -> Result<Scaled, Failure> {
    let aws = target::aws(site, services).await?;
    scale::scale(&aws, count, &timing(services, false), progress)
        .await
        .map_err(|e| {
            let kind = match &e {
                ScaleError::Invalid(_) | ScaleError::NotScalable(_) => Kind::Usage,
                ScaleError::Locked(_) => Kind::Locked,
                ScaleError::Unhealthy(_) => Kind::Unhealthy,
                ScaleError::Infra(_) => Kind::Service,
            };
            Failure::new(kind, e)
        })
}
