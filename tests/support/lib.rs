//! Helpers for Galley's end-to-end tests: fixture sites, copies to scratch folders, fixed
//! clocks, and whole-folder snapshots for "nothing changed" assertions.

pub mod fault_proxy;
pub mod http;
pub mod jekyll;
pub mod services;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use galley_site_builder::BuildOptions;
use sha2::{Digest, Sha256};

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// A scratch copy of a fixture, so tests can edit it and build into it.
pub fn copy_fixture(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dest = tmp.path().join("site");
    copy_dir(&fixture(rel), &dest);
    (tmp, dest)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// A fixed "now" (2025-01-01), so future-post filtering does not depend on the clock.
pub fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-01-01T00:00:00+00:00").expect("valid date")
}

pub fn options() -> BuildOptions {
    BuildOptions {
        now: Some(now()),
        ..BuildOptions::default()
    }
}

/// Every file under `dir` (relative path, `/`-separated) with the sha256 of its bytes.
pub fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if dir == root && entry.file_name() == galley_atomic::MARKER {
            // Galley's output marker, not part of the site.
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).expect("read output");
            out.insert(rel, sha256_hex(&bytes));
        }
    }
}

/// The sha256 of `bytes`, in hex (as [`tree`] lists files).
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Writes `files` (a path under `root`, its contents) under `root`, making folders.
pub fn write_files<P: AsRef<str>, C: AsRef<[u8]>>(root: &Path, files: &[(P, C)]) {
    for (rel, contents) in files {
        let rel = rel.as_ref();
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }
}

/// Reads an output file as text.
pub fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// The `galley` binary `cargo test --workspace` built beside this test.
pub fn galley() -> std::process::Command {
    let bin = services::target_bin_dir().join("galley");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (or ./scripts/test)",
        bin.display()
    );
    std::process::Command::new(bin)
}

/// The static `galley-server` for images: `GALLEY_SERVER_BINARY`, else where
/// scripts/build-server puts it in this target directory.
pub fn server_binary() -> PathBuf {
    // A relative path is the workspace's (scripts/build-server runs from its root), not
    // this crate's folder, where the test runs.
    let path = std::env::var_os("GALLEY_SERVER_BINARY")
        .map(PathBuf::from)
        .map(|p| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p))
        .unwrap_or_else(|| {
            let target = services::target_bin_dir();
            let target = target.parent().expect("target dir");
            target.join("x86_64-unknown-linux-gnu/dist/galley-server")
        });
    assert!(
        path.is_file(),
        "{} is missing: run ./scripts/build-server (./scripts/test does)",
        path.display()
    );
    path
}

/// Output of a finished command as text, for assertion messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
