//! `galley serve` as an author uses it: edit a post, the open page is told to reload and
//! shows the edit; break it, the page is told the error and the last good build stays up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Preview {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn start(site: &Path) -> Preview {
    let mut child = Command::new(env!("CARGO_BIN_EXE_galley"))
        .arg("serve")
        .arg(site)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start galley serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve exited early")
            .expect("read stdout");
        if let Some(rest) = line.strip_prefix("serving http://") {
            break rest
                .split('/')
                .next()
                .expect("address")
                .parse()
                .expect("socket address");
        }
    };
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("serve: {l}");
        }
    });
    Preview { child, addr }
}

/// A whole GET on a fresh connection: status line and body.
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// Reads the event stream until `needle` arrives; returns what came with it.
fn wait_for(events: &mut TcpStream, seen: &mut String, needle: &str) -> String {
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        let n = events
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("waiting for {needle}, saw {seen:?}: {e}"));
        assert!(n > 0, "event stream closed while waiting for {needle}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let at = seen.find(needle).unwrap_or(0);
    let found = seen[at..].to_string();
    seen.drain(..at + needle.len());
    found
}

/// A scratch copy of a fixture site.
fn scratch_site(fixture: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/sites")
            .join(fixture),
        &site,
    );
    (tmp, site)
}

/// Subscribes to the preview's event stream; returns it and what it has said so far.
fn subscribe(addr: SocketAddr) -> (TcpStream, String) {
    let mut events = TcpStream::connect(addr).expect("connect events");
    events
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    events
        .write_all(b"GET /__galley/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("subscribe");
    let mut seen = String::new();
    let head = wait_for(&mut events, &mut seen, ": galley preview");
    assert!(!head.is_empty());
    (events, seen)
}

#[test]
fn edits_reload_and_broken_edits_show_the_error_over_the_last_good_build() {
    let (_tmp, site) = scratch_site("theme-blog");
    let preview = start(&site);
    let page = "/notes/2024/06/01/theme-post.html";

    let (status, body) = get(preview.addr, page);
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("First paragraph is the excerpt."));
    assert!(
        body.contains("/__galley/events"),
        "the reload script is injected in preview"
    );

    let (mut events, mut seen) = subscribe(preview.addr);

    let post = site.join("_posts/2024-06-01-theme-post.md");
    let text = std::fs::read_to_string(&post).expect("read post");
    std::fs::write(
        &post,
        text.replace(
            "First paragraph is the excerpt.",
            "An edited first paragraph.",
        ),
    )
    .expect("edit");
    wait_for(&mut events, &mut seen, "event: reload");
    let (_, body) = get(preview.addr, page);
    assert!(
        body.contains("An edited first paragraph."),
        "the new build is served"
    );

    std::fs::write(&post, "---\ntitle: [broken\n---\nbody\n").expect("break the post");
    let error = wait_for(&mut events, &mut seen, "event: error");
    assert!(
        error.contains("2024-06-01-theme-post.md:2:"),
        "the error names file and line: {error}"
    );
    let (status, body) = get(preview.addr, page);
    assert!(status.contains("200"));
    assert!(
        body.contains("An edited first paragraph."),
        "the last good build keeps being served"
    );
    drop(events);

    let mut preview = preview;
    // SAFETY: signalling our own child process.
    assert_eq!(
        unsafe { libc::kill(preview.child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    assert!(
        preview.child.wait().expect("exit").success(),
        "Ctrl-C exits cleanly"
    );
}

/// Saving an include that includes itself would overflow the stack while rendering: the
/// preview reports the loop, keeps serving the last good build, and takes the fix.
#[test]
fn an_include_loop_saved_under_the_preview_is_an_error_and_the_preview_survives() {
    let (_tmp, site) = scratch_site("jekyll-blog");
    let preview = start(&site);
    let (status, before) = get(preview.addr, "/");
    assert!(status.contains("200"), "{status}");
    let (mut events, mut seen) = subscribe(preview.addr);

    let footer = site.join("_includes/footer.html");
    let good = std::fs::read_to_string(&footer).expect("read footer");
    std::fs::write(&footer, "loop\n{% include \"footer.html\" %}\n").expect("break");
    let error = wait_for(&mut events, &mut seen, "event: error");
    assert!(error.contains("include loop"), "{error}");
    assert!(error.contains("_includes/footer.html:2"), "{error}");
    let (status, body) = get(preview.addr, "/");
    assert!(status.contains("200"), "still serving: {status}");
    assert_eq!(body, before, "the last good build keeps being served");

    std::fs::write(&footer, good.replace("</", "<!-- fixed --></")).expect("fix");
    wait_for(&mut events, &mut seen, "event: reload");
    let (_, body) = get(preview.addr, "/");
    assert!(body.contains("<!-- fixed -->"), "the fix is served");
}
