//! Building fixture sites end to end: the files produced, what they contain, and the
//! guarantees (determinism, atomic replacement) around them.

use galley_site_builder::{build, check, render_site, BuildOptions};
use galley_tests::{copy_fixture, fixture, now, options, read, sha256_hex, tree};

fn build_fixture(name: &str, opts: &BuildOptions) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("_site");
    build(&fixture(name), &out, opts).unwrap_or_else(|e| panic!("build {name}: {e}"));
    (tmp, out)
}

#[test]
fn jekyll_blog_produces_exactly_the_expected_files() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let files: Vec<String> = tree(&out).into_keys().collect();
    assert_eq!(
        files,
        [
            "2024/02/01/second/index.html",
            "2024/03/10/no-front-matter/index.html",
            "_headers",
            "about/index.html",
            "assets/highlight.css",
            "assets/plain.txt",
            "contact/index.html",
            "css/style.css",
            "feed.xml",
            "index.html",
            "news/2024/01/15/first-post/index.html",
            "page/2/index.html",
            "robots.txt",
            "rust/2024/04/01/ownership/index.html",
            "sitemap.xml",
            "tags/intro/index.html",
            "tags/rust/index.html",
            "tags/welcome/index.html",
        ]
    );
}

#[test]
fn rendered_pages_match_snapshots() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    insta::assert_snapshot!(
        "jekyll_first_post",
        read(&out, "news/2024/01/15/first-post/index.html")
    );
    insta::assert_snapshot!("jekyll_home", read(&out, "index.html"));
    insta::assert_snapshot!(
        "jekyll_kramdown_post",
        read(&out, "rust/2024/04/01/ownership/index.html")
    );
    let (_tmp, theme) = build_fixture("sites/theme-blog", &options());
    insta::assert_snapshot!(
        "theme_post",
        read(&theme, "notes/2024/06/01/theme-post.html")
    );
    insta::assert_snapshot!("theme_home", read(&theme, "index.html"));
}

#[test]
fn layouts_chain_and_see_includes_data_and_defaults() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let post = read(&out, "news/2024/01/15/first-post/index.html");
    // post.html's own front matter reaches it as `layout`, and it is wrapped by default.html.
    assert!(post.contains("data-layout=\"post-layout\""));
    assert!(post.starts_with("<!doctype html>"));
    // _data in YAML (nested folder), CSV, JSON and TOML.
    assert!(
        post.contains("2 members · home=/;about=/about/; v1.2.3 stable"),
        "{post}"
    );
    // An include with parameters, Liquid variables and a raw block inside content.
    assert!(post.contains("<div class=\"note\" data-who=\"ada\">an include with params</div>"));
    assert!(post.contains("on Fixture Blog."));
    assert!(post.contains("{{ not processed }}"));
    // post_url and link, with baseurl.
    assert!(post.contains("href=\"/blog/2024/02/01/second/\""));
    assert!(post.contains("href=\"/blog/about/\""));
    // Space-separated tags and a list of categories; `defaults:` by path.
    assert!(post.contains("<p class=\"tags\">intro,welcome</p>"));
    let rust = read(&out, "rust/2024/04/01/ownership/index.html");
    assert!(rust.contains("<p class=\"series\">Rust notes</p>"));
    assert!(
        rust.contains("<p class=\"cats\">rust</p>"),
        "folder above _posts is a category"
    );
}

#[test]
fn posts_without_front_matter_and_with_toml_and_zoned_dates() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let no_fm = read(&out, "2024/03/10/no-front-matter/index.html");
    assert!(no_fm.contains("<h1>A Title From The Heading</h1>"));
    assert!(
        no_fm.contains("datetime=\"2024-03-10T00:00:00-05:00\""),
        "file date in the site zone (EST: DST starts at 2am)"
    );
    let toml = read(&out, "2024/02/01/second/index.html");
    assert!(toml.contains("<h1>Second (TOML)</h1>"));
    assert!(
        toml.contains("datetime=\"2024-02-01T09:30:00+01:00\""),
        "front matter date keeps its zone"
    );
}

