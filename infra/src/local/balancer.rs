//! Galley's own load balancer for the local target: a small HTTP/1.1 reverse proxy on a
//! loopback port that splits traffic between release groups by weight, plus a control API
//! (loopback, token-protected) through which `publish` registers containers, switches the
//! split and drains old groups. It runs as a detached `galley balancer` process so the site
//! stays up between publishes.
//!
//! Zero-error switching comes from three things: the split changes atomically for new
//! requests; requests already sent to the old group finish before `drain` returns (and only
//! then are the old containers stopped); a GET or HEAD whose backend fails is retried on the
//! group's other backend.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::routes::Routes;
use super::state::{BalancerInfo, StateDir};

type Body = BoxBody<Bytes, hyper::Error>;

/// How long `drain` waits for in-flight requests of a group, at most.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Headers that belong to one connection, not to the request (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub state: StateDir,
    /// Asked of every container to take it out while it fails and back once it answers.
    pub health_path: String,
    /// The site whose live containers the [`keeper`](super::keeper) keeps running (none:
    /// no keeper, as for a balancer started by an older Galley).
    pub site: Option<String>,
}

/// How often each container's health path is asked.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// A probe that takes longer than this failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Where the balancer serves a site unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// Client connections served at once; more wait in the accept queue.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Control-API connections at once (only `publish` talks to it).
const MAX_ADMIN_CONNECTIONS: usize = 16;

/// The live table, the per-group in-flight counts and where to persist changes.
struct Table {
    routes: RwLock<Routes>,
    inflight: RwLock<HashMap<String, Arc<AtomicUsize>>>,
    requests: AtomicU64,
    path: PathBuf,
    /// Containers that failed a request or a probe: tried only when no other is up, and
    /// taken back once their health path answers.
    down: RwLock<HashSet<SocketAddr>>,
}

