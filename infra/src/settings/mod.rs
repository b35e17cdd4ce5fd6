//! `deploy:` in `_config.yml`: everything a publish needs to know, with defaults that make
//! the common case a one-liner (`deploy: {site: blog}`).

mod load;

use serde::Deserialize;

pub use load::{load, load_local};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    /// Names and tags every resource (`galley:site`); lowercase letters, digits, `-`.
    pub site: String,
    /// AWS region; the SDK's chain (AWS_REGION, profile) when unset.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// Instances a new release starts with, spread over as many availability zones (at
    /// least two); `galley scale` changes a live release's count.
    #[serde(default = "default_instance_count")]
    pub instance_count: usize,
    /// The default VPC when unset.
    #[serde(default)]
    pub vpc: Option<String>,
    /// Subnets for the load balancer and instances, in distinct AZs; the VPC's default
    /// subnets when unset.
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default = "default_health_path")]
    pub health_check_path: String,
    /// ACM certificate: HTTPS on 443, and 80 redirects to it.
    #[serde(default)]
    pub certificate_arn: Option<String>,
    #[serde(default)]
    pub canary: Option<Canary>,
    /// Push here instead of ECR (`host/repository`).
    #[serde(default)]
    pub registry: Option<String>,
    /// Seconds the health gate waits for every target to be healthy.
    #[serde(default = "default_health_timeout")]
    pub health_timeout: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// Share of traffic (1–99) the new release gets first.
    pub percent: u8,
    /// How long the canary runs (health-gated) before the full switch.
    pub seconds: u64,
}

fn default_instance_type() -> String {
    "t3.micro".into()
}
fn default_instance_count() -> usize {
    2
}
/// The server's own health check path, unless `deploy:` names another.
pub const DEFAULT_HEALTH_PATH: &str = galley_server::handler::DEFAULT_HEALTH_PATH;

fn default_health_path() -> String {
    DEFAULT_HEALTH_PATH.into()
}
fn default_health_timeout() -> u64 {
    300
}

impl DeploySettings {
    /// Checks what serde cannot: names AWS accepts, counts that give high availability.
    pub fn validate(&self) -> Result<(), String> {
        let ok_name = !self.site.is_empty()
            && self.site.len() <= 20
            && self
                .site
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.site.starts_with('-');
        if !ok_name {
            return Err(format!(
                "deploy.site {:?}: use 1-20 lowercase letters, digits and '-' (it names AWS resources)",
                self.site
            ));
        }
        validate_count("deploy.instance_count", self.instance_count)?;
        if !self.health_check_path.starts_with('/') {
            return Err(format!(
                "deploy.health_check_path {:?} must start with '/'",
                self.health_check_path
            ));
        }
        if let Some(c) = self.canary {
            if !(1..=99).contains(&c.percent) {
                return Err(format!(
                    "deploy.canary.percent {}: between 1 and 99",
                    c.percent
                ));
            }
        }
        Ok(())
    }
}

/// An instance count Galley runs: at least two, in two availability zones, or one failure
/// takes the site down (the same rule for `deploy: instance_count` and `galley scale`).
pub fn validate_count(what: &str, count: usize) -> Result<(), String> {
    if count < 2 {
        return Err(format!(
            "{what} {count}: at least 2, in two availability zones, or one failure takes the site down"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_everything_but_the_site() {
        let s: DeploySettings =
            serde_json::from_value(serde_json::json!({"site": "blog"})).unwrap();
        assert_eq!(s.instance_type, "t3.micro");
        assert_eq!(s.instance_count, 2);
        assert_eq!(s.health_check_path, "/healthz");
        assert!(s.validate().is_ok());
    }

    #[test]
    fn a_single_instance_or_a_bad_name_is_refused() {
        let s: DeploySettings =
            serde_json::from_value(serde_json::json!({"site": "blog", "instance_count": 1}))
                .unwrap();
        assert!(s.validate().unwrap_err().contains("at least 2"));
        let s: DeploySettings =
            serde_json::from_value(serde_json::json!({"site": "My Blog"})).unwrap();
        assert!(s.validate().is_err());
        assert!(serde_json::from_value::<DeploySettings>(
            serde_json::json!({"site": "b", "typo": 1})
        )
        .is_err());
    }
}