#[test]
fn drafts_unpublished_and_future_posts_are_opt_in() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let all = tree(&out);
    assert!(!all
        .keys()
        .any(|k| k.contains("draft") || k.contains("unpublished") || k.contains("future")));

    let with = BuildOptions {
        drafts: true,
        future: true,
        ..options()
    };
    let (_tmp2, out2) = build_fixture("sites/jekyll-blog", &with);
    let all = tree(&out2);
    assert!(
        all.contains_key("2024/05/01/a-draft/index.html"),
        "{:?}",
        all.keys()
    );
    assert!(all.contains_key("2024/03/20/unpublished/index.html"));
    assert!(all.contains_key("2099/01/01/future/index.html"));
}

#[test]
fn pagination_follows_paginate_path() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let home = read(&out, "index.html");
    assert!(home.contains("page 1 of 2 <a href=\"/blog/page/2/\">older</a>"));
    assert!(home.contains("Ownership"), "newest first");
    let page2 = read(&out, "page/2/index.html");
    assert!(page2.contains("page 2 of 2"));
    assert!(page2.contains("Second (TOML)") && page2.contains("First post: hello"));
    assert!(page2.contains("<a href=\"/blog/\">newer</a>"));
}

#[test]
fn excluded_hidden_and_included_files() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let all = tree(&out);
    for gone in [
        "notes.txt",
        "_hidden.txt",
        ".dotfile",
        "node_modules/pkg/index.js",
        "_config.yml",
    ] {
        assert!(!all.contains_key(gone), "{gone} must not be published");
    }
    assert!(
        all.contains_key("_headers"),
        "`include:` lets an underscore file through"
    );
    assert_eq!(
        read(&out, "robots.txt"),
        "User-agent: *\nDisallow: /private/\n",
        "the site's own file wins"
    );
}

#[test]
fn sass_compiles_with_partials() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let css = read(&out, "css/style.css");
    assert!(css.contains("body{color:#123456}"), "{css}");
    assert!(css.contains("body .inner{margin:0}"), "{css}");
}

#[test]
fn feed_is_valid_atom() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let xml = read(&out, "feed.xml");
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs parses the feed");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(
        feed.title.map(|t| t.content).as_deref(),
        Some("Fixture Blog")
    );
    let links: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.links[0].href.clone())
        .collect();
    assert_eq!(
        links,
        [
            "https://fixture.example/blog/rust/2024/04/01/ownership/",
            "https://fixture.example/blog/2024/03/10/no-front-matter/",
            "https://fixture.example/blog/2024/02/01/second/",
            "https://fixture.example/blog/news/2024/01/15/first-post/",
        ]
    );
    let first = feed
        .entries
        .iter()
        .find(|e| e.links[0].href.ends_with("first-post/"))
        .expect("entry");
    let body = first
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default();
    assert!(
        body.contains("<strong>first</strong>"),
        "full HTML content: {body}"
    );
    assert!(first.published.is_some() && first.updated.is_some());
}

#[test]
fn sitemap_lists_pages_with_absolute_urls() {
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &options());
    let xml = read(&out, "sitemap.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "urlset");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.sitemaps.org/schemas/sitemap/0.9")
    );
    let locs: Vec<&str> = root
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        locs.iter()
            .all(|l| l.starts_with("https://fixture.example/blog/")),
        "{locs:?}"
    );
    assert!(locs.contains(&"https://fixture.example/blog/about/"));
    assert!(locs.contains(&"https://fixture.example/blog/news/2024/01/15/first-post/"));
    assert_eq!(locs.len(), 7, "4 posts and 3 pages: {locs:?}");
}

#[test]
fn same_input_gives_same_bytes() {
    let (_a, first) = build_fixture("sites/jekyll-blog", &options());
    let (_b, second) = build_fixture("sites/jekyll-blog", &options());
    assert_eq!(tree(&first), tree(&second));
    let (_c, t1) = build_fixture("sites/theme-blog", &options());
    let (_d, t2) = build_fixture("sites/theme-blog", &options());
    assert_eq!(tree(&t1), tree(&t2));
}

