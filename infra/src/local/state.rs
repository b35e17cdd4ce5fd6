//! Where the local target keeps its state, one folder per site: the balancer's address and
//! token, its routing table and log, the publish lock and the release history.
//! `GALLEY_STATE_DIR`, else `$XDG_STATE_HOME/galley/local/<site>`, else
//! `~/.local/state/galley/local/<site>`.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::release::Release;

/// Releases remembered for `releases` and `status`.
const KEEP_RELEASES: usize = 12;

#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

/// What a running balancer wrote about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancerInfo {
    pub pid: u32,
    /// Where the site is served.
    pub listen: SocketAddr,
    /// The control API (loopback only).
    pub admin: SocketAddr,
    /// Required on every control request, so other local users cannot switch releases.
    pub token: String,
}

/// Where the state folder goes.
#[derive(Debug, Clone)]
pub enum Where {
    /// This folder itself.
    Exactly(PathBuf),
    /// A site's own folder under this state home (none known: an error).
    Under(Option<PathBuf>),
}

impl StateDir {
    /// The site's folder: `Where::Exactly` (from `GALLEY_STATE_DIR`), else
    /// `galley/local/<site>` under `Where::Under` (the state home). The caller reads the
    /// environment; this library reads none.
    pub fn for_site(site: &str, place: Where) -> Result<StateDir> {
        let dir = match place {
            Where::Exactly(d) => d,
            Where::Under(Some(base)) => base.join("galley/local").join(site),
            Where::Under(None) => {
                anyhow::bail!("neither GALLEY_STATE_DIR, XDG_STATE_HOME nor HOME is set")
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(StateDir { dir })
    }

    pub fn balancer_path(&self) -> PathBuf {
        self.dir.join("balancer.json")
    }
    pub fn routes_path(&self) -> PathBuf {
        self.dir.join("routes.json")
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("balancer.log")
    }

    pub fn balancer(&self) -> Option<BalancerInfo> {
        let bytes = std::fs::read(self.balancer_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn write_balancer(&self, info: &BalancerInfo) -> Result<()> {
        write_atomic(&self.balancer_path(), &serde_json::to_vec_pretty(info)?)
    }

    /// Takes the site's publish lock: an OS file lock, so a killed publish never leaves it
    /// held. The holder's description is written into the file for the one refused.
    pub fn lock(&self, holder: &str) -> Result<Lock> {
        let path = self.dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if file.try_lock().is_err() {
            let held_by = std::fs::read_to_string(&path).unwrap_or_default();
            anyhow::bail!("held by {} ({})", held_by.trim(), path.display());
        }
        file.set_len(0)?;
        file.write_all(holder.as_bytes())?;
        Ok(Lock { _file: file })
    }

    /// The history, newest first; none yet is empty. An unreadable or corrupt file is an
    /// error, never an empty history: recording over it would lose every release.
    pub fn releases(&self) -> Result<Vec<Release>> {
        let path = self.dir.join("releases.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: the release history is not valid JSON ({e})\n  help: fix the file, or move it aside to start a new history",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    /// Newest first.
    pub fn record(&self, release: &Release) -> Result<()> {
        let mut list = self.releases()?;
        list.retain(|r| r.id != release.id);
        list.insert(0, release.clone());
        list.truncate(KEEP_RELEASES);
        write_atomic(
            &self.dir.join("releases.json"),
            &serde_json::to_vec_pretty(&list)?,
        )
    }

    /// Forgets the balancer and its routes (after `destroy`); keeps the history.
    pub fn clear(&self) -> Result<()> {
        for p in [self.balancer_path(), self.routes_path()] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
            }
        }
        Ok(())
    }
}

/// Held while the value lives (and released by the OS if the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Writes through a temporary file in the same folder and renames, so readers never see
/// half a file. Private to the user (the balancer file holds a token).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir {
            dir: tmp.path().to_path_buf(),
        };
        let held = state.lock("host pid 1").unwrap();
        let err = state.lock("host pid 2").unwrap_err().to_string();
        assert!(err.contains("host pid 1"), "{err}");
        drop(held);
        assert!(state.lock("host pid 2").is_ok());
    }

    #[test]
    fn a_corrupt_history_is_an_error_and_is_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir {
            dir: tmp.path().to_path_buf(),
        };
        std::fs::write(tmp.path().join("releases.json"), "[{\"id\": ").unwrap();
        let err = state.releases().unwrap_err().to_string();
        assert!(
            err.contains("releases.json:1:") && err.contains("not valid JSON"),
            "{err}"
        );
        let r = Release::new(&format!("sha256:{:064x}", 1), "x", chrono::Utc::now());
        assert!(state.record(&r).is_err());
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("releases.json")).unwrap(),
            "[{\"id\": ",
            "the file is left for the user to fix"
        );
    }

    #[test]
    fn history_keeps_the_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir {
            dir: tmp.path().to_path_buf(),
        };
        let now = chrono::Utc::now();
        for i in 0..15u8 {
            let d = format!("sha256:{i:064x}");
            let mut r = Release::new(&d, "x", now);
            r.id = format!("r{i:02}");
            state.record(&r).unwrap();
        }
        let list = state.releases().unwrap();
        assert_eq!(list.len(), KEEP_RELEASES);
        assert_eq!(list[0].id, "r14");
    }
}
