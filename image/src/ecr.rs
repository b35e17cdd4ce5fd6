//! Amazon ECR: a repository (created if missing, tags immutable, scanned on push) and push
//! credentials (`AWS:<token>` from GetAuthorizationToken). Everything else is the ordinary
//! registry push. The SDK's standard chain supplies credentials, region and
//! `AWS_ENDPOINT_URL`.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Tag};
use base64::Engine;

use crate::registry::Credentials;

#[derive(Debug, thiserror::Error)]
#[error("ECR: {step}: {detail}")]
pub struct EcrError {
    pub step: String,
    pub detail: String,
}

/// "Code: message" for a service error; the cause chain for a transport error.
fn sdk_err<E, R>(step: &str, e: SdkError<E, R>) -> EcrError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(s) => err(
            step,
            format!(
                "{}: {}",
                s.code().unwrap_or("error"),
                s.message().unwrap_or("")
            ),
        ),
        None => err(step, crate::error::chain(&e)),
    }
}

fn err(step: &str, e: impl std::fmt::Display) -> EcrError {
    EcrError {
        step: step.to_string(),
        detail: e.to_string(),
    }
}

/// A repository ready to push to.
#[derive(Debug, Clone)]
pub struct EcrRepository {
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com`.
    pub registry: String,
    pub repository: String,
    pub credentials: Credentials,
    pub created: bool,
}

/// Finds or creates `repository` (tagged with `tags`) and gets a push token.
pub async fn prepare(
    sdk: &aws_config::SdkConfig,
    repository: &str,
    tags: &[(String, String)],
) -> Result<EcrRepository, EcrError> {
    let ecr = aws_sdk_ecr::Client::new(sdk);
    let created = ensure_repository(&ecr, repository, tags).await?;
    let auth = ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| sdk_err("getting a push token", e))?;
    let data = auth
        .authorization_data()
        .first()
        .ok_or_else(|| err("getting a push token", "no authorization data returned"))?;
    let token = data
        .authorization_token()
        .ok_or_else(|| err("getting a push token", "no token returned"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| err("getting a push token", "the token is not base64 text"))?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| err("getting a push token", "the token is not USER:PASSWORD"))?;
    let endpoint = data
        .proxy_endpoint()
        .ok_or_else(|| err("getting a push token", "no registry endpoint returned"))?;
    let registry = endpoint
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    Ok(EcrRepository {
        registry,
        repository: repository.to_string(),
        credentials: Credentials {
            username: username.to_string(),
            password: password.to_string(),
        },
        created,
    })
}

/// Returns whether it had to create the repository.
async fn ensure_repository(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tags: &[(String, String)],
) -> Result<bool, EcrError> {
    let found = ecr
        .describe_repositories()
        .repository_names(repository)
        .send()
        .await;
    match found {
        Ok(_) => return Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) => {}
        Err(e) => return Err(sdk_err("looking up the repository", e)),
    }
    let mut create = ecr
        .create_repository()
        .repository_name(repository)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        );
    for (k, v) in tags {
        let tag = Tag::builder()
            .key(k)
            .value(v)
            .build()
            .map_err(|e| err("creating the repository", e))?;
        create = create.tags(tag);
    }
    create
        .send()
        .await
        .map_err(|e| sdk_err("creating the repository", e))?;
    Ok(true)
}
