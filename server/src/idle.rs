//! Keep-alive connections that wait for a next request hold a place under the connection
//! cap. Left alone, 10,000 of them lock every new client out until they time out (the
//! header timeout); so, as nginx does, a full server asks its longest-idle connections to
//! close.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// How many idle connections one reclaim closes: enough for a burst of newcomers, few
/// enough that a full server does not drop its whole keep-alive pool at once.
pub const RECLAIM_BATCH: usize = 32;

/// Every open connection of a server, for finding idle ones when it is full.
#[derive(Default)]
pub struct Registry {
    started: Option<Instant>,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Handle>>>,
    /// Told when the last connection closes (for draining).
    emptied: Notify,
    /// Connections closed so far, for giving memory back after a wave of them.
    closed_total: AtomicU64,
}

/// One connection's state as the registry sees it.
pub struct Handle {
    busy: AtomicBool,
    /// Milliseconds since the registry started, at the end of the last request.
    last_active: AtomicU64,
    close: Notify,
    epoch: Instant,
}

impl Handle {
    /// A request started: the connection is not idle until it ends.
    pub fn begin(&self) {
        self.busy.store(true, Ordering::Relaxed);
    }

    /// The request's response was produced.
    pub fn end(&self) {
        self.last_active
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.busy.store(false, Ordering::Relaxed);
    }

    pub fn is_idle(&self) -> bool {
        !self.busy.load(Ordering::Relaxed)
    }

    /// Resolves when the server asks this connection to close.
    pub async fn asked_to_close(&self) {
        self.close.notified().await;
    }
}

/// Removes the connection from the registry when it ends.
pub struct Registered {
    pub handle: Arc<Handle>,
    id: u64,
    registry: Arc<Registry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.closed_total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut open) = self.registry.open.lock() {
            open.remove(&self.id);
            if open.is_empty() {
                self.registry.emptied.notify_waiters();
            }
        }
    }
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry {
            started: Some(Instant::now()),
            ..Registry::default()
        })
    }

    pub fn register(self: &Arc<Self>) -> Registered {
        let epoch = self.started.unwrap_or_else(Instant::now);
        let handle = Arc::new(Handle {
            busy: AtomicBool::new(false),
            last_active: AtomicU64::new(epoch.elapsed().as_millis() as u64),
            close: Notify::new(),
            epoch,
        });
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, handle.clone());
        }
        Registered {
            handle,
            id,
            registry: self.clone(),
        }
    }

    /// Asks up to `n` idle connections, longest idle first, to close; returns how many.
    pub fn reclaim(&self, n: usize) -> usize {
        let Ok(open) = self.open.lock() else {
            return 0;
        };
        let mut idle: Vec<&Arc<Handle>> = open.values().filter(|h| h.is_idle()).collect();
        idle.sort_by_key(|h| h.last_active.load(Ordering::Relaxed));
        idle.iter().take(n).for_each(|h| h.close.notify_one());
        idle.len().min(n)
    }

    /// Connections closed since the server started.
    pub fn closed_total(&self) -> u64 {
        self.closed_total.load(Ordering::Relaxed)
    }

    /// Resolves once no connection is open.
    pub async fn closed(&self) {
        let emptied = self.emptied.notified();
        tokio::pin!(emptied);
        emptied.as_mut().enable();
        if self.is_empty() {
            return;
        }
        emptied.await;
    }

    pub fn len(&self) -> usize {
        self.open.lock().map_or(0, |o| o.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How often the server looks whether a wave of connections has gone.
pub const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Closed connections since the last look that make giving memory back worth it.
const TRIM_AFTER_CLOSED: u64 = 1024;

/// Gives the allocator's free memory back to the system after waves of connections:
/// glibc keeps what 10,000 connections' buffers used in its arenas, so without this the
/// server's memory only ever grows (130 MB, then 175, 190, 196 over four waves). Runs on
/// the acceptor's thread, never a worker's, and only after many connections closed.
pub async fn give_memory_back(registry: std::sync::Arc<Registry>) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = registry.closed_total();
    loop {
        tick.tick().await;
        let now = registry.closed_total();
        if now - seen >= TRIM_AFTER_CLOSED {
            seen = now;
            trim();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reclaim_asks_the_longest_idle_connections_and_never_a_busy_one() {
        let registry = Registry::new();
        let a = registry.register();
        let b = registry.register();
        let busy = registry.register();
        busy.handle.begin();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        b.handle.begin();
        b.handle.end(); // b was active more recently than a
        assert_eq!(registry.reclaim(1), 1);
        // `a` was asked: its notification is stored until it waits.
        tokio::time::timeout(std::time::Duration::from_secs(5), a.handle.asked_to_close())
            .await
            .expect("a asked to close");
        assert_eq!(
            registry.reclaim(5),
            2,
            "a and b are idle; the busy one is not"
        );
        drop(a);
        assert_eq!(registry.len(), 2);
    }
}
