//! The batching event-log writer: takes events off the dispatcher's hot path and writes them
//! in batches, retrying (never dropping) while the database is unavailable.

use std::{
    borrow::Cow,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use switchboard_domain::Event;
use tokio::{
    sync::mpsc,
    task::JoinHandle,
    time::{sleep, sleep_until, Instant},
};

use crate::{Store, StoreError};

/// First pause after a failed write; doubled after each further failure.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// After [`EventWriter::close`], how long a failing database is retried before the task gives
/// up and returns the error (the events still queued are then lost, and `lag` says how many).
const RETRY_AFTER_CLOSE: Duration = Duration::from_secs(30);

/// When the writer writes: as soon as `max_batch` events are waiting, or `max_delay` after
/// the first of them was sent, whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    pub max_batch: usize,
    pub max_delay: Duration,
}

impl Default for WriterOptions {
    /// 1,000 events or 50 ms.
    fn default() -> Self {
        Self {
            max_batch: 1_000,
            max_delay: Duration::from_millis(50),
        }
    }
}

/// Sends events to the writer task. Cheap to clone; the task ends once every clone is
/// closed (or dropped) and everything sent has been written.
#[derive(Clone, Debug)]
pub struct EventWriter {
    tx: mpsc::UnboundedSender<Batch>,
    lag: Arc<AtomicU64>,
}

#[derive(Debug)]
struct Batch {
    sent_at: Instant,
    events: Vec<Event>,
}

impl EventWriter {
    /// Queues events for writing. Never blocks and never waits for the database: the queue
    /// is unbounded (watch [`EventWriter::lag`]). If the writer task is gone (it only stops
    /// after a close, or by panicking) the events are dropped and an error is logged.
    pub fn send(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let n = events.len() as u64;
        self.lag.fetch_add(n, Ordering::Relaxed);
        let batch = Batch {
            sent_at: Instant::now(),
            events,
        };
        if self.tx.send(batch).is_err() {
            self.lag.fetch_sub(n, Ordering::Relaxed);
            tracing::error!(events = n, "event writer is gone: events dropped");
        }
    }

    /// Events sent but not written yet.
    pub fn lag(&self) -> u64 {
        self.lag.load(Ordering::Relaxed)
    }

    /// Stops accepting events (for this clone). The task writes everything already sent, then
    /// its `JoinHandle` returns the number of rows written.
    pub fn close(self) {}
}

/// Starts the writer task on the current tokio runtime. The handle resolves, after every
/// [`EventWriter`] clone is closed or dropped and the queue is drained, to the number of rows
/// inserted (events already in the log do not count), or to the database error that persisted
/// for 30 s after the close.
pub fn spawn_event_writer(
    store: Store,
    options: WriterOptions,
) -> (EventWriter, JoinHandle<Result<u64, StoreError>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let lag = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(run(store, options, rx, lag.clone()));
    (EventWriter { tx, lag }, task)
}

async fn run(
    store: Store,
    options: WriterOptions,
    mut rx: mpsc::UnboundedReceiver<Batch>,
    lag: Arc<AtomicU64>,
) -> Result<u64, StoreError> {
    let max_batch = options.max_batch.max(1);
    let mut written = 0;
    let mut pending: Vec<Event> = Vec::new();
    let mut open = true;
    while open {
        let Some(first) = rx.recv().await else {
            break;
        };
        let deadline = first.sent_at + options.max_delay;
        pending.extend(first.events);
        let timer = sleep_until(deadline);
        tokio::pin!(timer);
        while pending.len() < max_batch {
            tokio::select! {
                biased;
                next = rx.recv() => match next {
                    Some(batch) => pending.extend(batch.events),
                    None => {
                        open = false;
                        break;
                    }
                },
                () = &mut timer => break,
            }
        }
        for chunk in pending.chunks(max_batch) {
            written += write(&store, chunk, &rx).await?;
            lag.fetch_sub(chunk.len() as u64, Ordering::Relaxed);
        }
        pending.clear();
    }
    tracing::debug!(written, "event writer closed");
    Ok(written)
}

/// Writes one chunk, retrying with backoff while the database fails; for at most
/// [`RETRY_AFTER_CLOSE`] once every sender is gone.
async fn write(
    store: &Store,
    events: &[Event],
    rx: &mpsc::UnboundedReceiver<Batch>,
) -> Result<u64, StoreError> {
    let mut events = Cow::Borrowed(events);
    let mut pause = RETRY_FIRST;
    let mut closing_since = None;
    loop {
        match store.append_events(&events).await {
            Ok(n) => return Ok(n),
            // No retry can store these: drop them (only them), loudly.
            Err(e @ StoreError::Invalid(_)) => {
                let storable: Vec<Event> = events
                    .iter()
                    .filter(|ev| i64::try_from(ev.id.0).is_ok())
                    .cloned()
                    .collect();
                let salvaged = storable.len() < events.len();
                tracing::error!(
                    error = %e,
                    dropped = if salvaged { events.len() - storable.len() } else { events.len() },
                    "events that cannot be stored were dropped"
                );
                if !salvaged {
                    return Ok(0);
                }
                events = Cow::Owned(storable);
            }
            Err(e) => {
                if rx.is_closed() {
                    closing_since.get_or_insert_with(Instant::now);
                }
                if closing_since.is_some_and(|since| since.elapsed() >= RETRY_AFTER_CLOSE) {
                    tracing::error!(
                        error = %e,
                        events = events.len(),
                        "event log write still failing after close: giving up"
                    );
                    return Err(e);
                }
                tracing::warn!(
                    error = %e,
                    events = events.len(),
                    retry_in_ms = pause.as_millis() as u64,
                    "event log write failed; retrying"
                );
                sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}
