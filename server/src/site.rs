//! The site in memory: every file's bytes, headers computed once, and its precompressed
//! variants. Serving never touches the disk, and nothing outside the root was ever loaded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::HeaderValue;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::arena::Arena;
use crate::cache_control;
use crate::mime;
use crate::path::SitePath;
use crate::precompress;

/// One servable file.
#[derive(Debug)]
pub struct Entry {
    pub body: Bytes,
    /// For `If-Modified-Since`; the header form is in `headers.last_modified`.
    pub modified: SystemTime,
    pub br: Option<Bytes>,
    pub gzip: Option<Bytes>,
    /// Header values made once at load, so a response only clones them.
    pub headers: Headers,
}

/// Ready-made header values of one file.
#[derive(Debug)]
pub struct Headers {
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
    pub last_modified: HeaderValue,
    /// Strong validator: a quoted prefix of the sha256 of the identity bytes.
    pub etag: HeaderValue,
    pub etag_br: HeaderValue,
    pub etag_gzip: HeaderValue,
}

/// A file as handed to the index: path relative to the root (`/`-separated), bytes, mtime.
pub struct File {
    pub path: String,
    pub bytes: Vec<u8>,
    pub modified: SystemTime,
}

/// What a sanitised path resolves to.
#[derive(Debug)]
pub enum Lookup<'a> {
    Found(&'a Arc<Entry>),
    /// A folder asked for without its slash: 301 to this location.
    Redirect(String),
    NotFound,
}

#[derive(Debug, Default)]
pub struct Site {
    /// Shared keys, so the preview's copy-and-replace after a save allocates nothing per file.
    files: HashMap<Arc<str>, Arc<Entry>>,
    /// sha256 over every path and ETag: names the release in `/healthz`. Worked out on
    /// first use: a preview swaps in a new site on every save, and sorting 100,000 paths
    /// for a digest nobody reads would be most of that save's cost.
    digest: OnceLock<String>,
    pub bytes: u64,
    /// When the newest file was made (an HTTP date): the release's build time in `/healthz`.
    pub built: String,
    pub load_time_ms: u128,
    /// Where the big bodies live when they can go out with `sendfile` (see [`Arena`]).
    pub arena: Option<Arc<Arena>>,
}