/// A build to disk frees each post's HTML once its page is written and, where no template
/// reads `site.posts`, makes list entries on demand: it must write exactly what the
/// in-memory build (the preview's) renders.
#[test]
fn a_streaming_build_writes_what_the_in_memory_build_renders() {
    for name in ["sites/jekyll-blog", "sites/theme-blog"] {
        let (_tmp, out) = build_fixture(name, &options());
        let memory = render_site(&fixture(name), &options())
            .unwrap_or_else(|e| panic!("render {name}: {e}"));
        let on_disk = tree(&out);
        let in_memory: std::collections::BTreeMap<String, String> = memory
            .site
            .files
            .iter()
            .map(|(path, file)| {
                let bytes = file.bytes().unwrap_or_else(|e| panic!("{path}: {e}"));
                (path.clone(), sha256_hex(&bytes))
            })
            .collect();
        assert!(on_disk.len() > 10, "{name}: {on_disk:?}");
        assert_eq!(on_disk, in_memory, "{name}");
    }
}

#[test]
fn failed_build_leaves_previous_site_untouched() {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("_site");
    build(&site, &out, &options()).expect("first build");
    let before = tree(&out);
    assert!(!before.is_empty());

    std::fs::write(
        site.join("_layouts/post.html"),
        "---\nlayout: default\n---\n{{ content }\n",
    )
    .expect("break layout");
    let err = build(&site, &out, &options()).expect_err("broken template must fail");
    assert!(err.to_string().contains("_layouts/post.html:4:"), "{err}");
    assert_eq!(tree(&out), before, "previous _site byte for byte");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("galley-tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging folder left behind: {leftovers:?}"
    );
}

/// `build` writes pages while others still render: one page failing at render time, after
/// the rest are already on disk in the staging folder, must still leave nothing behind.
#[test]
fn a_page_failing_while_others_stream_to_disk_leaves_previous_site_untouched() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    let mut files = vec![
        (
            "_config.yml".to_string(),
            "title: Streamed\nliquid:\n  strict_variables: true\n".to_string(),
        ),
        (
            "_layouts/default.html".to_string(),
            "<main>{{ content }}</main>{% if page.title == \"boom\" %}{{ site.nowhere }}{% endif %}\n"
                .to_string(),
        ),
    ];
    for day in 1..=28 {
        files.push((
            format!("_posts/2024-02-{day:02}-post.md"),
            format!("---\nlayout: default\ntitle: Post {day}\n---\nDay {day}.\n"),
        ));
    }
    galley_tests::write_files(&site, &files);
    let out = tmp.path().join("_site");
    build(&site, &out, &options()).expect("first build");
    let before = tree(&out);
    assert_eq!(before.len(), 28, "one page per post: {:?}", before.keys());

    galley_tests::write_files(
        &site,
        &[(
            "_posts/2024-03-01-boom.md",
            "---\nlayout: default\ntitle: boom\n---\nFails in its layout.\n",
        )],
    );
    let err = build(&site, &out, &options()).expect_err("undefined variable must fail");
    assert!(
        err.to_string().contains("_layouts/default.html:1:"),
        "{err}"
    );
    assert_eq!(tree(&out), before, "previous _site byte for byte");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("galley-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging folder left behind: {leftovers:?}"
    );
}

#[test]
fn rebuild_replaces_the_site_and_drops_stale_files() {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("_site");
    build(&site, &out, &options()).expect("first build");
    std::fs::remove_file(site.join("assets/plain.txt")).expect("remove static file");
    build(&site, &out, &options()).expect("second build");
    assert!(
        !out.join("assets/plain.txt").exists(),
        "deleted sources disappear from the output"
    );
}

