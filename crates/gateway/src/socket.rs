//! What both WebSockets (the agent console's and the supervisor's) enforce on what a client
//! sends: a largest message (close 1009, "message too big"), a message rate per socket — a
//! token bucket — (close 1008, "policy violation"), and a bound on every field echoed back.
//! At a stop the server closes them with 1001 ("going away") and a reconnect hint.

use std::{
    borrow::Cow,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::extract::ws::{close_code, CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_util::{
    sync::{CancellationToken, WaitForCancellationFuture},
    task::{task_tracker::TrackedFuture, TaskTracker},
};

/// Longest request `id` (as JSON text) echoed back as `in_reply_to`.
pub const MAX_ECHOED_ID: usize = 128;
/// Longest error message sent back for an unreadable frame (parse errors quote the input).
pub const MAX_ERROR_TEXT: usize = 200;

/// Limits on what one socket may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketLimits {
    /// Largest message (and frame), in bytes.
    pub max_message: usize,
    /// Messages per second allowed on average…
    pub per_second: u32,
    /// …and in a burst.
    pub burst: u32,
}

impl Default for SocketLimits {
    fn default() -> Self {
        Self {
            max_message: 64 * 1024,
            per_second: 20,
            burst: 40,
        }
    }
}

/// The open sockets of this instance: told to go away at a stop, and waited for.
///
/// Behind one `Arc`: it is part of [`crate::AppState`], which every request clones several
/// times, and cloning or dropping a [`CancellationToken`] itself locks the token's mutex,
/// shared by all requests.
#[derive(Clone, Debug, Default)]
pub struct Sockets(Arc<SocketsInner>);

#[derive(Debug, Default)]
struct SocketsInner {
    stop: CancellationToken,
    open: TaskTracker,
}

impl Sockets {
    /// Runs `conversation` as one of the open sockets.
    pub fn track<F: std::future::Future>(&self, conversation: F) -> TrackedFuture<F> {
        self.0.open.track_future(conversation)
    }

    /// Completes once the server stops.
    pub fn stopping(&self) -> WaitForCancellationFuture<'_> {
        self.0.stop.cancelled()
    }

    /// Closes every open socket with 1001 (and any opened later at once) and waits until
    /// they have all ended.
    pub async fn close_all(&self) {
        self.0.open.close();
        self.0.stop.cancel();
        self.0.open.wait().await;
    }

    /// How many are open.
    pub fn count(&self) -> usize {
        self.0.open.len()
    }
}

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimit {
    tokens: f64,
    per_second: f64,
    burst: f64,
    last: Instant,
}

impl RateLimit {
    pub fn new(limits: SocketLimits) -> Self {
        let burst = f64::from(limits.burst.max(1));
        Self {
            tokens: burst,
            per_second: f64::from(limits.per_second.max(1)),
            burst,
            last: Instant::now(),
        }
    }

    /// Takes a token for one message; false when there is none left.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why an incoming message ends the conversation, if it does.
#[derive(Debug)]
pub struct Guard {
    limits: SocketLimits,
    rate: RateLimit,
}

impl Guard {
    pub fn new(limits: SocketLimits) -> Self {
        Self {
            limits,
            rate: RateLimit::new(limits),
        }
    }

    /// The close frame to answer `msg` with, or `None` if it may be handled.
    pub fn check(&mut self, msg: &Message) -> Option<Message> {
        let len = match msg {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(_) => return None,
        };
        if len > self.limits.max_message {
            return Some(too_big(self.limits.max_message));
        }
        if !self.rate.allow(Instant::now()) {
            return Some(close(
                close_code::POLICY,
                format!(
                    "too many messages: at most {} a second (bursts of {})",
                    self.limits.per_second, self.limits.burst
                ),
            ));
        }
        None
    }

    /// The close frame to answer what the socket gave with (a message, a read error, or its
    /// end), or `None` if it may be handled.
    pub fn screen<E: SocketError>(
        &mut self,
        incoming: &Option<Result<Message, E>>,
    ) -> Option<Message> {
        match incoming {
            Some(Ok(msg)) => self.check(msg),
            Some(Err(e)) => self.on_error(e),
            None => None,
        }
    }

    /// The close frame for a read error, if the error was a message over the size limit
    /// (the socket refuses those from the frame header, before reading them).
    pub fn on_error<E: SocketError>(&self, e: &E) -> Option<Message> {
        e.too_big().then(|| too_big(self.limits.max_message))
    }
}

fn too_big(max: usize) -> Message {
    close(
        close_code::SIZE,
        format!("message too big: at most {max} bytes"),
    )
}

/// The largest message the WebSocket itself reads whole (`max_message_size`): above the limit,
/// so that a message over it is read and answered 1009 with a clean close; beyond this the
/// socket refuses it from its header (still 1009, but the connection may be reset).
pub fn read_cap(limits: SocketLimits) -> usize {
    limits.max_message.saturating_mul(4)
}

/// Sends `close` and reads (discarding) until the client answers it, for at most a second,
/// so that the close frame is not lost in a reset connection.
pub async fn close_and_drain<Tx, Rx, E>(tx: &mut Tx, rx: &mut Rx, close: Message)
where
    Tx: Sink<Message> + Unpin,
    Rx: Stream<Item = Result<Message, E>> + Unpin,
{
    if tokio::time::timeout(Duration::from_secs(5), tx.send(close))
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = rx.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// A close frame (its reason cut to the protocol's 123 bytes).
pub fn close(code: u16, reason: impl Into<String>) -> Message {
    let reason = clip(&reason.into(), 123).into_owned();
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The close frame a socket gets when the server stops: 1001 and when to reconnect.
pub fn going_away(reconnect_after: Duration) -> Message {
    close(
        close_code::AWAY,
        format!(
            "server stopping; reconnect_after_ms={}",
            reconnect_after.as_millis()
        ),
    )
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `…` if cut.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// Whether a request `id` is short enough to echo back.
pub fn id_echoable(id: &Option<serde_json::Value>) -> bool {
    id.as_ref()
        .is_none_or(|v| serde_json::to_string(v).is_ok_and(|s| s.len() <= MAX_ECHOED_ID))
}

/// A socket's read error: was it a message over the size limit?
pub trait SocketError {
    fn too_big(&self) -> bool;
}

impl SocketError for std::convert::Infallible {
    fn too_big(&self) -> bool {
        match *self {}
    }
}

impl SocketError for axum::Error {
    fn too_big(&self) -> bool {
        use tungstenite::error::{CapacityError, Error};
        std::error::Error::source(self)
            .and_then(|s| s.downcast_ref::<Error>())
            .is_some_and(|e| matches!(e, Error::Capacity(CapacityError::MessageTooLong { .. })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let mut r = RateLimit::new(SocketLimits {
            max_message: 1,
            per_second: 10,
            burst: 3,
        });
        let t = r.last;
        assert!((0..3).all(|_| r.allow(t)));
        assert!(!r.allow(t));
        assert!(r.allow(t + Duration::from_millis(100)));
        assert!(!r.allow(t + Duration::from_millis(100)));
    }

    #[test]
    fn clipping_keeps_characters_whole() {
        assert_eq!(clip("abc", 3), "abc");
        let cut = clip("ééééé", 6);
        assert!(cut.len() <= 6 && cut.ends_with('…'), "{cut}");
        assert!(!id_echoable(&Some(serde_json::json!("x".repeat(200)))));
        assert!(id_echoable(&Some(serde_json::json!(42))));
        assert!(id_echoable(&None));
    }
}
