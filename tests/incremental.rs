//! The preview's incremental rebuilds (`galley_site_builder::Session`): after each kind of
//! edit, the kept site must be byte for byte what a full build of the same sources gives, and
//! the rebuild must stay partial where it can (and say why when it cannot).

use std::collections::BTreeMap;
use std::path::Path;

use galley_site_builder::{render_site, RenderedSite, Session, Update};
use galley_tests::{copy_fixture, options};

fn bytes_of(site: &RenderedSite) -> BTreeMap<String, Vec<u8>> {
    site.files
        .iter()
        .map(|(path, file)| {
            let bytes = file
                .bytes()
                .unwrap_or_else(|e| panic!("read {path}: {e}"))
                .into_owned();
            (path.clone(), bytes)
        })
        .collect()
}

/// The kept site equals a fresh full build, file for file.
fn assert_same_as_full(session: &Session, root: &Path, after: &str) {
    let fresh = render_site(root, &options()).unwrap_or_else(|e| panic!("full build: {e}"));
    let kept = bytes_of(session.site().expect("a kept build"));
    let full = bytes_of(&fresh.site);
    assert_eq!(
        kept.keys().collect::<Vec<_>>(),
        full.keys().collect::<Vec<_>>(),
        "after {after}: the same files"
    );
    for (path, bytes) in &full {
        assert!(
            kept.get(path) == Some(bytes),
            "after {after}: {path} differs from a full build:\n--- kept\n{}\n--- full\n{}",
            String::from_utf8_lossy(kept.get(path).map_or(&[][..], |b| b)),
            String::from_utf8_lossy(bytes)
        );
    }
}

fn edit(root: &Path, rel: &str, f: impl FnOnce(String) -> String) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
    std::fs::write(&path, f(text)).unwrap_or_else(|e| panic!("write {rel}: {e}"));
}

fn rebuild(session: &mut Session, rel: &str) -> Update {
    session
        .rebuild(&[rel.to_string()])
        .unwrap_or_else(|e| panic!("rebuild after {rel}: {e}"))
}

const FIRST: &str = "_posts/2024/2024-01-15-first-post.md";
const SECOND: &str = "_posts/2024-02-01-second.md";

#[test]
fn post_edits_rerender_the_post_its_neighbours_and_lists_only() {
    let (_tmp, root) = copy_fixture("sites/jekyll-blog");
    let mut session = Session::start(&root, &options()).expect("first build");

    edit(&root, FIRST, |t| t.replace("Hello from", "Hi again from"));
    let update = rebuild(&mut session, FIRST);
    assert_eq!(update.full, None, "a body edit is partial");
    assert!(update
        .changed
        .contains(&"news/2024/01/15/first-post/index.html".to_string()));
    assert!(update.changed.contains(&"feed.xml".to_string()));
    assert!(
        !update
            .changed
            .contains(&"rust/2024/04/01/ownership/index.html".to_string()),
        "a post that neither neighbours nor lists it is left alone: {:?}",
        update.changed
    );
    assert_same_as_full(&session, &root, "a body edit");

    // A new title shows on the neighbour's prev/next link, the home pages and tag pages.
    edit(&root, SECOND, |t| {
        t.replace("Second (TOML)", "Second, renamed")
    });
    let update = rebuild(&mut session, SECOND);
    assert_eq!(update.full, None, "a title edit is partial");
    assert!(update
        .changed
        .contains(&"news/2024/01/15/first-post/index.html".to_string()));
    assert!(update
        .changed
        .contains(&"tags/intro/index.html".to_string()));
    assert_same_as_full(&session, &root, "a title edit");

    // A page, a static file, a layout.
    edit(&root, "about.md", |t| {
        t.replace("About this blog", "All about it")
    });
    assert_eq!(rebuild(&mut session, "about.md").full, None);
    assert_same_as_full(&session, &root, "a page edit");

    edit(&root, "assets/plain.txt", |t| t + "more\n");
    let update = rebuild(&mut session, "assets/plain.txt");
    assert_eq!(update.full, None);
    assert_eq!(update.changed, ["assets/plain.txt"]);
    assert_same_as_full(&session, &root, "a static file edit");

    edit(&root, "_layouts/post.html", |t| {
        t.replace("<article ", "<article class=\"edited\" ")
    });
    let update = rebuild(&mut session, "_layouts/post.html");
    assert_eq!(update.full, None, "a layout edit is partial");
    assert!(
        !update.changed.contains(&"index.html".to_string()),
        "a page not using the layout is left alone"
    );
    assert_same_as_full(&session, &root, "a layout edit");

    // The default layout wraps the post and home layouts: their pages are rendered again.
    edit(&root, "_layouts/default.html", |t| {
        t.replace("</body>", "<!-- x --></body>")
    });
    let update = rebuild(&mut session, "_layouts/default.html");
    assert_eq!(update.full, None);
    assert!(update.changed.contains(&"index.html".to_string()));
    assert!(update.changed.contains(&"page/2/index.html".to_string()));
    assert!(update
        .changed
        .contains(&"rust/2024/04/01/ownership/index.html".to_string()));
    assert_same_as_full(&session, &root, "a parent layout edit");
}

