//! `galley image`: the OCI image checked by real tools (skopeo, umoci), reproducibility,
//! the real Docker engine, a real registry, and every failure leaving the image untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use galley_tests::fault_proxy::FaultProxy;
use galley_tests::services::{require, Moto, Registry};
use galley_tests::{copy_fixture, galley, server_binary, text, tree};

const EPOCH: &str = "1700000000";

/// A site with a post, a page and a binary asset (so every layer has something).
fn site() -> (tempfile::TempDir, PathBuf) {
    let (tmp, site) = copy_fixture("sites/theme-blog");
    std::fs::create_dir_all(site.join("images")).expect("images dir");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..4000u32).map(|i| (i * 7919 % 251) as u8))
        .collect();
    std::fs::write(site.join("images/cat.png"), png).expect("asset");
    // A post in another year, for a pages layer of its own that a 2024 edit leaves alone.
    std::fs::write(
        site.join("_posts/2019-03-04-older.md"),
        "---\ntitle: From 2019\n---\nAn older post.\n",
    )
    .expect("older post");
    (tmp, site)
}

fn image_build(site: &Path, out: &Path, extra: &[&str]) -> Output {
    galley()
        .args(["image", "build"])
        .arg(site)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("GALLEY_SERVER_BINARY", server_binary())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .expect("run galley image build")
}

/// Blobs a first push uploads: every layer and the config.
fn blob_count(built: &serde_json::Value) -> u64 {
    built["layers"].as_array().map_or(0, Vec::len) as u64 + 1
}

/// The number of layers the image's manifest names.
fn raw_manifest_layers(out: &Path) -> usize {
    galley_image::Layout::open(out)
        .expect("layout")
        .manifest
        .layers()
        .len()
}