impl Table {
    /// The group and backends for the next request, counted in flight. The count is taken
    /// while the table is read-locked, so a `drain` that starts after a switch sees every
    /// request that chose the old group.
    fn choose(&self) -> Option<(String, Vec<SocketAddr>, InFlight)> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let routes = self.routes.read().ok()?;
        let group = routes.pick(n)?.to_string();
        let mut backends = routes.groups.get(&group)?.clone();
        let counter = self.counter(&group);
        counter.fetch_add(1, Ordering::SeqCst);
        drop(routes);
        // Round robin over the containers that are up; the ones down come last, as a last
        // resort for a request that every other one failed.
        if !backends.is_empty() {
            let len = backends.len();
            backends.rotate_left(n as usize % len);
        }
        if let Ok(down) = self.down.read() {
            backends.sort_by_key(|b| down.contains(b));
        }
        Some((group, backends, InFlight(counter)))
    }

    fn mark(&self, backend: SocketAddr, up: bool) {
        if let Ok(mut down) = self.down.write() {
            if up {
                down.remove(&backend);
            } else {
                down.insert(backend);
            }
        }
    }

    fn all_backends(&self) -> Vec<SocketAddr> {
        self.routes
            .read()
            .map(|r| r.groups.values().flatten().copied().collect())
            .unwrap_or_default()
    }

    fn counter(&self, group: &str) -> Arc<AtomicUsize> {
        if let Some(c) = self
            .inflight
            .read()
            .ok()
            .and_then(|m| m.get(group).cloned())
        {
            return c;
        }
        match self.inflight.write() {
            Ok(mut m) => m.entry(group.to_string()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Applies a change and writes the table to disk; a refused change leaves both as they
    /// were.
    fn update(&self, change: impl FnOnce(&mut Routes) -> Result<(), String>) -> Result<(), String> {
        let mut routes = self.routes.write().map_err(|_| "routing table poisoned")?;
        let mut next = routes.clone();
        change(&mut next)?;
        next.save(&self.path).map_err(|e| format!("{e:#}"))?;
        *routes = next;
        Ok(())
    }

    fn snapshot(&self) -> serde_json::Value {
        let routes = self.routes.read().map(|r| r.clone()).unwrap_or_default();
        let inflight: HashMap<String, usize> = self
            .inflight
            .read()
            .map(|m| {
                m.iter()
                    .map(|(g, c)| (g.clone(), c.load(Ordering::SeqCst)))
                    .collect()
            })
            .unwrap_or_default();
        let down: Vec<SocketAddr> = self
            .down
            .read()
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default();
        serde_json::json!({
            "routes": routes,
            "down": down,
            "inflight": inflight,
            "requests": self.requests.load(Ordering::Relaxed),
        })
    }
}

/// Decrements a group's in-flight count when the response body is done (or dropped).
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Binds both listeners, records where they are and serves until SIGTERM/SIGINT or a
/// control-API shutdown, then lets in-flight requests finish.
pub async fn run(config: Config) -> Result<()> {
    let routes = Routes::load(&config.state.routes_path())?;
    let table = Arc::new(Table {
        routes: RwLock::new(routes),
        inflight: RwLock::default(),
        requests: AtomicU64::new(0),
        path: config.state.routes_path(),
        down: RwLock::default(),
    });
    let proxy = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let admin = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("listening for the control API")?;
    let token = crate::token::random_hex("the control token")?;
    let info = BalancerInfo {
        pid: std::process::id(),
        listen: proxy.local_addr()?,
        admin: admin.local_addr()?,
        token: token.clone(),
    };
    config.state.write_balancer(&info)?;
    eprintln!(
        "galley balancer: serving {} (control API on {})",
        info.listen, info.admin
    );
    let stop = Arc::new(Notify::new());
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(2)));
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let admin_task = tokio::spawn(serve_admin(admin, table.clone(), token, stop.clone()));
    let probe_task = tokio::spawn(probe(table.clone(), client.clone(), config.health_path));
    let keeper_task = match (&config.site, galley_image::docker::connect().await) {
        (Some(site), Ok(docker)) => {
            let table = table.clone();
            let live = move || {
                table
                    .routes
                    .read()
                    .map(|r| r.forward.iter().map(|(g, _)| g.clone()).collect())
                    .unwrap_or_default()
            };
            Some(tokio::spawn(super::keeper::keep(
                docker,
                site.clone(),
                live,
                |line| eprintln!("{line}"),
            )))
        }
        (Some(_), Err(e)) => {
            eprintln!("galley balancer: no keeper (the Docker engine: {e})");
            None
        }
        (None, _) => None,
    };
    let shutdown = async {
        tokio::select! {
            () = galley_server::listener::shutdown_signal() => {}
            () = stop.notified() => {}
        }
    };
    tokio::pin!(shutdown);
    // The server's accept step: a cap on connections, back-off on accept errors.
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let connections = galley_server::idle::Registry::new();
    while let Some((stream, peer, permit)) =
        galley_server::listener::next_connection(&proxy, &permits, &connections, shutdown.as_mut())
            .await
    {
        let _ = stream.set_nodelay(true);
        let table = table.clone();
        let client = client.clone();
        let service = service_fn(move |req| forward(table.clone(), client.clone(), req, peer));
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(proxy);
    admin_task.abort();
    probe_task.abort();
    if let Some(keeper) = keeper_task {
        keeper.abort();
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {}
    }
    Ok(())
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).map_err(|n| match n {}).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn forward(
    table: Arc<Table>,
    client: Client<HttpConnector, Body>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let Some((group, backends, guard)) = table.choose() else {
        return Ok(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no release is live yet: run `galley publish --target local`\n",
        ));
    };
    if backends.is_empty() {
        return Ok(text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("release {group} has no registered containers\n"),
        ));
    }
    let (parts, body) = req.into_parts();
    // A GET or HEAD has no body, so it can be sent again to another backend.
    let retryable = parts.method == Method::GET || parts.method == Method::HEAD;
    let mut body = Some(body);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut last_error = String::new();
    // Already in order: round robin among those up, the ones down last (`choose`).
    for &addr in &backends {
        let upstream_body: Body = if retryable {
            Empty::new().map_err(|n| match n {}).boxed()
        } else {
            match body.take() {
                Some(b) => b.boxed(),
                None => break,
            }
        };
        let mut upstream = Request::new(upstream_body);
        *upstream.method_mut() = parts.method.clone();
        *upstream.uri_mut() = match format!("http://{addr}{path}").parse() {
            Ok(u) => u,
            Err(_) => return Ok(text(StatusCode::BAD_REQUEST, "bad request target\n")),
        };
        let headers = upstream.headers_mut();
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Ok(v) = peer.ip().to_string().parse() {
            headers.append("x-forwarded-for", v);
        }
        if !headers.contains_key("x-forwarded-proto") {
            headers.insert(
                "x-forwarded-proto",
                hyper::header::HeaderValue::from_static("http"),
            );
        }
        match client.request(upstream).await {
            Ok(response) => {
                let (mut head, body) = response.into_parts();
                for name in HOP_BY_HOP {
                    head.headers.remove(name);
                }
                // The guard lives as long as the body: the request counts as in flight
                // until its last byte is sent.
                let body = body
                    .map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    })
                    .boxed();
                return Ok(Response::from_parts(head, body));
            }
            Err(e) => {
                last_error = format!("{addr}: {e}");
                // Out until its health path answers again (the prober brings it back).
                table.mark(addr, false);
                if !retryable && !e.is_connect() {
                    break;
                }
            }
        }
    }
    Ok(text(
        StatusCode::BAD_GATEWAY,
        format!("no container of release {group} answered ({last_error})\n"),
    ))
}

