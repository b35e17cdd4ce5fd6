//! The local load balancer's routing table: which backends each release group has and how
//! traffic is split between groups. Kept on disk (written atomically on every change) so a
//! restarted balancer comes back serving the same release.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// Release group name -> its containers' published addresses.
    pub groups: BTreeMap<String, Vec<SocketAddr>>,
    /// (group, percent), summing to 100; empty while nothing is live.
    pub forward: Vec<(String, u8)>,
}

impl Routes {
    /// Replaces the split; every group must exist and the weights must add up to 100.
    pub fn set_forward(&mut self, weights: Vec<(String, u8)>) -> Result<(), String> {
        if let Some((g, _)) = weights.iter().find(|(g, _)| !self.groups.contains_key(g)) {
            return Err(format!("no group {g}"));
        }
        let total: u32 = weights.iter().map(|(_, w)| u32::from(*w)).sum();
        if !weights.is_empty() && total != 100 {
            return Err(format!("weights add up to {total}, not 100"));
        }
        self.forward = weights.into_iter().filter(|(_, w)| *w > 0).collect();
        Ok(())
    }

    /// The group taking most of the traffic: what `status` calls live.
    pub fn live(&self) -> Option<&str> {
        self.forward
            .iter()
            .max_by_key(|(_, w)| *w)
            .map(|(g, _)| g.as_str())
    }

    /// The group for the `n`th request: a deterministic split by weight (request n goes to
    /// the group whose cumulative percentage covers n mod 100).
    pub fn pick(&self, n: u64) -> Option<&str> {
        let slot = (n % 100) as u8;
        let mut upto = 0u8;
        for (group, weight) in &self.forward {
            upto = upto.saturating_add(*weight);
            if slot < upto {
                return Some(group);
            }
        }
        self.forward.last().map(|(g, _)| g.as_str())
    }

    pub fn load(path: &Path) -> Result<Routes> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a routing table", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Routes::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        super::state::write_atomic(path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let mut r = Routes::default();
        r.groups.insert("old".into(), vec![]);
        r.groups.insert("new".into(), vec![]);
        r
    }

    #[test]
    fn the_split_follows_the_weights_exactly_over_a_hundred_requests() {
        let mut r = routes();
        r.set_forward(vec![("new".into(), 20), ("old".into(), 80)])
            .unwrap();
        let to_new = (0..100).filter(|n| r.pick(*n) == Some("new")).count();
        assert_eq!(to_new, 20);
        assert_eq!(r.live(), Some("old"));
    }

    #[test]
    fn unknown_groups_and_bad_totals_are_refused_and_change_nothing() {
        let mut r = routes();
        r.set_forward(vec![("old".into(), 100)]).unwrap();
        assert!(r.set_forward(vec![("gone".into(), 100)]).is_err());
        assert!(r
            .set_forward(vec![("new".into(), 50), ("old".into(), 40)])
            .is_err());
        assert_eq!(r.forward, vec![("old".to_string(), 100)]);
        assert_eq!(r.pick(7), Some("old"));
    }
}