#[test]
fn a_rebuild_links_unchanged_files_from_the_previous_site_and_writes_the_changed_ones() {
    use std::os::unix::fs::MetadataExt;
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("_site");
    build(&site, &out, &options()).expect("first build");
    let before = tree(&out);
    let inode = |rel: &str| {
        std::fs::metadata(out.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .ino()
    };
    let inodes: Vec<(String, u64)> = before.keys().map(|rel| (rel.clone(), inode(rel))).collect();

    // Nothing changed: every file of the new site is the previous one's, linked.
    build(&site, &out, &options()).expect("unchanged rebuild");
    assert_eq!(tree(&out), before);
    for (rel, ino) in &inodes {
        assert_eq!(inode(rel), *ino, "{rel} was written again, not linked");
    }

    // A static file changes: what changed is written anew, the rest linked, and the site
    // equals a fresh build.
    std::fs::write(site.join("assets/plain.txt"), "edited\n").expect("edit");
    build(&site, &out, &options()).expect("rebuild after an edit");
    let fresh = tmp.path().join("fresh");
    build(&site, &fresh, &options()).expect("fresh build");
    assert_eq!(
        tree(&out),
        tree(&fresh),
        "a rebuild gives a fresh build's bytes"
    );
    let after = tree(&out);
    assert_eq!(read(&out, "assets/plain.txt"), "edited\n");
    for (rel, ino) in &inodes {
        let same_bytes = before.get(rel) == after.get(rel);
        assert_eq!(
            inode(rel) == *ino,
            same_bytes,
            "{rel}: linked iff unchanged"
        );
    }
}

#[test]
fn theme_site_has_home_taxonomies_404_and_toc() {
    let (_tmp, out) = build_fixture("sites/theme-blog", &options());
    let all = tree(&out);
    for f in [
        "index.html",
        "404.html",
        "tags/index.html",
        "tags/demo/index.html",
        "tags/two-words/index.html",
        "categories/notes/index.html",
        "categories/index.html",
        "assets/galley.css",
        "assets/highlight.css",
        "feed.xml",
        "sitemap.xml",
        "robots.txt",
        "about/index.html",
    ] {
        assert!(all.contains_key(f), "missing {f}: {:?}", all.keys());
    }
    let post = read(&out, "notes/2024/06/01/theme-post.html");
    assert!(post.contains("<ul class=\"toc\"><li><a href=\"#part-a\">Part A</a>"));
    assert!(post.contains("class=\"language-js\""));
    let home = read(&out, "index.html");
    assert!(home.contains("Second &amp; last"), "titles are escaped");
    assert!(home.contains("<p>First paragraph is the excerpt.</p>"));
    assert_eq!(
        read(&out, "robots.txt"),
        "User-agent: *\nAllow: /\n\nSitemap: https://theme.example/sitemap.xml\n"
    );
}

#[test]
fn base_url_flag_overrides_config() {
    let opts = BuildOptions {
        base_url: Some("https://other.example/sub/".into()),
        ..options()
    };
    let (_tmp, out) = build_fixture("sites/jekyll-blog", &opts);
    let post = read(&out, "news/2024/01/15/first-post/index.html");
    assert!(post.contains("href=\"/sub/2024/02/01/second/\""), "{post}");
    assert!(
        read(&out, "feed.xml").contains("https://other.example/sub/news/2024/01/15/first-post/")
    );
}

#[test]
fn permalink_styles() {
    let cases = [
        ("date", "news/2024/01/15/first-post.html"),
        ("ordinal", "news/2024/015/first-post.html"),
        ("none", "news/first-post.html"),
        ("/:year/:slug/", "2024/first-post/index.html"),
    ];
    for (style, expected) in cases {
        let (tmp, site) = copy_fixture("sites/jekyll-blog");
        let config = std::fs::read_to_string(site.join("_config.yml")).expect("config");
        let config = config.replace("permalink: pretty", &format!("permalink: \"{style}\""));
        std::fs::write(site.join("_config.yml"), config).expect("write config");
        let out = tmp.path().join("_site");
        build(&site, &out, &options()).unwrap_or_else(|e| panic!("{style}: {e}"));
        assert!(
            out.join(expected).is_file(),
            "{style}: expected {expected} in {:?}",
            tree(&out).keys()
        );
    }
}

#[test]
fn check_passes_on_good_sites_and_reports_every_broken_link() {
    let report = check(&fixture("sites/jekyll-blog"), &options()).expect("fixture links are sound");
    assert!(report.links > 20);
    let report = check(&fixture("../../content"), &BuildOptions::default())
        .expect("the example site is sound");
    assert!(report.pages > 5);

    let err = check(&fixture("invalid/broken-links"), &options()).expect_err("broken links");
    let text = err.to_string();
    assert!(
        text.contains(
            "invalid/broken-links/_posts/2024-01-01-post.md:7:10: error: broken link `/nowhere/`"
        ),
        "{text}"
    );
    assert!(text.contains("no element with id `no-such-id`"), "{text}");
    assert!(
        !text.contains("`#real-heading`"),
        "a good anchor is not reported: {text}"
    );
}

#[test]
fn check_reports_problems_from_several_files_at_once() {
    let (_tmp, site) = copy_fixture("sites/jekyll-blog");
    std::fs::write(
        site.join("_posts/2024-05-05-bad.md"),
        "---\ntitle: [oops\n---\nx\n",
    )
    .expect("bad post");
    std::fs::write(site.join("_layouts/broken.html"), "{% if %}\n").expect("bad layout");
    let err = check(&site, &options()).expect_err("two problems");
    let text = err.to_string();
    assert!(text.contains("_posts/2024-05-05-bad.md:2:"), "{text}");
    assert!(text.contains("_layouts/broken.html:1:"), "{text}");
    let _ = now();
}

#[test]
fn site_time_is_the_epoch_the_caller_gives() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    std::fs::create_dir_all(&site).expect("site");
    std::fs::write(
        site.join("stamp.md"),
        "---\ntitle: Stamp\n---\nbuilt {{ site.time }}\n",
    )
    .expect("page");
    let opts = BuildOptions {
        source_date_epoch: Some(86_400),
        ..options()
    };
    let out = tmp.path().join("out");
    build(&site, &out, &opts).expect("build");
    let page = tree(&out)
        .into_keys()
        .find(|k| k.starts_with("stamp"))
        .expect("stamp page");
    assert!(
        read(&out, &page).contains("built 1970-01-02T00:00:00"),
        "{}",
        read(&out, &page)
    );
}