/// A body edit changes only what derives from the post's text (its content, excerpt, word
/// count): pages beside it or listing it are rendered again only when their layouts show
/// such text. At 100,000 posts this is what keeps a save under 50 ms (a tag page lists
/// 20,000 posts).
#[test]
fn a_text_only_edit_leaves_lists_and_neighbours_alone_unless_they_show_text() {
    let tag = "tags/intro/index.html";
    let neighbour = "2024/02/01/second/index.html";
    let (_tmp, root) = copy_fixture("sites/jekyll-blog");
    let mut session = Session::start(&root, &options()).expect("first build");
    edit(&root, FIRST, |t| t + "\nOne more line.\n");
    let update = rebuild(&mut session, FIRST);
    assert_eq!(update.full, None);
    assert!(update
        .changed
        .contains(&"news/2024/01/15/first-post/index.html".to_string()));
    for unchanged in [tag, neighbour, "page/2/index.html"] {
        assert!(
            !update.changed.contains(&unchanged.to_string()),
            "{unchanged} shows no post text: {:?}",
            update.changed
        );
    }
    assert_same_as_full(&session, &root, "a text-only edit");

    // Tag pages that show excerpts are rendered again when the excerpt changes.
    let (_tmp, root) = copy_fixture("sites/jekyll-blog");
    edit(&root, "_layouts/tag.html", |t| {
        t.replace("{{ post.title }}", "{{ post.title }}: {{ post.excerpt }}")
    });
    let mut session = Session::start(&root, &options()).expect("first build");
    edit(&root, FIRST, |t| {
        t.replace("Hello from", "Hello, in other words, from")
    });
    let update = rebuild(&mut session, FIRST);
    assert_eq!(update.full, None);
    assert!(
        update.changed.contains(&tag.to_string()),
        "{tag} shows the post's excerpt: {:?}",
        update.changed
    );
    assert_same_as_full(&session, &root, "an excerpt edit");
}

#[test]
fn edits_that_move_things_rebuild_everything_and_say_why() {
    let (_tmp, root) = copy_fixture("sites/jekyll-blog");
    let mut session = Session::start(&root, &options()).expect("first build");

    edit(&root, FIRST, |t| {
        t.replace("tags: intro welcome", "tags: intro fresh")
    });
    let update = rebuild(&mut session, FIRST);
    assert!(
        update.full.as_deref().is_some_and(|r| r.contains(FIRST)),
        "{:?}",
        update.full
    );
    assert!(update
        .removed
        .contains(&"tags/welcome/index.html".to_string()));
    assert_same_as_full(&session, &root, "a tag change");

    edit(&root, "_config.yml", |t| {
        t.replace("Fixture Blog", "Renamed Blog")
    });
    assert!(rebuild(&mut session, "_config.yml").full.is_some());
    assert_same_as_full(&session, &root, "a config edit");

    edit(&root, "_data/meta.json", |t| {
        t.replace('}', ", \"extra\": 1}")
    });
    assert!(rebuild(&mut session, "_data/meta.json").full.is_some());
    assert_same_as_full(&session, &root, "a data edit");

    let new_post = "_posts/2024-05-05-new.md";
    std::fs::write(root.join(new_post), "---\ntitle: New\n---\nNew post.\n").expect("write");
    let update = rebuild(&mut session, new_post);
    assert!(update.full.is_some());
    assert!(update
        .changed
        .contains(&"2024/05/05/new/index.html".to_string()));
    assert_same_as_full(&session, &root, "a new post");

    std::fs::remove_file(root.join(new_post)).expect("remove");
    let update = rebuild(&mut session, new_post);
    assert!(update
        .removed
        .contains(&"2024/05/05/new/index.html".to_string()));
    assert_same_as_full(&session, &root, "a removed post");

    // A folder moved away in one go is reported as the folder alone.
    let moved = root.with_file_name("rust-moved");
    std::fs::rename(root.join("rust"), &moved).expect("move folder");
    let update = rebuild(&mut session, "rust");
    assert!(update.full.is_some());
    assert!(update
        .removed
        .contains(&"rust/2024/04/01/ownership/index.html".to_string()));
    assert_same_as_full(&session, &root, "a removed folder");

    // An editor's probe file that came and went changes nothing.
    let update = rebuild(&mut session, "4913");
    assert_eq!(update.full, None);
    assert!(update.changed.is_empty());
}

