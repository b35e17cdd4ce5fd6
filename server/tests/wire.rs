//! `galley-server` over real TCP: the binary is started on a loopback port with a site of
//! the test's own, and spoken to with plain sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    addr: SocketAddr,
    /// The server's "loaded" log line.
    loaded: String,
    _root: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on 127.0.0.1:0, access log off, and waits for its "listening" line
/// (no sleeps).
fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--no-access-log"];
    args.extend_from_slice(extra);
    start_logging(&args, Stdio::null())
}

/// The same with the access log going to `stdout`.
fn start_logging(extra: &[&str], stdout: Stdio) -> Server {
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::write(root.path().join("index.html"), "<h1>home</h1>").expect("index");
    std::fs::write(root.path().join("big.bin"), vec![7u8; 32 * 1024 * 1024]).expect("big file");
    std::fs::write(root.path().join("secret-sibling.txt"), "inside").expect("file");
    std::fs::create_dir_all(root.path().join("about")).expect("about dir");
    std::fs::write(
        root.path().join("about/index.html"),
        "<p>about</p>".repeat(100),
    )
    .expect("about");
    std::fs::write(root.path().join("404.html"), "<p>custom 404</p>").expect("404");
    std::fs::write(
        root.path().join("pattern.bin"),
        pattern(1024 * 1024 + 13, 1),
    )
    .expect("file");
    std::fs::write(root.path().join("pattern.bin.gz"), pattern(300 * 1024, 2)).expect("file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_galley-server"))
        .arg("--root")
        .arg(root.path())
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start galley-server");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut loaded = String::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("read stderr");
        if line.contains("\"event\":\"loaded\"") {
            loaded = line.clone();
        }
        if let Some(rest) = line.split("\"address\":\"").nth(1) {
            break rest
                .split('"')
                .next()
                .expect("address")
                .parse()
                .expect("socket address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        loaded,
        _root: root,
    }
}

/// Bytes that differ from place to place (an LCG), so a body sent from the wrong offset
/// cannot pass for the right one.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

fn connect(s: &Server) -> TcpStream {
    let stream = TcpStream::connect(s.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
}

/// Reads a response head, up to the blank line.
fn read_head(reader: &mut BufReader<&TcpStream>) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read head");
        if line == "\r\n" || line.is_empty() {
            return head;
        }
        head.push_str(&line);
    }
}

/// Reads one response head and its body (by Content-Length).
fn read_response(reader: &mut BufReader<&TcpStream>) -> (String, Vec<u8>) {
    let head = read_head(reader);
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse::<usize>().expect("length"))
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("read body");
    (head, body)
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let s = start(&[]);
    let stream = connect(&s);
    let mut reader = BufReader::new(&stream);
    for _ in 0..3 {
        (&stream)
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let (head, body) = read_response(&mut reader);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"<h1>home</h1>");
    }
}

