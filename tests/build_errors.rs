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
fn a_file_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
    assert_error(
        "unreadable",
        "_posts/2024-01-01-post.md:4:1",
        "not valid UTF-8 (byte 0xff)",
    );
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
    // A Liquid site without jekyll-seo-tag in `plugins:`: Jekyll's own error, at the tag.
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
        text.contains("_includes/a.html:2:1: error: include loop: `a.html` (_includes/a.html:2:1) -> `b.html`, `b.html` (_includes/b.html:3:1) -> `a.html`"),
        "{text}"
    );
    assert!(
        text.contains("_includes/self.html:2:1: error: include loop: `self.html` (_includes/self.html:2:1) -> `self.html`"),
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
        text.contains("_layouts/a.html:2:1: error: layout loop: `a` (_layouts/a.html:2:1) -> `b`, `b` (_layouts/b.html:3:1) -> `c`, `c` (_layouts/c.html:2:1) -> `a`"),
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

/// Each broken link once, at its own line and column: not at the first line that mentions
/// the path, not again for the home page that shows the post's excerpt, and a link in an
/// include once, at the include, naming the pages it is shown on.
#[test]
fn check_reports_each_broken_link_once_at_its_own_place() {
    let err = galley_site_builder::check(&fixture("invalid/broken-links-places"), &options())
        .expect_err("broken links");
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("broken link")).collect();
    let post = "invalid/broken-links-places/_posts/2024-01-01-first.md";
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{post}:5:64: error: broken link `/gone/`"))),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{post}:9:18: error: broken link `/gone/`"))),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{post}:9:41: error: broken link `/also-gone/`"))),
        "{text}"
    );
    let nav = lines
        .iter()
        .find(|l| l.contains("_includes/nav.html:3:"))
        .unwrap_or_else(|| panic!("the include is named: {text}"));
    assert!(
        nav.contains("`/archive-missing/`") && nav.contains("shown on /"),
        "{nav}"
    );
}

/// A scratch site from (path, bytes) pairs; returns the build's error text.
fn error_in(files: &[(&str, &[u8])]) -> String {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(&site, files);
    build(&site, &tmp.path().join("out"), &options())
        .expect_err("must not build")
        .to_string()
}

#[test]
fn invalid_utf8_names_its_line_and_column() {
    let text = error_in(&[(
        "_posts/2024-01-01-a.md",
        b"---\ntitle: a\n---\nfine line\nbad \xff byte\n",
    )]);
    assert!(
        text.contains("_posts/2024-01-01-a.md:5:5: error: not valid UTF-8 (byte 0xff)"),
        "{text}"
    );
    assert!(text.contains("help: save the file as UTF-8"), "{text}");
}

#[test]
fn a_config_that_is_a_list_says_so() {
    let text = error_in(&[("_config.yml", b"# settings\n- title: x\n- url: y\n")]);
    assert!(
        text.contains("_config.yml:2:1: error: the config is a list; it must be a mapping"),
        "{text}"
    );
}

#[test]
fn a_baseurl_that_climbs_or_is_a_url_is_refused() {
    for bad in ["\"../..\"", "https://example.com/blog"] {
        let config = format!("title: x\nbaseurl: {bad}\n");
        let text = error_in(&[("_config.yml", config.as_bytes())]);
        assert!(
            text.contains("_config.yml:2: error: `baseurl: "),
            "{bad}: {text}"
        );
        assert!(
            text.contains("is not a path on the site's host"),
            "{bad}: {text}"
        );
    }
}

#[test]
fn symlink_loops_and_links_to_folders_say_what_they_are() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join("docs")).expect("mkdir");
    std::fs::write(site.join("index.md"), "---\ntitle: x\n---\nx\n").expect("write");
    std::os::unix::fs::symlink("b.md", site.join("a.md")).expect("link");
    std::os::unix::fs::symlink("a.md", site.join("b.md")).expect("link");
    std::os::unix::fs::symlink("..", site.join("docs/up")).expect("link");
    let text = build(&site, &tmp.path().join("out"), &options())
        .expect_err("must not build")
        .to_string();
    assert!(
        text.contains("a.md: error: symbolic link loops back on itself"),
        "{text}"
    );
    assert!(
        text.contains("docs/up: error: symbolic link to a folder"),
        "{text}"
    );
    assert!(!text.contains("Is a directory"), "{text}");
}

#[test]
fn a_permalink_that_climbs_out_of_the_site_is_refused() {
    let text = error_in(&[(
        "about.md",
        b"---\ntitle: About\npermalink: /../../etc/about/\n---\nhi\n",
    )]);
    assert!(
        text.contains("about.md:3: error: permalink `/../../etc/about/`"),
        "{text}"
    );
    assert!(text.contains("climbs out of the site"), "{text}");
}

#[test]
fn a_data_file_beside_a_folder_of_its_name_is_an_error_not_an_overwrite() {
    let text = error_in(&[
        ("_data/team.yml", b"- Ada\n"),
        ("_data/team/leads.yml", b"- Grace\n"),
        ("index.md", b"---\ntitle: x\n---\nx\n"),
    ]);
    assert!(text.contains("`site.data.team` is defined twice"), "{text}");
}

/// Jekyll stops with "Cannot sort a null object" in the generated feed; Galley says which
/// setting asks for a feed of what.
#[test]
fn a_feed_of_a_collection_the_site_lacks_names_the_setting() {
    let text = error_in(&[
        (
            "_config.yml",
            b"title: t\nplugins: [jekyll-feed]\nfeed:\n  collections: [recipes]\n",
        ),
        ("_layouts/default.html", b"{{ content }}"),
        ("_posts/2024-01-01-a.md", b"---\nlayout: default\n---\nA\n"),
    ]);
    assert!(
        text.contains("_config.yml:3: error: `feed: collections:` asks for a feed of `recipes`, which is not a collection of this site"),
        "{text}"
    );
    assert!(text.contains("help: add it under `collections:`"), "{text}");
}
