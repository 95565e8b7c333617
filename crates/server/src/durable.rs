//! The in-process dispatcher, durable on one machine: restored at start from its last
//! snapshot and the journal after it, journaled while it runs (group commit: one
//! transaction per batch of steps, written with their events), snapshotted periodically, and
//! snapshotted once more at a clean stop.
//!
//! What it guarantees: a command acknowledged by the dispatcher (and so every contact
//! acknowledged by a hook, CTI or the REST API) is in the journal; after a SIGKILL or a
//! power cut the restored engine is the one that was running — same queue positions, offers
//! ringing with their deadlines, agents' states — and event ids go on without gap or reuse,
//! because a step's events are stored in the same transaction as the step.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use switchboard_dispatch::{
    journal::replay_step, Clock, Engine, EngineSnapshot, JournalFeed, MemoryBackend,
};
use switchboard_domain::{Event, EventId};
use switchboard_store::{JournalStep, Store, StoreError};
use tokio::task::JoinHandle;

/// Steps written in one transaction at the most.
const MAX_BATCH: usize = 1_000;
/// First pause after a failed journal write; doubled after each further failure.
const RETRY_FIRST: Duration = Duration::from_millis(20);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// When snapshots are taken: once `every_steps` steps were journaled since the last one, or
/// `every` after the last one if anything happened since.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotPolicy {
    pub every_steps: u64,
    pub every: Duration,
}

impl Default for SnapshotPolicy {
    /// 10,000 steps or a minute: a restart replays at most that (milliseconds of work).
    fn default() -> Self {
        Self {
            every_steps: 10_000,
            every: Duration::from_secs(60),
        }
    }
}

/// What [`open`] found, for the start-up log.
#[derive(Clone, Copy, Debug, Default)]
pub struct Restored {
    /// The journal position of the snapshot it started from.
    pub snapshot_seq: u64,
    /// Steps replayed after it.
    pub replayed: u64,
    pub contacts: usize,
}

/// Restores the dispatcher from the store (or starts it empty, numbering events after the
/// last logged one) and saves a snapshot of the result, so the journal always follows one.
pub async fn open(
    store: &Store,
    clock: &dyn Clock,
) -> anyhow::Result<(MemoryBackend, JournalFeed, Restored)> {
    let next_logged = store
        .last_event_id()
        .await?
        .map_or(EventId(0), |id| EventId(id.0 + 1));
    let saved = store.load_engine_snapshot().await?;
    let snapshot_seq = saved.as_ref().map_or(0, |s| s.journal_seq);
    let steps = store
        .journal_after(snapshot_seq)
        .await
        .context("reading the dispatcher's journal")?;
    let last_seq = steps.last().map_or(snapshot_seq, |s| s.seq);
    let mut restored = Restored {
        snapshot_seq,
        ..Restored::default()
    };
    let engine = match saved.map(|s| parse(&s.body)) {
        Some(Ok(mut engine)) => {
            for step in steps {
                let seq = step.seq;
                if let Err(e) = replay_step(&mut engine, step.at, step.command) {
                    // Only accepted commands are journaled: the engine was not deterministic.
                    tracing::error!(seq, error = %e, "a journaled step was refused on replay");
                }
                restored.replayed += 1;
            }
            if engine.next_event_id() == next_logged {
                Some(engine)
            } else if engine.next_event_id() < next_logged {
                // The event log went on without the journal: written by a version before
                // the journal, which died after its last snapshot. Its state is lost.
                tracing::warn!(
                    engine_next = engine.next_event_id().0,
                    log_next = next_logged.0,
                    "the saved dispatcher state is older than the event log; starting empty"
                );
                None
            } else {
                // Events are stored with their step, so this is damage (a log trimmed by
                // hand?): keep the contacts, and leave the gap in the numbering.
                tracing::error!(
                    engine_next = engine.next_event_id().0,
                    log_next = next_logged.0,
                    "the event log lacks events the journal has; keeping the journal's state"
                );
                Some(engine)
            }
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "the saved dispatcher state is unreadable; starting empty");
            None
        }
        None => None,
    };
    let engine = engine.unwrap_or_else(|| Engine::with_first_event_id(next_logged));
    restored.contacts = engine.contact_count();
    // From here the journal follows this snapshot; older steps are deleted with it.
    save(store, &engine.snapshot(), last_seq, clock).await?;
    let (backend, feed) = MemoryBackend::durable(engine, last_seq);
    Ok((backend, feed, restored))
}

fn parse(json: &str) -> anyhow::Result<Engine> {
    let snapshot: EngineSnapshot = serde_json::from_str(json)?;
    Ok(Engine::restore(snapshot)?)
}

