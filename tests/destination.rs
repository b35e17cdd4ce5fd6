//! Where output may go, and what a failed write leaves: `galley build -d` and `galley image
//! build --out` never delete sources or someone else's files, and a failed build (exit 1 for
//! the sources, 7 for the machine) wrote nothing.

use std::path::{Path, PathBuf};
use std::process::Output;

use galley_tests::{copy_fixture, galley, text, tree};

/// A site with a `.git` folder and a neighbour folder beside it, as authors have them.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let (tmp, site) = copy_fixture("sites/jekyll-blog");
    std::fs::create_dir_all(site.join(".git/objects")).expect(".git");
    std::fs::write(site.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
    std::fs::create_dir_all(tmp.path().join("neighbour")).expect("neighbour");
    std::fs::write(tmp.path().join("neighbour/thesis.tex"), "years of work").expect("file");
    (tmp, site)
}

fn run(args: &[&Path]) -> Output {
    galley().args(args).output().expect("run galley")
}

fn build(site: &Path, destination: &Path, extra: &[&str]) -> Output {
    galley()
        .arg("build")
        .arg(site)
        .arg("-d")
        .arg(destination)
        .args(extra)
        .output()
        .expect("run galley build")
}

/// Asserts a refusal: exit 1, the reason and a `help:` line, and every file under `root`
/// exactly as it was.
fn assert_refused(
    run: &Output,
    root: &Path,
    before: &std::collections::BTreeMap<String, String>,
    reason: &str,
) {
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(reason), "expected `{reason}` in:\n{stderr}");
    assert!(stderr.contains("help: "), "{stderr}");
    assert_eq!(
        &tree(root),
        before,
        "nothing under {} may change",
        root.display()
    );
}

#[test]
fn building_into_the_site_itself_is_refused_and_deletes_nothing() {
    let (tmp, site) = workspace();
    let before = tree(tmp.path());
    let out = build(&site, &site, &["--force"]);
    assert_refused(&out, tmp.path(), &before, "is the site's own folder");
    // However it is spelled.
    let out = build(&site, &site.join("_posts/.."), &["--force"]);
    assert_refused(&out, tmp.path(), &before, "is the site's own folder");
}

#[test]
fn building_into_a_parent_of_the_site_is_refused_and_keeps_the_neighbours() {
    let (tmp, site) = workspace();
    let before = tree(tmp.path());
    let out = build(&site, tmp.path(), &["--force"]);
    assert_refused(&out, tmp.path(), &before, "contains the site");
}

#[test]
fn building_into_a_folder_galley_reads_is_refused() {
    let (tmp, site) = workspace();
    let before = tree(tmp.path());
    for inside in ["_posts", "_layouts/out", "rust/new"] {
        let out = build(&site, &site.join(inside), &["--force"]);
        assert_refused(&out, tmp.path(), &before, "which Galley reads sources from");
    }
}

#[test]
fn a_regular_file_as_destination_is_refused_and_kept() {
    let (tmp, site) = workspace();
    let file = tmp.path().join("neighbour/thesis.tex");
    let before = tree(tmp.path());
    let out = build(&site, &file, &["--force"]);
    assert_refused(&out, tmp.path(), &before, "is not a folder");
}