impl Site {
    /// Loads every regular file under `root` but the output marker. Symlinks are followed only when they stay
    /// inside the root; `x.br`/`x.gz` beside `x` become its variants.
    pub fn load_dir(root: &Path) -> std::io::Result<Site> {
        let started = Instant::now();
        let root = root.canonicalize()?;
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(std::io::Error::other)?;
            let path = entry.path();
            let real = if entry.file_type().is_symlink() {
                match path.canonicalize() {
                    Ok(r) if r.starts_with(&root) && r.is_file() => r,
                    _ => continue,
                }
            } else if entry.file_type().is_file() {
                path.to_path_buf()
            } else {
                continue;
            };
            let rel = path.strip_prefix(&root).map_err(std::io::Error::other)?;
            let rel = rel.to_string_lossy().replace('\\', "/");
            if rel == galley_atomic::MARKER {
                // Galley's note to itself that this folder is an output, not content.
                continue;
            }
            let bytes = std::fs::read(&real)?;
            let modified = std::fs::metadata(&real)?
                .modified()
                .unwrap_or(SystemTime::UNIX_EPOCH);
            files.push(File {
                path: rel,
                bytes,
                modified,
            });
        }
        let mut site = Site::from_files(files);
        site.load_time_ms = started.elapsed().as_millis();
        Ok(site)
    }

    /// Builds the index from files already in memory, making missing br/gzip variants.
    pub fn from_files(files: Vec<File>) -> Site {
        Site::index(files, true)
    }

    /// The same without compressing: what the local preview uses, where every rebuild
    /// counts and the network is loopback.
    pub fn from_files_uncompressed(files: Vec<File>) -> Site {
        Site::index(files, false)
    }

    fn index(files: Vec<File>, compress: bool) -> Site {
        let mut by_path: HashMap<String, File> =
            files.into_iter().map(|f| (f.path.clone(), f)).collect();
        let variant_keys: Vec<String> = by_path
            .keys()
            .filter(|k| {
                k.strip_suffix(".br")
                    .or_else(|| k.strip_suffix(".gz"))
                    .is_some_and(|base| by_path.contains_key(base))
            })
            .cloned()
            .collect();
        let mut variants: HashMap<String, Vec<u8>> = HashMap::new();
        for k in variant_keys {
            if let Some(f) = by_path.remove(&k) {
                variants.insert(k, f.bytes);
            }
        }
        let entries: Vec<(Arc<str>, Arc<Entry>)> = by_path
            .into_par_iter()
            .map(|(path, file)| {
                let br = variants.get(&format!("{path}.br")).cloned();
                let gz = variants.get(&format!("{path}.gz")).cloned();
                let entry = make_entry(&path, file, br, gz, compress);
                (Arc::from(path), Arc::new(entry))
            })
            .collect();
        Site::summed(entries.into_iter().collect())
    }

    /// This site with some files replaced or added and others removed; every other entry is
    /// shared, not rebuilt. What the preview swaps in after saving one post in a big site.
    pub fn with_changes(&self, changed: Vec<File>, removed: &[String], compress: bool) -> Site {
        let mut files = self.files.clone();
        for path in removed {
            files.remove(path.as_str());
        }
        let made: Vec<(Arc<str>, Arc<Entry>)> = changed
            .into_par_iter()
            .map(|file| {
                let path: Arc<str> = Arc::from(file.path.as_str());
                (
                    path.clone(),
                    Arc::new(make_entry(&path, file, None, None, compress)),
                )
            })
            .collect();
        files.extend(made);
        Site {
            arena: self.arena.clone(),
            ..Site::summed(files)
        }
    }

    /// Moves the big bodies (and variants) into an [`Arena`], for `sendfile`. The served
    /// bytes are the same; only where they live changes.
    pub fn pack_big_bodies(&mut self) {
        let mut bodies: Vec<&mut Bytes> = Vec::new();
        for entry in self.files.values_mut().filter_map(Arc::get_mut) {
            bodies.push(&mut entry.body);
            bodies.extend(entry.br.as_mut());
            bodies.extend(entry.gzip.as_mut());
        }
        self.arena = Arena::pack(&mut bodies);
    }

    /// The index with its size and build time worked out (the digest waits for
    /// [`Site::digest`]).
    fn summed(files: HashMap<Arc<str>, Arc<Entry>>) -> Site {
        let bytes = files.values().map(|e| e.body.len() as u64).sum();
        let newest = files
            .values()
            .map(|e| e.modified)
            .max()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Site {
            built: httpdate::fmt_http_date(newest),
            digest: OnceLock::new(),
            files,
            bytes,
            load_time_ms: 0,
            arena: None,
        }
    }

    /// sha256 over every path (sorted) and its ETag: names the release in `/healthz`.
    pub fn digest(&self) -> &str {
        self.digest.get_or_init(|| {
            let mut sorted: Vec<(&Arc<str>, &Arc<Entry>)> = self.files.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let mut hasher = Sha256::new();
            for (p, e) in &sorted {
                hasher.update(p.as_bytes());
                hasher.update([0]);
                hasher.update(e.headers.etag.as_bytes());
            }
            format!("sha256:{}", hex(&hasher.finalize()))
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Arc<Entry>> {
        self.files.get(key)
    }

    /// Pretty URLs: `/` and `/about/` serve their `index.html`; `/about` redirects to
    /// `/about/` when that folder has an index; `/x.html` is served as written.
    pub fn lookup(&self, path: &SitePath) -> Lookup<'_> {
        if path.key.is_empty() {
            return self
                .get("index.html")
                .map_or(Lookup::NotFound, Lookup::Found);
        }
        if path.trailing_slash {
            return self
                .get(&format!("{}/index.html", path.key))
                .map_or(Lookup::NotFound, Lookup::Found);
        }
        if let Some(e) = self.get(&path.key) {
            return Lookup::Found(e);
        }
        // `/about` is `about.html` when the site has it: Jekyll writes a page whose permalink
        // has no extension that way, and GitHub Pages serves it at the bare URL.
        if let Some(e) = self.get(&format!("{}.html", path.key)) {
            return Lookup::Found(e);
        }
        if self
            .files
            .contains_key(format!("{}/index.html", path.key).as_str())
        {
            return Lookup::Redirect(format!("/{}/", path.key));
        }
        Lookup::NotFound
    }
}

fn make_entry(
    path: &str,
    file: File,
    br: Option<Vec<u8>>,
    gz: Option<Vec<u8>>,
    compress: bool,
) -> Entry {
    let content_type = mime::content_type(path);
    let compress = compress && precompress::worth_compressing(path, file.bytes.len());
    let br = br.or_else(|| {
        compress
            .then(|| precompress::brotli(&file.bytes, precompress::START_BROTLI_QUALITY))
            .flatten()
    });
    let gz = gz.or_else(|| compress.then(|| precompress::gzip(&file.bytes)).flatten());
    // A variant that is not smaller is not worth sending.
    let keep =
        |v: Option<Vec<u8>>| precompress::keep_if_smaller(v, file.bytes.len()).map(Bytes::from);
    let etag = format!("\"{}\"", &hex(&Sha256::digest(&file.bytes))[..32]);
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""));
    let headers = Headers {
        content_type: HeaderValue::from_static(content_type),
        cache_control: HeaderValue::from_static(cache_control::for_path(path, content_type)),
        last_modified: value(&httpdate::fmt_http_date(file.modified)),
        etag_br: value(&variant_etag(&etag, "br")),
        etag_gzip: value(&variant_etag(&etag, "gz")),
        etag: value(&etag),
    };
    Entry {
        headers,
        modified: file.modified,
        br: keep(br),
        gzip: keep(gz),
        body: Bytes::from(file.bytes),
    }
}

