//! One publish at a time per site: an SSM parameter created only if absent (PutParameter
//! without overwrite is a conditional write). It names its holder; a lock older than
//! `STALE` is taken over, so a killed publish cannot block the site forever.

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};

use super::{sdk_error, Aws};

/// A publish that takes longer than this is considered dead.
pub const STALE_SECONDS: i64 = 30 * 60;

pub fn parameter(aws: &Aws) -> String {
    format!("/galley/{}/lock", aws.site())
}

/// Who holds the lock: host, process and start time.
pub fn holder_text(now: DateTime<Utc>) -> String {
    format!(
        "{} pid {} since {}",
        hostname(),
        std::process::id(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live publish holds it (what `Locked`, exit 5, means).
    #[error("{0}")]
    Held(String),
    /// AWS failed while taking it: a service error like any other, not a held lock.
    #[error("{0:#}")]
    Service(anyhow::Error),
}

pub async fn acquire(aws: &Aws, now: DateTime<Utc>) -> Result<String, LockError> {
    try_acquire(aws, now)
        .await
        .map_err(|e| match e.downcast::<Held>() {
            Ok(held) => LockError::Held(held.0),
            Err(e) => LockError::Service(e),
        })
}

/// The lock is held by a live publish (kept apart from AWS errors by type).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Held(String);

async fn try_acquire(aws: &Aws, now: DateTime<Utc>) -> Result<String> {
    let name = parameter(aws);
    let holder = holder_text(now);
    for _ in 0..2 {
        let put = aws
            .ssm
            .put_parameter()
            .name(&name)
            .value(&holder)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(false)
            .send()
            .await;
        match put {
            Ok(_) => return Ok(holder),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
            {
                let current = aws
                    .ssm
                    .get_parameter()
                    .name(&name)
                    .send()
                    .await
                    .map_err(sdk_error("reading the publish lock"))?;
                let text = current
                    .parameter()
                    .and_then(|p| p.value())
                    .unwrap_or_default()
                    .to_string();
                let since = text
                    .rsplit("since ")
                    .next()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.to_utc());
                let stale = since.is_none_or(|t| (now - t).num_seconds() > STALE_SECONDS)
                    || holder_is_dead(&text);
                if !stale {
                    return Err(Held(format!(
                        "another publish holds the lock for site {:?}: {text}\n  hint: wait for it to finish; a lock older than {} minutes is taken over",
                        aws.site(),
                        STALE_SECONDS / 60
                    ))
                    .into());
                }
                aws.ssm
                    .delete_parameter()
                    .name(&name)
                    .send()
                    .await
                    .map_err(sdk_error("removing a stale publish lock"))?;
            }
            Err(e) => return Err(sdk_error("taking the publish lock")(e)),
        }
    }
    bail!("could not take the publish lock for site {:?}", aws.site())
}

/// A holder on this machine whose process is gone (a publish killed with SIGKILL) no
/// longer holds anything.
fn holder_is_dead(text: &str) -> bool {
    let Some((host, rest)) = text.split_once(" pid ") else {
        return false;
    };
    let pid = rest
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if host == hostname() => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        _ => false,
    }
}

pub async fn release(aws: &Aws) -> Result<()> {
    super::delete_parameter(aws, &parameter(aws), "releasing the publish lock").await
}