#[test]
fn a_broken_edit_keeps_the_last_good_build_until_it_is_fixed() {
    let (_tmp, root) = copy_fixture("sites/jekyll-blog");
    let mut session = Session::start(&root, &options()).expect("first build");
    let before = bytes_of(session.site().expect("site"));

    let original = std::fs::read_to_string(root.join(FIRST)).expect("read");
    edit(&root, FIRST, |t| {
        t.replace("title: \"First post: hello\"", "title: [unclosed")
    });
    let err = session
        .rebuild(&[FIRST.to_string()])
        .expect_err("bad front matter is an error");
    assert!(err.to_string().contains("first-post.md"), "{err}");
    assert!(
        bytes_of(session.site().expect("site")) == before,
        "the last good build is kept whole"
    );

    // Fixing it takes the file in again even if the fix arrives with another path.
    std::fs::write(
        root.join(FIRST),
        original.replace("Hello from", "Fixed: hello from"),
    )
    .expect("write");
    edit(&root, "about.md", |t| t + "\nMore.\n");
    let update = rebuild(&mut session, "about.md");
    assert_eq!(update.full, None);
    assert!(update
        .changed
        .contains(&"news/2024/01/15/first-post/index.html".to_string()));
    assert_same_as_full(&session, &root, "fixing a broken edit");
}

#[test]
fn theme_site_edits_update_paginated_home_and_taxonomy_pages() {
    let (_tmp, root) = copy_fixture("sites/theme-blog");
    let mut session = Session::start(&root, &options()).expect("first build");
    let post = "_posts/2024-06-02-second.md";
    edit(&root, post, |t| t + "\nAn added closing line.\n");
    let update = rebuild(&mut session, post);
    assert_eq!(update.full, None);
    assert!(
        update.changed.contains(&"index.html".to_string()),
        "{:?}",
        update.changed
    );
    assert_same_as_full(&session, &root, "a theme post edit");
}

#[test]
fn pages_reading_site_posts_follow_post_edits() {
    let (_tmp, root) = copy_fixture("sites/jekyll-blog");
    std::fs::write(
        root.join("_layouts/archive.html"),
        "---\nlayout: default\n---\n<ol>{% for p in site.posts %}<li>{{ p.title }}: {{ p.excerpt }}</li>{% endfor %}</ol>{{ content }}\n",
    )
    .expect("write layout");
    std::fs::write(
        root.join("archive.md"),
        "---\nlayout: archive\ntitle: Archive\n---\nAll posts.\n",
    )
    .expect("write page");
    let mut session = Session::start(&root, &options()).expect("first build");

    edit(&root, FIRST, |t| t.replace("Hello from", "Greetings from"));
    let update = rebuild(&mut session, FIRST);
    assert_eq!(update.full, None);
    assert!(update.changed.contains(&"archive/index.html".to_string()));
    let archive = session.site().expect("site").files["archive/index.html"]
        .bytes()
        .expect("bytes")
        .into_owned();
    assert!(String::from_utf8_lossy(&archive).contains("Greetings from"));
    assert_same_as_full(
        &session,
        &root,
        "an edit shown on a page listing site.posts",
    );
}

