//! `galley publish` and friends against moto (through the AWS SDK, as in production) and a
//! loopback registry: the resources it creates, a second release replacing the first,
//! rollback, destroy, and failures (health gate, an AWS error, SIGKILL, a held lock) that
//! leave the old release serving and nothing new behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aws_sdk_ec2::types::Filter;
use base64::Engine;
use galley_tests::fault_proxy::FaultProxy;
use galley_tests::services::{Moto, Registry};
use galley_tests::{copy_fixture, galley, server_binary, text};

struct World {
    moto: Moto,
    registry: Registry,
    _tmp: tempfile::TempDir,
    site: PathBuf,
}

fn world() -> World {
    world_on(Moto::start())
}

fn world_on(moto: Moto) -> World {
    let registry = Registry::start();
    let (tmp, site) = copy_fixture("sites/theme-blog");
    let config = site.join("_config.yml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("\ndeploy:\n  site: blog\n  health_timeout: 20\n");
    std::fs::write(&config, text).expect("write config");
    World {
        moto,
        registry,
        _tmp: tmp,
        site,
    }
}

impl World {
    /// Adds lines under `deploy:` (the last section of the config).
    fn deploy_settings(&self, lines: &str) {
        let config = self.site.join("_config.yml");
        let mut text = std::fs::read_to_string(&config).expect("config");
        text.push_str(lines);
        std::fs::write(&config, text).expect("write config");
    }

    /// A public hosted zone for `name`; returns its bare id.
    async fn hosted_zone(&self, name: &str) -> String {
        let out = aws_sdk_route53::Client::new(&self.sdk().await)
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("galley-test-{name}"))
            .send()
            .await
            .expect("hosted zone");
        out.hosted_zone()
            .expect("zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    }

    fn env(&self, endpoint: Option<String>) -> Vec<(&'static str, String)> {
        let mut env = self.moto.env();
        if let Some(e) = endpoint {
            env[0].1 = e;
        }
        env.push(("GALLEY_ECR_REGISTRY", self.registry.host()));
        env.push(("GALLEY_POLL_MS", "20".into()));
        env.push((
            "GALLEY_SERVER_BINARY",
            server_binary().display().to_string(),
        ));
        env
    }

    fn galley(&self, args: &[&str]) -> Output {
        self.galley_via(None, args)
    }

    fn galley_via(&self, endpoint: Option<String>, args: &[&str]) -> Output {
        let mut cmd = galley();
        cmd.args(args).envs(self.env(endpoint));
        cmd.output().expect("run galley")
    }

    fn publish(&self) -> serde_json::Value {
        let run = self.galley(&["publish", path(&self.site), "--insecure", "--json"]);
        assert!(run.status.success(), "{}", text(&run.stderr));
        serde_json::from_slice(&run.stdout).expect("publish --json")
    }

    fn status(&self) -> serde_json::Value {
        let run = self.galley(&["status", "--site", path(&self.site), "--json"]);
        assert!(run.status.success(), "{}", text(&run.stderr));
        serde_json::from_slice(&run.stdout).expect("status --json")
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.moto.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn edit_post(site: &Path) {
    let post = site.join("_posts/2024-06-01-theme-post.md");
    let body = std::fs::read_to_string(&post).expect("post");
    std::fs::write(&post, format!("{body}\nAnother line.\n")).expect("edit");
}

fn site_filter() -> Filter {
    Filter::builder()
        .name("tag:galley:site")
        .values("blog")
        .build()
}

async fn live_instances(ec2: &aws_sdk_ec2::Client) -> Vec<aws_sdk_ec2::types::Instance> {
    let out = ec2
        .describe_instances()
        .filters(site_filter())
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .build(),
        )
        .send()
        .await
        .expect("describe instances");
    out.reservations()
        .iter()
        .flat_map(|r| r.instances().to_vec())
        .collect()
}

fn tag<'a>(i: &'a aws_sdk_ec2::types::Instance, key: &str) -> Option<&'a str> {
    i.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The user data decodes to a cloud-config that pulls the image by digest, read-only.
fn assert_pulls_by_digest(raw: &str, digest: &str) {
    let cloud = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .expect("base64"),
    )
    .expect("utf-8");
    assert!(cloud.starts_with("#cloud-config\n"));
    let parsed: serde_json::Value = serde_saphyr::from_str(&cloud).expect("user data is YAML");
    let runcmd = parsed["runcmd"].to_string();
    assert!(
        runcmd.contains(&format!("@{digest}")),
        "pulls by digest: {runcmd}"
    );
    assert!(
        runcmd.contains("--read-only") && runcmd.contains("no-new-privileges"),
        "{runcmd}"
    );
}

/// The site's Auto Scaling groups.
async fn scaling_groups(
    asg: &aws_sdk_autoscaling::Client,
) -> Vec<aws_sdk_autoscaling::types::AutoScalingGroup> {
    asg.describe_auto_scaling_groups()
        .filters(
            aws_sdk_autoscaling::types::Filter::builder()
                .name("tag:galley:site")
                .values("blog")
                .build(),
        )
        .send()
        .await
        .expect("groups")
        .auto_scaling_groups()
        .to_vec()
}

fn group_tag<'a>(
    g: &'a aws_sdk_autoscaling::types::AutoScalingGroup,
    key: &str,
) -> Option<&'a str> {
    g.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// How many launch templates the site has.
async fn launch_templates(ec2: &aws_sdk_ec2::Client) -> usize {
    ec2.describe_launch_templates()
        .filters(site_filter())
        .send()
        .await
        .expect("templates")
        .launch_templates()
        .len()
}