fn built_json(site: &Path, out: &Path) -> serde_json::Value {
    let run = image_build(site, out, &["--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    serde_json::from_slice(&run.stdout).expect("--json output")
}

/// Each layer's name and what `field` reads of it, from `galley image build --json`.
fn per_layer<T>(
    doc: &serde_json::Value,
    field: impl Fn(&serde_json::Value) -> T,
) -> BTreeMap<String, T> {
    doc["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| (l["name"].as_str().unwrap_or("").to_string(), field(l)))
        .collect()
}

fn layer_digests(doc: &serde_json::Value) -> BTreeMap<String, String> {
    per_layer(doc, |l| l["digest"].as_str().unwrap_or("").to_string())
}

fn edit_post(site: &Path) {
    let post = site.join("_posts/2024-06-01-theme-post.md");
    let body = std::fs::read_to_string(&post).expect("post");
    std::fs::write(&post, format!("{body}\nOne more line.\n")).expect("edit post");
}

#[test]
fn skopeo_and_umoci_accept_the_image_and_it_holds_exactly_the_site_and_the_server() {
    require("skopeo");
    require("umoci");
    let (tmp, site) = site();
    // A stylesheet above the precompression threshold gets its variants in the image; the
    // small pages get theirs from the server at start.
    let css: String = (0..800)
        .map(|i| format!(".rule-{i} {{ margin: {i}px; color: #{:06x}; }}\n", i * 977))
        .collect();
    assert!(css.len() > galley_image::input::PRECOMPRESS_ABOVE);
    assert!(css.len() < galley_image::input::PRECOMPRESS_UP_TO);
    std::fs::write(site.join("big.css"), &css).expect("write big.css");
    // A file past the upper bound (a sitemap of thousands of posts) gets none: the server
    // compresses it at start in milliseconds, where the build's best quality costs seconds.
    let huge = css.repeat(3);
    assert!(huge.len() > galley_image::input::PRECOMPRESS_UP_TO);
    std::fs::write(site.join("huge.css"), &huge).expect("write huge.css");
    let out = tmp.path().join("image");
    let run = image_build(&site, &out, &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let digest = text(&run.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest:?}"
    );

    let inspect = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}", out.display()))
        .output()
        .expect("skopeo");
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let info: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("skopeo json");
    assert_eq!(info["Digest"], digest.as_str());
    assert_eq!(info["Architecture"], "amd64");
    assert_eq!(info["Os"], "linux");
    for label in ["created", "revision", "source", "title", "version"] {
        assert!(
            info["Labels"][format!("org.opencontainers.image.{label}")].is_string(),
            "label {label}: {info}"
        );
    }
    assert_eq!(
        info["Labels"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );

    let config = Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!("oci:{}", out.display()))
        .output()
        .expect("skopeo config");
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).expect("config json");
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"][0], "/galley-server");
    assert!(config["config"]["ExposedPorts"]["8080/tcp"].is_object());
    // skopeo parses the config as OCI, which has no healthcheck: read Docker's from the blob.
    let docker_manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest.json"))
            .expect("json");
    let raw = std::fs::read(out.join(docker_manifest[0]["Config"].as_str().expect("Config path")))
        .expect("config blob");
    let raw: serde_json::Value = serde_json::from_slice(&raw).expect("config json");
    assert_eq!(
        raw["config"]["Healthcheck"]["Test"],
        serde_json::json!([
            "CMD",
            "/galley-server",
            "--check",
            "http://127.0.0.1:8080/healthz"
        ])
    );
    // One history entry per layer: server, assets, pages-2019, pages-2024-06 (the newest
    // year goes by month), the groups of other folders, pages.
    let layers = raw_manifest_layers(&out);
    assert!(layers > 5, "{layers} layers");
    assert_eq!(config["history"].as_array().map(Vec::len), Some(layers));

    let bundle = tmp.path().join("bundle");
    let unpack = Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:latest", out.display()))
        .arg(&bundle)
        .output()
        .expect("umoci");
    assert!(unpack.status.success(), "{}", text(&unpack.stderr));
    let rootfs = bundle.join("rootfs");

    let built = tmp.path().join("built");
    let b = galley()
        .arg("build")
        .arg(&site)
        .arg("--destination")
        .arg(&built)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .expect("galley build");
    assert!(b.status.success(), "{}", text(&b.stderr));
    let expected = tree(&built);
    let unpacked = tree(&rootfs.join("site"));
    let originals: BTreeMap<&String, &String> = unpacked
        .iter()
        .filter(|(p, _)| {
            !(p.ends_with(".br") || p.ends_with(".gz")) || !unpacked.contains_key(&p[..p.len() - 3])
        })
        .collect();
    let expected_ref: BTreeMap<&String, &String> = expected.iter().collect();
    assert_eq!(
        originals, expected_ref,
        "the image's /site differs from `galley build`"
    );
    // Every variant is a compressed copy of its original.
    for (path, _) in unpacked.iter().filter(|(p, _)| p.ends_with(".gz")) {
        let original =
            std::fs::read(rootfs.join("site").join(&path[..path.len() - 3])).expect("original");
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(
                &std::fs::read(rootfs.join("site").join(path)).expect("gz")[..],
            ),
            &mut plain,
        )
        .expect("gunzip");
        assert_eq!(plain, original, "{path}");
    }
    let br = std::fs::read(rootfs.join("site/big.css.br")).expect("big.css.br");
    let mut plain = Vec::new();
    brotli::BrotliDecompress(&mut &br[..], &mut plain).expect("brotli");
    assert_eq!(plain, css.as_bytes());
    assert!(
        !unpacked.contains_key("big.css.gz"),
        "no .gz in the image: the server makes it at start, and it would not compress again in the layer"
    );
    assert!(!unpacked.contains_key("huge.css.br"));
    assert!(unpacked.contains_key("huge.css"));
    assert!(
        !unpacked.contains_key("index.html.br"),
        "small pages are compressed by the server at start, not shipped twice"
    );

    let top: BTreeSet<String> = std::fs::read_dir(&rootfs)
        .expect("rootfs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        top,
        BTreeSet::from(["etc".into(), "galley-server".into(), "site".into()])
    );
    assert_eq!(
        std::fs::read(rootfs.join("galley-server")).expect("server"),
        std::fs::read(server_binary()).expect("server binary")
    );
    assert!(std::fs::read_to_string(rootfs.join("etc/passwd"))
        .expect("passwd")
        .contains(":65532:65532:"));
}

