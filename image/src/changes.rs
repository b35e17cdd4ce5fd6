//! Which URLs of the site changed between two images: what a CDN must forget after a
//! release. Layers whose digests both images share hold the same files, so only the
//! layers that differ are opened and their files compared by content. Precompressed
//! variants (`.br`, `.gz`) count as their page; `dir/index.html` is also `/dir/`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::layer::SITE_DIR;

/// The site's regular files in one gzip-compressed layer, as path (under the site root)
/// → sha256 of the bytes.
pub fn site_files(layer: &[u8]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    for entry in archive.entries().context("reading a layer")? {
        let mut entry = entry.context("reading a layer entry")?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().context("a layer entry's path")?;
        let Some(rel) = path
            .to_str()
            .and_then(|p| p.strip_prefix(&format!("{SITE_DIR}/")))
            .map(str::to_string)
        else {
            continue;
        };
        let mut hash = Sha256::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut buf).context("reading a layer file")?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
        }
        out.insert(rel, format!("{:x}", hash.finalize()));
    }
    Ok(out)
}

/// The URL paths whose bytes differ between `old` and `new` (the files of the layers the
/// two images do not share): changed, added and removed, sorted.
pub fn changed_urls(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut files: BTreeSet<&str> = BTreeSet::new();
    for (path, digest) in new {
        if old.get(path) != Some(digest) {
            files.insert(path);
        }
    }
    for path in old.keys() {
        if !new.contains_key(path) {
            files.insert(path);
        }
    }
    let mut urls = BTreeSet::new();
    for file in files {
        let page = file
            .strip_suffix(".br")
            .or_else(|| file.strip_suffix(".gz"))
            .unwrap_or(file);
        urls.insert(format!("/{page}"));
        if page == "index.html" {
            urls.insert("/".to_string());
        } else if let Some(dir) = page.strip_suffix("/index.html") {
            urls.insert(format!("/{dir}/"));
        }
    }
    urls.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect()
    }

    #[test]
    fn changed_added_and_removed_files_become_their_urls() {
        let old = files(&[
            ("index.html", "a"),
            ("index.html.br", "a2"),
            ("2024/post/index.html", "b"),
            ("feed.xml", "c"),
            ("gone.html", "d"),
        ]);
        let new = files(&[
            ("index.html", "a-new"),
            ("index.html.br", "a2-new"),
            ("2024/post/index.html", "b"),
            ("feed.xml", "c-new"),
            ("2025/new/index.html", "e"),
        ]);
        assert_eq!(
            changed_urls(&old, &new),
            vec![
                "/",
                "/2025/new/",
                "/2025/new/index.html",
                "/feed.xml",
                "/gone.html",
                "/index.html"
            ]
        );
    }

    #[test]
    fn a_layer_lists_the_site_files_by_content() {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, body) in [
            ("site/a.html", "x"),
            ("site/b/c.css", "y"),
            ("galley-server", "z"),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, path, body.as_bytes()).unwrap();
        }
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let listed = site_files(&gz.finish().unwrap()).unwrap();
        assert_eq!(listed.keys().collect::<Vec<_>>(), vec!["a.html", "b/c.css"]);
        assert_eq!(listed["a.html"], format!("{:x}", Sha256::digest(b"x")));
    }
}
