//! Bad Liquid in a Jekyll site: each mistake is reported at file:line:column with a `help:`
//! line, `galley build` exits 1, and the site built before is left byte for byte.

use std::path::Path;

use galley_tests::{galley, text, tree};

/// A small Jekyll site: a layout, a page, and `extra` files written over it.
fn write_site(site: &Path, extra: &[(&str, &str)]) {
    let base = [
        (
            "_layouts/default.html",
            "---\n---\n<html><body>{{ content }}</body></html>\n",
        ),
        (
            "index.html",
            "---\nlayout: default\ntitle: Home\n---\n<p>{{ page.title }}</p>\n",
        ),
    ];
    galley_tests::write_files(site, &base);
    galley_tests::write_files(site, extra);
}

/// Builds the good site, breaks it with `broken`, builds again: the second build must fail
/// with `location` (relative to the site), `message` and a hint, leaving the first output.
fn assert_refused(broken: &[(&str, &str)], location: &str, message: &str) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (site, out) = (tmp.path().join("site"), tmp.path().join("out"));
    write_site(&site, &[]);
    let first = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    assert!(first.status.success(), "good site: {}", text(&first.stderr));
    let before = tree(&out);
    assert!(before.contains_key("index.html"));

    write_site(&site, broken);
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let place = format!("{}: error: ", site.join(location).display());
    assert!(stderr.contains(&place), "expected `{place}` in:\n{stderr}");
    assert!(
        stderr.contains(message),
        "expected `{message}` in:\n{stderr}"
    );
    assert!(
        stderr.contains("\n  help: "),
        "every error says what to do:\n{stderr}"
    );
    assert_eq!(tree(&out), before, "the previous site is left as it was");
}

#[test]
fn a_syntax_error_points_at_the_block_left_open() {
    assert_refused(
        &[(
            "_layouts/default.html",
            "---\n---\n<html>\n<body>{% if page.title %}\n{{ content }}</body></html>\n",
        )],
        "_layouts/default.html:4:7",
        "`{% if %}` is never closed",
    );
}

#[test]
fn an_unknown_filter_is_an_error_under_strict_filters() {
    assert_refused(
        &[
            ("_config.yml", "liquid:\n  strict_filters: true\n"),
            (
                "index.html",
                "---\nlayout: default\n---\n<p>\n  {{ \"x\" | frobnicate }}</p>\n",
            ),
        ],
        "index.html:5:10",
        "unknown Liquid filter `frobnicate`",
    );
}

#[test]
fn an_unknown_filter_inside_assign_is_named_too() {
    assert_refused(
        &[
            ("_config.yml", "liquid:\n  strict_filters: true\n"),
            (
                "index.html",
                "---\nlayout: default\n---\n{% assign n = 1 | add: 1 %}{{ n }}\n",
            ),
        ],
        "index.html:4:17",
        "unknown Liquid filter `add`",
    );
}

#[test]
fn an_include_loop_names_each_include_tag() {
    assert_refused(
        &[
            ("_includes/a.html", "a {% include b.html %}\n"),
            ("_includes/b.html", "b\n  {% include a.html %}\n"),
            ("index.html", "---\nlayout: default\n---\n{% include a.html %}\n"),
        ],
        "_includes/a.html:1:3",
        "include loop: `a.html` (_includes/a.html:1:3) -> `b.html`, `b.html` (_includes/b.html:2:3) -> `a.html`",
    );
}

#[test]
fn a_layout_loop_names_each_layout_key() {
    assert_refused(
        &[
            ("_layouts/a.html", "---\nlayout: b\n---\nA {{ content }}\n"),
            ("_layouts/b.html", "---\nlayout: a\n---\nB {{ content }}\n"),
            ("index.html", "---\nlayout: a\n---\nx\n"),
        ],
        "_layouts/a.html:2:1",
        "layout loop: `a` (_layouts/a.html:2:1) -> `b`, `b` (_layouts/b.html:2:1) -> `a`",
    );
}

#[test]
fn an_undefined_variable_is_an_error_under_strict_variables() {
    assert_refused(
        &[
            ("_config.yml", "liquid:\n  strict_variables: true\n"),
            (
                "index.html",
                "---\nlayout: default\n---\n<p>\n {{ nothing_here }}</p>\n",
            ),
        ],
        "index.html:5:5",
        "undefined variable `nothing_here`",
    );
}

