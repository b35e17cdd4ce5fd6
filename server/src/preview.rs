//! Live reload for `galley serve`: a small script injected into preview pages only, and a
//! server-sent events stream (`/__galley/events`) that tells open pages to reload after a
//! good build, or to show an overlay with the error after a bad one.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::sync::mpsc;

pub const EVENTS_PATH: &str = "/__galley/events";

/// The browser side: reconnects by itself (EventSource does), reloads on `reload`, shows the
/// build error over the page on `error` and hides it on the next good build.
const SCRIPT: &str = r#"<script>(function(){var o;function show(t){if(!o){o=document.createElement('pre');o.id='galley-error-overlay';o.setAttribute('role','alert');o.style.cssText='position:fixed;inset:0;margin:0;padding:2rem;background:rgba(20,0,0,.92);color:#ffd7d7;font:14px/1.5 ui-monospace,monospace;white-space:pre-wrap;z-index:2147483647;overflow:auto';document.body.appendChild(o)}o.textContent='Galley: the last edit did not build. The page shows the last good build.\n\n'+t}var s=new EventSource('/__galley/events');s.addEventListener('reload',function(){location.reload()});s.addEventListener('error',function(e){if(e.data)show(JSON.parse(e.data))});})();</script>"#;

/// Adds the reload script to an HTML page, before `</body>` when there is one.
pub fn inject(html: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(html.len() + SCRIPT.len());
    match find_last(html, b"</body>") {
        Some(i) => {
            out.extend_from_slice(&html[..i]);
            out.extend_from_slice(SCRIPT.as_bytes());
            out.extend_from_slice(&html[i..]);
        }
        None => {
            out.extend_from_slice(html);
            out.extend_from_slice(SCRIPT.as_bytes());
        }
    }
    out
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle))
}

/// Open event streams, and the current build error if the last build failed.
#[derive(Default)]
pub struct Preview {
    clients: Mutex<Vec<mpsc::UnboundedSender<Bytes>>>,
    error: Mutex<Option<String>>,
}

impl Preview {
    /// A new stream; it starts with the current error, if any, so a page opened during a
    /// broken build shows the overlay at once.
    pub fn subscribe(&self) -> Events {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Bytes::from_static(b": galley preview\n\n"));
        if let Some(err) = self.error.lock().ok().and_then(|e| e.clone()) {
            let _ = tx.send(error_event(&err));
        }
        if let Ok(mut clients) = self.clients.lock() {
            clients.push(tx);
        }
        Events { rx }
    }

    /// A good build is being served: pages reload.
    pub fn reload(&self) {
        if let Ok(mut e) = self.error.lock() {
            *e = None;
        }
        self.broadcast(Bytes::from_static(b"event: reload\ndata: {}\n\n"));
    }

    /// A build failed: pages show `message` over the last good build.
    pub fn error(&self, message: &str) {
        if let Ok(mut e) = self.error.lock() {
            *e = Some(message.to_string());
        }
        self.broadcast(error_event(message));
    }

    fn broadcast(&self, event: Bytes) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.retain(|c| c.send(event.clone()).is_ok());
        }
    }
}

fn error_event(message: &str) -> Bytes {
    let data = serde_json::Value::String(message.to_string());
    Bytes::from(format!("event: error\ndata: {data}\n\n"))
}

/// A never-ending response body of server-sent events.
pub struct Events {
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl Body for Events {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_goes_before_body_end() {
        let out = String::from_utf8(inject(b"<html><body><p>x</p></body></html>")).expect("utf-8");
        assert!(out.contains("<p>x</p><script>"));
        assert!(out.ends_with("</script></body></html>"));
        let bare = String::from_utf8(inject(b"<p>fragment</p>")).expect("utf-8");
        assert!(bare.starts_with("<p>fragment</p><script>"));
    }
}
