//! A small HTTP proxy that injects faults: it forwards every request to a real upstream
//! (the registry, moto) unless a rule says to answer with an error status instead. Tests use
//! it to make a chosen call fail (a 500 mid-upload, an AWS error on one API action).

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

/// What the rule sees of a request.
pub struct Seen<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// A rule's status that means: never answer (a hung endpoint).
pub const HANG: u16 = 0;

type Rule = dyn Fn(&Seen<'_>) -> Option<(u16, String)> + Send + Sync;

pub struct FaultProxy {
    pub port: u16,
    injected: Arc<AtomicUsize>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:PORT`); `rule` returns a status to inject.
    pub fn start(
        upstream: String,
        rule: impl Fn(&Seen<'_>) -> Option<u16> + Send + Sync + 'static,
    ) -> FaultProxy {
        FaultProxy::start_with_body(upstream, move |seen| {
            rule(seen).map(|status| (status, "injected fault".to_string()))
        })
    }

    /// Like [`FaultProxy::start`], with the answer's body too (an AWS error document, say).
    pub fn start_with_body(
        upstream: String,
        rule: impl Fn(&Seen<'_>) -> Option<(u16, String)> + Send + Sync + 'static,
    ) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = std_listener.local_addr().expect("proxy addr").port();
        std_listener.set_nonblocking(true).expect("nonblocking");
        let injected = Arc::new(AtomicUsize::new(0));
        let rule: Arc<Rule> = Arc::new(rule);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client");
        let counter = injected.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (rule, client, upstream, counter) = (
                    rule.clone(),
                    client.clone(),
                    upstream.clone(),
                    counter.clone(),
                );
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (rule, client, upstream, counter) = (
                            rule.clone(),
                            client.clone(),
                            upstream.clone(),
                            counter.clone(),
                        );
                        async move {
                            Ok::<_, Infallible>(
                                handle(req, &rule, &client, &upstream, &counter).await,
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            port,
            injected,
            runtime: Some(runtime),
        }
    }

    /// How many requests got an injected fault so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    /// Tests may drop the proxy inside their own async runtime, where a blocking shutdown
    /// would panic.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    rule: &Arc<Rule>,
    client: &reqwest::Client,
    upstream: &str,
    counter: &AtomicUsize,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    let seen = Seen {
        method: parts.method.as_str(),
        path: &path,
        headers: &parts.headers,
        body: &body,
    };
    if let Some((status, body)) = rule(&seen) {
        counter.fetch_add(1, Ordering::SeqCst);
        if status == HANG {
            return std::future::pending().await;
        }
        return Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "text/xml")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default();
    }
    let mut forward = client.request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            forward = forward.header(name, value);
        }
    }
    let resp = match forward.body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            return Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(e.to_string())))
                .unwrap_or_default()
        }
    };
    let mut out = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            out = out.header(name, value);
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    out.body(Full::new(bytes)).unwrap_or_default()
}
