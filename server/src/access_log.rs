//! The access log: one JSON line per request on stdout, written without a lock or a system
//! call per request. Each worker thread appends to a buffer of its own and writes it out in
//! one go when it holds [`FLUSH_AT`] bytes, every [`FLUSH_EVERY`], and when the worker stops
//! (nginx's `access_log … buffer= flush=`). A line is never split between two writes, so
//! lines from different workers never interleave.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// A buffer this full is written out at once.
pub const FLUSH_AT: usize = 64 * 1024;

/// A quiet worker's lines wait at most this long.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(FLUSH_AT + 1024));
    /// Only a thread that flushes on a timer (a worker) may hold lines back.
    static BUFFERED: Cell<bool> = const { Cell::new(false) };
}

/// Lets this thread hold lines back until [`FLUSH_AT`] or the next [`flush`]; the caller
/// runs [`flush_periodically`] on it and [`flush`] when it stops.
pub fn buffer_this_thread() {
    BUFFERED.with(|b| b.set(true));
}

/// What one line says.
pub struct Entry<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes: usize,
    pub duration_us: u64,
    pub user_agent: Option<&'a str>,
    pub remote: SocketAddr,
    pub worker: usize,
}

/// Appends `entry` to this thread's buffer, writing the buffer out when it is full.
pub fn record(entry: &Entry) {
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        write_line(&mut buffer, entry);
        if buffer.len() >= FLUSH_AT || !BUFFERED.with(Cell::get) {
            write_out(&mut buffer);
        }
    });
}

/// Writes out this thread's buffered lines.
pub fn flush() {
    BUFFER.with(|buffer| write_out(&mut buffer.borrow_mut()));
}

/// Flushes this thread's buffer every [`FLUSH_EVERY`]; run it on each worker's runtime.
pub async fn flush_periodically() {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush();
    }
}

fn write_out(buffer: &mut Vec<u8>) {
    if buffer.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the serving: the lines are dropped.
    let _ = out.write_all(buffer).and_then(|()| out.flush());
    buffer.clear();
}

fn write_line(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(b"{\"method\":");
    quoted(out, e.method);
    out.extend_from_slice(b",\"path\":");
    quoted(out, e.path);
    let _ = write!(
        out,
        ",\"status\":{},\"bytes\":{},\"duration_us\":{},\"user_agent\":",
        e.status, e.bytes, e.duration_us
    );
    match e.user_agent {
        Some(agent) => quoted(out, agent),
        None => out.extend_from_slice(b"null"),
    }
    let _ = writeln!(
        out,
        ",\"remote\":\"{}\",\"worker\":{}}}",
        e.remote.ip(),
        e.worker
    );
}

/// A JSON string (serde_json's escaping, so any header value stays one valid line).
fn quoted(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_valid_json_with_every_field_even_for_hostile_values() {
        let mut out = Vec::new();
        let entry = Entry {
            method: "GET",
            path: "/a\"b\\c\n",
            status: 200,
            bytes: 12,
            duration_us: 34,
            user_agent: Some("evil\"agent\u{7}"),
            remote: "127.0.0.1:9".parse().expect("address"),
            worker: 1,
        };
        write_line(&mut out, &entry);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.ends_with('\n'));
        assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["path"], "/a\"b\\c\n");
        assert_eq!(v["user_agent"], "evil\"agent\u{7}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 12);
        assert_eq!(v["remote"], "127.0.0.1");
        assert_eq!(v["worker"], 1);
    }
}
