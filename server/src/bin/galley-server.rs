//! `galley-server`: serves a built site from memory. The binary that goes into the image.
//!
//! `galley-server --root DIR [--listen ADDR]`; every option can also come from an environment
//! variable, so no config file is needed. `galley-server --check URL` is a health probe that
//! needs no shell (for the image's HEALTHCHECK): exit 0 on a 200, else 1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::Parser;
use galley_server::handler::Settings;
use galley_server::listener::{shutdown_signal, Limits, Shared};
use galley_server::site::Site;

#[derive(Parser)]
#[command(
    name = "galley-server",
    version,
    about = "Serve a built static site from memory."
)]
struct Args {
    /// The built site.
    #[arg(long, env = "GALLEY_ROOT", default_value = "/site")]
    root: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "GALLEY_LISTEN", default_value_t = SocketAddr::from(([0, 0, 0, 0], galley_server::handler::DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Path of the health check.
    #[arg(long, env = "GALLEY_HEALTH_PATH", default_value = galley_server::handler::DEFAULT_HEALTH_PATH)]
    health_path: String,
    /// Seconds a client has to send request headers (also the keep-alive idle limit).
    #[arg(long, env = "GALLEY_HEADER_TIMEOUT", default_value_t = Limits::default().header_timeout.as_secs())]
    header_timeout: u64,
    /// Seconds a client may read nothing of a response before it is cut off.
    #[arg(long, env = "GALLEY_WRITE_TIMEOUT", default_value_t = Limits::default().write_timeout.as_secs())]
    write_timeout: u64,
    /// Seconds in-flight responses get to finish on SIGTERM/SIGINT.
    #[arg(long, env = "GALLEY_DRAIN_TIMEOUT", default_value_t = Limits::default().drain_timeout.as_secs())]
    drain_timeout: u64,
    /// Connections served at once, across all workers; more wait in the accept queue. When
    /// full, the longest-idle keep-alive connections are closed to admit new ones.
    #[arg(long, env = "GALLEY_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Worker threads (single-threaded; each new connection goes to the least busy); 0 = one
    /// per core.
    #[arg(long, env = "GALLEY_WORKERS", default_value_t = 0)]
    workers: usize,
    /// Send bodies of 64 KiB and more with `sendfile` from a sealed memory file instead of
    /// copying them. Off by default: over loopback on the benchmark machine copying was as
    /// fast with a lower p99 (BENCHMARKS.md); worth measuring where a NIC moves the bytes.
    #[arg(long, env = "GALLEY_SENDFILE")]
    sendfile: bool,
    /// Turn the JSON access log off.
    #[arg(long, env = "GALLEY_NO_ACCESS_LOG")]
    no_access_log: bool,
    /// Probe URL (http://host:port/path) and exit 0 if it answers 200, else 1.
    #[arg(long, value_name = "URL")]
    check: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(url) = &args.check {
        return if probe(url) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let site = match Site::load_dir(&args.root) {
        Ok(mut s) => {
            if args.sendfile {
                s.pack_big_bodies();
            }
            s
        }
        Err(e) => {
            eprintln!("galley-server: cannot load {}: {e}", args.root.display());
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "{}",
        serde_json::json!({"event": "loaded", "root": args.root, "files": site.len(), "bytes": site.bytes,
            "ms": site.load_time_ms, "digest": site.digest(),
            "sendfile_bytes": site.arena.as_ref().map_or(0, |a| a.len())})
    );
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout),
        write_timeout: Duration::from_secs(args.write_timeout),
        drain_timeout: Duration::from_secs(args.drain_timeout),
        max_connections: args.max_connections,
        access_log: !args.no_access_log,
        ..Limits::default()
    };
    let settings = Arc::new(Settings {
        health_path: args.health_path.clone(),
    });
    let listener = match std::net::TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("galley-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| args.listen.to_string(), |a| a.to_string());
    let workers = workers(args.workers);
    eprintln!(
        "{}",
        serde_json::json!({"event": "listening", "address": address, "workers": workers})
    );
    let site = Arc::new(RwLock::new(Arc::new(site)));
    let (shared, stop) = Shared::new(site, settings, limits, None);
    let result = galley_server::workers::run(listener, workers, shared, stop, shutdown_signal());
    match result {
        Ok(()) => {
            eprintln!("{}", serde_json::json!({"event": "stopped"}));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("galley-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A minimal HTTP/1.1 GET, enough for a health check with no shell and no curl in the image.
fn probe(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(authority) else {
        return false;
    };
    let Some(addr) = addrs.into_iter().next() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: galley-server-check\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// One worker per core, as nginx's `worker_processes auto`.
fn workers(asked: usize) -> usize {
    if asked > 0 {
        return asked;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
