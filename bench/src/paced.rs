//! An open-loop load generator: each connection sends on a fixed schedule, whatever the
//! server's pace, and latency runs from the *scheduled* send time to the last byte of the
//! response (as wrk2 does). wrk is closed-loop: a faster server makes it send faster, so two
//! servers' p99s from wrk are taken at different loads, and near wrk's own CPU limit part of
//! the tail is wrk's. At one schedule for both, the servers' latencies compare directly.
//!
//! One thread spins on the clock and on `epoll_wait` with no timeout, so sends leave on time
//! to within a microsecond or so; that thread is pinned to the load generator's CPUs.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// What to send, how fast and for how long.
pub struct Plan<'a> {
    pub port: u16,
    pub path: &'a str,
    pub accept_encoding: bool,
    pub connections: usize,
    /// Requests per second over all connections.
    pub rate: f64,
    pub duration: Duration,
    /// Requests scheduled in this first stretch are sent but not recorded.
    pub warmup: Duration,
    /// CPUs the generating thread may run on (none: any).
    pub cpus: Option<Vec<usize>>,
}

/// Latency percentiles in milliseconds, and the rate actually achieved.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Responses over the time until the last one: below the plan's rate when the server
    /// fell behind the schedule.
    pub achieved_rps: f64,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// When its next request is due.
    next: Duration,
    /// The due time of the request in flight, if any.
    in_flight: Option<Duration>,
}

/// Runs `plan` on a thread of its own (pinned if asked) and returns its latencies.
pub fn run(plan: &Plan) -> Result<Latency> {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(cpus) = &plan.cpus {
                pin_current_thread(cpus)?;
            }
            generate(plan)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the load generator panicked"))?
    })
}

fn generate(plan: &Plan) -> Result<Latency> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: galley-bench\r\n{}\r\n",
        plan.path,
        if plan.accept_encoding {
            "Accept-Encoding: br, gzip\r\n"
        } else {
            ""
        }
    );
    let n = plan.connections.max(1);
    let interval = Duration::from_secs_f64(n as f64 / plan.rate);
    // SAFETY: plain syscall; the fd is closed below.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        bail!("epoll_create1: {}", std::io::Error::last_os_error());
    }
    let result = (|| {
        let mut conns = Vec::with_capacity(n);
        for i in 0..n {
            let stream = TcpStream::connect(("127.0.0.1", plan.port))
                .with_context(|| format!("connecting to port {}", plan.port))?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            // SAFETY: `ev` outlives the call; the fd is the stream's, open until the end.
            if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, stream.as_raw_fd(), &mut ev) }
                < 0
            {
                bail!("epoll_ctl: {}", std::io::Error::last_os_error());
            }
            conns.push(Conn {
                stream,
                buf: Vec::with_capacity(64 * 1024),
                // Staggered evenly over one interval.
                next: interval.mul_f64(i as f64 / n as f64),
                in_flight: None,
            });
        }
        let end = plan.warmup + plan.duration;
        let mut latencies: Vec<u32> =
            Vec::with_capacity((plan.rate * 1.1 * plan.duration.as_secs_f64()) as usize);
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; n];
        let mut chunk = vec![0u8; 256 * 1024];
        let start = Instant::now();
        let mut last_done = Duration::ZERO;
        loop {
            let now = start.elapsed();
            for c in conns.iter_mut() {
                if c.in_flight.is_none() && c.next <= now && c.next < end {
                    send(c, request.as_bytes(), interval)?;
                }
            }
            if now >= end && conns.iter().all(|c| c.in_flight.is_none()) {
                break;
            }
            if now >= end + Duration::from_secs(5) {
                bail!("responses still missing 5 s after the run");
            }
            // SAFETY: `events` has room for `n` entries.
            let ready =
                unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), n as libc::c_int, 0) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                bail!("epoll_wait: {e}");
            }
            for ev in &events[..ready as usize] {
                let c = &mut conns[ev.u64 as usize];
                loop {
                    match c.stream.read(&mut chunk) {
                        Ok(0) => bail!("the server closed a connection"),
                        Ok(k) => c.buf.extend_from_slice(&chunk[..k]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(e).context("reading a response"),
                    }
                }
                while let Some(len) = response_len(&c.buf)? {
                    c.buf.drain(..len);
                    let Some(due) = c.in_flight.take() else {
                        bail!("a response nobody asked for");
                    };
                    let done = start.elapsed();
                    last_done = done;
                    if due >= plan.warmup {
                        let us = (done.saturating_sub(due)).as_micros();
                        latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                    // Late: the next one is already due and goes now, still timed from when
                    // it was due.
                    if c.next <= done && c.next < end {
                        send(c, request.as_bytes(), interval)?;
                    }
                }
            }
        }
        Ok((latencies, last_done.saturating_sub(plan.warmup)))
    })();
    // SAFETY: closing the epoll fd made above, once.
    unsafe { libc::close(epoll) };
    let (mut latencies, took) = result?;
    if latencies.is_empty() {
        bail!("no responses recorded");
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        f64::from(latencies[i.clamp(1, latencies.len()) - 1]) / 1000.0
    };
    Ok(Latency {
        p50_ms: pct(50.0),
        p90_ms: pct(90.0),
        p99_ms: pct(99.0),
        p999_ms: pct(99.9),
        achieved_rps: latencies.len() as f64 / took.max(plan.duration).as_secs_f64(),
    })
}

