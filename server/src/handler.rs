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

/// The port the server listens on unless told otherwise (and the one the image exposes).
pub const DEFAULT_PORT: u16 = 8080;

/// Where the health check answers unless told otherwise.
pub const DEFAULT_HEALTH_PATH: &str = "/healthz";

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
            health_path: DEFAULT_HEALTH_PATH.to_string(),
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
    let ready = &entry.headers;
    let (body, etag) = match encoding {
        Encoding::Brotli => (entry.br.clone().unwrap_or_default(), &ready.etag_br),
        Encoding::Gzip => (entry.gzip.clone().unwrap_or_default(), &ready.etag_gzip),
        Encoding::Identity => (entry.body.clone(), &ready.etag),
    };
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.reserve(16);
    headers.insert(header::CONTENT_TYPE, ready.content_type.clone());
    headers.insert(header::CACHE_CONTROL, ready.cache_control.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::LAST_MODIFIED, ready.last_modified.clone());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(enc) = encoding.header_value() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    let etag_text = etag.to_str().unwrap_or("");
    if status == StatusCode::OK
        && not_modified(
            get(header::IF_NONE_MATCH),
            get(header::IF_MODIFIED_SINCE),
            etag_text,
            entry.modified,
        )
    {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    let len = body.len() as u64;
    match range::parse(range_header, len) {
        RangeReply::Full => *response.body_mut() = body,
        RangeReply::Partial { start, end } => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            content_range(
                response.headers_mut(),
                &format!("bytes {start}-{end}/{len}"),
            );
            *response.body_mut() = body.slice(start as usize..=end as usize);
        }
        RangeReply::Unsatisfiable => {
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            content_range(response.headers_mut(), &format!("bytes */{len}"));
        }
    }
    response
}

fn content_range(headers: &mut HeaderMap, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(header::CONTENT_RANGE, v);
    }
}

fn health(site: &Site) -> Response<Bytes> {
    let body = serde_json::json!({
        "status": "ok",
        "release": { "digest": site.digest(), "built": site.built },
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
