//! The listener: HTTP/1.1 connections under a cap, each with a header read timeout, an idle
//! timeout and a greatest age, closed lingeringly so that a client still sending reads its answer; stops accepting on
//! shutdown and lets the connections in flight finish.
//!
//! Timeouts on bodies and the budget of buffered body bytes are the gateway's (it reads bodies).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;

/// How the listener treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Of those, from one address at most; more from it are answered 503 and closed.
    pub max_connections_per_address: usize,
    /// From a connection's start (or a request's first byte) until its headers are read.
    pub header_timeout: Duration,
    /// A connection with no request in flight and no bytes moving for this long is closed.
    pub idle_timeout: Duration,
    /// The longest a connection is kept: then it is closed after its request in flight (a client
    /// reconnects, as after a restart), so that no state, not even an answer read a byte at a
    /// time, holds a slot for ever.
    pub max_age: Duration,
    /// After the answer, how long a closing connection's unread input is still drained.
    pub linger: Duration,
    /// On shutdown, how long the connections in flight may take to finish.
    pub drain: Duration,
}

/// Refusals being written at once, beyond which a connection over the cap is closed unanswered.
const MAX_REFUSALS: usize = 64;
/// Input drained from a closing connection at most.
const MAX_LINGER_BYTES: u64 = 8 << 20;
/// The longest a closing connection is drained, however steadily its input trickles in: time
/// enough for a client on a slow link to finish sending a refused body and read the answer.
const MAX_LINGER_TIME: Duration = Duration::from_secs(10);
/// How long the request in flight may still take once the connection is `max_age` old.
const AGE_GRACE: Duration = Duration::from_secs(60);
/// More than there can ever be connections: each open one holds a permit until it ends.
const OPEN_PERMITS: u32 = 1 << 30;

/// Serves `router` on `listener` until `shutdown` resolves, then waits (at most `drain`) for the
/// connections in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let addresses = Arc::new(PerAddress::new(limits.max_connections_per_address));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let open = Arc::new(Semaphore::new(OPEN_PERMITS as usize));
    let (stopping, stop) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: let connections close, then go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // The address's share first: one address over its share takes no slot from the others.
        let share = addresses.admit(peer.ip());
        match (share, slots.clone().try_acquire_owned()) {
            (Some(share), Ok(slot)) => {
                let Ok(tracked) = open.clone().try_acquire_owned() else {
                    continue;
                };
                let (router, stop) = (router.clone(), stop.clone());
                tokio::spawn(async move {
                    connection(stream, peer, router, limits, stop).await;
                    drop((slot, share, tracked));
                });
            }
            _ => match refusals.clone().try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(async move {
                        refuse(stream, limits.linger).await;
                        drop(permit);
                    });
                }
                Err(_) => drop(stream),
            },
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every connection holds one permit of `open` while it runs: all of them back means all done.
    if tokio::time::timeout(limits.drain, open.acquire_many(OPEN_PERMITS))
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown were closed");
    }
}

/// Connections open per address, each address held to its share. Only addresses with a
/// connection open have an entry, so the table is no larger than the connection cap.
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
    most: usize,
}

/// One connection's place in its address's share, given back when dropped.
struct Share {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn new(most: usize) -> Self {
        Self {
            open: Mutex::default(),
            most,
        }
    }

    /// A place for one more connection from `ip`, unless it has its share open.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Share> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= self.most {
            return None;
        }
        *count += 1;
        Some(Share {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        if let Ok(mut open) = self.table.open.lock() {
            if let Some(count) = open.get_mut(&self.ip) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// The address a request came from, as the listener recorded it.
pub fn peer(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address)
}

/// One connection: HTTP/1.1 with keep-alive, until the client leaves, it idles too long, hyper
/// closes it or the server stops (after the request in flight); then its unread input is drained
/// for a moment.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServerLimits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
        rewriting: None,
    });
    let busy = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let (router, working) = (router.clone(), busy.working());
        // Boxed: hyper polls the connection without shutting it down only over Unpin futures.
        Box::pin(async move {
            let response = router.oneshot(request).await;
            drop(working);
            Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
        })
    });
    let mut conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(io, service);
    let mut stopping = *stop.borrow();
    if stopping {
        Pin::new(&mut conn).graceful_shutdown();
    }
    let old = activity.started + limits.max_age;
    let mut aging = false;
    let finished = loop {
        let deadline = activity.idle_deadline(limits.idle_timeout);
        tokio::select! {
            // After a request hyper could not read, its refusal is written: the client may still
            // be sending, so the connection lingers as after any refusal.
            result = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => {
                break result.as_ref().map_or_else(hyper::Error::is_parse, |()| true)
            }
            () = tokio::time::sleep_until(deadline) => {
                if activity.is_idle(limits.idle_timeout) {
                    tracing::debug!(%peer, "idle connection closed");
                    return;
                }
            }
            () = tokio::time::sleep_until(old), if !aging => {
                aging = true;
                Pin::new(&mut conn).graceful_shutdown();
            }
            () = tokio::time::sleep_until(old + AGE_GRACE), if aging => {
                tracing::debug!(%peer, "connection closed at its greatest age");
                return;
            }
            changed = stop.changed(), if !stopping => {
                // Closed at once when idle, after its answer when a request is in flight.
                stopping = true;
                if changed.is_ok() {
                    Pin::new(&mut conn).graceful_shutdown();
                }
            }
        }
    };
    if finished {
        let mut stream = conn.into_parts().io.into_inner().inner;
        linger(&mut stream, limits.linger).await;
    }
}

