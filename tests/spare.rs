//! `galley build` keeps the previous site beside the new one as its spare
//! (`.NAME.galley-spare`) and the next build brings that folder up to date and swaps it in:
//! a rebuild writes only what changed and deletes no tree, yet its output is byte for byte
//! a build's from nothing, and a failed build still leaves the live site as it was.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use galley_tests::{copy_fixture, galley, text, tree};

/// One fixed `site.time`, so that two builds of the same sources are the same bytes.
const EPOCH: &str = "1700000000";

fn build(site: &Path, destination: &Path, extra: &[&str]) -> Output {
    galley()
        .arg("build")
        .arg(site)
        .arg("-d")
        .arg(destination)
        .args(extra)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .expect("run galley build")
}

fn built(site: &Path, destination: &Path, extra: &[&str]) -> String {
    let out = build(site, destination, extra);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr)
}

fn spare(out: &Path) -> PathBuf {
    galley_atomic::spare_of(out)
}

/// What lies beside the output in its parent folder, besides the output and the site.
fn beside(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.parent().expect("parent"))
        .expect("list")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.contains(".galley-").then_some(name)
        })
        .collect();
    names.sort();
    names
}

/// The site, built again from nothing into a folder of its own.
fn from_nothing(site: &Path) -> std::collections::BTreeMap<String, String> {
    let fresh = tempfile::tempdir().expect("temp dir");
    let out = fresh.path().join("fresh");
    built(site, &out, &[]);
    tree(&out)
}

/// The fixture built twice into `out`: the second build kept the first's site as a spare.
fn with_a_spare() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("out");
    built(&site, &out, &[]);
    built(&site, &out, &[]);
    assert_eq!(beside(&out), vec![".out.galley-spare"]);
    (tmp, site, out)
}

fn write(site: &Path, rel: &str, text: &str) {
    let path = site.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
    std::fs::write(path, text).expect("write");
}

#[test]
fn rebuilds_update_the_spare_and_give_a_build_from_nothings_bytes() {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("out");
    // A static file where a later page will want a folder.
    write(&site, "old/spot", "a static file");
    built(&site, &out, &[]);
    assert_eq!(beside(&out), Vec::<String>::new(), "nothing to keep yet");
    write(
        &site,
        "about.md",
        "---\ntitle: About\n---\nsecond version\n",
    );
    built(&site, &out, &[]);
    assert_eq!(beside(&out), vec![".out.galley-spare"]);
    assert!(
        galley_tests::read(&spare(&out), "about/index.html").contains("About this blog"),
        "the spare is the previous site"
    );

    // Edits of every kind: a changed page, a new post, a removed post, a page where the
    // spare has a file (it holds the site of two builds ago), a changed static file.
    write(&site, "about.md", "---\ntitle: About\n---\nthird version\n");
    write(
        &site,
        "_posts/2024-05-01-new.md",
        "---\ntitle: New\n---\nA new post.\n",
    );
    let removed = site.join("rust/_posts/2024-04-01-ownership.md");
    let removed_text = std::fs::read_to_string(&removed).expect("a post");
    std::fs::remove_file(&removed).expect("remove a post");
    std::fs::remove_file(site.join("old/spot")).expect("remove the static file");
    write(
        &site,
        "spot.md",
        "---\npermalink: /old/spot/\n---\nnow a page\n",
    );
    write(&site, "robots.txt", "User-agent: *\nDisallow: /drafts/\n");
    let folders = |root: &Path| -> Vec<u64> {
        [".", "about"]
            .iter()
            .map(|d| std::fs::metadata(root.join(d)).expect("folder").ino())
            .collect()
    };
    let spare_folders = folders(&spare(&out));
    let robots_before = galley_tests::read(&out, "robots.txt");
    built(&site, &out, &[]);
    // The spare's robots.txt was a link to the live site's: the new one replaced the link,
    // it was not written into it, so the previous site (now the spare) kept its bytes.
    assert_eq!(
        galley_tests::read(&spare(&out), "robots.txt"),
        robots_before
    );
    assert!(galley_tests::read(&out, "robots.txt").contains("/drafts/"));
    assert_eq!(
        tree(&out),
        from_nothing(&site),
        "a rebuild's bytes are a build's"
    );
    assert_eq!(
        folders(&out),
        spare_folders,
        "the build reused the spare's folders rather than making new ones"
    );
    // Unchanged files are the previous site's, linked: the rebuild did not write them.
    let unchanged = "assets/plain.txt";
    let (a, b) = (
        std::fs::metadata(out.join(unchanged)).expect("site file"),
        std::fs::metadata(spare(&out).join(unchanged)).expect("spare file"),
    );
    assert_eq!(a.ino(), b.ino(), "{unchanged} is one file in both");

    // Two more builds: the spare then has a folder where the site has a file again, and
    // the removed post comes back.
    built(&site, &out, &[]);
    std::fs::remove_file(site.join("spot.md")).expect("remove the page");
    write(&site, "old/spot", "a static file again");
    std::fs::write(&removed, removed_text).expect("restore the post");
    built(&site, &out, &[]);
    assert_eq!(tree(&out), from_nothing(&site));
    assert!(
        !tree(&out).keys().any(|k| k == ".gitignore"),
        "the spare's own .gitignore never reaches the site"
    );
}