async fn save(
    store: &Store,
    snapshot: &EngineSnapshot,
    seq: u64,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let json = serde_json::to_string(snapshot)?;
    store
        .save_engine_snapshot(&json, seq, clock.now())
        .await
        .context("saving the dispatcher's snapshot")
}

/// The journal writer: stores each batch of steps with their events in one transaction and
/// publishes their events ([`JournalFeed::published`]: an offer rings once its step survives a
/// crash of the process). Beside it, a sync task puts what was stored on disk
/// ([`Store::sync_to_disk`]) and releases the callers (`Syncer::synced`: an acknowledgement
/// waits until its step survives a power cut); one sync covers every group stored before it,
/// and the next group commits while it runs. A failing database is retried with backoff, never
/// skipped (callers wait meanwhile, up to their own limit). Ends once the backend's journal is
/// closed and everything handed over is stored and synced; returns the steps stored.
pub fn spawn_writer(store: Store, mut feed: JournalFeed) -> JoinHandle<u64> {
    let (published_tx, mut published) = tokio::sync::watch::channel(0u64);
    let syncer = feed.syncer();
    let sync_store = store.clone();
    let sync = tokio::spawn(async move {
        // An unseen value is returned before the writer's end is.
        while published.changed().await.is_ok() {
            let last = *published.borrow_and_update();
            retrying("journal sync", 0, || sync_store.sync_to_disk()).await;
            syncer.synced(last);
        }
    });
    tokio::spawn(async move {
        let mut written = 0;
        while let Some(batch) = feed.next_batch(MAX_BATCH).await {
            let steps: Vec<JournalStep> = batch
                .iter()
                .map(|e| JournalStep {
                    seq: e.seq,
                    at: e.at,
                    command: e.command.clone(),
                })
                .collect();
            let events: Vec<Event> = batch.iter().flat_map(|e| e.events.clone()).collect();
            retrying("journal write", steps.len(), || {
                store.append_journal(&steps, &events)
            })
            .await;
            written += steps.len() as u64;
            if let Some(last) = feed.published(batch) {
                published_tx.send_replace(last);
            }
        }
        drop(published_tx);
        if let Err(e) = sync.await {
            tracing::error!(error = %e, "the journal's sync task crashed");
        }
        tracing::debug!(written, "journal writer closed");
        written
    })
}

/// Runs `attempt` until it succeeds, with backoff; an input no retry can store
/// ([`StoreError::Invalid`]) is logged and given up (holding it would stop the engine).
async fn retrying<F, Fut>(what: &str, steps: usize, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut pause = RETRY_FIRST;
    loop {
        match attempt().await {
            Ok(()) => return,
            Err(e @ StoreError::Invalid(_)) => {
                tracing::error!(error = %e, steps, "{what}: the journal steps cannot be stored");
                return;
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    steps,
                    retry_in_ms = pause.as_millis() as u64,
                    "{what} failed; retrying"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Takes a snapshot when the policy says so: the engine is copied under its lock with the
/// journal position it includes, saved once that position is stored (serialised on a
/// blocking thread), and the journal steps it covers are deleted.
pub async fn run_snapshots(
    store: Store,
    backend: Arc<switchboard_dispatch::AnyBackend>,
    clock: Arc<dyn Clock>,
    policy: SnapshotPolicy,
) {
    let switchboard_dispatch::AnyBackend::Memory(memory) = backend.as_ref() else {
        return;
    };
    let mut saved_seq = memory.journal_seq();
    let mut saved_at = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let seq = memory.journal_seq();
        let due = seq >= saved_seq + policy.every_steps
            || (seq > saved_seq && saved_at.elapsed() >= policy.every);
        if !due {
            continue;
        }
        let (snapshot, seq) = memory.snapshot_at();
        if let Err(e) = memory.wait_durable(seq).await {
            tracing::warn!(error = %e, "snapshot postponed: the journal is behind");
            continue;
        }
        let json = match tokio::task::spawn_blocking(move || serde_json::to_string(&snapshot)).await
        {
            Ok(Ok(json)) => json,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the dispatcher state could not be serialised");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "serialising the dispatcher state crashed");
                continue;
            }
        };
        match store.save_engine_snapshot(&json, seq, clock.now()).await {
            Ok(()) => {
                tracing::debug!(seq, bytes = json.len(), "dispatcher snapshot saved");
                saved_seq = seq;
                saved_at = tokio::time::Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "saving the dispatcher snapshot failed"),
        }
    }
}

/// At a clean stop, after the journal writer finished: the last snapshot, so the next start
/// replays nothing.
pub async fn save_final(
    store: &Store,
    memory: &MemoryBackend,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let (snapshot, seq) = memory.snapshot_at();
    save(store, &snapshot, seq, clock).await
}
