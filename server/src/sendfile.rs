//! A TCP stream that sends slices of the [`Arena`] with `sendfile`: the kernel passes the
//! memory file's pages to the socket without copying them through the process.
//!
//! hyper writes a response as a vector of slices (head, then body). Those before an arena
//! slice go out with `MSG_MORE`, so the head and the start of the body still share a packet;
//! the arena slice then goes with `sendfile` from the same offset. The bytes on the wire are
//! the same either way, so hyper (and every HTTP behaviour) is untouched.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use rustix::net::{SendAncillaryBuffer, SendFlags};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::arena::Arena;

/// Shorter arena slices (small ranges, the tail of a partial send) are cheaper to copy
/// along with the head in one `writev` than to send on their own.
const MIN_SENDFILE: usize = 16 * 1024;

pub struct Stream {
    tcp: TcpStream,
    arena: Option<Arc<Arena>>,
    /// How long a write may wait for the client to read; then the connection fails.
    write_timeout: Duration,
    /// Armed while a write waits.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl Stream {
    /// `arena` is the served site's (none: every write is a plain `writev`). A client that
    /// reads nothing for `write_timeout` while a response waits is cut off, so it cannot
    /// hold a connection and its buffers forever.
    pub fn new(tcp: TcpStream, arena: Option<Arc<Arena>>, write_timeout: Duration) -> Stream {
        Stream {
            tcp,
            arena,
            write_timeout,
            stalled: None,
        }
    }

    /// Passes a write's result on, turning a wait longer than the write timeout into an
    /// error.
    fn deadline(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let timeout = self.write_timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing of the response for the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Runs a non-blocking send once the socket is writable, waiting again when it would
    /// block.
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut() -> rustix::io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            match self
                .tcp
                .try_io(Interest::WRITABLE, || send().map_err(io::Error::from))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = self.as_mut().poll_write_bytes(cx, bufs);
        self.deadline(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

impl Stream {
    fn poll_write_bytes(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Some(arena) = self.arena.clone() else {
            return Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        };
        let first = bufs
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= MIN_SENDFILE)
            .find_map(|(i, b)| arena.offset_of(b).map(|at| (i, at)));
        match first {
            None => Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs),
            Some((0, at)) => {
                let len = bufs[0].len();
                self.poll_send(cx, || {
                    let mut offset = at;
                    rustix::fs::sendfile(&self.tcp, arena.file(), Some(&mut offset), len)
                })
            }
            Some((i, _)) => self.poll_send(cx, || {
                rustix::net::sendmsg(
                    &self.tcp,
                    &bufs[..i],
                    &mut SendAncillaryBuffer::default(),
                    SendFlags::MORE | SendFlags::NOSIGNAL,
                )
            }),
        }
    }
}
