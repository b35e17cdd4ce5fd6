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
    /// The site's own domain (`blog.example.com`): Galley requests its certificate (DNS
    /// validation in Route 53), serves HTTPS with it and points the name at the site.
    #[serde(default)]
    pub domain: Option<String>,
    /// The Route 53 hosted zone for `domain` (its name, `example.com`, or id); the zone
    /// whose name is the longest suffix of the domain when unset.
    #[serde(default)]
    pub hosted_zone: Option<String>,
    /// A CloudFront distribution in front of the load balancer, which then admits only
    /// CloudFront (its origin-facing prefix list and a secret header).
    #[serde(default)]
    pub cdn: bool,
    /// Seconds to wait for ACM to issue the domain's certificate.
    #[serde(default = "default_certificate_timeout")]
    pub certificate_timeout: u64,
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
fn default_certificate_timeout() -> u64 {
    900
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
        if let Some(d) = &self.domain {
            let ok = d.len() <= 253
                && d.contains('.')
                && d.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            if !ok {
                return Err(format!(
                    "deploy.domain {d:?}: a lowercase host name such as blog.example.com"
                ));
            }
            if self.certificate_arn.is_some() {
                return Err(
                    "deploy.domain and deploy.certificate_arn: set one (with domain, Galley requests and renews the certificate)".into(),
                );
            }
        }
        if self.cdn && self.certificate_arn.is_some() {
            return Err(
                "deploy.cdn with deploy.certificate_arn: use deploy.domain instead (the distribution needs a certificate of its own in us-east-1, which Galley requests for the domain)".into(),
            );
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
    fn a_domain_must_be_a_host_name_and_excludes_a_certificate_of_ones_own() {
        let with = |v: serde_json::Value| {
            serde_json::from_value::<DeploySettings>(v)
                .unwrap()
                .validate()
        };
        assert!(with(serde_json::json!({"site": "b", "domain": "blog.example.com"})).is_ok());
        for bad in ["Blog.example.com", "localhost", "a..b", "-a.com", "a.com/x"] {
            let err = with(serde_json::json!({"site": "b", "domain": bad})).unwrap_err();
            assert!(err.contains("host name"), "{bad}: {err}");
        }
        let err = with(serde_json::json!({
            "site": "b", "domain": "blog.example.com", "certificate_arn": "arn:aws:acm:x"
        }))
        .unwrap_err();
        assert!(err.contains("set one"), "{err}");
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