/// The target groups of the site (by tag) and the group the listener forwards to.
async fn groups_and_live(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
) -> (Vec<String>, Option<String>) {
    let groups = elb.describe_target_groups().send().await.expect("groups");
    let arns: Vec<String> = groups
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_arn().map(str::to_string))
        .collect();
    let lbs = elb.describe_load_balancers().send().await.expect("lbs");
    let live = match lbs
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
    {
        Some(lb) => {
            let listeners = elb
                .describe_listeners()
                .load_balancer_arn(lb)
                .send()
                .await
                .expect("listeners");
            listeners
                .listeners()
                .first()
                .and_then(|l| l.default_actions().first())
                .and_then(|a| a.forward_config())
                .and_then(|f| f.target_groups().first())
                .and_then(|t| t.target_group_arn())
                .map(str::to_string)
        }
        None => None,
    };
    (arns, live)
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_creates_exactly_the_expected_resources_and_a_second_release_replaces_the_first() {
    let w = world();
    let first = w.publish();
    let digest = first["digest"].as_str().expect("digest").to_string();
    let sdk = w.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);

    let instances = live_instances(&ec2).await;
    assert_eq!(instances.len(), 2);
    for i in &instances {
        let id = i.instance_id().expect("id");
        assert_eq!(tag(i, "galley:release"), first["release"].as_str());
        assert!(i.key_name().is_none(), "no SSH key");
        let ud = ec2
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send()
            .await
            .expect("user data");
        let raw = ud
            .user_data()
            .and_then(|v| v.value())
            .expect("user data value");
        assert_pulls_by_digest(raw, &digest);
    }

    // The release's Auto Scaling group: both instances, spread over two AZs, replaced
    // when the ELB health check fails, in the release's target group.
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let groups = scaling_groups(&asg).await;
    assert_eq!(groups.len(), 1, "one group per release");
    let group = &groups[0];
    assert_eq!(
        group_tag(group, "galley:release"),
        first["release"].as_str()
    );
    assert_eq!(
        (group.min_size(), group.max_size(), group.desired_capacity()),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(group.health_check_type(), Some("ELB"));
    assert_eq!(
        group.health_check_grace_period(),
        Some(20),
        "the grace period is the health timeout"
    );
    let zones: std::collections::BTreeSet<&String> = group.availability_zones().iter().collect();
    assert_eq!(zones.len(), 2, "two distinct AZs: {zones:?}");
    let subnets = group.vpc_zone_identifier().expect("subnets");
    assert_eq!(subnets.split(',').count(), 2, "{subnets}");
    let mut in_group: Vec<&str> = group
        .instances()
        .iter()
        .filter_map(|i| i.instance_id())
        .collect();
    let mut running: Vec<&str> = instances.iter().filter_map(|i| i.instance_id()).collect();
    in_group.sort_unstable();
    running.sort_unstable();
    assert_eq!(in_group, running);

    // Its launch template: IMDSv2 with hop limit 2, no key pair, the instance profile, an
    // encrypted root volume, the release's cloud-config.
    let template = group
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("launch template");
    let versions = ec2
        .describe_launch_template_versions()
        .launch_template_id(template)
        .versions("$Latest")
        .send()
        .await
        .expect("template versions");
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .expect("template data");
    let md = data.metadata_options().expect("metadata options");
    assert_eq!(
        md.http_tokens().map(|t| t.as_str()),
        Some("required"),
        "IMDSv2"
    );
    assert_eq!(md.http_put_response_hop_limit(), Some(2));
    assert!(data.key_name().is_none(), "no SSH key");
    assert_eq!(
        data.iam_instance_profile().and_then(|p| p.name()),
        Some("galley-blog-instance")
    );
    let root = &data.block_device_mappings()[0];
    assert_eq!(root.ebs().and_then(|e| e.encrypted()), Some(true));
    assert_pulls_by_digest(data.user_data().expect("template user data"), &digest);

    // Security groups: ALB 80/443 from anywhere; instances 8080 from the ALB's group only.
    let sgs = ec2
        .describe_security_groups()
        .filters(site_filter())
        .send()
        .await
        .expect("sgs");
    let role = |g: &aws_sdk_ec2::types::SecurityGroup| {
        g.tags()
            .iter()
            .find(|t| t.key() == Some("galley:role"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_string()
    };
    let alb_sg = sgs
        .security_groups()
        .iter()
        .find(|g| role(g) == "alb")
        .expect("alb group");
    let inst_sg = sgs
        .security_groups()
        .iter()
        .find(|g| role(g) == "instances")
        .expect("instances group");
    let ports: Vec<i32> = inst_sg
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    assert_eq!(ports, vec![8080]);
    let perm = &inst_sg.ip_permissions()[0];
    assert!(
        perm.ip_ranges().is_empty() && perm.ipv6_ranges().is_empty(),
        "8080 open to addresses"
    );
    assert_eq!(
        perm.user_id_group_pairs()
            .first()
            .and_then(|p| p.group_id()),
        alb_sg.group_id()
    );
    let alb_ports: std::collections::BTreeSet<i32> = alb_sg
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    assert_eq!(alb_ports, [80, 443].into());
    assert!(!sgs
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions())
        .any(|p| p.from_port() == Some(22)));
    for i in &instances {
        let groups: Vec<&str> = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        assert_eq!(groups, vec![inst_sg.group_id().expect("id")]);
    }
    assert_eq!(
        data.security_group_ids(),
        [inst_sg.group_id().expect("id").to_string()]
    );

    // Both registered and healthy in the group the listener forwards to.
    let (groups, live) = groups_and_live(&elb).await;
    assert_eq!(groups.len(), 1);
    let live = live.expect("listener forwards");
    assert_eq!(live, groups[0]);
    let health = elb
        .describe_target_health()
        .target_group_arn(&live)
        .send()
        .await
        .expect("health");
    let healthy: std::collections::BTreeSet<&str> = health
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                == Some("healthy")
        })
        .filter_map(|d| d.target()?.id())
        .collect();
    let ids: std::collections::BTreeSet<&str> =
        instances.iter().filter_map(|i| i.instance_id()).collect();
    assert_eq!(healthy, ids);
    assert_eq!(group.target_group_arns(), std::slice::from_ref(&live));
    let tags = elb
        .describe_tags()
        .resource_arns(&live)
        .send()
        .await
        .expect("tags");
    assert!(tags.tag_descriptions()[0]
        .tags()
        .iter()
        .any(|t| t.key() == Some("galley:site") && t.value() == Some("blog")));

    // A second publish after an edit leaves only the new release.
    edit_post(&w.site);
    let second = w.publish();
    assert_ne!(second["digest"], first["digest"]);
    let instances = live_instances(&ec2).await;
    assert_eq!(instances.len(), 2);
    assert!(instances
        .iter()
        .all(|i| tag(i, "galley:release") == second["release"].as_str()));
    let (groups, live) = groups_and_live(&elb).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(live.as_deref(), Some(groups[0].as_str()));
    let scaling = scaling_groups(&asg).await;
    assert_eq!(scaling.len(), 1, "only the new release's group is left");
    assert_eq!(
        group_tag(&scaling[0], "galley:release"),
        second["release"].as_str()
    );
    assert_eq!(launch_templates(&ec2).await, 1, "the old template is gone");

    // Rollback puts the first digest live again.
    let run = w.galley(&["rollback", "--site", path(&w.site), "--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let rolled: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(rolled["digest"], first["digest"]);
    let status = w.status();
    assert_eq!(status["live"]["digest"], first["digest"]);
    assert_eq!(status["target"], "aws");
    // The history: three releases, newest first, the rollback's marked live.
    let run = w.galley(&["releases", "--site", path(&w.site), "--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let history: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(history["live"], rolled["release"], "{history}");
    assert_eq!(history["releases"][0]["id"], rolled["release"], "{history}");
    assert_eq!(
        history["releases"].as_array().map(Vec::len),
        Some(3),
        "{history}"
    );

    // Destroy leaves nothing tagged with the site.
    let run = w.galley(&["destroy", "--site", path(&w.site)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(live_instances(&ec2).await.is_empty());
    assert!(ec2
        .describe_security_groups()
        .filters(site_filter())
        .send()
        .await
        .expect("sgs")
        .security_groups()
        .is_empty());
    let (groups, _) = groups_and_live(&elb).await;
    assert!(groups.is_empty());
    assert!(scaling_groups(&asg).await.is_empty());
    assert_eq!(launch_templates(&ec2).await, 0);
    assert!(elb
        .describe_load_balancers()
        .send()
        .await
        .expect("lbs")
        .load_balancers()
        .is_empty());
    let iam = aws_sdk_iam::Client::new(&sdk);
    assert!(
        iam.get_role()
            .role_name("galley-blog-instance")
            .send()
            .await
            .is_err(),
        "IAM role left behind"
    );
    assert!(
        iam.get_instance_profile()
            .instance_profile_name("galley-blog-instance")
            .send()
            .await
            .is_err(),
        "instance profile left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_resizes_the_live_group_a_publish_keeps_it_and_status_shows_a_dead_instance() {
    let w = world();
    let first = w.publish();
    let sdk = w.sdk().await;
    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);

    let run = w.galley(&["scale", "--site", path(&w.site), "3", "--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let scaled: serde_json::Value = serde_json::from_slice(&run.stdout).expect("scale --json");
    assert_eq!(scaled["release"], first["release"], "{scaled}");
    assert_eq!(
        (scaled["from"].as_u64(), scaled["to"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(scaled["healthy"].as_u64(), Some(3), "{scaled}");
    let groups = scaling_groups(&asg).await;
    assert_eq!(groups.len(), 1, "no new release");
    assert_eq!(groups[0].desired_capacity(), Some(3));
    assert_eq!(live_instances(&ec2).await.len(), 3);
    let status = w.status();
    assert_eq!(status["groups"][0]["desired"], 3, "{status}");
    assert_eq!(status["groups"][0]["in_service"], 3, "{status}");
    assert_eq!(status["groups"][0]["healthy"], 3, "{status}");
    assert_eq!(
        status["groups"][0]["replacing"],
        serde_json::json!([]),
        "{status}"
    );

    // A publish while deploy: still says 2 keeps the scaled capacity.
    edit_post(&w.site);
    let second = w.publish();
    let groups = scaling_groups(&asg).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(
        group_tag(&groups[0], "galley:release"),
        second["release"].as_str()
    );
    assert_eq!(
        groups[0].desired_capacity(),
        Some(3),
        "the scaled count carries over"
    );

    // One instance is too few, and says why; nothing changes.
    let run = w.galley(&["scale", "--site", path(&w.site), "1"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("at least 2"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(scaling_groups(&asg).await[0].desired_capacity(), Some(3));

    // The trouble monkey kills an instance. Auto Scaling starts a replacement (moto does so
    // at once but never registers it in the target group, so it stays on its way in);
    // status shows the group short of healthy capacity and the replacement under way.
    let before: Vec<String> = groups[0]
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    let victim = before[0].clone();
    ec2.terminate_instances()
        .instance_ids(&victim)
        .send()
        .await
        .expect("terminate");
    let status = w.status();
    let group = &status["groups"][0];
    assert_eq!(group["desired"], 3, "{status}");
    assert_eq!(group["healthy"], 2, "{status}");
    let members: Vec<&str> = status["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(!members.contains(&victim.as_str()), "{status}");
    let replacement = members
        .iter()
        .find(|id| !before.iter().any(|b| b == *id))
        .expect("a replacement instance");
    let replacing = group["replacing"].to_string();
    assert!(
        replacing.contains(replacement) && replacing.contains("not healthy"),
        "{status}"
    );
    let run = w.galley(&["status", "--site", path(&w.site)]);
    assert!(
        text(&run.stdout).contains(&format!("replacing: {replacement}")),
        "{}",
        text(&run.stdout)
    );
}

/// Every record set in the zone, as (name, type, value or alias target).
async fn zone_records(r53: &aws_sdk_route53::Client, zone: &str) -> Vec<(String, String, String)> {
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .expect("records");
    out.resource_record_sets()
        .iter()
        .map(|r| {
            let value = match r.alias_target() {
                Some(a) => a.dns_name().to_string(),
                None => r
                    .resource_records()
                    .iter()
                    .map(|v| v.value().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            (r.name().to_string(), r.r#type().as_str().to_string(), value)
        })
        .collect()
}

/// No ACM certificate left, and the zone holds only its own SOA and NS records: what
/// Galley leaves after a destroy or a withdrawn request. `why` names the case.
async fn assert_no_certificates_and_a_bare_zone(
    acm: &aws_sdk_acm::Client,
    r53: &aws_sdk_route53::Client,
    zone: &str,
    why: &str,
) {
    let certs = acm.list_certificates().send().await.expect("certs");
    assert!(certs.certificate_summary_list().is_empty(), "{why}");
    let records = zone_records(r53, zone).await;
    assert!(
        records
            .iter()
            .all(|(_, kind, _)| kind == "SOA" || kind == "NS"),
        "{why}: {records:?}"
    );
}

fn trimmed(name: &str) -> String {
    name.trim_end_matches('.').to_lowercase()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_gets_a_validated_certificate_https_and_alias_records_and_destroy_removes_them() {
    let w = world();
    let zone = w.hosted_zone("example.com").await;
    w.deploy_settings("  domain: blog.example.com\n");
    let published = w.publish();
    assert_eq!(published["url"], "https://blog.example.com/", "{published}");
    let sdk = w.sdk().await;
    let acm = aws_sdk_acm::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);

    // One certificate, for the domain, issued, validated by the CNAME Galley wrote.
    let certs = acm.list_certificates().send().await.expect("certs");
    assert_eq!(certs.certificate_summary_list().len(), 1);
    let arn = certs.certificate_summary_list()[0]
        .certificate_arn()
        .expect("arn")
        .to_string();
    let cert = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .expect("describe");
    let cert = cert.certificate().expect("certificate");
    assert_eq!(cert.domain_name(), Some("blog.example.com"));
    assert_eq!(cert.status().map(|s| s.as_str()), Some("ISSUED"));
    let wanted = cert.domain_validation_options()[0]
        .resource_record()
        .expect("validation record");
    let records = zone_records(&r53, &zone).await;
    assert!(
        records.iter().any(
            |(name, kind, value)| trimmed(name) == trimmed(wanted.name())
                && kind == "CNAME"
                && value == wanted.value()
        ),
        "{records:?}"
    );

    // The domain is an alias of the load balancer, which serves HTTPS with the certificate
    // and redirects 80.
    let lb = elb.describe_load_balancers().send().await.expect("lbs");
    let lb = &lb.load_balancers()[0];
    let dns = trimmed(lb.dns_name().expect("dns"));
    assert!(
        records
            .iter()
            .any(|(name, kind, value)| trimmed(name) == "blog.example.com"
                && kind == "A"
                && trimmed(value) == dns),
        "{records:?}"
    );
    let https = listener_on(&elb, 443).await;
    assert_eq!(
        https.certificates()[0].certificate_arn(),
        Some(arn.as_str())
    );
    let http = listener_on(&elb, 80).await;
    assert_eq!(
        http.default_actions()[0].r#type().map(|t| t.as_str()),
        Some("redirect")
    );
    assert_eq!(w.status()["url"], "https://blog.example.com/");

    // A republish keeps the certificate.
    edit_post(&w.site);
    w.publish();
    let certs = acm.list_certificates().send().await.expect("certs");
    assert_eq!(
        certs.certificate_summary_list().len(),
        1,
        "no second request"
    );

    // Destroy removes the certificate and the records; the zone stays.
    let run = w.galley(&["destroy", "--site", path(&w.site)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_no_certificates_and_a_bare_zone(&acm, &r53, &zone, "after destroy").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_that_never_validates_leaves_the_live_release_and_nothing_new() {
    let w = world_on(Moto::start_with(&[("MOTO_ACM_VALIDATION_WAIT", "3600")]));
    let zone = w.hosted_zone("example.com").await;
    let first = w.publish();
    w.deploy_settings("  domain: blog.example.com\n  certificate_timeout: 1\n");
    edit_post(&w.site);
    let run = w.galley(&["publish", path(&w.site), "--insecure"]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(
        err.contains("blog.example.com was not issued within 1s")
            && err.contains("CNAME _")
            && err.contains("previous release is still serving"),
        "{err}"
    );
    let status = w.status();
    assert_eq!(status["live"]["digest"], first["digest"], "{status}");
    assert_eq!(
        status["url"].as_str().map(|u| u.starts_with("http://")),
        Some(true)
    );
    let sdk = w.sdk().await;
    assert_no_certificates_and_a_bare_zone(
        &aws_sdk_acm::Client::new(&sdk),
        &aws_sdk_route53::Client::new(&sdk),
        &zone,
        "the request was withdrawn",
    )
    .await;
    assert_eq!(
        scaling_groups(&aws_sdk_autoscaling::Client::new(&sdk))
            .await
            .len(),
        1,
        "no release was started"
    );
}

/// The load balancer's security group's ingress, as (port, CIDRs, prefix lists).
async fn alb_ingress(ec2: &aws_sdk_ec2::Client) -> Vec<(i32, usize, Vec<String>)> {
    let (group, _) = group_rules(ec2, "alb").await;
    let out = ec2
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .expect("group");
    out.security_groups()[0]
        .ip_permissions()
        .iter()
        .map(|p| {
            (
                p.from_port().unwrap_or(-1),
                p.ip_ranges().len() + p.ipv6_ranges().len(),
                p.prefix_list_ids()
                    .iter()
                    .filter_map(|l| l.prefix_list_id().map(str::to_string))
                    .collect(),
            )
        })
        .collect()
}

/// The distribution's origin: (domain, secret header value).
async fn cdn_origin(cf: &aws_sdk_cloudfront::Client, id: &str) -> (String, String) {
    let out = cf
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .expect("distribution config");
    let config = out.distribution_config().expect("config");
    let origin = &config.origins().expect("origins").items()[0];
    let header = &origin.custom_headers().expect("headers").items()[0];
    assert_eq!(header.header_name(), "x-galley-origin");
    (
        origin.domain_name().to_string(),
        header.header_value().to_string(),
    )
}

/// The site's load balancer's listener on `port`.
async fn listener_on(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    port: i32,
) -> aws_sdk_elasticloadbalancingv2::types::Listener {
    let lbs = elb.describe_load_balancers().send().await.expect("lbs");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lbs.load_balancers()[0].load_balancer_arn().expect("arn"))
        .send()
        .await
        .expect("listeners");
    listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(port))
        .unwrap_or_else(|| panic!("a listener on {port}"))
        .clone()
}

/// The serving listener's default action type and its rules' header values and targets.
async fn listener_gate(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
) -> (String, Vec<String>, Option<String>) {
    let listener = listener_on(elb, 80).await;
    let default = listener.default_actions()[0]
        .r#type()
        .map(|t| t.as_str().to_string())
        .unwrap_or_default();
    let rules = elb
        .describe_rules()
        .listener_arn(listener.listener_arn().expect("arn"))
        .send()
        .await
        .expect("rules");
    let gate = rules.rules().iter().find(|r| r.priority() == Some("1"));
    let values = gate
        .and_then(|r| r.conditions().first())
        .and_then(|c| c.http_header_config())
        .map(|h| h.values().to_vec())
        .unwrap_or_default();
    let target = gate
        .and_then(|r| r.actions().first())
        .and_then(|a| {
            a.forward_config()
                .and_then(|f| f.target_groups().first())
                .and_then(|t| t.target_group_arn())
                .or(a.target_group_arn())
        })
        .map(str::to_string);
    (default, values, target)
}

/// The site built into a folder of its own.
fn built(w: &World) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("site");
    let run = w.galley(&["build", path(&w.site), "--destination", path(&dest)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    out
}

/// The URLs of the files that differ between two builds (changed, added, removed);
/// `dir/index.html` is also `/dir/`.
fn changed_urls_between(a: &Path, b: &Path) -> Vec<String> {
    fn files(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                files(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                let rel = rel.to_str().expect("utf-8").to_string();
                if rel != ".galley-output" {
                    out.insert(rel, std::fs::read(&p).expect("read"));
                }
            }
        }
    }
    let (mut old, mut new) = Default::default();
    files(&a.join("site"), &a.join("site"), &mut old);
    files(&b.join("site"), &b.join("site"), &mut new);
    let mut urls = std::collections::BTreeSet::new();
    for f in old.keys().chain(new.keys()) {
        if old.get(f) != new.get(f) {
            urls.insert(format!("/{f}"));
            if f == "index.html" {
                urls.insert("/".into());
            } else if let Some(d) = f.strip_suffix("/index.html") {
                urls.insert(format!("/{d}/"));
            }
        }
    }
    urls.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cdn_fronts_the_load_balancer_which_admits_only_cloudfront_and_its_secret() {
    let w = world();
    w.deploy_settings("  cdn: true\n");
    let first = w.publish();
    let sdk = w.sdk().await;
    let cf = aws_sdk_cloudfront::Client::new(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);

    // One distribution, its origin the load balancer, as the issue asks it configured.
    let list = cf.list_distributions().send().await.expect("distributions");
    let items = list.distribution_list().expect("list").items();
    assert_eq!(items.len(), 1);
    let d = &items[0];
    assert_eq!(
        first["url"],
        format!("https://{}/", d.domain_name()),
        "{first}"
    );
    assert_eq!(w.status()["url"], first["url"]);
    let out = cf
        .get_distribution_config()
        .id(d.id())
        .send()
        .await
        .expect("config");
    let config = out.distribution_config().expect("config");
    assert_eq!(config.http_version().map(|v| v.as_str()), Some("http2and3"));
    assert_eq!(config.is_ipv6_enabled(), Some(true));
    let behavior = config.default_cache_behavior().expect("behavior");
    assert_eq!(behavior.compress(), Some(true));
    assert_eq!(
        behavior.cache_policy_id(),
        Some("83da9c7e-98b4-4e11-a168-04f0df8e2c65"),
        "the managed policy that follows the origin's Cache-Control"
    );
    assert_eq!(
        behavior.viewer_protocol_policy().as_str(),
        "redirect-to-https"
    );
    let lb = elb.describe_load_balancers().send().await.expect("lbs");
    let alb_dns = lb.load_balancers()[0].dns_name().expect("dns").to_string();
    let (origin, secret1) = cdn_origin(&cf, d.id()).await;
    assert_eq!(origin, alb_dns);
    assert_eq!(secret1.len(), 32);

    // The load balancer: 80 from CloudFront's prefix list only, nothing from addresses.
    let lists = ec2
        .describe_managed_prefix_lists()
        .filters(
            Filter::builder()
                .name("prefix-list-name")
                .values("com.amazonaws.global.cloudfront.origin-facing")
                .build(),
        )
        .send()
        .await
        .expect("prefix lists");
    let cloudfront = lists.prefix_lists()[0]
        .prefix_list_id()
        .expect("id")
        .to_string();
    assert_eq!(alb_ingress(&ec2).await, vec![(80, 0, vec![cloudfront])]);
    // Its listener refuses by default and forwards only what carries the secret.
    let (_, live) = groups_and_live(&elb).await;
    let (default, values, target) = listener_gate(&elb).await;
    assert_eq!(default, "fixed-response");
    assert_eq!(values, vec![secret1.clone()]);
    let (groups, _) = groups_and_live(&elb).await;
    assert_eq!(target.as_deref(), Some(groups[0].as_str()), "{live:?}");

    // A republish rotates the secret (the old one still admitted while CloudFront deploys)
    // and invalidates exactly the URLs whose bytes changed, as two builds of the site
    // before and after the edit show them.
    let before = built(&w);
    edit_post(&w.site);
    let after = built(&w);
    let expected = changed_urls_between(before.path(), after.path());
    assert!(
        expected.iter().any(|u| u.contains("theme-post")),
        "{expected:?}"
    );
    let second = w.publish();
    assert_eq!(
        second["invalidated"],
        serde_json::json!(expected),
        "{second}"
    );
    let (_, secret2) = cdn_origin(&cf, d.id()).await;
    assert_ne!(secret2, secret1);
    let (_, values, target) = listener_gate(&elb).await;
    assert_eq!(values, vec![secret2, secret1]);
    let (groups, _) = groups_and_live(&elb).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(
        target.as_deref(),
        Some(groups[0].as_str()),
        "forwards to the new release"
    );
    let invalidations = cf
        .list_invalidations()
        .distribution_id(d.id())
        .send()
        .await
        .expect("invalidations");
    assert!(!invalidations
        .invalidation_list()
        .expect("list")
        .items()
        .is_empty());

    // Turning the CDN off reopens the load balancer to everyone, forwards by default again
    // and removes the distribution.
    let config = w.site.join("_config.yml");
    let now = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, now.replace("  cdn: true\n", "")).expect("write config");
    let third = w.publish();
    assert!(
        third["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://galley-blog")),
        "{third}"
    );
    assert!(cf
        .list_distributions()
        .send()
        .await
        .expect("distributions")
        .distribution_list()
        .map(|l| l.items().is_empty())
        .unwrap_or(true));
    let (default, values, _) = listener_gate(&elb).await;
    assert_eq!(default, "forward");
    assert!(values.is_empty());
    assert!(alb_ingress(&ec2)
        .await
        .iter()
        .all(|(_, cidrs, lists)| *cidrs > 0 && lists.is_empty()));
    w.deploy_settings("  cdn: true\n");
    w.publish();

    // Destroy disables and deletes the distribution and the secret.
    let run = w.galley(&["destroy", "--site", path(&w.site)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let list = cf.list_distributions().send().await.expect("distributions");
    assert!(list
        .distribution_list()
        .map(|l| l.items().is_empty())
        .unwrap_or(true));
    assert!(aws_sdk_ssm::Client::new(&sdk)
        .get_parameter()
        .name("/galley/blog/origin-secret")
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cdn_on_the_sites_domain_serves_its_name_and_reaches_the_origin_over_https() {
    let w = world();
    let zone = w.hosted_zone("example.com").await;
    w.deploy_settings("  cdn: true\n  domain: blog.example.com\n");
    let published = w.publish();
    assert_eq!(published["url"], "https://blog.example.com/", "{published}");
    assert_eq!(w.status()["url"], "https://blog.example.com/");
    let sdk = w.sdk().await;
    let cf = aws_sdk_cloudfront::Client::new(&sdk);
    let acm = aws_sdk_acm::Client::new(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);

    // Two certificates, both issued: the domain's for CloudFront (us-east-1, as moto's
    // region is) and origin.<domain>'s for the load balancer.
    let mut certs = std::collections::BTreeMap::new();
    for c in acm
        .list_certificates()
        .send()
        .await
        .expect("certs")
        .certificate_summary_list()
    {
        certs.insert(
            c.domain_name().expect("name").to_string(),
            c.certificate_arn().expect("arn").to_string(),
        );
    }
    assert_eq!(
        certs.keys().collect::<Vec<_>>(),
        vec!["blog.example.com", "origin.blog.example.com"]
    );

    // The distribution answers for the domain with its certificate and reaches the load
    // balancer over HTTPS by origin.<domain>.
    let list = cf.list_distributions().send().await.expect("distributions");
    let d = &list.distribution_list().expect("list").items()[0];
    let out = cf
        .get_distribution_config()
        .id(d.id())
        .send()
        .await
        .expect("config");
    let config = out.distribution_config().expect("config");
    assert_eq!(
        config.aliases().expect("aliases").items(),
        ["blog.example.com".to_string()]
    );
    assert_eq!(
        config
            .viewer_certificate()
            .and_then(|v| v.acm_certificate_arn()),
        Some(certs["blog.example.com"].as_str())
    );
    let origin = &config.origins().expect("origins").items()[0];
    assert_eq!(origin.domain_name(), "origin.blog.example.com");
    assert_eq!(
        origin
            .custom_origin_config()
            .map(|c| c.origin_protocol_policy().as_str()),
        Some("https-only")
    );

    // DNS: the domain is an alias of the distribution, origin.<domain> of the load balancer.
    let lb = elb.describe_load_balancers().send().await.expect("lbs");
    let alb_dns = trimmed(lb.load_balancers()[0].dns_name().expect("dns"));
    let records = zone_records(&r53, &zone).await;
    let alias = |name: &str| {
        records
            .iter()
            .find(|(n, kind, _)| trimmed(n) == name && kind == "A")
            .map(|(_, _, v)| trimmed(v))
    };
    assert_eq!(
        alias("blog.example.com"),
        Some(trimmed(d.domain_name())),
        "{records:?}"
    );
    assert_eq!(
        alias("origin.blog.example.com"),
        Some(alb_dns),
        "{records:?}"
    );

    // The load balancer serves origin.<domain>'s certificate on 443, which alone admits
    // CloudFront, and forwards only what carries the secret.
    let https = listener_on(&elb, 443).await;
    assert_eq!(
        https.certificates()[0].certificate_arn(),
        Some(certs["origin.blog.example.com"].as_str())
    );
    let ingress = alb_ingress(&ec2).await;
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!((ingress[0].0, ingress[0].1), (443, 0), "{ingress:?}");
    let rules = elb
        .describe_rules()
        .listener_arn(https.listener_arn().expect("arn"))
        .send()
        .await
        .expect("rules");
    assert!(rules.rules().iter().any(|r| r.priority() == Some("1")));

    // Destroy removes both certificates, the records and the distribution; the zone stays.
    let run = w.galley(&["destroy", "--site", path(&w.site)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_no_certificates_and_a_bare_zone(&acm, &r53, &zone, "after destroy").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_cloudfront_call_leaves_the_site_open_and_serving_the_live_release() {
    let w = world();
    let first = w.publish();
    w.deploy_settings("  cdn: true\n");
    edit_post(&w.site);
    // CloudFront refuses to create the distribution.
    let proxy = FaultProxy::start(w.moto.endpoint(), |r| {
        (r.method == "POST" && r.path.contains("/distribution")).then_some(400)
    });
    let run = w.galley_via(Some(proxy.url()), &["publish", path(&w.site), "--insecure"]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(err.contains("preparing the CDN"), "{err}");
    assert!(proxy.injected() >= 1);
    assert_eq!(w.status()["live"]["digest"], first["digest"]);
    let sdk = w.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    // Still open to everyone (not locked to a CDN that does not exist), no gate rule, no
    // new release.
    assert!(alb_ingress(&ec2)
        .await
        .iter()
        .all(|(_, cidrs, lists)| *cidrs > 0 && lists.is_empty()));
    let (default, values, _) =
        listener_gate(&aws_sdk_elasticloadbalancingv2::Client::new(&sdk)).await;
    assert_eq!(default, "forward");
    assert!(values.is_empty());
    assert!(
        aws_sdk_ssm::Client::new(&sdk)
            .get_parameter()
            .name("/galley/blog/origin-secret")
            .send()
            .await
            .is_err(),
        "no secret stored for a distribution that does not exist"
    );
    assert_eq!(
        scaling_groups(&aws_sdk_autoscaling::Client::new(&sdk))
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_error_mid_rollout_leaves_the_old_release_serving_and_nothing_new() {
    let w = world();
    let first = w.publish();
    edit_post(&w.site);
    // RegisterTargets answers a non-retryable AWS error.
    let proxy = FaultProxy::start(w.moto.endpoint(), |r| {
        String::from_utf8_lossy(r.body)
            .contains("Action=RegisterTargets")
            .then_some(400)
    });
    let run = w.galley_via(Some(proxy.url()), &["publish", path(&w.site), "--insecure"]);
    assert_eq!(run.status.code(), Some(3), "{}", text(&run.stderr));
    let err = text(&run.stderr);
    assert!(
        err.contains("registering") && err.contains("rolled back"),
        "{err}"
    );
    assert!(proxy.injected() >= 1);
    let status = w.status();
    assert_eq!(status["live"]["digest"], first["digest"]);
    let instances = status["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 2);
    assert!(
        instances.iter().all(|i| i["release"] == first["release"]),
        "{status}"
    );
    let sdk = w.sdk().await;
    let (groups, _) = groups_and_live(&aws_sdk_elasticloadbalancingv2::Client::new(&sdk)).await;
    assert_eq!(groups.len(), 1, "the new target group was not removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_server_errors_from_aws_are_retried_and_the_publish_succeeds() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let w = world();
    let first = w.publish();
    edit_post(&w.site);
    // The first two RegisterTargets are throttled (ELBv2's error document), the first
    // CreateLaunchTemplate hits EC2's request limit (503), the first DescribeTargetHealth a 500.
    let calls: [(&str, usize, u16, &str); 3] = [
        ("Action=RegisterTargets", 2, 400, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"),
        ("Action=CreateLaunchTemplate", 1, 503, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>2</RequestID></Response>"),
        ("Action=DescribeTargetHealth", 1, 500, "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>oops</Message></Error><RequestId>3</RequestId></ErrorResponse>"),
    ];
    let seen: Vec<AtomicUsize> = calls.iter().map(|_| AtomicUsize::new(0)).collect();
    let proxy = FaultProxy::start_with_body(w.moto.endpoint(), move |r| {
        let body = String::from_utf8_lossy(r.body);
        calls
            .iter()
            .zip(&seen)
            .find_map(|((action, times, status, doc), n)| {
                (body.contains(action) && n.fetch_add(1, Ordering::SeqCst) < *times)
                    .then(|| (*status, doc.to_string()))
            })
    });
    let run = w.galley_via(
        Some(proxy.url()),
        &["publish", path(&w.site), "--insecure", "--json"],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(
        proxy.injected(),
        4,
        "every injected fault was met and retried"
    );
    let second: serde_json::Value = serde_json::from_slice(&run.stdout).expect("publish --json");
    assert_ne!(second["digest"], first["digest"]);
    assert_eq!(w.status()["live"]["digest"], second["digest"]);
}

/// A health gate that never passes, as a release whose server cannot start would.
struct NeverHealthy;

#[async_trait::async_trait]
impl galley_infra::rollout::HealthGate for NeverHealthy {
    async fn health(
        &self,
        _group: &str,
        targets: &[galley_infra::rollout::Target],
    ) -> anyhow::Result<Vec<galley_infra::rollout::TargetHealth>> {
        Ok(targets
            .iter()
            .map(|t| galley_infra::rollout::TargetHealth {
                id: t.id.clone(),
                state: galley_infra::rollout::HealthState::Unhealthy,
                reason: Some(
                    "Target.ResponseCodeMismatch: health checks failed with these codes: [502]"
                        .into(),
                ),
            })
            .collect())
    }
}

struct Quiet;

impl galley_infra::rollout::Progress for Quiet {
    fn step(&self, _: &str) {}
    fn done(&self, _: &str, _: std::time::Duration) {}
    fn waiting(&self, _: &str) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_health_gate_rolls_back_and_says_why() {
    let w = world();
    let first = w.publish();
    let settings: galley_infra::DeploySettings =
        serde_json::from_value(serde_json::json!({"site": "blog", "health_timeout": 1}))
            .expect("settings");
    let aws = galley_infra::aws::Aws::from_sdk(w.sdk().await, &settings);
    let request = galley_infra::aws::deploy::Request {
        digest: format!("sha256:{}", "ab".repeat(32)),
        repository: format!("{}/galley/blog", w.registry.host()),
        pull: galley_infra::user_data::Pull::Anonymous,
        invalidate: None,
    };
    let timing = galley_infra::aws::deploy::Timing {
        poll: std::time::Duration::from_millis(20),
        report_every: std::time::Duration::from_millis(100),
    };
    let err =
        galley_infra::aws::deploy::deploy(&aws, &request, Some(&NeverHealthy), &timing, &Quiet)
            .await
            .expect_err("the gate never passes");
    let message = err.to_string();
    assert!(
        message.contains("health gate") && message.contains("Target.ResponseCodeMismatch"),
        "{message}"
    );
    assert!(message.contains("rolled back"), "{message}");
    let status = w.status();
    assert_eq!(status["live"]["digest"], first["digest"]);
    assert!(
        status["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .all(|i| i["release"] == first["release"]),
        "{status}"
    );
    let sdk = w.sdk().await;
    let groups = scaling_groups(&aws_sdk_autoscaling::Client::new(&sdk)).await;
    assert_eq!(groups.len(), 1, "the unhealthy release's group was removed");
    assert_eq!(
        group_tag(&groups[0], "galley:release"),
        first["release"].as_str()
    );
    assert_eq!(launch_templates(&aws_sdk_ec2::Client::new(&sdk)).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_whose_instances_never_get_healthy_exits_4_and_leaves_nothing_new() {
    let w = world();
    let first = w.publish();
    let config = w.site.join("_config.yml");
    let text_now = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text_now.replace("health_timeout: 20", "health_timeout: 2"),
    )
    .expect("write config");
    edit_post(&w.site);
    // The load balancer reports no healthy target in the new group, as when the
    // instances' server never starts (moto would call them healthy at once).
    let proxy = FaultProxy::start_with_body(w.moto.endpoint(), |r| {
        String::from_utf8_lossy(r.body)
            .contains("Action=DescribeTargetHealth")
            .then(|| {
                (
                    200,
                    "<DescribeTargetHealthResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeTargetHealthResult><TargetHealthDescriptions></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeTargetHealthResponse>".to_string(),
                )
            })
    });
    let run = w.galley_via(Some(proxy.url()), &["publish", path(&w.site), "--insecure"]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{err}");
    assert!(
        err.contains("health gate") && err.contains("rolled back"),
        "{err}"
    );
    assert!(proxy.injected() >= 1);
    drop(proxy);
    let status = w.status();
    assert_eq!(status["live"]["digest"], first["digest"], "{status}");
    let sdk = w.sdk().await;
    let groups = scaling_groups(&aws_sdk_autoscaling::Client::new(&sdk)).await;
    assert_eq!(groups.len(), 1, "the new group was removed");
    assert_eq!(
        group_tag(&groups[0], "galley:release"),
        first["release"].as_str()
    );
    assert_eq!(launch_templates(&aws_sdk_ec2::Client::new(&sdk)).await, 1);
    let (target_groups, _) =
        groups_and_live(&aws_sdk_elasticloadbalancingv2::Client::new(&sdk)).await;
    assert_eq!(target_groups.len(), 1, "the new target group was removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_killed_mid_way_is_converged_by_the_next_and_a_held_lock_refuses_a_second() {
    let w = world();
    let first = w.publish();
    edit_post(&w.site);
    // RegisterTargets hangs, so the kill lands mid-rollout for certain, not after the end.
    let proxy = FaultProxy::start(w.moto.endpoint(), |r| {
        String::from_utf8_lossy(r.body)
            .contains("Action=RegisterTargets")
            .then_some(galley_tests::fault_proxy::HANG)
    });
    let mut child = galley()
        .args(["publish", path(&w.site), "--insecure"])
        .envs(w.env(Some(proxy.url())))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn publish");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let reached = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("registering …"));
    assert!(reached, "the publish reached the rollout before the kill");
    assert!(
        child.try_wait().expect("poll").is_none(),
        "still running when killed (mid-rollout)"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    drop(proxy);
    // The kill left something behind: the new release's instances beside the live ones, its
    // target group, and the lock of a dead process.
    let sdk = w.sdk().await;
    let leftover: Vec<_> = live_instances(&aws_sdk_ec2::Client::new(&sdk))
        .await
        .into_iter()
        .filter(|i| tag(i, "galley:release") != first["release"].as_str())
        .collect();
    assert!(
        !leftover.is_empty(),
        "the killed publish had launched instances"
    );
    let (groups, _) = groups_and_live(&aws_sdk_elasticloadbalancingv2::Client::new(&sdk)).await;
    assert_eq!(groups.len(), 2, "the killed publish's target group is left");
    let lock = aws_sdk_ssm::Client::new(&sdk)
        .get_parameter()
        .name("/galley/blog/lock")
        .send()
        .await;
    assert!(lock.is_ok(), "the dead publish's lock is left");
    // The next publish converges.
    let third = w.publish();
    let status = w.status();
    assert_eq!(status["live"]["digest"], third["digest"]);
    let instances = status["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 2, "{status}");
    assert!(
        instances.iter().all(|i| i["release"] == third["release"]),
        "{status}"
    );
    assert_ne!(third["digest"], first["digest"]);

    // Another machine holds the lock: the publish fails fast naming it.
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let holder = format!(
        "ci-runner-7 pid 4242 since {}",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    ssm.put_parameter()
        .name("/galley/blog/lock")
        .value(&holder)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("take lock");
    let run = w.galley(&["publish", path(&w.site), "--insecure"]);
    assert_eq!(run.status.code(), Some(5), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("ci-runner-7 pid 4242"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(w.status()["live"]["digest"], third["digest"]);
}

#[test]
fn dry_run_changes_nothing_and_bad_settings_name_the_file() {
    let w = world();
    let run = w.galley(&["publish", path(&w.site), "--dry-run"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let plan = text(&run.stdout);
    assert!(
        plan.contains("create load balancer galley-blog") && plan.contains("2 × t3.micro"),
        "{plan}"
    );
    let state = w.moto.state();
    assert!(
        !state["ec2"].to_string().contains("galley:site"),
        "dry run created something"
    );

    let config = w.site.join("_config.yml");
    let text_before = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text_before.replace("site: blog", "site: blog\n  instance_count: 1"),
    )
    .expect("write");
    let run = w.galley(&["publish", path(&w.site)]);
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run.stderr);
    assert!(
        err.contains("_config.yml") && err.contains("at least 2"),
        "{err}"
    );
    let _ = Command::new("true").status();
}

/// `galley publish` with the environment of a newcomer: what the test gives, minus what
/// `remove` names, plus `set`; no shared config or credentials files, no instance metadata.
fn publish_with_env(w: &World, remove: &[&str], set: &[(&str, String)]) -> Output {
    let mut cmd = galley();
    cmd.args(["publish", path(&w.site), "--insecure"])
        .envs(w.env(None))
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_SESSION_TOKEN");
    for name in remove {
        cmd.env_remove(name);
    }
    cmd.envs(set.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("run galley")
}

/// Nothing was built or pushed: the checks come first.
fn assert_nothing_built(w: &World) {
    assert!(!w.site.join("_image").exists(), "no image was built");
    let (_, catalog) =
        galley_tests::http::get(&format!("http://{}/v2/_catalog", w.registry.host()))
            .expect("registry catalog");
    assert!(
        !String::from_utf8_lossy(&catalog).contains("galley"),
        "nothing was pushed: {}",
        String::from_utf8_lossy(&catalog)
    );
}

#[test]
fn missing_credentials_region_or_endpoint_are_each_named_before_anything_is_built() {
    let w = world();
    let run = publish_with_env(&w, &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], &[]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(6), "{err}");
    assert!(
        err.contains("no AWS credentials found") && err.contains("help:"),
        "{err}"
    );
    assert!(!err.contains("lock"), "not a lock problem: {err}");
    assert_nothing_built(&w);

    let run = publish_with_env(&w, &["AWS_REGION"], &[]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(6), "{err}");
    assert!(err.contains("no AWS region is set"), "{err}");
    assert_nothing_built(&w);

    // A bogus region against real AWS: refused by its form, before any network call.
    let run = publish_with_env(
        &w,
        &["AWS_ENDPOINT_URL"],
        &[("AWS_REGION", "moon-base".into())],
    );
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(6), "{err}");
    assert!(err.contains("`moon-base` is not an AWS region"), "{err}");
    assert_nothing_built(&w);

    let closed = galley_tests::services::free_port();
    let run = publish_with_env(
        &w,
        &[],
        &[("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))],
    );
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("cannot reach AWS at http://127.0.0.1:{closed}"))
            && err.contains("could not connect"),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure"), "no SDK structures: {err}");
    assert_nothing_built(&w);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_aws_endpoint_times_out_says_so_and_rolls_back() {
    let w = world();
    let first = w.publish();
    edit_post(&w.site);
    // CreateAutoScalingGroup never answers: the endpoint hangs mid-publish.
    let proxy = FaultProxy::start(w.moto.endpoint(), |r| {
        String::from_utf8_lossy(r.body)
            .contains("Action=CreateAutoScalingGroup")
            .then_some(galley_tests::fault_proxy::HANG)
    });
    let mut cmd = galley();
    cmd.args(["publish", path(&w.site), "--insecure"])
        .envs(w.env(Some(proxy.url())))
        .env("GALLEY_AWS_TIMEOUT", "1");
    let run = cmd.output().expect("run galley");
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(
        err.contains("launching") && err.contains("no answer within the timeout"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    assert!(proxy.injected() >= 1);
    assert_eq!(w.status()["live"]["digest"], first["digest"]);
    let sdk = w.sdk().await;
    assert_eq!(
        launch_templates(&aws_sdk_ec2::Client::new(&sdk)).await,
        1,
        "the new release's launch template was removed"
    );
    assert_eq!(
        scaling_groups(&aws_sdk_autoscaling::Client::new(&sdk))
            .await
            .len(),
        1
    );
}

async fn group_rules(ec2: &aws_sdk_ec2::Client, role: &str) -> (String, Vec<String>) {
    let out = ec2
        .describe_security_groups()
        .filters(site_filter())
        .filters(
            Filter::builder()
                .name("tag:galley:role")
                .values(role)
                .build(),
        )
        .send()
        .await
        .expect("security groups");
    let group = out.security_groups().first().expect("group");
    let mut rules = Vec::new();
    for p in group.ip_permissions() {
        let port = p.from_port().unwrap_or(-1);
        rules.extend(
            p.ip_ranges()
                .iter()
                .map(|r| format!("{port} {}", r.cidr_ip().unwrap_or(""))),
        );
        rules.extend(
            p.ipv6_ranges()
                .iter()
                .map(|r| format!("{port} {}", r.cidr_ipv6().unwrap_or(""))),
        );
        rules.extend(
            p.user_id_group_pairs()
                .iter()
                .map(|g| format!("{port} {}", g.group_id().unwrap_or(""))),
        );
    }
    rules.sort();
    (group.group_id().unwrap_or_default().to_string(), rules)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_policy_attach_and_hand_edits_are_repaired_by_the_next_publish() {
    let w = world();
    let proxy = FaultProxy::start_with_body(w.moto.endpoint(), |r| {
        String::from_utf8_lossy(r.body)
            .contains("Action=AttachRolePolicy")
            .then(|| (404, "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>Policy does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>".to_string()))
    });
    let run = w.galley_via(Some(proxy.url()), &["publish", path(&w.site), "--insecure"]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(
        err.contains("attaching ECR read-only") && err.contains("NoSuchEntity"),
        "{err}"
    );
    drop(proxy);

    let sdk = w.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    // Hand edits: SSH opened to the world on the instances, HTTPS closed on the ALB.
    let (instances, _) = group_rules(&ec2, "instances").await;
    let (alb, _) = group_rules(&ec2, "alb").await;
    ec2.authorize_security_group_ingress()
        .group_id(&instances)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .expect("open 22");
    ec2.revoke_security_group_ingress()
        .group_id(&alb)
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .expect("close 443");

    w.publish();
    let attached = iam
        .list_attached_role_policies()
        .role_name("galley-blog-instance")
        .send()
        .await
        .expect("policies");
    assert!(
        attached.attached_policies().iter().any(|p| p.policy_arn()
            == Some("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")),
        "the role got its policy: {attached:?}"
    );
    let (_, rules) = group_rules(&ec2, "instances").await;
    assert_eq!(
        rules,
        vec![format!("8080 {alb}")],
        "only the ALB reaches the instances"
    );
    let (_, rules) = group_rules(&ec2, "alb").await;
    assert_eq!(
        rules,
        vec!["443 0.0.0.0/0", "443 ::/0", "80 0.0.0.0/0", "80 ::/0"],
        "80 and 443 from anywhere"
    );
}
