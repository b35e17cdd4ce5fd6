//! The instance's cloud-config: install and start Docker, log in to the registry with the
//! instance role (ECR), pull the image by digest, run it the way production should: always
//! restarted, read-only, non-root, no new privileges, every capability dropped.

/// How the instance authenticates to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pull {
    /// ECR in `region`: `aws ecr get-login-password` with the instance role.
    Ecr { region: String },
    /// A registry that needs no login from the instance.
    Anonymous,
}

/// `image` is `host/repository@sha256:…`.
pub fn cloud_config(image: &str, pull: &Pull) -> String {
    let host = image.split('/').next().unwrap_or_default();
    let login = match pull {
        Pull::Ecr { region } => format!(
            "  - [sh, -c, \"aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {host}\"]"
        ),
        Pull::Anonymous => String::new(),
    };
    let lines = [
        "#cloud-config".to_string(),
        "packages:".to_string(),
        "  - docker".to_string(),
        "runcmd:".to_string(),
        "  - [systemctl, enable, --now, docker]".to_string(),
        login,
        format!("  - [sh, -c, \"until docker pull {image}; do sleep 5; done\"]"),
        format!(
            "  - [docker, run, --detach, --name, galley, --restart, always, --read-only, --user, \"65532:65532\", --security-opt, no-new-privileges, --cap-drop, ALL, --publish, \"{port}:{port}\", \"{image}\"]",
            port = galley_image::config::PORT
        ),
    ];
    let mut text = lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulls_and_runs_by_digest_locked_down() {
        let image = "123.dkr.ecr.us-east-1.amazonaws.com/galley/blog@sha256:abc";
        let text = cloud_config(
            image,
            &Pull::Ecr {
                region: "us-east-1".into(),
            },
        );
        assert!(text.starts_with("#cloud-config\n"));
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.starts_with("  ") || l.ends_with(':')),
            "{text}"
        );
        assert!(text.contains(&format!("docker pull {image}")));
        assert!(text.contains("--read-only") && text.contains("no-new-privileges"));
        assert!(text.contains("--password-stdin 123.dkr.ecr.us-east-1.amazonaws.com"));
        assert!(!cloud_config(image, &Pull::Anonymous).contains("docker login"));
    }
}
