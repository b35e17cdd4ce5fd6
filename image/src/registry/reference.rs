//! `host[:port]/repository[:tag]`: where an image goes. The registry host is required: a
//! bare `blog:v1` would silently mean Docker Hub, which is never what a publish wants.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host` or `host:port`.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, String> {
        let hint = "expected REGISTRY/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/blog:v1";
        let (registry, rest) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} names no registry; {hint}"))?;
        let looks_like_host =
            registry.contains('.') || registry.contains(':') || registry == "localhost";
        if !looks_like_host || rest.is_empty() {
            return Err(format!("{text:?} names no registry host; {hint}"));
        }
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (rest, None),
        };
        let valid_repo = repository.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
        if !valid_repo {
            return Err(format!(
                "{repository:?} is not a valid repository name (lowercase letters, digits, '.', '_', '-', '/')"
            ));
        }
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(format!("{t:?} is not a valid tag"));
            }
        }
        Ok(Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
        })
    }

    /// The host without a port.
    pub fn host(&self) -> &str {
        let h = &self.registry;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        h.rsplit_once(':').map_or(h.as_str(), |(host, _)| host)
    }

    /// Loopback registries are the only ones allowed over plain HTTP.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_repository_and_tag() {
        let r = Reference::parse("127.0.0.1:5000/galley/blog:v1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "galley/blog");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert!(r.is_loopback());
        let r = Reference::parse("123.dkr.ecr.us-east-1.amazonaws.com/blog").unwrap();
        assert_eq!(r.tag, None);
        assert!(!r.is_loopback());
        assert_eq!(r.host(), "123.dkr.ecr.us-east-1.amazonaws.com");
    }

    #[test]
    fn refuses_what_would_silently_mean_docker_hub_or_is_malformed() {
        assert!(Reference::parse("blog:v1").is_err());
        assert!(Reference::parse("library/blog").is_err());
        assert!(Reference::parse("localhost:5000/Blog").is_err());
        assert!(Reference::parse("localhost:5000/blog:bad tag").is_err());
    }
}
