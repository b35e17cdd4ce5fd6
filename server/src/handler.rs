//! A request in, a response out: the pipeline steps in order, over plain `http` types so it
//! can be tested without sockets. No I/O happens here; the site is already in memory.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::conditional::not_modified;
use crate::encoding::{negotiate, Encoding};
use crate::path::sanitize;
use crate::range::{self, RangeReply};
use crate::security_headers;
use crate::site::{Entry, Lookup, Site};

/// Settings that shape responses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the health check answers (default `/healthz`); it takes precedence over a site
    /// file at the same path.
    pub health_path: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            health_path: "/healthz".to_string(),
        }
    }
}

/// What the request asked for, borrowed from it.
pub struct Request<'a> {
    pub method: &'a Method,
    /// The request target as sent (`/path?query`).
    pub target: &'a str,
    pub headers: &'a HeaderMap,
}

pub fn respond(site: &Site, settings: &Settings, req: &Request) -> Response<Bytes> {
    let head = *req.method == Method::HEAD;
    if !(head || *req.method == Method::GET) {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return finish(r, req, head);
    }
    let Ok(path) = sanitize(req.target) else {
        return finish(plain(StatusCode::BAD_REQUEST, "bad request\n"), req, head);
    };
    let raw_path = req.target.split('?').next().unwrap_or("");
    if raw_path == settings.health_path {
        return finish(health(site), req, head);
    }
    let response = match site.lookup(&path) {
        Lookup::Found(entry) => serve(entry, StatusCode::OK, req),
        Lookup::Redirect(to) => {
            let location = match req.target.split_once('?') {
                Some((_, q)) => format!("{to}?{q}"),
                None => to,
            };
            let mut r = plain(StatusCode::MOVED_PERMANENTLY, "moved\n");
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Lookup::NotFound => match site.get("404.html") {
            Some(page) => {
                let mut r = serve(page, StatusCode::NOT_FOUND, req);
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            None => plain(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    finish(response, req, head)
}

/// A file, negotiated, conditional and ranged.
fn serve(entry: &Entry, status: StatusCode, req: &Request) -> Response<Bytes> {
    let h = req.headers;
    let get = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let range_header = if status == StatusCode::OK {
        get(header::RANGE)
    } else {
        None
    };
    // A ranged request is answered from the identity bytes, so offsets mean what they say.
    let encoding = if range_header.is_some() {
        Encoding::Identity
    } else {
        negotiate(
            get(header::ACCEPT_ENCODING),
            entry.br.is_some(),
            entry.gzip.is_some(),
        )
    };
    let (body, etag) = match encoding {
        Encoding::Brotli => (
            entry.br.clone().unwrap_or_default(),
            variant_etag(&entry.etag, "br"),
        ),
        Encoding::Gzip => (
            entry.gzip.clone().unwrap_or_default(),
            variant_etag(&entry.etag, "gz"),
        ),
        Encoding::Identity => (entry.body.clone(), entry.etag.clone()),
    };
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, entry.content_type)
        .header(header::CACHE_CONTROL, entry.cache_control)
        .header(header::VARY, "Accept-Encoding")
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &entry.last_modified)
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some(enc) = encoding.header_value() {
        builder = builder.header(header::CONTENT_ENCODING, enc);
    }
    if status == StatusCode::OK
        && not_modified(
            get(header::IF_NONE_MATCH),
            get(header::IF_MODIFIED_SINCE),
            &etag,
            entry.modified,
        )
    {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Bytes::new())
            .unwrap_or_default();
    }
    let len = body.len() as u64;
    match range::parse(range_header, len) {
        RangeReply::Full => builder.status(status).body(body).unwrap_or_default(),
        RangeReply::Partial { start, end } => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))
            .body(body.slice(start as usize..=end as usize))
            .unwrap_or_default(),
        RangeReply::Unsatisfiable => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Bytes::new())
            .unwrap_or_default(),
    }
}

/// Each representation needs its own strong validator.
fn variant_etag(etag: &str, suffix: &str) -> String {
    format!("{}-{suffix}\"", etag.trim_end_matches('"'))
}

fn health(site: &Site) -> Response<Bytes> {
    let body = serde_json::json!({
        "status": "ok",
        "release": { "digest": site.digest, "built": site.built },
        "files": site.len(),
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Bytes::from(format!("{body}\n")))
        .unwrap_or_default()
}

fn plain(status: StatusCode, text: &'static str) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Bytes::from_static(text.as_bytes()))
        .unwrap_or_default()
}

/// Headers every response gets; HEAD keeps the length but drops the body.
fn finish(mut r: Response<Bytes>, req: &Request, head: bool) -> Response<Bytes> {
    let https = req
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    security_headers::apply(r.headers_mut(), https);
    let len = r.body().len();
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if head {
        *r.body_mut() = Bytes::new();
    }
    r
}