/// Sends the request due at `c.next` and schedules the following one.
fn send(c: &mut Conn, request: &[u8], interval: Duration) -> Result<()> {
    // A request is far smaller than an empty socket buffer: one write takes it all.
    let written = c.stream.write(request).context("sending a request")?;
    if written != request.len() {
        bail!(
            "a request went out in part ({written} of {} bytes)",
            request.len()
        );
    }
    c.in_flight = Some(c.next);
    c.next += interval;
    Ok(())
}

/// The length of the first whole response in `buf` (head plus `Content-Length` body), if
/// it has all arrived.
fn response_len(buf: &[u8]) -> Result<Option<usize>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("a response head in UTF-8")?;
    let length = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .context("a response without Content-Length")?;
    let total = head_end + 4 + length;
    Ok((buf.len() >= total).then_some(total))
}

/// Pins the calling thread to `cpus`.
fn pin_current_thread(cpus: &[usize]) -> Result<()> {
    // SAFETY: `cpu_set_t` is plain data; CPU_ZERO/CPU_SET only write inside it, and
    // sched_setaffinity(0, ..) applies to the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_whole_only_with_its_whole_body() -> Result<()> {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nContent-Length: 5\r\n\r\n";
        let mut buf = head.to_vec();
        assert_eq!(response_len(&buf)?, None);
        buf.extend_from_slice(b"hell");
        assert_eq!(response_len(&buf)?, None);
        buf.extend_from_slice(b"o");
        assert_eq!(response_len(&buf)?, Some(head.len() + 5));
        // A second response behind the first is left for the next call.
        buf.extend_from_slice(b"HTTP/1.1 304 Not Modified\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(response_len(&buf)?, Some(head.len() + 5));
        assert_eq!(response_len(b"HTTP/1.1 200 OK\r\n")?, None);
        assert!(response_len(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        Ok(())
    }

    /// A loopback server answering each request line after a fixed schedule: the generator
    /// must record one latency per scheduled request.
    #[test]
    fn every_scheduled_request_is_answered_and_timed() -> Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let server = std::thread::spawn(move || -> std::io::Result<usize> {
            let mut handles = Vec::new();
            for stream in listener.incoming().take(2) {
                let mut stream = stream?;
                handles.push(std::thread::spawn(move || -> std::io::Result<usize> {
                    let mut served = 0;
                    let mut pending = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let n = stream.read(&mut chunk)?;
                        if n == 0 {
                            return Ok(served);
                        }
                        pending.extend_from_slice(&chunk[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
                            served += 1;
                        }
                    }
                }));
            }
            let mut total = 0;
            for h in handles {
                total += h
                    .join()
                    .map_err(|_| std::io::Error::other("server thread"))??;
            }
            Ok(total)
        });
        let latency = run(&Plan {
            port,
            path: "/",
            accept_encoding: true,
            connections: 2,
            rate: 400.0,
            duration: Duration::from_millis(500),
            warmup: Duration::from_millis(100),
            cpus: None,
        })?;
        let served = server
            .join()
            .map_err(|_| anyhow::anyhow!("server panicked"))??;
        // 400 req/s for 0.6 s in all, 0.5 s of it recorded.
        assert_eq!(served, 240);
        assert!(latency.p50_ms > 0.0 && latency.p50_ms <= latency.p99_ms);
        Ok(())
    }
}