/// Asks every container for its health path, forever: one that fails (or does not answer
/// within [`PROBE_TIMEOUT`]) is taken out, one that answers 2xx is taken back in.
async fn probe(table: Arc<Table>, client: Client<HttpConnector, Body>, health_path: String) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for backend in table.all_backends() {
            let Ok(uri) = format!("http://{backend}{health_path}").parse::<hyper::Uri>() else {
                continue;
            };
            let mut req = Request::new(Empty::new().map_err(|n| match n {}).boxed());
            *req.uri_mut() = uri;
            let up = matches!(
                tokio::time::timeout(PROBE_TIMEOUT, client.request(req)).await,
                Ok(Ok(r)) if r.status().is_success()
            );
            table.mark(backend, up);
        }
    }
}

async fn serve_admin(listener: TcpListener, table: Arc<Table>, token: String, stop: Arc<Notify>) {
    let token = Arc::new(format!("Bearer {token}"));
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_ADMIN_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let table = table.clone();
        let token = token.clone();
        let stop = stop.clone();
        let service = service_fn(move |req| {
            let table = table.clone();
            let token = token.clone();
            let stop = stop.clone();
            async move { Ok::<_, Infallible>(control(&table, &token, &stop, req).await) }
        });
        tokio::spawn(async move {
            // A client that never finishes its request is cut off, as on the proxy side.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

fn json(value: &serde_json::Value) -> Response<Body> {
    let mut r = text(StatusCode::OK, value.to_string());
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn read_json<T: serde::de::DeserializeOwned>(req: Request<Incoming>) -> Result<T, String> {
    let bytes = Limited::new(req.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|e| format!("reading the request: {e}"))?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| format!("bad JSON: {e}"))
}

/// The control API: `GET /routes`, `PUT /groups/NAME` (backends), `DELETE /groups/NAME`,
/// `PUT /forward` (weights), `POST /groups/NAME/drain`, `POST /shutdown`.
async fn control(
    table: &Table,
    token: &str,
    stop: &Notify,
    req: Request<Incoming>,
) -> Response<Body> {
    let authorized = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(token);
    if !authorized {
        return text(StatusCode::UNAUTHORIZED, "missing or wrong token\n");
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result: Result<serde_json::Value, (StatusCode, String)> =
        match (&method, segments.as_slice()) {
            (&Method::GET, ["routes"]) => Ok(table.snapshot()),
            (&Method::PUT, ["groups", name]) => {
                let name = name.to_string();
                match read_json::<Vec<SocketAddr>>(req).await {
                    Ok(backends) => table
                        .update(|r| {
                            r.groups.insert(name, backends);
                            Ok(())
                        })
                        .map(|()| table.snapshot())
                        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e)),
                    Err(e) => Err((StatusCode::BAD_REQUEST, e)),
                }
            }
            (&Method::DELETE, ["groups", name]) => table
                .update(|r| {
                    if r.forward.iter().any(|(g, _)| g == name) {
                        return Err(format!(
                            "{name} still takes traffic; forward elsewhere first"
                        ));
                    }
                    r.groups.remove(*name);
                    Ok(())
                })
                .map(|()| table.snapshot())
                .map_err(|e| (StatusCode::CONFLICT, e)),
            (&Method::PUT, ["forward"]) => match read_json::<Vec<(String, u8)>>(req).await {
                Ok(weights) => table
                    .update(|r| r.set_forward(weights))
                    .map(|()| table.snapshot())
                    .map_err(|e| (StatusCode::CONFLICT, e)),
                Err(e) => Err((StatusCode::BAD_REQUEST, e)),
            },
            (&Method::POST, ["groups", name, "drain"]) => drain(table, name).await,
            (&Method::POST, ["shutdown"]) => {
                stop.notify_one();
                Ok(serde_json::json!({"stopping": true}))
            }
            _ => Err((StatusCode::NOT_FOUND, format!("no {method} {path}"))),
        };
    match result {
        Ok(v) => json(&v),
        Err((status, e)) => text(status, format!("{e}\n")),
    }
}

/// Waits until no request of `group` is in flight (it must no longer take traffic), then
/// removes its backends.
async fn drain(table: &Table, group: &str) -> Result<serde_json::Value, (StatusCode, String)> {
    let takes_traffic = table
        .routes
        .read()
        .map(|r| r.forward.iter().any(|(g, _)| g == group))
        .unwrap_or(false);
    if takes_traffic {
        return Err((
            StatusCode::CONFLICT,
            format!("{group} still takes traffic; forward elsewhere first"),
        ));
    }
    let counter = table.counter(group);
    let started = Instant::now();
    while counter.load(Ordering::SeqCst) > 0 && started.elapsed() < DRAIN_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let left = counter.load(Ordering::SeqCst);
    table
        .update(|r| {
            if let Some(b) = r.groups.get_mut(group) {
                b.clear();
            }
            Ok(())
        })
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(serde_json::json!({
        "drained": left == 0,
        "left_in_flight": left,
        "waited_ms": started.elapsed().as_millis() as u64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(backends: &[SocketAddr]) -> Table {
        let mut routes = Routes::default();
        routes.groups.insert("g".into(), backends.to_vec());
        routes
            .set_forward(vec![("g".into(), 100)])
            .expect("forward");
        Table {
            routes: RwLock::new(routes),
            inflight: RwLock::default(),
            requests: AtomicU64::new(0),
            path: PathBuf::from("/nonexistent/routes.json"),
            down: RwLock::default(),
        }
    }

    #[test]
    fn requests_go_round_robin_to_containers_that_are_up_and_down_ones_come_last() {
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:2".parse().expect("addr");
        let t = table(&[a, b]);
        let firsts: Vec<SocketAddr> = (0..4).map(|_| t.choose().expect("route").1[0]).collect();
        assert_eq!(firsts, vec![a, b, a, b], "round robin");
        t.mark(a, false);
        for _ in 0..4 {
            let (_, order, _) = t.choose().expect("route");
            assert_eq!(
                order,
                vec![b, a],
                "the container that is down is tried last"
            );
        }
        t.mark(a, true);
        let firsts: Vec<SocketAddr> = (0..2).map(|_| t.choose().expect("route").1[0]).collect();
        assert!(firsts.contains(&a), "back in rotation once up: {firsts:?}");
    }
}