/// A Jekyll (Liquid) site whose page prints every post's `content` in its body, as a
/// Liquid feed does: after a post edit the page shows the new text, partially rebuilt, the
/// same as a full build.
#[test]
fn liquid_pages_reading_post_content_follow_post_edits() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("site");
    let files: &[(&str, &str)] = &[
        ("_layouts/default.html", "---\n---\n<main>{{ content }}</main>\n"),
        (
            "_posts/2024-01-01-one.md",
            "---\nlayout: default\ntitle: One\n---\nFirst words.\n",
        ),
        (
            "_posts/2024-02-01-two.md",
            "---\nlayout: default\ntitle: Two\n---\nSecond words.\n",
        ),
        (
            "all.html",
            "---\nlayout: default\n---\n{% for p in site.posts %}<section>{{ p.title }}: {{ p.content }}</section>{% endfor %}\n",
        ),
    ];
    galley_tests::write_files(&root, files);
    let mut session = Session::start(&root, &options()).expect("first build");
    edit(&root, "_posts/2024-01-01-one.md", |t| {
        t.replace("First words.", "Edited words.")
    });
    let update = rebuild(&mut session, "_posts/2024-01-01-one.md");
    assert_eq!(update.full, None, "a post edit stays partial");
    let page = session.site().expect("site").files["all.html"]
        .bytes()
        .expect("bytes")
        .into_owned();
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("One: <p>Edited words.</p>"), "{page}");
    assert!(page.contains("Two: <p>Second words.</p>"), "{page}");
    assert_same_as_full(&session, &root, "a post edit on a Liquid site");
}

/// jekyll-feed's feeds (the posts' at its own `path`, per category, per collection, per
/// tag) follow post and collection edits in the preview, as a full build writes them.
#[test]
fn every_jekyll_feed_follows_post_and_collection_edits() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("site");
    let files: &[(&str, &str)] = &[
        (
            "_config.yml",
            "title: Feeds\nplugins: [jekyll-feed]\ncollections:\n  notes:\n    output: true\nfeed:\n  path: atom.xml\n  categories: [news]\n  collections: [notes]\n  tags: true\n",
        ),
        ("_layouts/default.html", "---\n---\n<main>{{ content }}</main>\n"),
        (
            "_posts/2024-01-01-one.md",
            "---\nlayout: default\ntitle: One\ncategories: [news]\ntags: [intro]\n---\nFirst words.\n",
        ),
        (
            "_posts/2024-02-01-two.md",
            "---\nlayout: default\ntitle: Two\n---\nSecond words.\n",
        ),
        ("_notes/a.md", "---\ntitle: Note\ndate: 2024-01-05\n---\nNote words.\n"),
    ];
    galley_tests::write_files(&root, files);
    let mut session = Session::start(&root, &options()).expect("first build");
    let feed = |session: &Session, path: &str| {
        let file = &session.site().expect("site").files[path];
        String::from_utf8_lossy(&file.bytes().expect("bytes")).into_owned()
    };
    edit(&root, "_posts/2024-01-01-one.md", |t| {
        t.replace("First words.", "Edited words.")
    });
    let update = rebuild(&mut session, "_posts/2024-01-01-one.md");
    assert_eq!(update.full, None, "a post edit stays partial");
    for path in ["atom.xml", "feed/news.xml", "feed/by_tag/intro.xml"] {
        assert!(feed(&session, path).contains("Edited words."), "{path}");
        assert!(update.changed.iter().any(|c| c == path), "{path} reported");
    }
    edit(&root, "_notes/a.md", |t| {
        t.replace("Note words.", "New note words.")
    });
    rebuild(&mut session, "_notes/a.md");
    assert!(feed(&session, "feed/notes.xml").contains("New note words."));
    assert_same_as_full(&session, &root, "post and note edits with jekyll-feed");
}

