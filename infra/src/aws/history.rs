//! The site's releases, newest first, kept in one SSM parameter (JSON): what `releases`
//! lists and `rollback` picks from. Capped so it stays under SSM's 4 KB limit.

use anyhow::{Context, Result};

use super::{sdk_error, Aws};
use crate::release::Release;

const KEEP: usize = 12;

fn parameter(aws: &Aws) -> String {
    format!("/galley/{}/releases", aws.site())
}

pub async fn list(aws: &Aws) -> Result<Vec<Release>> {
    match aws.ssm.get_parameter().name(parameter(aws)).send().await {
        Ok(out) => {
            let text = out.parameter().and_then(|p| p.value()).unwrap_or("[]");
            serde_json::from_str(text).context("the releases parameter is not valid JSON")
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(sdk_error("reading the releases")(e)),
    }
}

pub async fn record(aws: &Aws, release: &Release) -> Result<()> {
    let mut all = list(aws).await?;
    all.retain(|r| r.id != release.id);
    all.insert(0, release.clone());
    all.truncate(KEEP);
    aws.ssm
        .put_parameter()
        .name(parameter(aws))
        .value(serde_json::to_string(&all)?)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(sdk_error("recording the release"))?;
    Ok(())
}

pub async fn delete(aws: &Aws) -> Result<()> {
    let _ = aws.ssm.delete_parameter().name(parameter(aws)).send().await;
    Ok(())
}
