//! The `galley` binary as authors and CI run it: output, exit codes, files written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn galley(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(args)
        .output()
        .expect("run galley")
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn build_prints_a_one_line_summary() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let site = fixture("sites/theme-blog");
    let run = galley(&[
        "build",
        site.to_str().expect("utf-8 path"),
        "--destination",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    let re = regex::Regex::new(r"^built 2 posts, \d+ pages, \d+ files in \d+ ms -> .*out\n$")
        .expect("regex");
    assert!(re.is_match(&stdout), "{stdout:?}");
    assert!(out.join("index.html").is_file());
}

#[test]
fn bad_input_exits_non_zero_with_file_and_line_and_keeps_the_old_site() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("index.html"), "previous").expect("seed");
    let site = fixture("invalid/bad-yaml");
    let run = galley(&[
        "build",
        site.to_str().expect("utf-8"),
        "-d",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("_posts/2024-01-01-post.md:3:7: error: invalid YAML"),
        "{stderr}"
    );
    assert!(run.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(out.join("index.html")).expect("read"),
        "previous"
    );
}

/// What a build writes into the site's folder (the output, its staging folder, the previous
/// output while a background process removes it) never shows up in `git status`.
#[test]
fn a_new_sites_git_ignores_what_builds_write_beside_the_sources() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("blog");
    let s = site.to_str().expect("utf-8");
    assert!(galley(&["new", "site", s]).status.success());
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&site)
            .args(args)
            .output()
            .expect("run git")
    };
    assert!(git(&["init", "-q"]).status.success());
    for written in [
        "_site/index.html",
        "._site.galley-tmp-4242/index.html",
        "._site.galley-old-4243/index.html",
        "._site.galley-spare/index.html",
        ".galley/state.json",
    ] {
        let path = site.join(written);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(&path, "x").expect("write");
        assert!(
            git(&["check-ignore", "-q", written]).status.success(),
            "{written} is not ignored"
        );
    }
    assert!(
        !git(&["check-ignore", "-q", "_posts"]).status.success(),
        "sources stay tracked"
    );
}

#[test]
fn new_site_builds_and_new_post_lands_in_posts() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("blog");
    let s = site.to_str().expect("utf-8");
    assert!(galley(&["new", "site", s]).status.success());
    let again = galley(&["new", "site", s]);
    assert_eq!(again.status.code(), Some(1), "never overwrites a site");

    let post = galley(&["new", "post", "Hello, There!", "--site", s]);
    assert!(post.status.success(), "{}", text(&post.stderr));
    let path = PathBuf::from(text(&post.stdout).trim());
    let name = path
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    assert!(
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}-hello-there\.md$")
            .expect("regex")
            .is_match(&name),
        "{name}"
    );
    assert!(path.starts_with(site.join("_posts")));
    assert!(std::fs::read_to_string(&path)
        .expect("read")
        .contains("title: \"Hello, There!\""));
    assert_eq!(
        galley(&["new", "post", "Hello, There!", "--site", s])
            .status
            .code(),
        Some(1)
    );

    let build = galley(&["build", s]);
    assert!(build.status.success(), "{}", text(&build.stderr));
    assert!(text(&build.stdout).starts_with("built 2 posts"));
    assert!(site.join("_site/index.html").is_file());
    let check = galley(&["check", s]);
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn check_fails_on_broken_links() {
    let site = fixture("invalid/broken-links");
    let run = galley(&["check", site.to_str().expect("utf-8")]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("_posts/2024-01-01-post.md:7:10: error: broken link `/nowhere/`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_server_binary_is_named_with_the_flag_before_any_work() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("img");
    let site = fixture("sites/theme-blog");
    let run = galley(&[
        "image",
        "build",
        site.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--server-binary",
        "/nonexistent/galley-server",
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/galley-server")
            && stderr.contains("--server-binary")
            && stderr.contains("No such file"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn a_deploy_section_without_site_asks_for_site_not_for_indentation() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("_config.yml"),
        "title: x\ndeploy:\n  region: eu-west-1\n",
    )
    .expect("config");
    let run = galley(&["publish", tmp.path().to_str().expect("utf-8"), "--dry-run"]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`deploy:` has no `site:`"), "{stderr}");
    assert!(!stderr.contains("indentation"), "{stderr}");
}

#[test]
fn a_write_the_machine_refuses_exits_7_not_1() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // /proc refuses to create anything: an I/O failure, not a problem in the sources.
    let run = galley(&[
        "build",
        fixture("sites/theme-blog").to_str().expect("utf-8"),
        "-d",
        "/proc/galley-out",
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("/proc"), "{stderr}");
    drop(tmp);
}

/// `SOURCE_DATE_EPOCH` enters at the command line's edge: a malformed one is refused by
/// every command that builds, instead of being ignored by one and refused by another.
#[test]
fn a_malformed_source_date_epoch_is_refused_before_building() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let site = fixture("sites/theme-blog");
    for args in [
        vec![
            "build",
            site.to_str().expect("utf-8"),
            "-d",
            out.to_str().expect("utf-8"),
        ],
        vec!["check", site.to_str().expect("utf-8")],
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_galley"))
            .args(&args)
            .env("SOURCE_DATE_EPOCH", "yesterday")
            .output()
            .expect("run galley");
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("SOURCE_DATE_EPOCH=\"yesterday\""),
            "{stderr}"
        );
    }
    assert!(!out.exists());
}