#[test]
fn a_folder_of_other_files_needs_force_and_a_galley_output_does_not() {
    let (tmp, site) = workspace();
    let neighbour = tmp.path().join("neighbour");
    let before = tree(tmp.path());
    let out = build(&site, &neighbour, &[]);
    assert_refused(&out, tmp.path(), &before, "Galley did not write");
    assert!(text(&out.stderr).contains("--force"));

    let out = build(&site, &neighbour, &["--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(neighbour.join("index.html").is_file());
    assert!(!neighbour.join("thesis.tex").exists());
    assert!(neighbour.join(galley_atomic::MARKER).is_file());
    // Now it is Galley's output: the next build replaces it without being told.
    let out = build(&site, &neighbour, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn the_sites_own_underscore_site_is_an_output_even_when_jekyll_wrote_it() {
    let (_tmp, site) = workspace();
    std::fs::create_dir_all(site.join("_site")).expect("_site");
    std::fs::write(site.join("_site/index.html"), "by jekyll").expect("file");
    let out = build(&site, &site.join("_site"), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_ne!(
        std::fs::read_to_string(site.join("_site/index.html")).expect("index"),
        "by jekyll"
    );
}

#[test]
fn image_out_at_the_site_or_its_parent_is_refused_before_anything_is_written() {
    let (tmp, site) = workspace();
    let before = tree(tmp.path());
    for out in [site.as_path(), tmp.path(), &site.join("_posts")] {
        let run = run(&[
            Path::new("image"),
            Path::new("build"),
            &site,
            Path::new("--out"),
            out,
        ]);
        assert_refused(&run, tmp.path(), &before, "--out");
    }
}

/// Makes a file or folder immutable for the test's duration (root on ext4/xfs/btrfs, as CI
/// runs): not even root can change it, which is how a swap fails for real.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Immutable {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .expect("run chattr (e2fsprogs)");
        assert!(
            status.success(),
            "chattr +i {} failed: this test needs root and a filesystem with immutable files",
            path.display()
        );
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        release(&self.0);
    }
}

/// Makes `path` changeable again (it may have moved since [`Immutable::set`]); whether
/// `chattr -i` succeeded.
fn release(path: &Path) -> bool {
    std::process::Command::new("chattr")
        .arg("-i")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Changes the about page, so the next build's output differs from the previous one's.
fn edit_about(site: &Path) {
    std::fs::write(
        site.join("about.md"),
        "---\ntitle: Changed\n---\nfreshly edited\n",
    )
    .expect("edit");
}

fn has_text(dir: &Path, needle: &str) -> bool {
    tree(dir)
        .keys()
        .filter(|k| k.ends_with(".html"))
        .any(|k| galley_tests::read(dir, k).contains(needle))
}

fn staging_folders(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.contains(".galley-").then_some(name)
        })
        .collect()
}

/// The machine refused the swap: exit 7 (an I/O failure, not a problem in the sources), and
/// as for every failure, nothing written.
#[test]
fn a_swap_that_cannot_happen_exits_7_writes_nothing_and_leaves_no_staging_folder() {
    let (tmp, site) = workspace();
    let out = tmp.path().join("out");
    let first = build(&site, &out, &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    edit_about(&site);
    let before = tree(&out);
    let failed = {
        let _locked = Immutable::set(&out);
        build(&site, &out, &[])
    };
    assert_eq!(failed.status.code(), Some(7), "{}", text(&failed.stderr));
    assert!(text(&failed.stderr).contains("help: "));
    assert_eq!(tree(&out), before, "the previous site stays byte for byte");
    assert_eq!(staging_folders(tmp.path()), Vec::<String>::new());
}

/// `galley build --no-spare` returns once the new site is in place and leaves the old one
/// to a background process. If that process cannot remove it, the next build removes it or
/// says why it cannot, and a later one that can, does.
#[test]
fn an_old_site_that_cannot_be_removed_does_not_fail_the_build_and_is_retried() {
    let (tmp, site) = workspace();
    let out = tmp.path().join("out");
    let build = |site: &Path, out: &Path, extra: &[&str]| {
        build(site, out, &[extra, &["--no-spare"]].concat())
    };
    assert!(build(&site, &out, &[]).status.success());
    edit_about(&site);
    let stuck = out.join("index.html");
    let _locked = Immutable::set(&stuck);
    let second = build(&site, &out, &[]);
    // The new site is in place, so the build succeeded.
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(has_text(&out, "freshly edited"), "the new site is in place");
    galley_atomic::wait_for_background_removal(&out).expect("wait for the remover");
    let leftover = staging_folders(tmp.path());
    assert_eq!(
        leftover.len(),
        1,
        "the old site, not removable: {leftover:?}"
    );
    assert!(leftover[0].starts_with(".out.galley-old-"), "{leftover:?}");

    // The next build finds it, cannot remove it either, and says so by name.
    let third = build(&site, &out, &[]);
    assert!(third.status.success(), "{}", text(&third.stderr));
    let stderr = text(&third.stderr);
    assert!(stderr.contains("warning: "), "{stderr}");
    assert!(stderr.contains(&leftover[0]), "{stderr}");
    assert!(stderr.contains("left by an earlier build"), "{stderr}");

    // Once it can be removed, the next build does.
    assert!(release(&tmp.path().join(&leftover[0]).join("index.html")));
    let fourth = build(&site, &out, &[]);
    assert!(fourth.status.success(), "{}", text(&fourth.stderr));
    assert!(
        !text(&fourth.stderr).contains("warning"),
        "{}",
        text(&fourth.stderr)
    );
    galley_atomic::wait_for_background_removal(&out).expect("wait for the remover");
    assert_eq!(staging_folders(tmp.path()), Vec::<String>::new());
}

/// `--wait-for-removal` returns only once the previous site (and the spare an earlier
/// build kept) is gone: nothing is left beside the new one for the caller to wait for.
#[test]
fn a_build_told_to_wait_for_the_removal_leaves_nothing_beside_the_site() {
    let (tmp, site) = workspace();
    let out = tmp.path().join("out");
    assert!(build(&site, &out, &[]).status.success());
    assert!(build(&site, &out, &[]).status.success());
    assert_eq!(staging_folders(tmp.path()), vec![".out.galley-spare"]);
    edit_about(&site);
    let again = build(&site, &out, &["--wait-for-removal"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(has_text(&out, "freshly edited"), "the new site is in place");
    assert_eq!(staging_folders(tmp.path()), Vec::<String>::new());
}

/// A library caller that waits for the removal (the default) hears at once when the old
/// site cannot be removed, and where it is.
#[test]
fn a_build_that_waits_for_the_removal_names_an_old_site_it_cannot_remove() {
    let (tmp, site) = workspace();
    let out = tmp.path().join("out");
    let options = galley_site_builder::BuildOptions::default();
    galley_site_builder::build(&site, &out, &options).expect("first build");
    edit_about(&site);
    let (second, leftover) = {
        let _locked = Immutable::set(&out.join("index.html"));
        let built = galley_site_builder::build(&site, &out, &options).expect("second build");
        let leftover = staging_folders(tmp.path());
        for name in &leftover {
            release(&tmp.path().join(name).join("index.html"));
        }
        (built, leftover)
    };
    assert!(has_text(&out, "freshly edited"), "the new site is in place");
    assert_eq!(leftover.len(), 1, "{leftover:?}");
    let warning = second
        .warnings
        .iter()
        .find(|w| w.starts_with("the previous site"))
        .unwrap_or_else(|| panic!("a warning about the old site: {:?}", second.warnings));
    assert!(warning.contains(&leftover[0]), "{warning}");
    galley_site_builder::build(&site, &out, &options).expect("third build");
    assert_eq!(staging_folders(tmp.path()), Vec::<String>::new());
}

#[test]
fn staging_folders_of_dead_builds_are_removed_by_the_next_build() {
    let (tmp, site) = workspace();
    let out = tmp.path().join("out");
    let stale = tmp.path().join(".out.galley-tmp-4999999");
    std::fs::create_dir_all(stale.join("a/b")).expect("stale");
    std::fs::write(stale.join("a/b/page.html"), "half written").expect("file");
    assert!(build(&site, &out, &[]).status.success());
    assert!(!stale.exists());
}

/// A rebuild keeps what Jekyll's `keep_files` keeps of the previous output (by default
/// `.git` and `.svn`: a `_site` that is itself a clone for deploying is not wiped), unless
/// the new site has a file there.
#[test]
fn a_rebuild_keeps_the_outputs_git_folder_and_keep_files() {
    let (_tmp, site) = workspace();
    let out = site.join("_site");
    let first = build(&site, &out, &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    std::fs::create_dir_all(out.join(".git")).expect(".git");
    std::fs::write(out.join(".git/HEAD"), "ref: refs/heads/gh-pages\n").expect("HEAD");
    std::fs::write(out.join("stray.txt"), "not kept").expect("stray");
    let again = build(&site, &out, &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join(".git/HEAD")).expect("kept"),
        "ref: refs/heads/gh-pages\n"
    );
    assert!(
        !out.join("stray.txt").exists(),
        "only what keep_files names is kept"
    );
    assert!(out.join("index.html").is_file());
}
