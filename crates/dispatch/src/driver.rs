//! The clock at the edge: wakes a backend's timers at their deadlines.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use switchboard_domain::Timestamp;
use tokio::sync::broadcast::error::RecvError;

use crate::QueueBackend;

/// Where `now` comes from. The engine never asks; the edges do.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    }
}

/// Time as tokio sees it, from a given start: under `tokio::time::pause()` it advances only
/// when the runtime auto-advances, so timer behaviour is tested without sleeping.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: Timestamp,
    base: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start: Timestamp) -> Self {
        Self {
            start,
            base: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.start.plus(self.base.elapsed())
    }
}

/// Longest sleep without looking again: a safety net for deadline changes that came with no
/// event (settings changes). Timers normally fire on their exact deadline.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Fires the backend's timers at their deadlines until `shutdown` completes. Any event may
/// have moved the next deadline, so each one wakes the loop to look again. With Redis, every
/// instance runs this; the log's tick script makes sure a deadline is fired once.
pub async fn run_timers<B: QueueBackend>(
    backend: Arc<B>,
    clock: impl Clock,
    shutdown: impl Future<Output = ()>,
) {
    let mut events = backend.subscribe();
    tokio::pin!(shutdown);
    loop {
        let now = clock.now();
        let wait = match backend.next_deadline().await {
            Ok(Some(deadline)) if deadline <= now => {
                if let Err(e) = backend.fire_due(now).await {
                    tracing::warn!(error = %e, "firing timers failed; retrying");
                    Duration::from_millis(100)
                } else {
                    continue;
                }
            }
            Ok(Some(deadline)) => deadline.since(now).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "reading the next deadline failed; retrying");
                Duration::from_millis(100)
            }
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
            received = events.recv() => {
                if let Err(RecvError::Closed) = received {
                    return;
                }
            }
        }
    }
}
