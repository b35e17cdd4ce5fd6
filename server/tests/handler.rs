//! Every response rule of the handler, over `http` types (the socket tests cover the wire).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use galley_server::handler::{respond, Request, Settings};
use galley_server::site::{File, Site};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

fn site() -> Site {
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let f = |path: &str, bytes: Vec<u8>| File {
        path: path.into(),
        bytes,
        modified,
    };
    Site::from_files(vec![
        f("index.html", "<h1>home</h1>".repeat(100).into_bytes()),
        f("about/index.html", b"<p>about</p>".to_vec()),
        f("404.html", b"<p>custom 404</p>".to_vec()),
        f("data.bin", (0u8..=255).cycle().take(1000).collect()),
        f("assets/app.3f9a1c2b.js", b"console.log(1)".to_vec()),
    ])
}

fn get(site: &Site, method: Method, target: &str, headers: &[(&str, &str)]) -> Response<Bytes> {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    respond(
        site,
        &Settings::default(),
        &Request {
            method: &method,
            target,
            headers: &map,
        },
    )
}

fn header<'a>(r: &'a Response<Bytes>, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn other_methods_get_405_with_allow() {
    let r = get(&site(), Method::POST, "/", &[]);
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&r, "allow"), Some("GET, HEAD"));
}

#[test]
fn traversal_gets_400() {
    for t in ["/../secret", "/%2e%2e/secret", "/a%00b", "/..%5csecret"] {
        assert_eq!(
            get(&site(), Method::GET, t, &[]).status(),
            StatusCode::BAD_REQUEST,
            "{t}"
        );
    }
}

#[test]
fn pretty_urls_and_custom_404() {
    let s = site();
    let r = get(&s, Method::GET, "/about?x=1", &[]);
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&r, "location"), Some("/about/?x=1"));
    let r = get(&s, Method::GET, "/about/", &[]);
    assert_eq!(r.body().as_ref(), b"<p>about</p>");
    let r = get(&s, Method::GET, "/nope", &[]);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.body().as_ref(), b"<p>custom 404</p>");
}

#[test]
fn health_names_the_release() {
    let s = site();
    let r = get(&s, Method::GET, "/healthz", &[]);
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(r.body()).expect("json");
    assert_eq!(v["release"]["digest"], s.digest());
    assert_eq!(v["files"], 5);
}

#[test]
fn encoding_is_negotiated_and_varies() {
    let s = site();
    let r = get(&s, Method::GET, "/", &[("accept-encoding", "gzip, br")]);
    assert_eq!(header(&r, "content-encoding"), Some("br"));
    assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
    let br_etag = header(&r, "etag").expect("etag").to_string();
    let r = get(
        &s,
        Method::GET,
        "/",
        &[("accept-encoding", "br;q=0.1, gzip")],
    );
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    let mut gz = flate2::read::GzDecoder::new(&r.body()[..]);
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut gz, &mut plain).expect("valid gzip");
    assert_eq!(plain, "<h1>home</h1>".repeat(100));
    let r = get(&s, Method::GET, "/", &[]);
    assert_eq!(header(&r, "content-encoding"), None);
    assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
    assert_ne!(
        header(&r, "etag"),
        Some(br_etag.as_str()),
        "each representation has its own ETag"
    );
}

#[test]
fn conditional_requests_get_304() {
    let s = site();
    let r = get(&s, Method::GET, "/about/", &[]);
    let etag = header(&r, "etag").expect("etag").to_string();
    let lm = header(&r, "last-modified")
        .expect("last-modified")
        .to_string();
    let r = get(&s, Method::GET, "/about/", &[("if-none-match", &etag)]);
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.body().is_empty());
    let r = get(&s, Method::GET, "/about/", &[("if-modified-since", &lm)]);
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = get(
        &s,
        Method::GET,
        "/about/",
        &[("if-none-match", "\"other\""), ("if-modified-since", &lm)],
    );
    assert_eq!(r.status(), StatusCode::OK, "If-None-Match takes precedence");
}

#[test]
fn ranges() {
    let s = site();
    let r = get(
        &s,
        Method::GET,
        "/data.bin",
        &[("range", "bytes=10-19"), ("accept-encoding", "br")],
    );
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&r, "content-range"), Some("bytes 10-19/1000"));
    assert_eq!(r.body().as_ref(), &(10u8..20).collect::<Vec<_>>()[..]);
    assert_eq!(header(&r, "content-length"), Some("10"));
    let r = get(&s, Method::GET, "/data.bin", &[("range", "bytes=5000-")]);
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&r, "content-range"), Some("bytes */1000"));
}

#[test]
fn head_has_length_but_no_body() {
    let r = get(&site(), Method::HEAD, "/about/", &[]);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-length"), Some("12"));
    assert!(r.body().is_empty());
}

#[test]
fn cache_and_security_headers() {
    let s = site();
    let html = get(&s, Method::GET, "/", &[]);
    assert_eq!(header(&html, "cache-control"), Some("no-cache"));
    assert_eq!(header(&html, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&html, "x-frame-options"), Some("SAMEORIGIN"));
    assert!(header(&html, "referrer-policy").is_some());
    assert_eq!(
        header(&html, "strict-transport-security"),
        None,
        "no HSTS over plain HTTP"
    );
    assert!(header(&html, "server").is_none());
    let js = get(
        &s,
        Method::GET,
        "/assets/app.3f9a1c2b.js",
        &[("x-forwarded-proto", "https")],
    );
    assert_eq!(
        header(&js, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(header(&js, "strict-transport-security").is_some());
}
