//! The socket side: accept connections (up to a cap), speak HTTP/1.1 with keep-alive through
//! hyper, close connections that are slow to send their headers or sit idle, log each
//! request, and on shutdown stop accepting and let in-flight responses finish.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::handler::{respond, Request, Settings};
use crate::preview::{Events, Preview, EVENTS_PATH};
use crate::site::Site;

/// Limits and switches for the listener.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a client has to send a request's headers, from connecting or from the end of the
    /// previous response: closes slowloris and idle keep-alive connections alike.
    pub header_timeout: Duration,
    /// Time in-flight responses get to finish after shutdown starts.
    pub drain_timeout: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request head (request line and headers) accepted.
    pub max_header_bytes: usize,
    pub access_log: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_header_bytes: 16 * 1024,
            access_log: true,
        }
    }
}

/// Pause after a failed accept (e.g. EMFILE), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The site being served; `galley serve` swaps in each new build.
pub type SharedSite = Arc<RwLock<Arc<Site>>>;

/// What every connection of one server shares.
#[derive(Clone)]
pub struct Shared {
    pub site: SharedSite,
    pub settings: Arc<Settings>,
    pub limits: Limits,
    /// The live-reload event stream (only `galley serve` has one).
    pub preview: Option<Arc<Preview>>,
    /// Which worker thread serves these connections, for the access log.
    pub worker: usize,
}

/// Serves until `shutdown` resolves, then drains. Returns once every connection is done or
/// the drain timeout passed.
/// `preview` adds the live-reload event stream (only `galley serve` passes one).
pub async fn serve(
    listener: TcpListener,
    site: SharedSite,
    settings: Arc<Settings>,
    limits: Limits,
    preview: Option<Arc<Preview>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let shared = Shared {
        site,
        settings,
        limits,
        preview,
        worker: 0,
    };
    tokio::pin!(shutdown);
    while let Some((stream, peer, permit)) =
        next_connection(&listener, &permits, shutdown.as_mut()).await
    {
        spawn_connection(stream, peer, &shared, &graceful, permit);
    }
    drop(listener);
    drain(graceful, shared.limits.drain_timeout).await;
    Ok(())
}

/// Waits for a place under the connection cap, then for a connection; `None` once
/// `shutdown` resolves.
pub(crate) async fn next_connection(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = tokio::select! {
        p = permits.clone().acquire_owned() => p.ok()?,
        () = &mut shutdown => return None,
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => return Some((stream, peer, permit)),
                // Out of file descriptors and the like: these repeat at once, so wait a moment
                // (instead of spinning a core) and keep serving the connections we have.
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            () = &mut shutdown => return None,
        }
    }
}

/// Lets in-flight responses finish (idle connections close at once), up to `timeout`.
pub async fn drain(graceful: GracefulShutdown, timeout: Duration) {
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(timeout) => {}
    }
}

/// Serves one accepted connection on the current runtime until it closes (or `graceful`
/// ends it after its in-flight response). `ticket` is dropped with the connection: it holds
/// the connection's place under the cap.
pub fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    graceful: &GracefulShutdown,
    ticket: impl Send + 'static,
) {
    let _ = stream.set_nodelay(true);
    let arena = shared.site.read().ok().and_then(|s| s.arena.clone());
    let stream = crate::sendfile::Stream::new(stream, arena);
    let Shared {
        site,
        settings,
        limits,
        preview,
        worker,
    } = shared.clone();
    let log = limits.access_log.then_some(worker);
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let site = site.read().map(|s| s.clone()).unwrap_or_default();
        let settings = settings.clone();
        let events = preview
            .as_ref()
            .filter(|_| req.uri().path() == EVENTS_PATH)
            .map(|p| p.subscribe());
        async move {
            Ok::<_, Infallible>(match events {
                Some(events) => event_stream(events),
                None => handle(&site, &settings, &req, peer, log).map(Either::Left),
            })
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        let _ = conn.await;
        drop(ticket);
    });
}

fn handle(
    site: &Site,
    settings: &Settings,
    req: &hyper::Request<Incoming>,
    peer: SocketAddr,
    log: Option<usize>,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let response = respond(
        site,
        settings,
        &Request {
            method: req.method(),
            target,
            headers: req.headers(),
        },
    );
    if let Some(worker) = log {
        access_log(req, target, &response, peer, worker, started);
    }
    response.map(Full::new)
}

fn event_stream(events: Events) -> hyper::Response<Either<Full<Bytes>, Events>> {
    let mut r = hyper::Response::new(Either::Right(events));
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}

/// One JSON line per request on stdout.
fn access_log(
    req: &hyper::Request<Incoming>,
    target: &str,
    response: &http::Response<Bytes>,
    peer: SocketAddr,
    worker: usize,
    started: Instant,
) {
    let line = serde_json::json!({
        "method": req.method().as_str(),
        "path": target,
        "status": response.status().as_u16(),
        "bytes": response.body().len(),
        "duration_us": started.elapsed().as_micros() as u64,
        "user_agent": req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()),
        "remote": peer.ip().to_string(),
        "worker": worker,
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