#[test]
fn big_bodies_go_out_exactly_through_sendfile() {
    assert!(
        start(&[]).loaded.contains("\"sendfile_bytes\":0"),
        "copying is the default"
    );
    let s = start(&["--sendfile"]);
    let arena: u64 = s
        .loaded
        .split("\"sendfile_bytes\":")
        .nth(1)
        .and_then(|r| r.split([',', '}']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no sendfile_bytes in {}", s.loaded));
    assert_eq!(
        arena,
        32 * 1024 * 1024 + 1024 * 1024 + 13 + 300 * 1024,
        "the big bodies and the big variant live in the sendfile arena"
    );
    let body = pattern(1024 * 1024 + 13, 1);
    // Pipelined on one connection: whole body, a range inside it, HEAD, a small heap page,
    // the big variant, and the whole body again, each checked byte for byte.
    let stream = connect(&s);
    (&stream)
        .write_all(
            b"GET /pattern.bin HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /pattern.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=100001-700000\r\n\r\n\
              HEAD /pattern.bin HTTP/1.1\r\nHost: x\r\n\r\n\
              GET / HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /pattern.bin HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n\
              GET /pattern.bin HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .expect("write");
    let mut reader = BufReader::new(&stream);
    let (head, got) = read_response(&mut reader);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(got == body, "whole body differs");
    let (head, got) = read_response(&mut reader);
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    assert!(got == body[100_001..=700_000], "range differs");
    let head = read_head(&mut reader).to_ascii_lowercase();
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    let (head, got) = read_response(&mut reader);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(got, b"<h1>home</h1>", "no body bytes leaked after HEAD");
    let (head, got) = read_response(&mut reader);
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    assert!(got == pattern(300 * 1024, 2), "variant differs");
    let (_, got) = read_response(&mut reader);
    assert!(got == body, "whole body differs the second time");
}

#[test]
fn slowloris_connection_is_closed() {
    let s = start(&["--header-timeout", "1"]);
    let mut stream = connect(&s);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("partial headers");
    // The server closes the connection (possibly after a 408): the read ends well before
    // the client's own timeout, which would mean the server hung on to it.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = Vec::new();
    stream
        .read_to_end(&mut buf)
        .expect("the server closes a connection whose headers never finish");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "no response to an unfinished request but a timeout: {text}"
    );
}

#[test]
fn idle_keep_alive_connection_is_closed() {
    let s = start(&["--header-timeout", "1"]);
    let stream = connect(&s);
    (&stream)
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut reader = BufReader::new(&stream);
    let (head, _) = read_response(&mut reader);
    assert!(head.starts_with("HTTP/1.1 200"));
    let mut rest = Vec::new();
    let n = reader
        .read_to_end(&mut rest)
        .expect("server closes the idle connection");
    assert_eq!(n, 0);
}

#[test]
fn malformed_requests_get_400_and_the_server_lives_on() {
    let s = start(&[]);
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",
    ] {
        let mut stream = connect(&s);
        stream.write_all(garbage).expect("write");
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 4") || text.starts_with("HTTP/1.1 505"),
            "{text}"
        );
    }
    let stream = connect(&s);
    (&stream)
        .write_all(b"GET /../secret-sibling.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let (head, _) = read_response(&mut BufReader::new(&stream));
    assert!(
        head.starts_with("HTTP/1.1 400"),
        "traversal over the wire: {head}"
    );
    let stream = connect(&s);
    (&stream)
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let (head, _) = read_response(&mut BufReader::new(&stream));
    assert!(head.starts_with("HTTP/1.1 200"), "still serving: {head}");
}

#[test]
fn oversized_headers_are_refused() {
    let s = start(&[]);
    let mut stream = connect(&s);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    // The server may stop reading (and reset) once the head is too big: a failed write
    // after that is expected, a missing answer is not.
    let _ = stream.write_all(big.as_bytes());
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = Vec::new();
    let read = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "431 for a head over the limit, then close ({read:?}): {text}"
    );
}

#[test]
fn in_flight_download_completes_across_sigterm() {
    let mut s = start(&["--drain-timeout", "30"]);
    let stream = connect(&s);
    (&stream)
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut reader = BufReader::new(&stream);
    let head = read_head(&mut reader);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut first = vec![0u8; 64 * 1024];
    reader.read_exact(&mut first).expect("first part");
    // The rest is still in flight (it does not fit in the socket buffers) when SIGTERM lands.
    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("rest of the body");
    assert_eq!(
        first.len() + rest.len(),
        32 * 1024 * 1024,
        "the whole file arrived"
    );
    assert!(rest.iter().all(|b| *b == 7));
    let status = s.child.wait().expect("server exits");
    assert!(status.success(), "exit 0 after draining: {status:?}");
}