/// What a connection is doing: when bytes last moved, and how many requests are in a handler.
struct Activity {
    started: Instant,
    /// Milliseconds since `started`.
    last: AtomicU64,
    working: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last: AtomicU64::new(0),
            working: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn idle_deadline(&self, idle: Duration) -> Instant {
        self.started + Duration::from_millis(self.last.load(Ordering::Relaxed)) + idle
    }

    fn is_idle(&self, idle: Duration) -> bool {
        self.working.load(Ordering::Relaxed) == 0 && Instant::now() >= self.idle_deadline(idle)
    }

    fn working(self: &Arc<Self>) -> Working {
        self.working.fetch_add(1, Ordering::Relaxed);
        Working(self.clone())
    }
}

/// A request in a handler; leaving counts as activity.
struct Working(Arc<Activity>);

impl Drop for Working {
    fn drop(&mut self) {
        self.0.touch();
        self.0.working.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that records when bytes move, and writes hyper's own refusals in our error shape.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// Our answer in place of hyper's refusal being written, and how far.
    rewriting: Option<Rewrite>,
}

struct Rewrite {
    answer: Vec<u8>,
    written: usize,
    /// The length of hyper's refusal, reported written once ours is.
    replaces: usize,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.rewriting.is_none() {
            self.rewriting = hyper_refusal(buf).map(|(replaces, answer)| Rewrite {
                answer,
                written: 0,
                replaces,
            });
        }
        let this = &mut *self;
        if let Some(rewrite) = &mut this.rewriting {
            while rewrite.written < rewrite.answer.len() {
                let rest = &rewrite.answer[rewrite.written..];
                match Pin::new(&mut this.inner).poll_write(cx, rest) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(0)),
                    Poll::Ready(Ok(n)) => rewrite.written += n,
                    other => return other,
                }
            }
            let replaced = rewrite.replaces;
            this.rewriting = None;
            this.activity.touch();
            return Poll::Ready(Ok(replaced));
        }
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Hyper answers a request it cannot read (a malformed request line or header, a URI or headers too
/// long) itself, with an empty body; it is the only writer of a response without a content type.
/// When `buf` starts with such a refusal: its length, and our answer in the documented error shape.
fn hyper_refusal(buf: &[u8]) -> Option<(usize, Vec<u8>)> {
    // Every write passes here: anything but the start of a 4xx head is let through unread.
    if !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?.to_ascii_lowercase();
    let status = head.strip_prefix("http/1.1 ")?.get(..3)?;
    if head.contains("\r\ncontent-type:") || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let (line, path, message) = match status {
        "400" => ("400 Bad Request", "", "The request could not be read as HTTP/1.1: its request line or a header is malformed"),
        "414" => ("414 URI Too Long", "", "The request's URI is longer than this server reads; send the parameters in the body or fewer of them"),
        "431" => ("431 Request Header Fields Too Large", "/headers", "The request's headers are larger than this server reads (256 KiB in all, 100 headers at most)"),
        _ => return None,
    };
    let body = serde_json::json!({
        "status": "error",
        "message": message,
        "errors": [{"path": path, "message": message}],
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 {line}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    Some((end, answer.into_bytes()))
}

/// Ends our side, then reads and drops what the client still sends, while it keeps sending (at
/// most `MAX_LINGER_BYTES`, no gap longer than `linger`, and `MAX_LINGER_TIME` in all): closing
/// with unread input would reset the connection, and the client might lose the answer it was sent.
async fn linger(stream: &mut TcpStream, linger: Duration) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut drained = 0u64;
        while drained < MAX_LINGER_BYTES {
            match tokio::time::timeout(linger, stream.read(&mut buffer)).await {
                Ok(Ok(n)) if n > 0 => drained += n as u64,
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(MAX_LINGER_TIME, drain).await;
}

/// A connection over the cap: a 503 in the documented error shape, then closed.
async fn refuse(mut stream: TcpStream, linger_for: Duration) {
    let body = serde_json::json!({
        "status": "error",
        "message": "The server is serving as many connections as it may; try again in a moment",
        "errors": [],
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let write = stream.write_all(answer.as_bytes());
    if let Ok(Ok(())) = tokio::time::timeout(linger_for, write).await {
        linger(&mut stream, linger_for).await;
    }
}