/// A Tera site large enough to render in parallel chunks: pages whose layouts read
/// `site.posts` see every post, pages whose layouts do not still see the rest of `site`
/// (they render in a copy without the lists).
#[test]
fn tera_pages_see_site_lists_where_their_layouts_read_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    let mut files = vec![
        (
            "_config.yml".to_string(),
            "title: Chunked\ntemplate_engine: tera\nauthor: Ann\n".to_string(),
        ),
        (
            "_layouts/counted.html".to_string(),
            "{{ site.posts | length }} posts in {{ site.title }}; newest {{ site.posts.0.title }}\n"
                .to_string(),
        ),
        (
            "_layouts/plain.html".to_string(),
            "{{ site.title }} by {{ site.author }}: {{ page.title }}\n".to_string(),
        ),
    ];
    for n in 1..=60 {
        let layout = if n % 2 == 0 { "counted" } else { "plain" };
        files.push((
            format!("_posts/2024-01-01-p{n:02}.md"),
            format!("---\ntitle: Post {n}\nlayout: {layout}\n---\nBody {n}.\n"),
        ));
    }
    galley_tests::write_files(&site, &files);
    let out = tmp.path().join("_site");
    build(&site, &out, &options()).unwrap_or_else(|e| panic!("{e}"));
    let pages = tree(&out);
    let mut seen = 0;
    for n in 1..=60 {
        let path = pages
            .keys()
            .find(|p| p.contains(&format!("/p{n:02}")))
            .unwrap_or_else(|| panic!("post {n} in {:?}", pages.keys()));
        let page = read(&out, path);
        let want = if n % 2 == 0 {
            "60 posts in Chunked; newest Post 60".to_string()
        } else {
            format!("Chunked by Ann: Post {n}")
        };
        assert!(page.contains(&want), "{path}: {page}");
        seen += 1;
    }
    assert_eq!(seen, 60);
}
