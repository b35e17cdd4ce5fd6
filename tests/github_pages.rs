//! `github_pages: true`: a repository's Markdown builds as GitHub Pages builds it, with its
//! default plugins built in (no Ruby, no network). Plain Jekyll, without the switch, leaves
//! the same files alone; that is what the Jekyll comparisons run.

use std::path::Path;

use galley_site_builder::{build, BuildOptions};

/// A typical project repository: a README, docs without front matter, a git remote.
fn repository(root: &Path, config: &str) {
    let files: &[(&str, &str)] = &[
        ("_config.yml", config),
        (
            "_layouts/default.html",
            "---\n---\n<html><head><title>{{ page.title }}</title></head><body>{{ content }}<footer>{{ site.github.repository_url }} {{ site.github.project_title }}</footer></body></html>\n",
        ),
        ("_layouts/page.html", "---\nlayout: default\n---\n<article>{{ content }}</article>\n"),
        ("README.md", "# The Handbook\n\nSee [setup](docs/setup.md) and [faq](docs/faq.md#top).\n"),
        ("docs/setup.md", "# Setup\n\nBack to [home](../README.md).\n"),
        ("docs/faq.md", "---\ntitle: FAQ\n---\n# Questions\n"),
        ("CONTRIBUTING.md", "# How to help\n"),
        (".git/config", "[remote \"origin\"]\n\turl = https://github.com/octo/handbook.git\n"),
    ];
    galley_tests::write_files(root, files);
}

fn read(out: &Path, rel: &str) -> String {
    std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn github_pages_defaults_build_a_repository_of_markdown() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, out) = (tmp.path().join("repo"), tmp.path().join("out"));
    repository(&root, "github_pages: true\nbaseurl: /handbook\n");
    let built = build(&root, &out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);

    // readme-index + titles-from-headings + default-layout (page, then default) +
    // relative-links (with the baseurl) + github-metadata from the git remote.
    let index = read(&out, "index.html");
    assert!(index.contains("<title>The Handbook</title>"), "{index}");
    assert!(
        index.contains("<article><h1"),
        "the page layout wraps it: {index}"
    );
    assert!(
        index.contains(r#"<a href="/handbook/docs/setup.html">setup</a>"#),
        "{index}"
    );
    assert!(
        index.contains(r#"<a href="/handbook/docs/faq.html#top">faq</a>"#),
        "{index}"
    );
    assert!(
        index.contains("<footer>https://github.com/octo/handbook handbook</footer>"),
        "{index}"
    );
    // optional-front-matter: a Markdown file without front matter is a page.
    let setup = read(&out, "docs/setup.html");
    assert!(setup.contains("<title>Setup</title>"), "{setup}");
    assert!(
        setup.contains(r#"<a href="/handbook/">home</a>"#),
        "{setup}"
    );
    // The files it leaves alone are copied as they are, as GitHub Pages does.
    assert!(out.join("CONTRIBUTING.md").is_file());
    assert!(!out.join("CONTRIBUTING.html").exists());
}

#[test]
fn without_the_switch_jekyll_leaves_the_same_markdown_alone() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, out) = (tmp.path().join("repo"), tmp.path().join("out"));
    repository(&root, "title: Plain\n");
    build(&root, &out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !out.join("index.html").exists(),
        "no README index in plain Jekyll"
    );
    assert_eq!(
        read(&out, "README.md"),
        "# The Handbook\n\nSee [setup](docs/setup.md) and [faq](docs/faq.md#top).\n"
    );
    assert!(out.join("docs/setup.md").is_file(), "copied, not rendered");
    // A page without `layout:` gets none in plain Jekyll.
    let faq = read(&out, "docs/faq.html");
    assert!(faq.contains("Questions</h1>"), "{faq}");
    assert!(
        !faq.contains("<html>"),
        "no default layout without the plugin: {faq}"
    );
}

/// jemoji (GitHub Pages allows it; Debian does not package it, so there is no Jekyll run to
/// compare with): `:shortcode:` in text becomes GitHub's emoji image, in code it stays.
#[test]
fn jemoji_turns_shortcodes_into_github_emoji_images() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (root, out) = (tmp.path().join("site"), tmp.path().join("out"));
    galley_tests::write_files(
        &root,
        &[
        ("_config.yml", "plugins: [jemoji]\n"),
        (
            "_layouts/default.html",
            "---\n---\n<main>{{ content }}</main>\n",
        ),
        (
            "index.md",
            "---\nlayout: default\n---\nShip it :rocket: and `:rocket:`, not :no-such-emoji:.\n",
        ),
    ],
    );
    let built = build(&root, &out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    let page = read(&out, "index.html");
    assert!(
        page.contains("Ship it <img class=\"emoji\" title=\":rocket:\" alt=\":rocket:\" src=\"https://github.githubassets.com/images/icons/emoji/unicode/1f680.png\" height=\"20\" width=\"20\">"),
        "{page}"
    );
    assert!(
        page.contains("<code class=\"language-plaintext highlighter-rouge\">:rocket:</code>"),
        "{page}"
    );
    assert!(page.contains(":no-such-emoji:"), "{page}");
}