#[test]
fn the_same_site_in_two_folders_gives_the_same_digest_and_an_edit_changes_only_the_pages() {
    let (tmp_a, site_a) = site();
    let (tmp_b, site_b) = site();
    let a = built_json(&site_a, &tmp_a.path().join("image"));
    let b = built_json(&site_b, &tmp_b.path().join("image"));
    assert_eq!(a["digest"], b["digest"]);
    assert_eq!(a["layers"], b["layers"]);
    assert_eq!(a["created_from"], "SOURCE_DATE_EPOCH");

    edit_post(&site_b);
    let edited = built_json(&site_b, &tmp_b.path().join("image"));
    let (before, after) = (layer_digests(&a), layer_digests(&edited));
    // Server, assets, then a pages layer per year folder (oldest first), then the rest.
    let names: Vec<&str> = a["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    // Server, assets, a pages layer per year folder (oldest first; the newest year, 2024,
    // one per month), the groups of other folders (tag and category pages here, each by a
    // fixed hash of its folder), the sitemap, then the root's pages.
    assert_eq!(
        names[..4],
        ["server", "assets", "pages-2019", "pages-2024-06"]
    );
    assert_eq!(names[names.len() - 2..], ["pages-sitemap", "pages"]);
    let groups = &names[4..names.len() - 2];
    assert!(!groups.is_empty(), "{names:?}");
    assert!(
        groups.iter().all(|n| n.starts_with("pages-group-")),
        "{names:?}"
    );
    // The post's edit changes its year's layer, and at most the root's pages and the
    // groups of lists that show it: never another year, the server or the assets.
    let changed: Vec<&String> = after
        .iter()
        .filter(|(name, digest)| before.get(*name) != Some(*digest))
        .map(|(name, _)| name)
        .collect();
    assert!(
        changed.iter().all(|n| n.as_str() == "pages-2024-06"
            || n.as_str() == "pages"
            || n.starts_with("pages-group-")),
        "{changed:?}"
    );
    assert_eq!(before["server"], after["server"]);
    assert_eq!(before["assets"], after["assets"]);
    assert_eq!(before["pages-2019"], after["pages-2019"]);
    // A text edit moves no page: the sitemap stays as it was.
    assert_eq!(before["pages-sitemap"], after["pages-sitemap"]);
    assert_ne!(before["pages-2024-06"], after["pages-2024-06"]);
    assert_ne!(a["config"]["digest"], edited["config"]["digest"]);
    assert_ne!(a["digest"], edited["digest"]);
    // The asset really is in the assets layer, not a trivially empty one.
    let assets = a["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["name"] == "assets")
        .expect("assets layer")
        .clone();
    assert_eq!(assets["files"], 1);
}

fn reused(doc: &serde_json::Value) -> BTreeMap<String, bool> {
    per_layer(doc, |l| l["reused"].as_bool().expect("reused"))
}

#[test]
fn a_rebuild_compresses_only_changed_layers_and_gives_the_digest_of_a_build_from_nothing() {
    let (tmp, site) = site();
    // A page big enough for precompressed variants in the image, which a rebuild keeps.
    let big: String = (0..1000)
        .map(|i| format!("<p>Line {i} of a long archive page.</p>\n"))
        .collect();
    assert!(
        (galley_image::input::PRECOMPRESS_ABOVE..galley_image::input::PRECOMPRESS_UP_TO)
            .contains(&big.len())
    );
    std::fs::write(site.join("archive.html"), format!("---\n---\n{big}")).expect("big page");
    let out = tmp.path().join("image");
    let first = built_json(&site, &out);
    assert!(
        reused(&first).values().all(|r| !r),
        "nothing to reuse the first time: {first}"
    );
    let again = built_json(&site, &out);
    assert_eq!(again["digest"], first["digest"]);
    assert!(reused(&again).values().all(|r| *r), "{again}");

    edit_post(&site);
    let edited = built_json(&site, &out);
    let flags = reused(&edited);
    assert_eq!(
        (flags["server"], flags["assets"], flags["pages-2019"]),
        (true, true, true)
    );
    assert!(
        !flags["pages-2024-06"],
        "the edited post's layer is made again"
    );

    // The same edited site from nothing, with reuse off: the same image, byte for byte.
    let fresh_out = tmp.path().join("fresh");
    let fresh = image_build(&site, &fresh_out, &["--json", "--no-reuse"]);
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    let fresh: serde_json::Value = serde_json::from_slice(&fresh.stdout).expect("json");
    assert_eq!(fresh["digest"], edited["digest"]);
    assert_eq!(layer_digests(&fresh), layer_digests(&edited));
    assert_eq!(
        tree(&out.join("blobs")),
        tree(&fresh_out.join("blobs")),
        "the same blobs, byte for byte"
    );

    // Other compression settings: nothing is reused (the bytes would differ).
    let other = image_build(&site, &out, &["--json", "--brotli-quality", "5"]);
    assert!(other.status.success(), "{}", text(&other.stderr));
    let other: serde_json::Value = serde_json::from_slice(&other.stdout).expect("json");
    assert!(reused(&other).values().all(|r| !r), "{other}");

    // A damaged blob in the previous image is not reused: the build makes it again.
    let rebuilt = built_json(&site, &out);
    let damaged = rebuilt["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["name"] == "pages-2019")
        .and_then(|l| l["digest"].as_str())
        .expect("pages-2019")
        .trim_start_matches("sha256:")
        .to_string();
    std::fs::write(out.join("blobs/sha256").join(&damaged), b"not a layer").expect("damage");
    let repaired = built_json(&site, &out);
    assert_eq!(repaired["digest"], fresh["digest"]);
    assert!(!reused(&repaired)["pages-2019"]);
    assert!(reused(&repaired)["pages-2024-06"]);
}

#[test]
fn without_source_date_epoch_a_site_outside_git_still_builds_reproducibly() {
    let (tmp_a, site_a) = site();
    let (tmp_b, site_b) = site();
    let build = |site: &Path, out: &Path| {
        let run = galley()
            .args(["image", "build"])
            .arg(site)
            .arg("--out")
            .arg(out)
            .env("GALLEY_SERVER_BINARY", server_binary())
            .env_remove("SOURCE_DATE_EPOCH")
            .env("GIT_CEILING_DIRECTORIES", site.parent().expect("parent"))
            .output()
            .expect("galley image build");
        assert!(run.status.success(), "{}", text(&run.stderr));
        // The fallback date is named, with the way to a real one.
        let report = text(&run.stderr);
        assert!(
            report.contains("created 2020-01-01T00:00:00Z (a fixed date: the site is not in git and SOURCE_DATE_EPOCH is unset"),
            "{report}"
        );
        text(&run.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        build(&site_a, &tmp_a.path().join("i")),
        build(&site_b, &tmp_b.path().join("i"))
    );
}

/// Removes containers of one image when the test ends, pass or fail.
struct Containers(String);

impl Drop for Containers {
    fn drop(&mut self) {
        let ids = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=galley.image={}", self.0),
            ])
            .output();
        if let Ok(ids) = ids {
            for id in text(&ids.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
    }
}

#[test]
fn the_image_runs_in_the_real_docker_engine_as_uid_65532_and_serves_the_site() {
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    let run = image_build(&site, &out, &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let digest = text(&run.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let _cleanup = Containers(digest.clone());

    let started = galley()
        .args(["image", "run", "--out"])
        .arg(&out)
        .output()
        .expect("galley image run");
    assert!(started.status.success(), "{}", text(&started.stderr));
    let url = text(&started.stdout).trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let (status, body) = galley_tests::http::get(&url).expect("GET /");
    assert_eq!(status, 200);
    let built = tmp.path().join("built");
    let b = galley()
        .arg("build")
        .arg(&site)
        .arg("--destination")
        .arg(&built)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .expect("build");
    assert!(b.status.success());
    assert_eq!(
        body,
        std::fs::read(built.join("index.html")).expect("index")
    );
    let (status, health) = galley_tests::http::get(&format!("{url}healthz")).expect("GET /healthz");
    assert_eq!(status, 200);
    assert!(text(&health).contains("\"release\""), "{}", text(&health));
    // The image ships no variant for the small index page: the server made one at start.
    let head = raw_head(&url, "/", "Accept-Encoding: br");
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: br"),
        "{head}"
    );

    let ids = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=galley.image={digest}"),
        ])
        .output()
        .expect("docker ps");
    let id = text(&ids.stdout).trim().to_string();
    assert!(!id.is_empty(), "no running container");
    let inspect = Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{.State.Pid}} {{.Config.User}} {{.HostConfig.ReadonlyRootfs}}",
            &id,
        ])
        .output()
        .expect("inspect");
    let fields: Vec<String> = text(&inspect.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(fields[1..], ["65532:65532".to_string(), "true".to_string()]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", fields[0]))
        .expect("container process status");
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_default();
    assert!(
        uid.split_whitespace().skip(1).all(|u| u == "65532"),
        "{uid}"
    );
}

fn push(out: &Path, reference: &str, env: &[(&str, String)], extra: &[&str]) -> Output {
    galley()
        .args(["image", "push", reference, "--insecure", "--json", "--out"])
        .arg(out)
        .args(extra)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("galley image push")
}

fn report(run: &Output) -> serde_json::Value {
    assert!(run.status.success(), "{}", text(&run.stderr));
    serde_json::from_slice(&run.stdout).expect("push --json")
}

#[test]
fn push_uploads_only_what_the_registry_lacks() {
    require("skopeo");
    let registry = Registry::start();
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    let first = built_json(&site, &out);
    let reference = format!("{}/galley/blog:v1", registry.host());

    let r1 = report(&push(&out, &reference, &[], &[]));
    assert_eq!(r1["digest"], first["digest"]);
    let blobs = first["layers"].as_array().expect("layers").len() as u64 + 1;
    assert!(
        blobs > 6,
        "server, assets, two years, groups, root pages: {first}"
    );
    assert_eq!(
        (r1["blobs"].as_u64(), r1["blobs_uploaded"].as_u64()),
        (Some(blobs), Some(blobs))
    );
    let inspect = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo");
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let info: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("json");
    assert_eq!(info["Digest"], first["digest"]);

    let r2 = report(&push(&out, &reference, &[], &[]));
    assert_eq!(r2["blobs_uploaded"], 0);
    assert_eq!(r2["bytes_uploaded"], 0);
    assert_eq!(r2["manifest_uploaded"], false);

    edit_post(&site);
    let edited = built_json(&site, &out);
    let r3 = report(&push(
        &out,
        &format!("{}/galley/blog:v2", registry.host()),
        &[],
        &[],
    ));
    // Only the layers the edit changed go up (the post's year, and the lists if they show
    // it), then the config; the other year, the assets and the server stay in the registry.
    let before = layer_digests(&first);
    let changed: Vec<&serde_json::Value> = edited["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter(|l| {
            l["name"]
                .as_str()
                .is_some_and(|n| before.get(n) != l["digest"].as_str().map(String::from).as_ref())
        })
        .collect();
    let changed_names: Vec<&str> = changed.iter().filter_map(|l| l["name"].as_str()).collect();
    assert!(
        changed_names.contains(&"pages-2024-06"),
        "{changed_names:?}"
    );
    for unchanged in ["server", "assets", "pages-2019"] {
        assert!(!changed_names.contains(&unchanged), "{changed_names:?}");
    }
    assert_eq!(
        r3["blobs_uploaded"].as_u64(),
        Some(changed.len() as u64 + 1),
        "changed layers and config only: {r3}"
    );
    let layers: u64 = changed.iter().filter_map(|l| l["size"].as_u64()).sum();
    let config = edited["config"]["size"].as_u64().expect("config size");
    let manifest_bytes = r3["bytes_uploaded"].as_u64().expect("bytes") - layers - config;
    // The manifest names each layer in about 200 bytes.
    let listed = edited["layers"].as_array().map_or(0, Vec::len) as u64;
    assert!(
        manifest_bytes > 0 && manifest_bytes < 400 + 200 * listed,
        "{r3}"
    );
}

/// A snapshot of the image folder, to show a failure changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    tree(dir)
}

