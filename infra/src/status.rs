//! What a site has live, on either target: one view for `status` and one for `releases`,
//! so both targets report (and print) the same way.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::release::Release;

/// Where a site's releases run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// EC2 instances in several AZs behind an ALB.
    #[default]
    Aws,
    /// Containers in the local Docker engine behind Galley's own load balancer.
    Local,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Aws => "aws",
            Target::Local => "local",
        }
    }

    /// What one member of a release is called on this target (the JSON key of the list).
    pub fn members(self) -> &'static str {
        match self {
            Target::Aws => "instances",
            Target::Local => "containers",
        }
    }
}

/// The site's load balancer, its live release and every instance or container it has.
#[derive(Debug, Clone)]
pub struct Status {
    pub target: Target,
    pub url: Option<String>,
    pub live: Option<Release>,
    pub members: Vec<Member>,
    /// Each release's capacity as its Auto Scaling group keeps it (AWS; empty locally).
    pub groups: Vec<Capacity>,
}

/// A release's Auto Scaling group: the capacity it keeps and whether it is short now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Capacity {
    pub name: String,
    pub release: String,
    /// Instances the group keeps.
    pub desired: usize,
    /// Instances in service and running.
    pub in_service: usize,
    /// Healthy in the live target group (the live release only).
    pub healthy: Option<usize>,
    pub zones: Vec<String>,
    /// What Auto Scaling is doing to get back to `desired` (an instance that died and is
    /// being replaced, one starting, a scaling activity); empty when at capacity.
    pub replacing: Vec<String>,
}

/// One instance (AWS) or container (local) of any of the site's releases.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub id: String,
    /// The container's name (local).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The availability zone (AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub state: String,
    pub release: String,
    /// What the health gate says of it; `None` when nothing checks it (not in the live
    /// release's target group).
    pub health: Option<String>,
}

impl Member {
    /// Where it runs, for people: the zone or the container's name.
    pub fn place(&self) -> &str {
        self.zone.as_deref().or(self.name.as_deref()).unwrap_or("")
    }
}

/// The list is named as the target names its members (`instances`, `containers`), so a
/// script reading one target's status reads the other's the same way.
impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("target", self.target.name())?;
        map.serialize_entry("url", &self.url)?;
        map.serialize_entry("live", &self.live)?;
        map.serialize_entry(self.target.members(), &self.members)?;
        if self.target == Target::Aws {
            map.serialize_entry("groups", &self.groups)?;
        }
        map.end()
    }
}

/// The site's release history, newest first, and which of them is live.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Releases {
    pub live: Option<String>,
    pub releases: Vec<Release>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_names_its_members_as_it_calls_them() {
        let member = Member {
            id: "i-1".into(),
            name: None,
            zone: Some("us-east-1a".into()),
            state: "running".into(),
            release: "r1".into(),
            health: Some("healthy".into()),
        };
        for (target, key) in [(Target::Aws, "instances"), (Target::Local, "containers")] {
            let status = Status {
                target,
                url: None,
                live: None,
                members: vec![member.clone()],
                groups: Vec::new(),
            };
            let json = serde_json::to_value(&status).expect("serialize");
            assert_eq!(json["target"], target.name());
            assert_eq!(json[key][0]["zone"], "us-east-1a", "{json}");
            assert!(json[key][0].get("name").is_none(), "{json}");
            assert_eq!(
                json.get("groups").is_some(),
                target == Target::Aws,
                "{json}"
            );
        }
    }
}
