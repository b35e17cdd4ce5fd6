//! Debian's `jekyll`, run on a copy of a site: its output is the expected value of the
//! Jekyll-compatibility tests (never written by hand).

use std::path::Path;
use std::process::Command;

/// Builds `src` (copied first: Jekyll writes a cache into its source) into `dest`, in
/// Jekyll's default environment; a `Gemfile` is set aside so that Debian's gems are used.
pub fn build(src: &Path, scratch: &Path, dest: &Path) {
    build_with_configs(src, scratch, dest, &[]);
}

/// As `build`, with `--config` naming these files of the site (merged in order).
pub fn build_with_configs(src: &Path, scratch: &Path, dest: &Path, configs: &[&str]) {
    let copy = scratch.join("jekyll-src");
    crate::copy_dir(src, &copy);
    for f in ["Gemfile", "Gemfile.lock"] {
        let _ = std::fs::remove_file(copy.join(f));
    }
    let run = Command::new("jekyll")
        .arg("build")
        .arg("--source")
        .arg(&copy)
        .arg("--destination")
        .arg(dest)
        .args(if configs.is_empty() {
            Vec::new()
        } else {
            let paths: Vec<String> = configs
                .iter()
                .map(|c| copy.join(c).display().to_string())
                .collect();
            vec!["--config".to_string(), paths.join(",")]
        })
        .env_remove("JEKYLL_ENV")
        .output()
        .expect("jekyll runs (the README's test command installs it)");
    assert!(
        run.status.success(),
        "jekyll failed on {}: {}",
        src.display(),
        String::from_utf8_lossy(&run.stderr)
    );
}
