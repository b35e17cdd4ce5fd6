//! The one timestamp an image carries (every file's mtime and the config's `created`):
//! `SOURCE_DATE_EPOCH`, else the last git commit time of the site, else a fixed date. Never
//! the wall clock, so the same site gives the same digest anywhere.

use std::path::Path;
use std::process::Command;

/// 2020-01-01T00:00:00Z: the fallback for a site outside git. Not 0 or 1, which caches and
/// servers treat as "unknown".
pub const FIXED_EPOCH: i64 = 1_577_836_800;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochSource {
    SourceDateEpoch,
    GitCommit,
    Fixed,
}

impl EpochSource {
    /// The name `--json` reports.
    pub fn name(self) -> &'static str {
        match self {
            EpochSource::SourceDateEpoch => "SOURCE_DATE_EPOCH",
            EpochSource::GitCommit => "git",
            EpochSource::Fixed => "fixed",
        }
    }
}

/// `SOURCE_DATE_EPOCH` as given (`None` when unset). A malformed value is an error rather
/// than silently ignored: reproducibility depends on it.
pub fn parse_source_date_epoch(raw: Option<&str>) -> Result<Option<i64>, String> {
    raw.map(|raw| {
        raw.trim()
            .parse::<i64>()
            .map_err(|_| format!("SOURCE_DATE_EPOCH={raw:?} is not a number of seconds since 1970"))
    })
    .transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    pub seconds: i64,
    pub source: EpochSource,
}

impl Epoch {
    /// Resolves the epoch for a site at `site_root`: `source_date_epoch` (the caller's
    /// `SOURCE_DATE_EPOCH`, see [`parse_source_date_epoch`]), else the last git commit,
    /// else a fixed date.
    pub fn resolve(site_root: &Path, source_date_epoch: Option<i64>) -> Result<Epoch, String> {
        if let Some(seconds) = source_date_epoch {
            return Ok(Epoch {
                seconds,
                source: EpochSource::SourceDateEpoch,
            });
        }
        if let Some(seconds) = git(site_root, &["log", "-1", "--format=%ct", "--", "."])
            .and_then(|s| s.parse::<i64>().ok())
        {
            return Ok(Epoch {
                seconds,
                source: EpochSource::GitCommit,
            });
        }
        Ok(Epoch {
            seconds: FIXED_EPOCH,
            source: EpochSource::Fixed,
        })
    }

    /// Where the timestamp came from, for the build's report. The fixed date is named as
    /// such, with the way out, so that an image dated 2020 is not a surprise.
    pub fn describe(&self) -> String {
        match self.source {
            EpochSource::SourceDateEpoch => format!("{} (SOURCE_DATE_EPOCH)", self.rfc3339()),
            EpochSource::GitCommit => format!("{} (the site's last git commit)", self.rfc3339()),
            EpochSource::Fixed => format!(
                "{} (a fixed date: the site is not in git and SOURCE_DATE_EPOCH is unset; set it, or commit the site, to date the image)",
                self.rfc3339()
            ),
        }
    }

    /// RFC 3339, as OCI's `created` wants it.
    pub fn rfc3339(&self) -> String {
        chrono::DateTime::from_timestamp(self.seconds, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    /// Tar headers hold unsigned seconds; a date before 1970 is clamped to the fallback.
    pub fn tar_mtime(&self) -> u64 {
        u64::try_from(self.seconds).unwrap_or(FIXED_EPOCH as u64)
    }
}

/// The site's commit (`git rev-parse HEAD`), if it is in a git work tree.
pub fn git_revision(site_root: &Path) -> Option<String> {
    git(site_root, &["rev-parse", "HEAD"])
}

/// `git describe --tags --always`, if the site is in git.
pub fn git_describe(site_root: &Path) -> Option<String> {
    git(site_root, &["describe", "--tags", "--always"])
}

/// `git remote get-url origin`, unless it carries credentials (`user:token@host`).
pub fn git_remote_url(site_root: &Path) -> Option<String> {
    git(site_root, &["remote", "get-url", "origin"]).filter(|u| !u.contains('@'))
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_the_fixed_epoch() {
        let e = Epoch {
            seconds: FIXED_EPOCH,
            source: EpochSource::Fixed,
        };
        assert_eq!(e.rfc3339(), "2020-01-01T00:00:00Z");
    }
}
