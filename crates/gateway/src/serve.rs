//! Serving the router over HTTP/1.1 with the timeouts slow or idle clients meet:
//!
//! - **header read**: a request's head must arrive whole within `header_read_timeout` of its
//!   first byte, else the connection is closed (a client trickling half a header holds no
//!   connection for long);
//! - **request**: a request, its body included, gets `request_timeout` (answered 408 `timeout`
//!   — the router's `TimeoutLayer`); WebSockets are exempt once upgraded;
//! - **idle keep-alive**: a connection with no request in flight and no bytes either way for
//!   `idle_timeout` is closed.
//!
//! At a stop ([`serve`]'s `shutdown`) it stops accepting, closes the WebSockets with 1001 and a
//! reconnect hint ([`crate::socket::Sockets::close_all`]), lets requests in flight finish, and
//! returns after at most `drain_timeout` either way.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    Router,
};
use hyper::body::Incoming;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

use crate::{routes::router, state::AppState};

/// Runs the router of `state` on `listener` until `shutdown` completes, then drains (see the
/// module doc). The timeouts are the state's [`crate::Settings`].
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let settings = state.settings.clone();
    let limits = Limits {
        header_read: settings.header_read_timeout,
        idle: settings.idle_timeout,
    };
    let sockets = state.sockets.clone();
    let app = router(state);
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // A child token each: a connection polls its token at every wake-up, and a token's
        // state sits behind a mutex; one shared by every connection is contended.
        connections.spawn(connection(
            stream,
            peer,
            app.clone(),
            limits,
            stop.child_token(),
        ));
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        sockets = sockets.count(),
        drain_secs = settings.drain_timeout.as_secs_f64(),
        "draining: requests in flight finish, sockets are told to reconnect"
    );
    stop.cancel();
    connections.close();
    let drained = tokio::time::timeout(settings.drain_timeout, async {
        tokio::join!(sockets.close_all(), connections.wait());
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            sockets = sockets.count(),
            "drain timed out; closing what is left"
        );
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
struct Limits {
    header_read: Duration,
    idle: Duration,
}

/// What a connection's watchdog knows: requests in flight, when bytes last moved, and when
/// the head now being read began (0: none).
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
    head_since_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
            head_since_ms: AtomicU64::new(0),
        }
    }

    /// Milliseconds since the connection opened, at least 1 (0 means "none").
    fn now_ms(&self) -> u64 {
        (self.epoch.elapsed().as_millis() as u64).max(1)
    }

    fn read(&self) {
        let now = self.now_ms();
        self.last_ms.store(now, Ordering::Relaxed);
        // Bytes while no request is in flight begin the next head.
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ =
                self.head_since_ms
                    .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since_ms.store(0, Ordering::Release);
    }

    fn request_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.wrote();
    }

    /// Why the connection should be closed now, or when to look again.
    fn verdict(&self, limits: Limits) -> Result<Duration, &'static str> {
        let now = self.now_ms();
        let head_since = self.head_since_ms.load(Ordering::Acquire);
        let header_ms = limits.header_read.as_millis() as u64;
        let idle_ms = limits.idle.as_millis() as u64;
        if head_since != 0 {
            let deadline = head_since + header_ms;
            return if now >= deadline {
                Err("request head not received in time")
            } else {
                Ok(Duration::from_millis(deadline - now))
            };
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            // The request timeout governs; look again later.
            return Ok(limits
                .idle
                .min(limits.header_read)
                .max(Duration::from_millis(10)));
        }
        let deadline = self.last_ms.load(Ordering::Relaxed) + idle_ms;
        if now >= deadline {
            Err("idle")
        } else {
            Ok(Duration::from_millis(deadline - now))
        }
    }
}

/// One connection: HTTP/1.1 with upgrades, watched for slow heads and idleness, shut down
/// gracefully when `stop` is cancelled.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    stop: CancellationToken,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let counted = activity.clone();
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        let guard = InFlight::new(counted.clone());
        async move {
            let res = app.oneshot(req.map(Body::new)).await;
            drop(guard);
            res
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true);
    let conn = http
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let wait = match activity.verdict(limits) {
            Ok(wait) => wait,
            Err(why) => {
                tracing::debug!(%peer, why, "closing a connection");
                return;
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Counts a request in flight while it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A socket that tells its [`Activity`] when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