/// Without the strict switches Jekyll builds such a site, and so does Galley: the unknown
/// filter passes its input through and is a warning at its place; an undefined variable
/// prints nothing.
#[test]
fn without_strict_switches_the_site_builds_as_in_jekyll() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (site, out) = (tmp.path().join("site"), tmp.path().join("out"));
    write_site(
        &site,
        &[(
            "index.html",
            "---\nlayout: default\n---\n<p>\n  {{ \"kept\" | frobnicate }}[{{ nothing_here }}]</p>\n",
        )],
    );
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let warning = format!(
        "warning: {}:5:13: unknown Liquid filter `frobnicate` passes its input through",
        site.join("index.html").display()
    );
    assert!(
        stderr.contains(&warning),
        "expected `{warning}` in:\n{stderr}"
    );
    let page = std::fs::read_to_string(out.join("index.html")).expect("page");
    assert!(page.contains("<p>\n  kept[]</p>"), "{page}");
}

/// `include_relative` reads a file beside the page (as Liquid, inside the site only): a
/// path that climbs out of the site is refused at its tag, and nothing is written.
#[test]
fn include_relative_reads_beside_the_page_and_never_outside_the_site() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (site, out) = (tmp.path().join("site"), tmp.path().join("out"));
    std::fs::write(tmp.path().join("secret.txt"), "SECRET").expect("write");
    write_site(
        &site,
        &[
            ("docs/part.txt", "part says {{ page.title }}"),
            (
                "docs/page.html",
                "---\ntitle: T\n---\n[{% include_relative part.txt %}]\n",
            ),
        ],
    );
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let page = std::fs::read_to_string(out.join("docs/page.html")).expect("page");
    assert!(page.contains("[part says T]"), "{page}");

    write_site(
        &site,
        &[(
            "docs/page.html",
            "---\n---\n\n{% include_relative ../../secret.txt %}\n",
        )],
    );
    let before = tree(&out);
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let place = format!("{}:4:1: error: ", site.join("docs/page.html").display());
    assert!(stderr.contains(&place), "expected `{place}` in:\n{stderr}");
    assert!(stderr.contains("is outside the site"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "{stderr}");
    assert_eq!(tree(&out), before);
}

/// A plugin the site lists that Galley does not build in is named in a warning, and the
/// site is built without it (as Jekyll would build it without that gem's additions).
#[test]
fn a_listed_plugin_galley_lacks_is_a_warning_not_a_failure() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (site, out) = (tmp.path().join("site"), tmp.path().join("out"));
    write_site(
        &site,
        &[(
            "_config.yml",
            "plugins:\n  - jekyll-feed\n  - jekyll-no-such-plugin\n",
        )],
    );
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("plugin `jekyll-no-such-plugin` is not built into Galley"),
        "{stderr}"
    );
    assert!(!stderr.contains("`jekyll-feed` is not built"), "{stderr}");
    assert!(
        out.join("feed.xml").is_file(),
        "the plugins Galley has still run"
    );
}

/// `remote_theme:` is never downloaded: without a local copy the build stops at that line
/// saying how to give one; with `--remote-theme <folder>` the copy's layouts are used.
#[test]
fn a_remote_theme_builds_from_a_local_copy_and_never_downloads() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (site, out) = (tmp.path().join("site"), tmp.path().join("out"));
    std::fs::create_dir_all(&site).expect("mkdir");
    std::fs::write(
        site.join("_config.yml"),
        "title: Remote\nremote_theme: octo/fancy-theme\n",
    )
    .expect("write");
    std::fs::write(site.join("index.md"), "---\nlayout: fancy\n---\nHello.\n").expect("write");
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let place = format!("{}:2: error: ", site.join("_config.yml").display());
    assert!(stderr.contains(&place), "expected `{place}` in:\n{stderr}");
    assert!(stderr.contains("Galley builds offline"), "{stderr}");
    assert!(
        stderr.contains("help: clone it once (`git clone https://github.com/octo/fancy-theme`)"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");

    let copy = tmp.path().join("fancy-theme");
    std::fs::create_dir_all(copy.join("_layouts")).expect("mkdir");
    std::fs::write(
        copy.join("_layouts/fancy.html"),
        "---\n---\n<div class=\"fancy\">{{ content }}</div>\n",
    )
    .expect("write");
    let run = galley()
        .arg("build")
        .arg(&site)
        .arg("-d")
        .arg(&out)
        .arg("--remote-theme")
        .arg(&copy)
        .output()
        .expect("run");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let page = std::fs::read_to_string(out.join("index.html")).expect("page");
    assert!(
        page.contains("<div class=\"fancy\"><p>Hello.</p>"),
        "{page}"
    );
}
