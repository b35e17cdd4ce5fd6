//! The socket side: accept connections (up to a cap), speak HTTP/1.1 with keep-alive through
//! hyper, close connections that are slow to send their headers or sit idle, log each
//! request, and on shutdown stop accepting and let in-flight responses finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::handler::{respond, Request, Settings};
use crate::idle::{Registry, RECLAIM_BATCH};
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
    /// A client that reads none of a response for this long is cut off.
    pub write_timeout: Duration,
    pub access_log: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_header_bytes: 16 * 1024,
            write_timeout: Duration::from_secs(60),
            access_log: true,
        }
    }
}

/// How often a full server asks idle connections to close again while it stays full.
const RECLAIM_EVERY: Duration = Duration::from_millis(50);

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
    /// Every open connection, to close idle ones when the server is full.
    pub connections: Arc<Registry>,
    /// Becomes true when the server stops: connections finish their response and close.
    pub stopping: watch::Receiver<bool>,
}

impl Shared {
    /// What the connections of one server share; the sender stops them.
    pub fn new(
        site: SharedSite,
        settings: Arc<Settings>,
        limits: Limits,
        preview: Option<Arc<Preview>>,
    ) -> (Shared, watch::Sender<bool>) {
        let (stop, stopping) = watch::channel(false);
        let shared = Shared {
            site,
            settings,
            limits,
            preview,
            worker: 0,
            connections: Registry::new(),
            stopping,
        };
        (shared, stop)
    }
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
    let (shared, stop) = Shared::new(site, settings, limits, preview);
    tokio::pin!(shutdown);
    while let Some((stream, peer, permit)) =
        next_connection(&listener, &permits, &shared.connections, shutdown.as_mut()).await
    {
        spawn_connection(stream, peer, &shared, permit);
    }
    drop(listener);
    let _ = stop.send(true);
    drain(&shared).await;
    Ok(())
}

/// Waits for a place under the connection cap, then for a connection; `None` once
/// `shutdown` resolves. A full server asks its longest-idle keep-alive connections to close
/// (again every [`RECLAIM_EVERY`] while it stays full), so newcomers are not locked out.
pub async fn next_connection(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    connections: &Registry,
    mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = loop {
        if let Ok(p) = permits.clone().try_acquire_owned() {
            break p;
        }
        connections.reclaim(RECLAIM_BATCH);
        tokio::select! {
            p = permits.clone().acquire_owned() => break p.ok()?,
            () = tokio::time::sleep(RECLAIM_EVERY) => {}
            () = &mut shutdown => return None,
        }
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

/// After the stop signal: lets in-flight responses finish (idle connections close at
/// once), up to the drain timeout.
pub async fn drain(shared: &Shared) {
    tokio::select! {
        () = shared.connections.closed() => {}
        () = tokio::time::sleep(shared.limits.drain_timeout) => {}
    }
}

/// Serves one accepted connection on the current runtime until it closes: the client
/// closes, it sits idle past the header timeout, the full server reclaims it, or the server
/// stops (after its in-flight response). `ticket` is dropped with the connection: it
/// holds the connection's place under the cap.
pub fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    ticket: impl Send + 'static,
) {
    let _ = stream.set_nodelay(true);
    let arena = shared.site.read().ok().and_then(|s| s.arena.clone());
    let stream = crate::sendfile::Stream::new(stream, arena, shared.limits.write_timeout);
    let registered = shared.connections.register();
    let state = registered.handle.clone();
    let Shared {
        site,
        settings,
        limits,
        preview,
        worker,
        mut stopping,
        ..
    } = shared.clone();
    let log = limits.access_log.then_some(worker);
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        state.begin();
        let site = site.read().map(|s| s.clone()).unwrap_or_default();
        let settings = settings.clone();
        let events = preview
            .as_ref()
            .filter(|_| req.uri().path() == EVENTS_PATH)
            .map(|p| p.subscribe());
        // An event stream stays busy for its whole life: it is never idle to reclaim.
        let response = match events {
            Some(events) => event_stream(events),
            None => {
                let r = handle(&site, &settings, &req, peer, log).map(Either::Left);
                state.end();
                r
            }
        };
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::spawn(async move {
        let state = registered.handle.clone();
        let mut conn = std::pin::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return drop((registered, ticket)),
            () = state.asked_to_close() => {}
            () = stopped(&mut stopping) => {}
        }
        // Closes at once when idle, else after the response in flight.
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
        drop((registered, ticket));
    });
}

/// Resolves when the server stops; never, if the server's stop sender is gone (so a dropped
/// sender cannot close every connection at once).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
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

/// One JSON line per request (see [`access_log`](crate::access_log)).
fn access_log(
    req: &hyper::Request<Incoming>,
    target: &str,
    response: &http::Response<Bytes>,
    peer: SocketAddr,
    worker: usize,
    started: Instant,
) {
    crate::access_log::record(&crate::access_log::Entry {
        method: req.method().as_str(),
        path: target,
        status: response.status().as_u16(),
        bytes: response.body().len(),
        duration_us: started.elapsed().as_micros() as u64,
        user_agent: req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        remote: peer,
        worker,
    });
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
