//! Bad input: every case gives a message naming the file and the line, and what to do.

use galley_site_builder::build;
use galley_tests::{fixture, options};

/// Builds an invalid fixture and returns the error text.
fn error_of(case: &str) -> String {
    let tmp = tempfile::tempdir().expect("temp dir");
    let err = build(
        &fixture(&format!("invalid/{case}")),
        &tmp.path().join("_site"),
        &options(),
    )
    .expect_err("invalid fixture must not build");
    assert!(
        !tmp.path().join("_site").exists(),
        "{case}: nothing written"
    );
    err.to_string()
}

fn assert_error(case: &str, location: &str, message: &str) {
    let text = error_of(case);
    let expected = format!("invalid/{case}/{location}");
    assert!(
        text.contains(&expected),
        "{case}: expected location `{expected}` in:\n{text}"
    );
    assert!(
        text.contains(message),
        "{case}: expected `{message}` in:\n{text}"
    );
    assert!(
        text.contains("help: "),
        "{case}: every error says what to do:\n{text}"
    );
}

#[test]
fn broken_yaml_front_matter() {
    assert_error(
        "bad-yaml",
        "_posts/2024-01-01-post.md:3:7",
        "invalid YAML: unclosed bracket",
    );
}

#[test]
fn broken_toml_front_matter() {
    assert_error(
        "bad-toml",
        "_posts/2024-01-01-post.md:3:",
        "invalid TOML front matter",
    );
}

#[test]
fn unclosed_front_matter() {
    assert_error(
        "unclosed-front-matter",
        "_posts/2024-01-01-post.md:1:1",
        "never closed",
    );
}

#[test]
fn unknown_layout() {
    assert_error(
        "unknown-layout",
        "_posts/2024-01-01-post.md:3",
        "unknown layout `nonexistent`",
    );
}

#[test]
fn template_syntax_error() {
    assert_error(
        "template-syntax",
        "_layouts/default.html:3:12",
        "template error",
    );
}

#[test]
fn template_render_error() {
    assert_error(
        "template-undefined",
        "_layouts/default.html:3",
        "Variable `page.missing_key` not found",
    );
}

#[test]
fn bad_date_in_post_file_name() {
    assert_error(
        "bad-post-filename-date",
        "_posts/2024-13-45-post.md:1:1",
        "`2024-13-45` in the file name is not a valid date",
    );
}

#[test]
fn bad_date_in_front_matter() {
    assert_error(
        "bad-front-matter-date",
        "_posts/2024-01-01-post.md:3",
        "invalid date `yesterday-ish`",
    );
}

#[test]
fn unreadable_file() {
    assert_error("unreadable", "_posts/2024-01-01-post.md", "cannot read");
}

#[test]
fn duplicate_url_names_both_sources() {
    let text = error_of("duplicate-url");
    assert!(
        text.contains("invalid/duplicate-url/about/index.md:1"),
        "{text}"
    );
    assert!(text.contains("which about.md writes too"), "{text}");
}

#[test]
fn unknown_liquid_tags_are_errors_not_text() {
    assert_error(
        "unknown-liquid-tag",
        "_posts/2024-01-01-post.md:6:1",
        "Liquid tag `for` is not run inside posts and pages",
    );
    assert_error(
        "unknown-liquid-tag2",
        "_posts/2024-01-01-post.md:6:1",
        "unknown Liquid tag `seo`",
    );
}

#[test]
fn missing_post_for_post_url() {
    assert_error(
        "missing-post-url",
        "_posts/2024-01-01-post.md:4:5",
        "no post named `2023-01-01-nope`",
    );
}

#[test]
fn broken_config() {
    assert_error("bad-config", "_config.yml:2:12", "invalid YAML");
    assert_error(
        "bad-timezone",
        "_config.yml:2",
        "unknown timezone `Mars/Olympus`",
    );
}

#[test]
fn broken_data_file() {
    assert_error("bad-data", "_data/people.json:4:1", "invalid JSON");
}

#[test]
fn layout_and_include_with_one_name_clash() {
    let text = error_of("template-clash");
    assert!(
        text.contains("_layouts/card.html") && text.contains("_includes/card.html"),
        "{text}"
    );
    assert!(text.contains("clashes"), "{text}");
}

#[test]
fn includes_that_include_each_other_are_an_error_naming_the_whole_chain() {
    let text = error_of("include-loop");
    assert!(
        text.contains("_includes/a.html:2: error: include loop: `a.html` (_includes/a.html:2) -> `b.html`, `b.html` (_includes/b.html:3) -> `a.html`"),
        "{text}"
    );
    assert!(
        text.contains("_includes/self.html:2: error: include loop: `self.html` (_includes/self.html:2) -> `self.html`"),
        "{text}"
    );
    assert_eq!(
        text.matches("include loop").count(),
        2,
        "each loop once: {text}"
    );
}

#[test]
fn a_layout_loop_names_every_layout_in_it_once() {
    let text = error_of("layout-loop");
    assert!(
        text.contains("_layouts/a.html:2: error: layout loop: `a` (_layouts/a.html:2) -> `b`, `b` (_layouts/b.html:3) -> `c`, `c` (_layouts/c.html:2) -> `a`"),
        "{text}"
    );
    assert_eq!(text.matches("layout loop").count(), 1, "{text}");
}

/// `build` and `check` end with exit 1 and the message, not a stack overflow (SIGABRT).
#[test]
fn the_cli_reports_loops_with_exit_1() {
    for command in ["build", "check"] {
        for case in ["include-loop", "layout-loop"] {
            let tmp = tempfile::tempdir().expect("temp dir");
            let run = galley_tests::galley()
                .arg(command)
                .arg(fixture(&format!("invalid/{case}")))
                .args(if command == "build" {
                    vec!["-d".into(), tmp.path().join("out")]
                } else {
                    vec![]
                })
                .output()
                .expect("run galley");
            let stderr = galley_tests::text(&run.stderr);
            assert_eq!(run.status.code(), Some(1), "{command} {case}: {stderr}");
            assert!(stderr.contains("loop: "), "{command} {case}: {stderr}");
        }
    }
}