#[test]
fn a_transient_500_is_retried_and_a_persistent_one_fails_naming_the_step() {
    let registry = Registry::start();
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    let blobs = blob_count(&built_json(&site, &out));
    let before = snapshot(&out);

    let upstream = format!("http://{}", registry.host());
    let once = std::sync::atomic::AtomicBool::new(false);
    let flaky = FaultProxy::start(upstream.clone(), move |r| {
        (r.method == "PUT"
            && r.path.contains("/blobs/uploads/")
            && !once.swap(true, std::sync::atomic::Ordering::SeqCst))
        .then_some(500)
    });
    let r = report(&push(
        &out,
        &format!("127.0.0.1:{}/blog:v1", flaky.port),
        &[],
        &[],
    ));
    assert_eq!(flaky.injected(), 1);
    assert_eq!(r["blobs_uploaded"], blobs); // every layer and the config

    let broken = FaultProxy::start(upstream, |r| {
        (r.method == "PUT" && r.path.contains("/blobs/uploads/")).then_some(500)
    });
    let run = push(
        &out,
        &format!("127.0.0.1:{}/other:v1", broken.port),
        &[],
        &[],
    );
    assert_eq!(run.status.code(), Some(3), "{}", text(&run.stderr));
    let err = text(&run.stderr);
    assert!(
        err.contains(&format!("registry 127.0.0.1:{}", broken.port)),
        "{err}"
    );
    assert!(
        err.contains("uploading blob") && err.contains("500"),
        "{err}"
    );
    assert!(broken.injected() > 1, "the failing PUT was retried");
    assert_eq!(
        snapshot(&out),
        before,
        "a failed push changed the local image"
    );
}

