//! `galley-server`'s threads: one single-threaded worker per core (nginx's
//! `worker_processes auto`), so a request never crosses threads, fed by one acceptor that
//! hands each new connection to the worker with the fewest open.
//!
//! Workers sharing the listening socket (nginx's way without `EPOLLEXCLUSIVE`, which tokio
//! cannot ask for) let whichever worker was awake take a whole burst: wrk's 64 connections
//! sometimes all landed on one core, halving throughput and stretching the tail. Handing
//! connections out keeps the cores evenly loaded, at the cost of one wake-up per new
//! connection (keep-alive, as behind a load balancer, makes that rare).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::listener::{drain, next_connection, spawn_connection, Shared};

/// A connection on its way to a worker.
struct Handed {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    ticket: Ticket,
}

/// Holds a connection's place: under the server-wide cap, and in its worker's count.
struct Ticket {
    _permit: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Worker {
    handoff: mpsc::UnboundedSender<Handed>,
    open: Arc<AtomicUsize>,
}

/// Serves `listener` with `workers` threads until `shutdown` resolves on the calling thread,
/// then tells every connection to finish (`stop`, from [`Shared::new`]) and lets every worker
/// drain. `limits.max_connections` caps the whole server.
pub fn run<F>(
    listener: std::net::TcpListener,
    workers: usize,
    shared: Shared,
    stop: watch::Sender<bool>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()>,
{
    let mut pool = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for worker in 0..workers.max(1) {
        let (handoff, arrivals) = mpsc::unbounded_channel();
        let shared = Shared {
            worker,
            ..shared.clone()
        };
        threads.push(std::thread::spawn(move || work(arrivals, shared)));
        pool.push(Worker {
            handoff,
            open: Arc::new(AtomicUsize::new(0)),
        });
    }
    let accepted = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|rt| rt.block_on(accept(listener, pool, &shared, shutdown)));
    let _ = stop.send(true);
    // The acceptor is gone (and with it every handoff), so each worker drains and ends.
    let mut result = accepted;
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = result.and(Err(e)),
            Err(_) => result = result.and(Err(std::io::Error::other("a worker panicked"))),
        }
    }
    result
}

/// Accepts until `shutdown`, handing each connection to the least loaded worker.
async fn accept<F: std::future::Future<Output = ()>>(
    listener: std::net::TcpListener,
    mut pool: Vec<Worker>,
    shared: &Shared,
    shutdown: F,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections.max(1)));
    let trimmer = tokio::spawn(crate::idle::give_memory_back(shared.connections.clone()));
    tokio::pin!(shutdown);
    while let Some((stream, peer, permit)) =
        next_connection(&listener, &permits, &shared.connections, shutdown.as_mut()).await
    {
        // Leaves this thread's reactor; the worker registers it with its own.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        // A worker that stopped takes no more (its error is reported when it is joined).
        pool.retain(|w| !w.handoff.is_closed());
        let Some(worker) = pool.iter().min_by_key(|w| w.open.load(Ordering::Relaxed)) else {
            return Err(std::io::Error::other("every worker stopped"));
        };
        worker.open.fetch_add(1, Ordering::Relaxed);
        let ticket = Ticket {
            _permit: permit,
            open: worker.open.clone(),
        };
        let _ = worker.handoff.send(Handed {
            stream,
            peer,
            ticket,
        });
    }
    trimmer.abort();
    Ok(())
}

/// One worker: serves the connections handed to it until the acceptor stops, then drains.
fn work(mut arrivals: mpsc::UnboundedReceiver<Handed>, shared: Shared) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if shared.limits.access_log {
        crate::access_log::buffer_this_thread();
        runtime.spawn(crate::access_log::flush_periodically());
    }
    runtime.block_on(async {
        while let Some(handed) = arrivals.recv().await {
            if let Ok(stream) = tokio::net::TcpStream::from_std(handed.stream) {
                spawn_connection(stream, handed.peer, &shared, handed.ticket);
            }
        }
        drain(&shared).await;
    });
    crate::access_log::flush();
    Ok(())
}