#[test]
fn the_spare_does_not_show_in_git_status() {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    // A site whose .gitignore names only `_site`, as Jekyll sites have.
    write(&site, ".gitignore", "_site\n");
    let out = site.join("_site");
    built(&site, &out, &[]);
    built(&site, &out, &[]);
    assert!(spare(&out).is_dir());
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&site)
            .args(args)
            .output()
            .expect("run git");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    git(&["init", "-q"]);
    let status = git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(status.contains("about.md"), "git sees the site: {status}");
    assert!(!status.contains("galley-spare"), "{status}");
    drop(tmp);
}

#[test]
fn a_failed_rebuild_leaves_the_site_and_keeps_the_spare() {
    let (_tmp, site, out) = with_a_spare();
    let (site_before, spare_before) = (tree(&out), tree(&spare(&out)));
    // A template error in the post layout: the build fails while pages stream in.
    let layout = site.join("_layouts/post.html");
    let good = std::fs::read_to_string(&layout).expect("layout");
    std::fs::write(
        &layout,
        format!("{good}\n{{{{ page.title | no_such_filter }}}}\n"),
    )
    .expect("break the layout");
    let failed = build(&site, &out, &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    assert_eq!(tree(&out), site_before, "the live site stays byte for byte");
    assert_eq!(beside(&out), vec![".out.galley-spare"], "no staging folder");
    assert_eq!(
        tree(&spare(&out)).len(),
        spare_before.len(),
        "the spare is kept for the next build"
    );
    std::fs::write(&layout, good).expect("mend the layout");
    built(&site, &out, &[]);
    assert_eq!(tree(&out), from_nothing(&site));
}

/// A spare the build cannot update (here, a file in it that even root cannot remove; as
/// likely, a `_site` another user once wrote) does not fail the build: it builds afresh,
/// says so, and the spare goes as a previous site that cannot be removed does.
#[test]
fn a_spare_that_cannot_be_updated_is_set_aside_and_the_build_succeeds() {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("out");
    built(&site, &out, &[]);
    // So that the spare's about page is its own file, not a link to the live site's.
    write(&site, "about.md", "---\ntitle: About\n---\nsecond\n");
    built(&site, &out, &[]);
    let stuck = spare(&out).join("about/index.html");
    chattr("+i", &stuck);
    write(&site, "about.md", "---\ntitle: About\n---\nchanged\n");
    let stderr = built(&site, &out, &[]);
    assert!(stderr.contains("warning: "), "{stderr}");
    assert!(stderr.contains("wrote the site afresh"), "{stderr}");
    assert!(galley_tests::read(&out, "about/index.html").contains("changed"));
    assert_eq!(tree(&out), from_nothing(&site));
    galley_atomic::wait_for_background_removal(&out).expect("wait");
    let left = beside(&out);
    let set_aside: Vec<&String> = left
        .iter()
        .filter(|n| n.starts_with(".out.galley-old-"))
        .collect();
    assert_eq!(set_aside.len(), 1, "{left:?}");
    chattr(
        "-i",
        &tmp.path().join(set_aside[0]).join("about/index.html"),
    );
    built(&site, &out, &[]);
    galley_atomic::wait_for_background_removal(&out).expect("wait");
    assert_eq!(beside(&out), vec![".out.galley-spare"]);
}

fn chattr(flag: &str, path: &Path) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("run chattr (e2fsprogs)");
    assert!(
        status.success(),
        "chattr {flag} {}: this test needs root and a filesystem with immutable files",
        path.display()
    );
}

#[test]
fn no_spare_and_wait_for_removal_keep_nothing_beside_the_site() {
    let (_tmp, site, out) = with_a_spare();
    built(&site, &out, &["--no-spare"]);
    galley_atomic::wait_for_background_removal(&out).expect("wait");
    assert_eq!(beside(&out), Vec::<String>::new(), "the spare went too");

    built(&site, &out, &[]);
    assert_eq!(beside(&out), vec![".out.galley-spare"]);
    built(&site, &out, &["--wait-for-removal"]);
    assert_eq!(
        beside(&out),
        Vec::<String>::new(),
        "gone before it returned"
    );
    assert_eq!(tree(&out), from_nothing(&site));
}

/// Two outputs that want one path as a file and as a folder fail the build the same way
/// whether or not a spare is being updated: the spare's folder there is not taken for an
/// earlier site's and removed.
#[test]
fn a_path_wanted_as_file_and_folder_fails_as_it_does_without_a_spare() {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    let out = tmp.path().join("out");
    write(
        &site,
        "thing/index.html",
        "---\n---\n<p>a page in a folder</p>\n",
    );
    built(&site, &out, &[]);
    built(&site, &out, &[]);
    assert_eq!(beside(&out), vec![".out.galley-spare"]);
    let before = tree(&out);
    // A static file where the page's folder is.
    write(&site, "thing_file", "x");
    write(
        &site,
        "thing/index.html",
        "---\npermalink: /thing_file/\n---\n<p>a page in a folder</p>\n",
    );
    let fresh = tempfile::tempdir().expect("temp dir");
    let without = build(&site, &fresh.path().join("out"), &[]);
    let with = build(&site, &out, &[]);
    assert!(!without.status.success(), "{}", text(&without.stderr));
    assert_eq!(
        with.status.code(),
        without.status.code(),
        "{}",
        text(&with.stderr)
    );
    assert!(
        text(&with.stderr).contains("thing_file"),
        "{}",
        text(&with.stderr)
    );
    assert_eq!(tree(&out), before, "the live site stays byte for byte");
}