#[test]
fn an_unreachable_registry_and_a_401_are_clear_errors() {
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    let blobs = blob_count(&built_json(&site, &out));
    let before = snapshot(&out);

    let port = galley_tests::services::free_port();
    let run = push(&out, &format!("127.0.0.1:{port}/blog:v1"), &[], &[]);
    assert_eq!(run.status.code(), Some(3));
    let err = text(&run.stderr);
    assert!(
        err.contains(&format!("registry 127.0.0.1:{port}")) && err.contains("checking blob"),
        "{err}"
    );

    let registry = Registry::start_with_auth(Some(("galley", "right-password")));
    let run = push(&out, &format!("{}/blog:v1", registry.host()), &[], &[]);
    assert_eq!(run.status.code(), Some(3));
    let err = text(&run.stderr);
    assert!(
        err.contains("401") && err.contains("needs credentials"),
        "{err}"
    );

    let wrong = [
        ("GALLEY_REGISTRY_USERNAME", "galley".to_string()),
        ("GALLEY_REGISTRY_PASSWORD", "wrong".to_string()),
    ];
    let run = push(&out, &format!("{}/blog:v1", registry.host()), &wrong, &[]);
    assert_eq!(run.status.code(), Some(3));
    let err = text(&run.stderr);
    assert!(
        err.contains("rejected the credentials") && !err.contains("wrong"),
        "{err}"
    );

    let right = [
        ("GALLEY_REGISTRY_USERNAME", "galley".to_string()),
        ("GALLEY_REGISTRY_PASSWORD", "right-password".to_string()),
    ];
    let r = report(&push(
        &out,
        &format!("{}/blog:v1", registry.host()),
        &right,
        &[],
    ));
    assert_eq!(r["blobs_uploaded"], blobs); // every layer and the config
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_plain_http_registry_without_insecure_says_so_and_how_to_fix_it() {
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    built_json(&site, &out);
    let registry = Registry::start();
    let run = galley()
        .args([
            "image",
            "push",
            &format!("{}/blog:v1", registry.host()),
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("galley image push");
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(
        err.contains("answered in plain HTTP") && err.contains("--insecure"),
        "{err}"
    );
    assert!(!err.contains("InvalidContentType"), "{err}");
}

#[test]
fn plain_http_is_refused_for_a_registry_that_is_not_loopback() {
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    built_json(&site, &out);
    let run = push(&out, "registry.example.com/blog:v1", &[], &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("only allowed for loopback"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn a_broken_site_a_missing_site_and_a_dead_docker_engine_leave_the_image_untouched() {
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    built_json(&site, &out);
    let before = snapshot(&out);

    std::fs::write(
        site.join("_posts/2024-06-03-broken.md"),
        "---\ntitle: [unclosed\n---\nbody\n",
    )
    .expect("broken post");
    let run = image_build(&site, &out, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("2024-06-03-broken.md"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(snapshot(&out), before);

    let run = image_build(&tmp.path().join("no-such-site"), &out, &[]);
    assert_ne!(run.status.code(), Some(0));
    assert!(
        text(&run.stderr).contains("no-such-site"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(snapshot(&out), before);

    let run = galley()
        .args(["image", "load", "--out"])
        .arg(&out)
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-docker.sock", tmp.path().display()),
        )
        .output()
        .expect("galley image load");
    assert_eq!(run.status.code(), Some(3));
    let err = text(&run.stderr);
    assert!(
        err.contains("Docker engine is not reachable") && err.contains("no-docker.sock"),
        "{err}"
    );
    assert_eq!(snapshot(&out), before);

    let run = galley()
        .args(["image", "load", "--out"])
        .arg(tmp.path().join("nothing"))
        .output()
        .expect("load");
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("galley image build"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn a_server_binary_that_is_not_static_is_refused() {
    let (tmp, site) = site();
    let run = galley()
        .args(["image", "build"])
        .arg(&site)
        .arg("--out")
        .arg(tmp.path().join("image"))
        .env(
            "GALLEY_SERVER_BINARY",
            galley_tests::services::target_bin_dir().join("galley"),
        )
        .output()
        .expect("galley image build");
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("dynamically linked"),
        "{}",
        text(&run.stderr)
    );
    assert!(!tmp.path().join("image").exists());
}

#[test]
fn push_to_ecr_creates_an_immutable_scanned_repository_and_pushes() {
    let moto = Moto::start();
    let registry = Registry::start();
    let (tmp, site) = site();
    let out = tmp.path().join("image");
    let built = built_json(&site, &out);
    let mut env: Vec<(&str, String)> = moto.env();
    env.push(("GALLEY_ECR_REGISTRY", registry.host()));

    let run = push(&out, "galley/blog:r1", &env, &["--ecr"]);
    let r = report(&run);
    assert!(
        text(&run.stderr).contains("created ECR repository galley/blog"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(r["digest"], built["digest"]);
    assert_eq!(r["blobs_uploaded"], blob_count(&built)); // every layer and the config
    let state = moto.state().to_string();
    assert!(state.contains("galley/blog"), "no repository in moto");
    assert!(
        state.contains("IMMUTABLE"),
        "tags are not immutable: {state}"
    );

    let again = push(&out, "galley/blog:r1", &env, &["--ecr"]);
    let r = report(&again);
    assert!(!text(&again.stderr).contains("created ECR repository"));
    assert_eq!(r["blobs_uploaded"], 0);
    assert!(
        !text(&again.stderr).contains("testing"),
        "a secret was printed"
    );
}

/// The response head of a GET with one extra request header.
fn raw_head(base: &str, path: &str, header: &str) -> String {
    use std::io::{Read, Write};
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = std::net::TcpStream::connect(&host).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{header}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}