#[test]
fn connections_spread_over_the_workers_and_all_stop_on_sigterm() {
    let mut s = start_logging(&["--workers", "3"], Stdio::piped());
    let log = BufReader::new(s.child.stdout.take().expect("stdout"));
    // Held open together, 12 connections go to the least busy worker each: four apiece, even
    // when they arrive in one burst (which a shared listening socket gave to whichever worker
    // was awake).
    let streams: Vec<TcpStream> = (0..12).map(|_| connect(&s)).collect();
    for stream in &streams {
        (&*stream)
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
    }
    for stream in &streams {
        let (head, body) = read_response(&mut BufReader::new(stream));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"<h1>home</h1>");
    }
    let mut served = [0; 3];
    for line in log.lines().take(12) {
        let line = line.expect("access log line");
        let worker: usize = line
            .split("\"worker\":")
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no worker in {line}"));
        served[worker] += 1;
    }
    assert_eq!(served, [4, 4, 4], "requests per worker");
    drop(streams);
    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = s.child.wait().expect("server exits");
    assert!(status.success(), "every worker stopped, exit 0: {status:?}");
}

/// One request on a fresh connection; the head (lower-cased) and the body.
fn exchange(s: &Server, request: &str) -> (String, Vec<u8>) {
    let stream = connect(s);
    (&stream).write_all(request.as_bytes()).expect("write");
    let (head, body) = read_response(&mut BufReader::new(&stream));
    (head.to_ascii_lowercase(), body)
}

#[test]
fn http_semantics_over_the_wire() {
    let s = start(&[]);
    let (head, _) = exchange(
        &s,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(
        head.starts_with("http/1.1 405") && head.contains("allow: get, head"),
        "{head}"
    );

    let (head, body) = exchange(
        &s,
        "GET /about/ HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\n\r\n",
    );
    assert!(
        head.contains("content-encoding: br") && head.contains("vary: accept-encoding"),
        "{head}"
    );
    assert!(body.len() < 1200, "compressed body");
    assert!(!head.contains("strict-transport-security"));
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("etag")
        .trim()
        .to_string();

    let (head, body) = exchange(&s, &format!("GET /about/ HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\nIf-None-Match: {etag}\r\n\r\n"));
    assert!(
        head.starts_with("http/1.1 304") && body.is_empty(),
        "{head}"
    );

    let (head, body) = exchange(
        &s,
        "GET /about/index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=3-8\r\n\r\n",
    );
    assert!(
        head.starts_with("http/1.1 206") && head.contains("content-range: bytes 3-8/1200"),
        "{head}"
    );
    assert_eq!(body, b"about<");
    let (head, _) = exchange(
        &s,
        "GET /about/index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=5000-\r\n\r\n",
    );
    assert!(
        head.starts_with("http/1.1 416") && head.contains("content-range: bytes */1200"),
        "{head}"
    );

    let (head, _) = exchange(&s, "GET /about HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        head.starts_with("http/1.1 301") && head.contains("location: /about/"),
        "{head}"
    );
    let (head, body) = exchange(&s, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert_eq!(body, b"<p>custom 404</p>");

    let (head, _) = exchange(
        &s,
        "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n",
    );
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );
    assert!(
        head.contains("x-content-type-options: nosniff") && !head.contains("\nserver:"),
        "{head}"
    );

    // HEAD: the length of the full representation, then the next response on the same
    // connection starts right away (no body bytes in between).
    let stream = connect(&s);
    (&stream)
        .write_all(b"HEAD /about/ HTTP/1.1\r\nHost: x\r\n\r\nGET /secret-sibling.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut reader = BufReader::new(&stream);
    let head = read_head(&mut reader).to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 200") && head.contains("content-length: 1200"),
        "{head}"
    );
    let (next, body) = read_response(&mut reader);
    assert!(next.starts_with("HTTP/1.1 200"), "{next}");
    assert_eq!(body, b"inside");
}

/// Every place under the cap held by an idle keep-alive connection must not lock a newcomer
/// out until the header timeout: the server closes its longest-idle connections instead.
#[test]
fn at_the_connection_cap_a_fresh_request_is_answered() {
    let s = start(&["--max-connections", "20", "--header-timeout", "120"]);
    let held: Vec<TcpStream> = (0..20)
        .map(|_| {
            let stream = connect(&s);
            (&stream)
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
            let (head, _) = read_response(&mut BufReader::new(&stream));
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            stream
        })
        .collect();
    let fresh = TcpStream::connect(s.addr).expect("connect");
    // Far below the header timeout (120 s), which the old server made newcomers wait for.
    fresh
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    (&fresh)
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let (head, body) = read_response(&mut BufReader::new(&fresh));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"<h1>home</h1>");
    // Some idle connection was closed to make room.
    let closed = held
        .iter()
        .filter(|c| {
            c.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut buf = [0u8; 1];
            matches!(Read::read(&mut &**c, &mut buf), Ok(0) | Err(_))
        })
        .count();
    assert!(closed >= 1, "no idle connection was closed");
}

