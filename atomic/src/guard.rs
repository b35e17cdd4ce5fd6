//! Which folders an output may replace. Replacing is deleting, so the checks run before
//! anything is written and err on the side of refusing: `galley build SITE -d SITE` or
//! `-d ..` must never cost an author their sources.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// What the destination is checked against.
pub struct Rules<'a> {
    /// The site's own folder.
    pub site: &'a Path,
    /// Folders Galley reads sources from (inside or outside the site, e.g. a theme).
    pub sources: &'a [PathBuf],
    /// A folder that is already an output of this kind and may be replaced.
    pub is_output: &'a dyn Fn(&Path) -> bool,
    /// Overrules only [`Refusal::NotAnOutput`].
    pub force: bool,
    /// The flag that named the destination, for the hint (`--destination`, `--out`).
    pub flag: &'a str,
}

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    IsSite(PathBuf),
    ContainsSite(PathBuf),
    InsideSources {
        destination: PathBuf,
        source: PathBuf,
    },
    NotAFolder(PathBuf),
    NotAnOutput(PathBuf),
}

impl Refusal {
    /// The one-sentence message and the hint, for callers that format their own errors.
    pub fn explain(&self, flag: &str) -> (String, String) {
        match self {
            Refusal::IsSite(d) => (
                format!(
                    "{}: is the site's own folder; replacing it would delete the sources",
                    d.display()
                ),
                format!("choose a new folder for {flag}, e.g. SITE/_site"),
            ),
            Refusal::ContainsSite(d) => (
                format!(
                    "{}: contains the site; replacing it would delete the sources",
                    d.display()
                ),
                format!("choose a folder for {flag} that is not a parent of the site"),
            ),
            Refusal::InsideSources {
                destination,
                source,
            } => (
                format!(
                    "{}: {} {}, which Galley reads sources from",
                    destination.display(),
                    if absolute(destination) == *source {
                        "is"
                    } else {
                        "lies inside"
                    },
                    source.display()
                ),
                format!("choose a folder for {flag} outside the site's sources, e.g. SITE/_site"),
            ),
            Refusal::NotAFolder(d) => (
                format!(
                    "{}: exists and is not a folder; refusing to replace it",
                    d.display()
                ),
                format!("choose a folder for {flag}"),
            ),
            Refusal::NotAnOutput(d) => (
                format!(
                    "{}: is a folder with files that Galley did not write; refusing to replace it",
                    d.display()
                ),
                format!("choose an empty or new folder for {flag}, or pass --force to replace it"),
            ),
        }
    }

    /// The message and a `help:` line naming `flag`.
    pub fn describe(&self, flag: &str) -> String {
        let (message, hint) = self.explain(flag);
        format!("{message}\n  help: {hint}")
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("the destination"))
    }
}

/// Refuses a destination that replacing would destroy something with.
pub fn check(destination: &Path, rules: &Rules) -> Result<(), Refusal> {
    let dest = absolute(destination);
    let site = absolute(rules.site);
    if dest == site {
        return Err(Refusal::IsSite(destination.to_path_buf()));
    }
    if site.starts_with(&dest) {
        return Err(Refusal::ContainsSite(destination.to_path_buf()));
    }
    for source in rules.sources {
        let source = absolute(source);
        if dest.starts_with(&source) || source.starts_with(&dest) {
            return Err(Refusal::InsideSources {
                destination: destination.to_path_buf(),
                source: source.clone(),
            });
        }
    }
    match std::fs::metadata(destination) {
        Err(_) if std::fs::symlink_metadata(destination).is_ok() => {
            Err(Refusal::NotAFolder(destination.to_path_buf()))
        }
        Err(_) => Ok(()),
        Ok(m) if !m.is_dir() => Err(Refusal::NotAFolder(destination.to_path_buf())),
        Ok(_) if is_empty(destination) || (rules.is_output)(destination) || rules.force => Ok(()),
        Ok(_) => Err(Refusal::NotAnOutput(destination.to_path_buf())),
    }
}

/// A folder with nothing in it (one that cannot be read is not empty).
pub fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// The path with symlinks resolved as far as it exists, and `.`/`..` folded in the rest, so
/// `site/./x`, `site/../site` and a link to the site all compare equal to the site.
pub fn absolute(path: &Path) -> PathBuf {
    let base = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component> = base.components().collect();
    for i in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..i].iter().collect();
        if let Ok(mut real) = prefix.canonicalize() {
            for part in &parts[i..] {
                match part {
                    Component::ParentDir => {
                        real.pop();
                    }
                    Component::Normal(name) => real.push(name),
                    _ => {}
                }
            }
            return real;
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules<'a>(site: &'a Path, sources: &'a [PathBuf], force: bool) -> Rules<'a> {
        Rules {
            site,
            sources,
            is_output: &|d: &Path| d.join(crate::MARKER).exists(),
            force,
            flag: "--destination",
        }
    }

    fn site() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let site = tmp.path().join("blog");
        std::fs::create_dir_all(site.join("_posts")).expect("posts");
        std::fs::write(site.join("_posts/2024-01-01-a.md"), "x").expect("post");
        (tmp, site)
    }

    #[test]
    fn the_site_itself_and_its_parents_are_refused_however_spelled() {
        let (tmp, site) = site();
        let sources = [site.join("_posts")];
        let r = rules(&site, &sources, true);
        assert!(matches!(check(&site, &r), Err(Refusal::IsSite(_))));
        assert!(matches!(
            check(&site.join("_posts/.."), &r),
            Err(Refusal::IsSite(_))
        ));
        assert!(matches!(
            check(tmp.path(), &r),
            Err(Refusal::ContainsSite(_))
        ));
        assert!(matches!(
            check(Path::new("/"), &r),
            Err(Refusal::ContainsSite(_))
        ));
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&site, &link).expect("symlink");
        assert!(matches!(check(&link, &r), Err(Refusal::IsSite(_))));
    }

    #[test]
    fn folders_inside_sources_are_refused_even_when_missing() {
        let (_tmp, site) = site();
        let sources = [site.join("_posts")];
        let r = rules(&site, &sources, true);
        assert!(matches!(
            check(&site.join("_posts"), &r),
            Err(Refusal::InsideSources { .. })
        ));
        assert!(matches!(
            check(&site.join("_posts/new/out"), &r),
            Err(Refusal::InsideSources { .. })
        ));
        assert_eq!(check(&site.join("_site"), &r), Ok(()));
    }

    #[test]
    fn a_file_is_refused_and_a_foreign_folder_needs_force() {
        let (tmp, site) = site();
        let sources = [site.join("_posts")];
        let file = tmp.path().join("notes.txt");
        std::fs::write(&file, "mine").expect("file");
        assert!(matches!(
            check(&file, &rules(&site, &sources, true)),
            Err(Refusal::NotAFolder(_))
        ));
        let foreign = tmp.path().join("photos");
        std::fs::create_dir(&foreign).expect("folder");
        std::fs::write(foreign.join("cat.jpg"), "meow").expect("file");
        assert!(matches!(
            check(&foreign, &rules(&site, &sources, false)),
            Err(Refusal::NotAnOutput(_))
        ));
        assert_eq!(check(&foreign, &rules(&site, &sources, true)), Ok(()));
        std::fs::write(foreign.join(crate::MARKER), "").expect("marker");
        assert_eq!(check(&foreign, &rules(&site, &sources, false)), Ok(()));
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).expect("folder");
        assert_eq!(check(&empty, &rules(&site, &sources, false)), Ok(()));
    }
}
