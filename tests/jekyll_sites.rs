//! Real Jekyll sites build unchanged: each site in `../shared/jekyll-sites/` is built by
//! Debian's `jekyll` and by Galley from the same sources, and Galley must write the same HTML
//! pages with the same visible text (≥ 0.98 similar on every page), the same feed entries and
//! the same sitemap URLs. Jekyll's output is the expected value, produced in the test run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use galley_site_builder::{build, BuildOptions};

/// Where the shared corpus lives: beside the repository, unless `GALLEY_JEKYLL_SITES` says.
fn corpus() -> PathBuf {
    std::env::var_os("GALLEY_JEKYLL_SITES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/jekyll-sites"))
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&out[i])
                .expect("read dir")
                .map(|e| e.expect("entry").path())
                .collect();
            children.sort();
            out.extend(children);
        }
        i += 1;
    }
    out
}

/// Every file under `dir`, relative, `/`-separated.
fn files(dir: &Path) -> BTreeSet<String> {
    walkdir(dir)
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            p.strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .filter(|p| !p.starts_with(".galley"))
        .collect()
}

/// What a reader sees: scripts, styles and comments dropped, block tags as spaces, other tags
/// removed, entities decoded, whitespace folded.
fn visible_text(html: &str) -> String {
    let drop = regex::Regex::new(r"(?is)<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->")
        .expect("regex");
    let block = regex::Regex::new(r"(?i)</?(p|div|li|br|h[1-6]|tr|td|th|pre|table|section|article|header|footer|nav|ul|ol|dd|dt|dl|blockquote|figure|figcaption|title|head|body|html|hr|img|meta|link|main|aside|time|form|input|button|label|tbody|thead)\b[^>]*>").expect("regex");
    let tag = regex::Regex::new(r"<[^>]+>").expect("regex");
    let text = drop.replace_all(html, " ");
    let text = block.replace_all(&text, " ");
    let text = tag.replace_all(&text, "");
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#8217;", "\u{2019}")
        .replace("&rsquo;", "\u{2019}")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where a `<meta http-equiv="refresh">` page sends its reader.
fn refresh_target(html: &str) -> Option<String> {
    let re = regex::Regex::new(r#"http-equiv="refresh" content="0; url=([^"]+)""#).expect("regex");
    re.captures(html).map(|c| c[1].to_string())
}

/// `<tag>…</tag>` contents of an XML file, as a set.
fn elements(xml: &str, tag: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(&format!(r"(?s)<{tag}>(.*?)</{tag}>")).expect("regex");
    re.captures_iter(xml)
        .map(|c| c[1].trim().to_string())
        .collect()
}

/// Builds `name` with Jekyll and with Galley and compares them (HTML paths, each page's
/// visible text, every XML file's `<id>` and `<loc>` entries); returns the problems.
fn compare(name: &str) -> Vec<String> {
    let src = corpus().join(name).join("src");
    assert!(src.is_dir(), "missing test corpus {}", src.display());
    compare_site(name, &src)
}

/// As `compare`, for the site in `src`.
fn compare_site(name: &str, src: &Path) -> Vec<String> {
    let src = src.to_path_buf();
    let tmp = tempfile::tempdir().expect("temp dir");
    let jekyll_out = tmp.path().join("jekyll-out");
    galley_tests::jekyll::build(&src, tmp.path(), &jekyll_out);
    let galley_out = tmp.path().join("galley-out");
    // Both in Jekyll's default environment, `development`, as `jekyll build` runs.
    build(&src, &galley_out, &BuildOptions::default())
        .unwrap_or_else(|e| panic!("galley failed on {name} unchanged:\n{e}"));

    let mut problems = Vec::new();
    let (jekyll_files, galley_files) = (files(&jekyll_out), files(&galley_out));
    let html = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter()
            .filter(|p| p.ends_with(".html"))
            .cloned()
            .collect()
    };
    let (jh, gh) = (html(&jekyll_files), html(&galley_files));
    for missing in jh.difference(&gh) {
        problems.push(format!("{name}: Jekyll wrote {missing}, Galley did not"));
    }
    for extra in gh.difference(&jh) {
        problems.push(format!("{name}: Galley wrote {extra}, Jekyll did not"));
    }
    let mut scores = BTreeMap::new();
    for page in jh.intersection(&gh) {
        let read = |dir: &Path| std::fs::read_to_string(dir.join(page)).expect("read page");
        // A redirect page (jekyll-redirect-from) is judged by where it sends the reader.
        if let Some(target) = refresh_target(&read(&jekyll_out)) {
            let galley = refresh_target(&read(&galley_out));
            if galley.as_deref() != Some(target.as_str()) {
                problems.push(format!(
                    "{name}: {page} redirects to {target} in Jekyll, to {galley:?} in Galley"
                ));
            }
            continue;
        }
        let (a, b) = (
            visible_text(&read(&jekyll_out)),
            visible_text(&read(&galley_out)),
        );
        let ratio = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_words(&a, &b)
            .ratio();
        scores.insert(page.clone(), ratio);
        if ratio < 0.98 {
            problems.push(format!(
                "{name}: {page} visible text only {ratio:.3} similar"
            ));
        }
    }
    let xml_files = jekyll_files.iter().filter(|p| p.ends_with(".xml"));
    for xml in xml_files {
        let (Ok(a), Ok(b)) = (
            std::fs::read_to_string(jekyll_out.join(xml)),
            std::fs::read_to_string(galley_out.join(xml)),
        ) else {
            problems.push(format!("{name}: Jekyll wrote {xml}, Galley did not"));
            continue;
        };
        for tag in ["id", "loc"] {
            let (ja, ga) = (elements(&a, tag), elements(&b, tag));
            if ja != ga {
                problems.push(format!(
                    "{name}: {xml} <{tag}> entries differ: Jekyll {ja:?}, Galley {ga:?}"
                ));
            }
        }
    }
    eprintln!("{name}: per-page similarity {scores:#?}");
    problems
}

#[test]
fn hyde_builds_unchanged_as_jekyll_builds_it() {
    let problems = compare("hyde");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // `baseurl: /` reaches templates as written, so `{{ site.baseurl }}public/…` stays a
    // path from the root on every page.
    links_resolve("hyde");
}

#[test]
fn minima_builds_unchanged_as_jekyll_builds_it() {
    let problems = compare("minima");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    links_resolve("minima");
}

#[test]
fn mediumish_builds_unchanged_as_jekyll_builds_it() {
    // Pagination with hidden posts, jekyll-archives, jekyll-feed, jekyll-sitemap,
    // jekyll-seo-tag, unknown filters passed through, a hash's `first`, Ruby arithmetic.
    let problems = compare("mediumish");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Its links to extensionless permalinks (`/about`, written as about.html) resolve, as
    // GitHub Pages and Galley's server resolve them.
    links_resolve("mediumish");
}

/// `galley check` finds every internal link of the corpus site `name` in Galley's build.
fn links_resolve(name: &str) {
    let src = corpus().join(name).join("src");
    let tmp = tempfile::tempdir().expect("temp dir");
    let options = BuildOptions {
        destination: Some(tmp.path().join("out")),
        ..BuildOptions::default()
    };
    galley_site_builder::check(&src, &options)
        .unwrap_or_else(|e| panic!("galley check on {name}: {e}"));
}

/// What `jekyll new` writes: a site with no layouts of its own, on the minima gem theme
/// (Debian's `jekyll-theme-minima`), whose gemspec turns on jekyll-seo-tag and jekyll-feed.
#[test]
fn a_new_jekyll_site_on_the_minima_gem_theme_builds_unchanged() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("blog");
    let run = std::process::Command::new("jekyll")
        .args(["new", "--skip-bundle"])
        .arg(&site)
        .output()
        .expect("jekyll runs (the README's test command installs it)");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let config = std::fs::read_to_string(site.join("_config.yml")).expect("config");
    assert!(config.contains("theme: minima"), "{config}");
    assert!(
        !site.join("_layouts").exists(),
        "the layouts come from the gem"
    );
    let problems = compare_site("jekyll new", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A docs-style site of collections (written here, built by both): output and hidden
/// collections, `sort_by`, a collection permalink, nested documents, a collection's static
/// file, and `site.<label>` and `site.collections` read from a page.
#[test]
fn collections_build_as_jekyll_builds_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("docs-site");
    let files: &[(&str, &str)] = &[
        (
            "_config.yml",
            "title: Docs\ncollections:\n  docs:\n    output: true\n    sort_by: order\n  notes:\n    output: false\n  recipes:\n    output: true\n    permalink: /r/:name/\n",
        ),
        (
            "_layouts/default.html",
            "---\n---\n<html><body><h1>{{ page.title }}</h1>{{ content }}<p>in {{ page.collection }} at {{ page.url }} ({{ page.id }}, {{ page.relative_path }})</p></body></html>\n",
        ),
        ("_docs/intro.md", "---\nlayout: default\ntitle: Intro\norder: 2\n---\nIntro *text*.\n"),
        ("_docs/guide/start-here.md", "---\nlayout: default\norder: 1\n---\nStart here.\n"),
        ("_docs/zzz.md", "---\nlayout: default\n---\nNo order.\n"),
        ("_docs/plain.txt", "copied as it is"),
        ("_notes/n1.md", "---\nsecret: kept\n---\nA note that is never written.\n"),
        ("_recipes/soup.md", "---\nlayout: default\ntitle: Soup\n---\nHot **soup**.\n"),
        ("_posts/2024-01-01-p.md", "---\nlayout: default\ntitle: P\n---\nPost.\n"),
        (
            "index.html",
            "---\nlayout: default\ntitle: Home\n---\n<ul>{% for d in site.docs %}<li>{{ d.title }} {{ d.url }} {{ d.order }} {{ d.content | strip_html | strip }}</li>{% endfor %}</ul>\n<p>{% for n in site.notes %}{{ n.secret }}: {{ n.content | strip_html | strip }}{% endfor %}</p>\n<p>{% for c in site.collections %}{{ c.label }} {{ c.output }} {{ c.docs.size }};{% endfor %}</p>\n",
        ),
    ];
    galley_tests::write_files(&site, files);
    let problems = compare_site("collections", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A repository of Markdown with GitHub Pages' plugins listed (Debian packages them):
/// optional front matter, the README as index, titles from headings, default layouts and
/// relative links, built by both. (`github_pages: true` turns the same set on in Galley.)
#[test]
fn github_pages_plugins_build_as_jekyll_builds_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("repo");
    let files: &[(&str, &str)] = &[
        (
            "_config.yml",
            "baseurl: /handbook\nplugins:\n  - jekyll-optional-front-matter\n  - jekyll-readme-index\n  - jekyll-titles-from-headings\n  - jekyll-default-layout\n  - jekyll-relative-links\n",
        ),
        (
            "_layouts/default.html",
            "---\n---\n<html><head><title>{{ page.title }}</title></head><body>{{ content }}</body></html>\n",
        ),
        ("_layouts/page.html", "---\nlayout: default\n---\n<article>{{ content }}</article>\n"),
        ("README.md", "# The Handbook\n\nSee [setup](docs/setup.md) and [faq](docs/faq.md#top).\n"),
        ("docs/setup.md", "# Setup\n\nBack to [home](../README.md).\n"),
        ("docs/faq.md", "---\ntitle: FAQ\n---\n# Questions\n"),
        ("CONTRIBUTING.md", "# How to help\n"),
    ];
    galley_tests::write_files(&site, files);
    let problems = compare_site("GitHub Pages plugins", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The config keys that choose which posts are read: `show_drafts`, `unpublished`,
/// `future` and `limit_posts`, as Jekyll reads them.
#[test]
fn reading_settings_choose_posts_as_jekyll_does() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("blog");
    let files: &[(&str, &str)] = &[
        (
            "_config.yml",
            "show_drafts: true\nunpublished: true\nfuture: true\nlimit_posts: 4\n",
        ),
        (
            "_layouts/default.html",
            "---\n---\n<main>{{ content }}</main><ol>{% for p in site.posts %}<li>{{ p.title }}</li>{% endfor %}</ol>\n",
        ),
        ("_posts/2020-01-01-oldest.md", "---\nlayout: default\ntitle: Oldest\n---\nx\n"),
        ("_posts/2021-01-01-old.md", "---\nlayout: default\ntitle: Old\n---\nx\n"),
        (
            "_posts/2022-01-01-hidden.md",
            "---\nlayout: default\ntitle: Unpublished\npublished: false\n---\nx\n",
        ),
        ("_posts/2099-01-01-later.md", "---\nlayout: default\ntitle: Future\n---\nx\n"),
        ("_drafts/a-draft.md", "---\nlayout: default\ntitle: Draft\ndate: 2023-01-01\n---\nx\n"),
        ("index.html", "---\nlayout: default\n---\nHome\n"),
    ];
    galley_tests::write_files(&site, files);
    let problems = compare_site("reading settings", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `--config a.yml,b.yml`: the files merged in order, maps key by key, as Jekyll merges them.
#[test]
fn several_config_files_merge_as_jekyll_merges_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    let files: &[(&str, &str)] = &[
        ("_config.yml", "title: Not read\n"),
        ("_layouts/plain.html", "---\n---\n<main>{{ content }}</main>\n"),
        ("base.yml", "title: Base\nauthor:\n  name: Ann\n  email: ann@example.com\nshown: base\n"),
        ("local.yml", "author:\n  name: Bea\nshown: local\n"),
        (
            "index.html",
            "---\nlayout: plain\n---\n<p>{{ site.title }} by {{ site.author.name }} &lt;{{ site.author.email }}&gt; from {{ site.shown }}</p>\n",
        ),
    ];
    galley_tests::write_files(&site, files);
    let jekyll_out = tmp.path().join("jekyll-out");
    galley_tests::jekyll::build_with_configs(
        &site,
        tmp.path(),
        &jekyll_out,
        &["base.yml", "local.yml"],
    );
    let galley_out = tmp.path().join("galley-out");
    let options = BuildOptions {
        config_files: vec![site.join("base.yml"), site.join("local.yml")],
        ..BuildOptions::default()
    };
    build(&site, &galley_out, &options).unwrap_or_else(|e| panic!("{e}"));
    let read = |dir: &Path| std::fs::read_to_string(dir.join("index.html")).expect("page");
    assert_eq!(read(&galley_out), read(&jekyll_out));
    assert!(read(&galley_out).contains("Base by Bea &lt;ann@example.com&gt; from local"));
}

/// kramdown's Markdown as Jekyll renders it (GFM input, its default): typographic symbols
/// and guillemets, abbreviations, definition lists, footnotes numbered and listed at the
/// end, attribute lists, `markdown="1"` in HTML, tables, fences, autolinks. The visible
/// text must be the same word for word.
#[test]
fn kramdown_markdown_reads_as_jekyll_renders_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(
        &site,
        &[
        ("_layouts/default.html", "---\n---\n{{ content }}"),
        ("page.md", "---\nlayout: default\n---\n# Heading one\n#No space heading\n\nA paragraph with *emphasis*, **strong**, `code`, and a [link](http://example.com).\n{: .lead #intro}\n\nTypography: \"quotes\" and 'single' -- en --- em ... ellipsis << guillemets >>.\n\nThe HTML spec is maintained by the W3C.\n\n*[HTML]: Hyper Text Markup Language\n*[W3C]: World Wide Web Consortium\n\nTerm one\n: Definition one\n\nTerm two\n: Definition two\n\nFootnote here[^note] and another[^2].\n\n[^note]: The note.\n[^2]: Second note.\n\n* list item\n* another\n{: .fancy}\n\nThis is *red*{: style=\"color: red\"} text.\n\n<div markdown=\"1\">\n**inside html**\n</div>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~~ ruby\nputs 1\n~~~\n\n    indented code\n\n> quote\n\n1. one\n2. two\n\nLine with trailing spaces  \nnext line.\n\nAuto <http://example.com> link and https://example.org bare.\n"),
    ],
    );
    let jekyll_out = tmp.path().join("jekyll-out");
    galley_tests::jekyll::build(&site, tmp.path(), &jekyll_out);
    let galley_out = tmp.path().join("galley-out");
    build(&site, &galley_out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let read =
        |dir: &Path| visible_text(&std::fs::read_to_string(dir.join("page.html")).expect("page"));
    assert_eq!(read(&galley_out), read(&jekyll_out));
    // Attribute lists land on the element they follow, as kramdown puts them.
    let tagged = |dir: &Path| -> Vec<String> {
        let html = std::fs::read_to_string(dir.join("page.html")).expect("page");
        let re = regex::Regex::new(r#"<(p|ul|em) [^>]*>"#).expect("regex");
        re.find_iter(&html)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    assert_eq!(tagged(&galley_out), tagged(&jekyll_out));
    assert_eq!(tagged(&galley_out).len(), 3, "{:?}", tagged(&galley_out));
}

/// jekyll-redirect-from: old paths (folders, files, bare paths) send readers to the page,
/// `redirect_to` turns a page into a redirect, and `redirects.json` lists them, as Jekyll's
/// plugin writes them.
#[test]
fn redirects_point_where_jekylls_point() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(
        &site,
        &[
        ("_config.yml", "url: https://ex.com\nbaseurl: /b\nplugins: [jekyll-redirect-from]\n"),
        ("_layouts/default.html", "---\n---\n<main>{{ content }}</main>\n"),
        (
            "new.md",
            "---\nlayout: default\ntitle: New\nredirect_from:\n  - /old/\n  - /older.html\n  - /deep/path\n---\nnew page\n",
        ),
        ("moved.md", "---\nlayout: default\nredirect_to: https://example.com/elsewhere\n---\ngone\n"),
        ("_posts/2024-01-01-p.md", "---\nlayout: default\ntitle: P\nredirect_from: /p-old/\n---\npost\n"),
    ],
    );
    let problems = compare_site("redirects", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let jekyll_out = tmp.path().join("jekyll-out-2");
    let scratch = tmp.path().join("scratch");
    galley_tests::jekyll::build(&site, &scratch, &jekyll_out);
    let galley_out = tmp.path().join("galley-out-2");
    build(&site, &galley_out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let json = |dir: &Path| std::fs::read_to_string(dir.join("redirects.json")).expect("json");
    assert_eq!(json(&galley_out), json(&jekyll_out));
}

/// jekyll-mentions: `@name` in a page's text (its layout too) links to the GitHub profile,
/// never in code, links or e-mail addresses. (The plugin re-serialises the whole page, so
/// the markup around the links is compared by visible text, the links themselves exactly.)
#[test]
fn mentions_link_as_jekylls_plugin_links_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(
        &site,
        &[
        ("_config.yml", "plugins: [jekyll-mentions]\n"),
        ("_layouts/default.html", "---\n---\n<main>{{ content }}</main><footer>by @galley-team</footer>\n"),
        (
            "page.md",
            "---\nlayout: default\n---\nThanks @octocat and @some-one_2, not me@example.com or `@code`.\n\n```\n@fenced\n```\n\n[@linked](http://x)\n",
        ),
    ],
    );
    let problems = compare_site("mentions", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let jekyll_out = tmp.path().join("jekyll-out-2");
    galley_tests::jekyll::build(&site, &tmp.path().join("scratch"), &jekyll_out);
    let galley_out = tmp.path().join("galley-out-2");
    build(&site, &galley_out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let links = |dir: &Path| -> Vec<String> {
        let html = std::fs::read_to_string(dir.join("page.html")).expect("page");
        let re =
            regex::Regex::new(r#"<a href="[^"]*" class="user-mention">[^<]*</a>"#).expect("regex");
        re.find_iter(&html)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    assert_eq!(links(&galley_out), links(&jekyll_out));
    assert_eq!(
        links(&galley_out).len(),
        3,
        "octocat, some-one_2 and the layout's"
    );
}

/// jekyll-archives with everything on: category, tag, year, month and day pages, each
/// listing its posts, at the plugin's default URLs.
#[test]
fn every_kind_of_archive_builds_as_jekyll_builds_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(
        &site,
        &[
        ("_config.yml", "plugins: [jekyll-archives]\njekyll-archives:\n  enabled: all\n  layout: archive\n"),
        (
            "_layouts/archive.html",
            "---\n---\n<h1>{{ page.type }} {{ page.title }} {{ page.date | date: \"%Y-%m-%d\" }}</h1><ul>{% for p in page.posts %}<li>{{ p.title }}</li>{% endfor %}</ul>\n",
        ),
        ("_posts/2023-05-01-a.md", "---\ntitle: A\ntags: [x]\ncategories: [c]\n---\na\n"),
        ("_posts/2023-06-02-b.md", "---\ntitle: B\ntags: [x, z]\n---\nb\n"),
        ("_posts/2024-01-03-c.md", "---\ntitle: C\n---\nc\n"),
    ],
    );
    let problems = compare_site("archives", &site);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_visible_text_comparison_sees_a_real_difference() {
    // The measure the site tests rely on: markup changes do not count, words do.
    assert_eq!(
        visible_text("<p>a <b>b</b></p><script>x</script><!-- c --><div>d&amp;e</div>"),
        "a b d&e"
    );
    let ratio = similar::TextDiff::from_words("one two three four", "one two five four").ratio();
    assert!(ratio < 0.98, "{ratio}");
}

/// jekyll-feed: every feed `feed:` asks for (per category, per collection and its
/// categories, per tag with `only`/`except`), byte for byte as the plugin writes them, with
/// the site's and entries' `lang`, images, `site.data.authors`, smart titles and
/// `excerpt_only`. Only each feed's own `<updated>` (the build's clock) may differ.
#[test]
fn every_feed_jekyll_feed_writes_is_written_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(
        &site,
        &[
            (
                "_config.yml",
                "title: Feeds & \"More\"\ndescription: Every feed\nurl: https://feeds.example\nbaseurl: /blog\nlang: en-GB\nauthor:\n  name: Site Author\n  email: site@example.com\nplugins: [jekyll-feed]\ncollections:\n  notes:\n    output: true\nfeed:\n  posts_limit: 3\n  categories: [news, rust]\n  collections:\n    notes:\n      path: /notes.atom\n      categories: [misc]\n  tags:\n    except: [skipme]\n",
            ),
            ("_data/authors.yml", "ada:\n  name: Ada Lovelace\n  uri: https://ada.example\n"),
            ("_layouts/default.html", "<html>{{ content }}</html>\n"),
            (
                "_posts/2024-01-01-first.md",
                "---\ntitle: \"First \\\"quoted\\\" post -- <em>with</em> AT&T...\"\ncategories: [news]\ntags: [intro, skipme, two-words]\nauthor: ada\nimage: /img/first.png\n---\nHello *there* & welcome.\n",
            ),
            (
                "_posts/2024-02-01-second.md",
                "---\ntitle: Second\ncategory: rust\ntags: intro\nlang: fr\ndescription: A short description.\nimage:\n  path: https://cdn.example/x.png\nfeed:\n  excerpt_only: true\n---\nSecond post body.\n\nMore text.\n",
            ),
            (
                "_posts/2024-03-01-third.md",
                "---\ntitle: Third\ncategories: news rust\nauthors: [bob]\nlast_modified_at: 2024-05-01 10:00:00 +0200\n---\nThird.\n",
            ),
            ("_posts/2024-04-01-fourth.md", "---\ntags: [intro]\n---\n]]> in a post.\n"),
            ("_drafts/unfinished.md", "---\ntitle: Draft\n---\nNot yet.\n"),
            ("_notes/a.md", "---\ntitle: Note A\ndate: 2024-01-05\ncategories: [misc]\n---\nNote A body.\n"),
            ("_notes/b.md", "---\ntitle: Note B\ndate: 2024-01-06\n---\nNote B body.\n"),
            ("feed/rust.xml", "---\n---\nThe site's own file wins.\n"),
        ],
    );
    let jekyll_out = tmp.path().join("jekyll-out");
    galley_tests::jekyll::build(&site, tmp.path(), &jekyll_out);
    let galley_out = tmp.path().join("galley-out");
    build(&site, &galley_out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let feeds = |dir: &Path| -> BTreeSet<String> {
        files(dir)
            .into_iter()
            .filter(|f| f.ends_with(".xml") || f.ends_with(".atom"))
            .collect()
    };
    let expected = feeds(&jekyll_out);
    assert!(
        expected.len() >= 6,
        "Jekyll wrote the feeds asked for: {expected:?}"
    );
    assert_eq!(feeds(&galley_out), expected);
    let clock = regex::Regex::new(r"^(.*?<id>[^<]*</id>)").expect("regex");
    let updated = regex::Regex::new(r"<updated>[^<]*</updated><id>").expect("regex");
    for feed in &expected {
        let read = |dir: &Path| std::fs::read_to_string(dir.join(feed)).expect("feed");
        let (want, got) = (read(&jekyll_out), read(&galley_out));
        // The feed's own `<updated>` is `site.time`: each build's clock.
        let head = |xml: &str| clock.find(xml).map_or(0, |m| m.end());
        let (want_head, got_head) = (&want[..head(&want)], &got[..head(&got)]);
        assert_eq!(
            updated.replace(got_head, "<id>"),
            updated.replace(want_head, "<id>"),
            "{feed}: header"
        );
        assert_eq!(&got[head(&got)..], &want[head(&want)..], "{feed}: entries");
    }
}

/// `feed: disable_in_development: true`: no feed in Jekyll's default environment (as
/// Jekyll writes none), and the feed again once `JEKYLL_ENV` says production.
#[test]
fn feeds_disabled_in_development_are_left_out_as_jekyll_leaves_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    galley_tests::write_files(
        &site,
        &[
            (
                "_config.yml",
                "title: Quiet\nplugins: [jekyll-feed]\nfeed:\n  disable_in_development: true\n  categories: [news]\n",
            ),
            ("_layouts/default.html", "<main>{{ content }}</main>\n"),
            ("_posts/2024-01-01-a.md", "---\nlayout: default\ncategories: [news]\n---\nA\n"),
        ],
    );
    let jekyll_out = tmp.path().join("jekyll-out");
    galley_tests::jekyll::build(&site, tmp.path(), &jekyll_out);
    let galley_out = tmp.path().join("galley-out");
    build(&site, &galley_out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let xml = |dir: &Path| -> BTreeSet<String> {
        files(dir)
            .into_iter()
            .filter(|f| f.ends_with(".xml"))
            .collect()
    };
    assert!(
        xml(&jekyll_out).is_empty(),
        "Jekyll wrote {:?}",
        xml(&jekyll_out)
    );
    assert_eq!(xml(&galley_out), xml(&jekyll_out));
    let production = BuildOptions {
        environment: Some("production".to_string()),
        ..BuildOptions::default()
    };
    let out = tmp.path().join("galley-production");
    build(&site, &out, &production).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        xml(&out),
        BTreeSet::from(["feed.xml".to_string(), "feed/news.xml".to_string()])
    );
}

/// A build to disk of a Jekyll site keeps one copy of each post's HTML (its summary's
/// `content`) and lets go of the posts' sources early; what it writes must still be, byte
/// for byte, what the preview's in-memory build renders: for the third-party sites, and for
/// a site whose layouts show posts' content through `site.posts`, `site.tags`,
/// jekyll-archives' `page.posts` and the paginator, and one with a collection and its feed.
#[test]
fn a_streaming_build_of_a_jekyll_site_writes_what_the_preview_renders() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lists = tmp.path().join("lists");
    galley_tests::write_files(
        &lists,
        &[
            ("_config.yml", "paginate: 1\nplugins: [jekyll-archives, jekyll-paginate, jekyll-feed]\njekyll-archives:\n  enabled: all\n  layout: archive\n"),
            ("_layouts/default.html", "---\n---\n<main>{{ content }}</main>\n"),
            ("_layouts/post.html", "---\nlayout: default\n---\n<article>{{ content }}</article>{% for p in site.posts %}<i>{{ p.title }}: {{ p.content | size }}</i>{% endfor %}\n"),
            ("_layouts/archive.html", "---\nlayout: default\n---\n{% for p in page.posts %}<section>{{ p.title }}: {{ p.content }}</section>{% endfor %}\n"),
            ("_posts/2024-01-01-one.md", "---\nlayout: post\ntitle: One\ntags: [intro, rust]\ncategories: [news]\n---\nFirst *words*.\n"),
            ("_posts/2024-02-01-two.md", "---\nlayout: post\ntitle: Two\ntags: [intro]\n---\nSecond words.\n"),
            ("_posts/2024-03-01-empty.md", "---\nlayout: post\ntitle: Empty\n---\n"),
            ("index.html", "---\nlayout: default\n---\n{% for p in paginator.posts %}<p>{{ p.title }}: {{ p.content }}</p>{% endfor %}\n"),
            ("tags.html", "---\nlayout: default\n---\n{% for t in site.tags %}<h2>{{ t[0] }}</h2>{% for p in t[1] %}{{ p.title }}: {{ p.content }}{% endfor %}{% endfor %}\n"),
        ],
    );
    let mut sites: Vec<(String, PathBuf)> = ["hyde", "minima", "mediumish"]
        .iter()
        .map(|name| (name.to_string(), corpus().join(name).join("src")))
        .collect();
    sites.push(("lists".into(), lists));
    let notes = tmp.path().join("notes");
    galley_tests::write_files(
        &notes,
        &[
            ("_config.yml", "plugins: [jekyll-feed]\ncollections:\n  notes:\n    output: true\nfeed:\n  collections: [notes]\n"),
            ("_layouts/default.html", "---\n---\n<main>{{ content }}</main>{% for p in site.posts %}<i>{{ p.title }}: {{ p.content }}</i>{% endfor %}\n"),
            ("_posts/2024-01-01-one.md", "---\nlayout: default\ntitle: One\n---\nFirst *words*.\n"),
            ("_posts/2024-02-01-two.md", "---\nlayout: default\ntitle: Two\n---\nSecond words.\n"),
            ("_notes/a.md", "---\nlayout: default\ntitle: Note\ndate: 2024-01-05\n---\nNote words, after {{ site.posts.size }} posts.\n"),
        ],
    );
    sites.push(("notes".into(), notes));
    for (name, src) in sites {
        let out = tmp.path().join(format!("{name}-out"));
        build(&src, &out, &galley_tests::options()).unwrap_or_else(|e| panic!("build {name}: {e}"));
        let memory = galley_site_builder::render_site(&src, &galley_tests::options())
            .unwrap_or_else(|e| panic!("render {name}: {e}"));
        let in_memory: BTreeMap<String, String> = memory
            .site
            .files
            .iter()
            .map(|(path, file)| {
                let bytes = file.bytes().unwrap_or_else(|e| panic!("{path}: {e}"));
                (path.clone(), galley_tests::sha256_hex(&bytes))
            })
            .collect();
        let on_disk = galley_tests::tree(&out);
        assert!(on_disk.len() >= 5, "{name}: {on_disk:?}");
        assert_eq!(on_disk, in_memory, "{name}");
    }
    let article = std::fs::read_to_string(tmp.path().join("lists-out/news/2024/01/01/one.html"))
        .expect("post page");
    assert!(
        article.contains("<article><p>First <em>words</em>.</p>\n</article>"),
        "{article}"
    );
    let feed = |path: &str| {
        std::fs::read_to_string(tmp.path().join("notes-out").join(path)).expect("feed")
    };
    assert!(
        feed("feed.xml").contains("<p>First <em>words</em>.</p>"),
        "{}",
        feed("feed.xml")
    );
    assert!(
        feed("feed/notes.xml").contains("Note words, after 2 posts."),
        "{}",
        feed("feed/notes.xml")
    );
}