/// A client that never reads its response holds a connection only for the write timeout.
#[test]
fn a_client_that_reads_nothing_is_cut_off_after_the_write_timeout() {
    let s = start(&["--max-connections", "1", "--write-timeout", "1"]);
    let stalled = connect(&s);
    (&stalled)
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    // The only place is taken until the server gives up on the stalled download.
    let fresh = TcpStream::connect(s.addr).expect("connect");
    fresh
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    (&fresh)
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let (head, _) = read_response(&mut BufReader::new(&fresh));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // And the stalled download was cut short: far fewer than 32 MiB arrive.
    let mut got = Vec::new();
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = (&stalled).read_to_end(&mut got);
    assert!(got.len() < 32 * 1024 * 1024, "{} bytes", got.len());
}

/// Buffered per worker, the access log still has one whole JSON line per request: none
/// lost at shutdown, none split or interleaved between workers.
#[test]
fn every_request_gets_one_whole_access_log_line_through_shutdown() {
    let mut s = start_logging(&["--workers", "2"], Stdio::piped());
    let stdout = s.child.stdout.take().expect("stdout");
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        BufReader::new(stdout)
            .read_to_string(&mut all)
            .expect("read log");
        all
    });
    let streams: Vec<TcpStream> = (0..4).map(|_| connect(&s)).collect();
    for round in 0..50 {
        for stream in &streams {
            (&*stream)
                .write_all(
                    format!("GET /?r={round} HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"q\r\n\r\n")
                        .as_bytes(),
                )
                .expect("write");
            let (head, _) = read_response(&mut BufReader::new(stream));
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        }
    }
    drop(streams);
    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    assert!(s.child.wait().expect("exit").success());
    let log = collector.join().expect("collector");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 200, "one line per request");
    assert!(lines
        .iter()
        .all(|l| l["user_agent"] == "t\"q" && l["status"] == 200));
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// A wave of thousands of connections must not leave its memory behind: the server gives
/// it back once they are gone (it used to keep growing with every wave).
#[test]
fn memory_held_by_a_wave_of_connections_is_given_back() {
    // Room for 3,000 sockets on each side (the hard limit allows it; the soft one may not).
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on our own process with a valid pointer.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(16_384);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_cur >= 7_000,
        "needs 7,000 descriptors: {}",
        limit.rlim_cur
    );
    let s = start(&[]);
    let baseline = rss_kib(s.child.id());
    let wave: Vec<TcpStream> = (0..3_000)
        .map(|_| {
            let stream = connect(&s);
            (&stream)
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
            stream
        })
        .collect();
    for stream in &wave {
        let (head, _) = read_response(&mut BufReader::new(stream));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    let held = rss_kib(s.child.id());
    assert!(
        held > baseline + 10_000,
        "the wave took memory: {baseline} -> {held} KiB"
    );
    drop(wave);
    let mut now = held;
    let started = std::time::Instant::now();
    while now > baseline + (held - baseline) / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "memory not given back: {baseline} KiB before, {held} with the wave, {now} after"
        );
        std::thread::sleep(Duration::from_millis(200));
        now = rss_kib(s.child.id());
    }
}