/// Each representation needs its own strong validator: `"abc"` becomes `"abc-br"`.
fn variant_etag(etag: &str, suffix: &str) -> String {
    format!("{}-{suffix}\"", etag.trim_end_matches('"'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::sanitize;

    fn file(path: &str, bytes: &[u8]) -> File {
        File {
            path: path.to_string(),
            bytes: bytes.to_vec(),
            modified: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        }
    }

    fn site() -> Site {
        let page = "<p>hello</p>".repeat(200);
        Site::from_files(vec![
            file("index.html", page.as_bytes()),
            file("about/index.html", b"about"),
            file("x.html", b"x"),
            file("logo.png", &[0u8; 2048]),
            file("feed.xml", page.as_bytes()),
            file("feed.xml.gz", b"not really gzip but given"),
        ])
    }

    #[test]
    fn pretty_urls() {
        let s = site();
        let look = |t: &str| match s.lookup(&sanitize(t).expect("valid path")) {
            Lookup::Found(e) => format!("found {}", e.body.len()),
            Lookup::Redirect(to) => format!("redirect {to}"),
            Lookup::NotFound => "404".to_string(),
        };
        assert_eq!(look("/"), format!("found {}", 12 * 200));
        assert_eq!(look("/about/"), "found 5");
        assert_eq!(look("/about"), "redirect /about/");
        assert_eq!(look("/x.html"), "found 1");
        assert_eq!(
            look("/x"),
            "found 1",
            "an extensionless URL finds its .html page"
        );
        assert_eq!(look("/missing"), "404");
        assert_eq!(look("/about/index.html"), "found 5");
    }

    #[test]
    fn variants_headers_and_digest() {
        let s = site();
        let index = s.get("index.html").expect("index");
        assert!(index
            .br
            .as_ref()
            .is_some_and(|b| b.len() < index.body.len()));
        assert!(index.gzip.is_some());
        assert_eq!(index.headers.content_type, "text/html; charset=utf-8");
        assert_eq!(index.headers.cache_control, cache_control::HTML);
        assert_eq!(index.headers.last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(index.headers.etag.len(), 34);
        let png = s.get("logo.png").expect("png");
        assert!(
            png.br.is_none() && png.gzip.is_none(),
            "images are not recompressed"
        );
        let feed = s.get("feed.xml").expect("feed");
        assert_eq!(
            feed.gzip.as_deref(),
            Some(&b"not really gzip but given"[..]),
            "a given sibling is used as is"
        );
        assert!(
            s.get("feed.xml.gz").is_none(),
            "variants are not served on their own"
        );
        assert_eq!(
            Site::from_files(vec![file("a", b"1")]).digest().to_string(),
            Site::from_files(vec![file("a", b"1")]).digest().to_string()
        );
        assert_ne!(
            Site::from_files(vec![file("a", b"1")]).digest().to_string(),
            Site::from_files(vec![file("a", b"2")]).digest().to_string()
        );
    }

    #[test]
    fn changes_replace_add_and_remove_and_share_the_rest() {
        let s = site();
        let changed = s.with_changes(
            vec![file("x.html", b"new x"), file("new.html", b"new")],
            &["about/index.html".to_string()],
            true,
        );
        assert_eq!(
            changed.get("x.html").map(|e| &e.body[..]),
            Some(&b"new x"[..])
        );
        assert!(changed.get("new.html").is_some());
        assert!(changed.get("about/index.html").is_none());
        let (old, new) = (s.get("index.html"), changed.get("index.html"));
        assert!(old.zip(new).is_some_and(|(a, b)| Arc::ptr_eq(a, b)));
        let same = Site::from_files(vec![
            file("index.html", "<p>hello</p>".repeat(200).as_bytes()),
            file("x.html", b"new x"),
            file("new.html", b"new"),
            file("logo.png", &[0u8; 2048]),
            file("feed.xml", "<p>hello</p>".repeat(200).as_bytes()),
        ]);
        assert_eq!(changed.digest(), same.digest(), "digest as if loaded whole");
    }

    #[test]
    fn symlinks_outside_the_root_are_not_loaded() {
        let tmp = tempfile::tempdir().expect("temp");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::write(tmp.path().join("secret.txt"), "secret").expect("secret");
        std::fs::write(root.join("page.html"), "page").expect("page");
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("leak.txt"))
            .expect("symlink");
        std::os::unix::fs::symlink(root.join("page.html"), root.join("alias.html"))
            .expect("symlink");
        let s = Site::load_dir(&root).expect("load");
        assert!(s.get("leak.txt").is_none());
        assert!(
            s.get("alias.html").is_some(),
            "a link that stays inside is fine"
        );
        assert_eq!(s.len(), 2);
    }
}