/// A post edit that changes only its text leaves content that lists the posts but never
/// their text (a sitemap) as it was, and renders content that shows their text again; a
/// title edit renders both. Either way the kept site is what a full build writes.
#[test]
fn text_only_post_edits_skip_content_that_never_shows_post_text() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("site");
    let files: &[(&str, &str)] = &[
        (
            "_layouts/default.html",
            "---\n---\n<main>{{ content }}</main>\n",
        ),
        (
            "_posts/2024-01-01-one.md",
            "---\nlayout: default\ntitle: One\n---\nFirst words.\n",
        ),
        (
            "_posts/2024-02-01-two.md",
            "---\nlayout: default\ntitle: Two\n---\nSecond words.\n",
        ),
        (
            "titles.xml",
            "---\n---\n{% for p in site.posts %}<url>{{ p.url }} {{ p.title }}</url>{% endfor %}\n",
        ),
        (
            "texts.html",
            "---\n---\n{% for p in site.posts %}<p>{{ p.excerpt }}</p>{% endfor %}\n",
        ),
    ];
    galley_tests::write_files(&root, files);
    let mut session = Session::start(&root, &options()).expect("first build");
    edit(&root, "_posts/2024-01-01-one.md", |t| {
        t.replace(
            "First words.",
            "Edited, longer words:\n\n## A heading\n\nand more.",
        )
    });
    let update = rebuild(&mut session, "_posts/2024-01-01-one.md");
    assert!(
        update.changed.iter().any(|c| c == "texts.html"),
        "{:?}",
        update.changed
    );
    assert!(
        !update.changed.iter().any(|c| c == "titles.xml"),
        "{:?}",
        update.changed
    );
    assert_same_as_full(&session, &root, "a text-only post edit");
    edit(&root, "_posts/2024-01-01-one.md", |t| {
        t.replace("title: One", "title: Uno")
    });
    let update = rebuild(&mut session, "_posts/2024-01-01-one.md");
    assert!(
        update.changed.iter().any(|c| c == "titles.xml"),
        "{:?}",
        update.changed
    );
    assert_same_as_full(&session, &root, "a title edit");
}

/// jekyll-archives' tag, category and date pages follow post edits in the preview: a title
/// edit shows on every archive that lists the post, a text edit on those whose layout shows
/// the posts' content, and the kept site is what a full build writes.
#[test]
fn jekyll_archives_follow_post_edits() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("site");
    let files: &[(&str, &str)] = &[
        (
            "_config.yml",
            "plugins: [jekyll-archives]\njekyll-archives:\n  enabled: all\n  layout: archive\n",
        ),
        ("_layouts/default.html", "---\n---\n<main>{{ content }}</main>\n"),
        (
            "_layouts/archive.html",
            "---\nlayout: default\n---\n<h1>{{ page.type }} {{ page.title }}</h1>{% for p in page.posts %}<section>{{ p.title }}: {{ p.content }}</section>{% endfor %}\n",
        ),
        (
            "_posts/2024-01-01-one.md",
            "---\nlayout: default\ntitle: One\ncategories: [news]\ntags: [intro]\n---\nFirst words.\n",
        ),
        (
            "_posts/2024-02-01-two.md",
            "---\nlayout: default\ntitle: Two\ntags: [intro]\n---\nSecond words.\n",
        ),
    ];
    galley_tests::write_files(&root, files);
    let mut session = Session::start(&root, &options()).expect("first build");
    let page = |session: &Session, path: &str| {
        let file = &session.site().expect("site").files[path];
        String::from_utf8_lossy(&file.bytes().expect("bytes")).into_owned()
    };
    let archives = [
        "tag/intro/index.html",
        "category/news/index.html",
        "2024/01/01/index.html",
        "2024/01/index.html",
        "2024/index.html",
    ];
    for path in archives {
        assert!(
            page(&session, path).contains("One: <p>First words.</p>"),
            "{path}"
        );
    }
    edit(&root, "_posts/2024-01-01-one.md", |t| {
        t.replace("title: One", "title: Uno")
    });
    let update = rebuild(&mut session, "_posts/2024-01-01-one.md");
    assert_eq!(update.full, None, "a title edit stays partial");
    for path in archives {
        assert!(
            page(&session, path).contains("Uno: <p>First words.</p>"),
            "{path}"
        );
        assert!(update.changed.iter().any(|c| c == path), "{path} reported");
    }
    assert!(
        !update.changed.iter().any(|c| c == "2024/02/01/index.html"),
        "the other day's archive does not list the post"
    );
    assert_same_as_full(&session, &root, "a title edit with jekyll-archives");
    edit(&root, "_posts/2024-01-01-one.md", |t| {
        t.replace("First words.", "Edited words.")
    });
    rebuild(&mut session, "_posts/2024-01-01-one.md");
    for path in archives {
        assert!(
            page(&session, path).contains("Uno: <p>Edited words.</p>"),
            "{path}"
        );
    }
    assert_same_as_full(&session, &root, "a text edit with jekyll-archives");
}
