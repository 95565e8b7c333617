//! Durability for the in-process backend: every step of the engine is journaled, and nothing
//! is acknowledged or published before the journal holds it.
//!
//! A *step* is what the engine does at one instant: the timers due at `at` fire, then one
//! command (if any) is applied at `at`. The engine is deterministic, so the last snapshot
//! plus the steps taken after it give back exactly the state it had — queue positions,
//! ringing offers with their deadlines, agents' states — and the same event ids.
//!
//! The [`MemoryBackend`](crate::MemoryBackend) hands each step, with the events it emitted,
//! to a [`JournalFeed`] under its lock (so the journal's order is the engine's), and the
//! caller waits until the step is durable. Whoever owns the database reads the feed in
//! batches, stores each batch in one transaction (group commit: while one batch is written
//! the next one gathers) and calls [`JournalFeed::committed`], which publishes the batch's
//! events to subscribers and releases the callers waiting for it. A writer whose commit
//! survives a crash of the process before it survives a power cut (SQLite's WAL before its
//! fsync) calls the two halves apart: [`JournalFeed::published`] once the commit is written
//! (offers ring at once), [`JournalFeed::synced`] once it is on disk (acknowledgements go
//! out). This crate does not know where the journal is kept.
//!
//! Not journaled, on purpose: a refused command (it changed nothing) and timers that fired
//! without emitting anything (an expansion step no agent could take). The latter did change
//! the engine, but a timer fires at its own deadline whenever `fire_due` runs, so the next
//! replayed step — or the restarted timer loop — fires it again with the same effect.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use switchboard_domain::{Command, Event, Timestamp};
use tokio::sync::{broadcast, mpsc, watch};

use crate::{DispatchError, Engine};

/// How long a caller waits for its step to be stored before it is told the outcome is
/// unknown (the step stays queued and is stored once the database answers again).
pub const DURABLE_WAIT: Duration = Duration::from_secs(10);

/// One step, as it leaves the engine: its journal number (gapless, from 1), its instant, its
/// command (`None`: timers alone) and every event it emitted, timers' first.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: Timestamp,
    pub command: Option<Command>,
    pub events: Vec<Event>,
}

/// What the backend and the feed share: how far the journal is stored.
#[derive(Debug)]
pub(crate) struct Durability {
    durable: watch::Sender<u64>,
    pending: AtomicU64,
}

impl Durability {
    pub(crate) fn new(durable: u64) -> Arc<Self> {
        Arc::new(Self {
            durable: watch::Sender::new(durable),
            pending: AtomicU64::new(0),
        })
    }

    pub(crate) fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    pub(crate) fn sent(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits until step `seq` is stored.
    pub(crate) async fn wait(&self, seq: u64) -> Result<(), DispatchError> {
        let mut rx = self.durable.subscribe();
        let stored = tokio::time::timeout(DURABLE_WAIT, async {
            rx.wait_for(|&d| d >= seq).await.map(|_| ())
        })
        .await;
        match stored {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(DispatchError::Backend(
                "the journal writer stopped before storing this step".into(),
            )),
            Err(_) => Err(DispatchError::Backend(format!(
                "the journal did not store this step within {} s; it will be stored once the \
                 database answers",
                DURABLE_WAIT.as_secs()
            ))),
        }
    }
}

/// The journal writer's side of a durable [`MemoryBackend`](crate::MemoryBackend).
#[derive(Debug)]
pub struct JournalFeed {
    rx: mpsc::UnboundedReceiver<JournalEntry>,
    shared: Arc<Durability>,
    events: broadcast::Sender<Event>,
}

impl JournalFeed {
    pub(crate) fn new(
        rx: mpsc::UnboundedReceiver<JournalEntry>,
        shared: Arc<Durability>,
        events: broadcast::Sender<Event>,
    ) -> Self {
        Self { rx, shared, events }
    }

    /// Waits for the next step, then takes every step already waiting, up to `max_steps`.
    /// `None` once the backend closed its journal and every step was taken.
    pub async fn next_batch(&mut self, max_steps: usize) -> Option<Vec<JournalEntry>> {
        let first = self.rx.recv().await?;
        let mut batch = vec![first];
        while batch.len() < max_steps.max(1) {
            match self.rx.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Call once `batch` (the last one [`JournalFeed::next_batch`] returned) is stored
    /// durably: [`JournalFeed::published`] then [`JournalFeed::synced`].
    pub fn committed(&self, batch: Vec<JournalEntry>) {
        if let Some(last) = self.published(batch) {
            self.synced(last);
        }
    }

    /// Call once `batch` is committed where a crash of this process cannot lose it (a SQLite
    /// WAL commit in the OS's page cache, not yet flushed to disk): its events go to the
    /// subscribers, in order — an offer rings without waiting for the disk. Returns the last
    /// step's number, for [`JournalFeed::synced`].
    pub fn published(&self, batch: Vec<JournalEntry>) -> Option<u64> {
        let last = batch.last().map(|e| e.seq)?;
        let n = batch.len() as u64;
        for entry in batch {
            for event in entry.events {
                // No subscriber is not an error.
                let _ = self.events.send(event);
            }
        }
        self.shared.pending.fetch_sub(n, Ordering::Relaxed);
        Some(last)
    }

    /// Call once every step up to `last` is on disk (would survive a power cut): the callers
    /// waiting for those steps return — an acknowledgement waits for the disk.
    pub fn synced(&self, last: u64) {
        self.syncer().synced(last);
    }

    /// What releases the callers, for a sync that runs beside the writer (so the next group
    /// commits, and its offers ring, while the previous one is flushed to disk).
    pub fn syncer(&self) -> Syncer {
        Syncer(self.shared.clone())
    }

    /// Steps handed over and not stored yet.
    pub fn pending(&self) -> u64 {
        self.shared.pending()
    }
}

/// Releases the callers of steps that are on disk; see [`JournalFeed::syncer`].
#[derive(Clone, Debug)]
pub struct Syncer(Arc<Durability>);

impl Syncer {
    /// [`JournalFeed::synced`].
    pub fn synced(&self, last: u64) {
        self.0.durable.send_if_modified(|d| {
            let newer = last > *d;
            if newer {
                *d = last;
            }
            newer
        });
    }
}

/// Takes one journaled step again on an engine restored from the snapshot it follows: the
/// timers due at `at`, then the command. The events it emits are the ones already in the
/// event log, with the same ids; they are returned only so the caller can count them.
///
/// Only commands the engine accepted are journaled, and a refused command changes nothing
/// ([`Engine::apply`]), so a refusal here means the engine did not behave deterministically:
/// the caller should say so loudly.
pub fn replay_step(
    engine: &mut Engine,
    at: Timestamp,
    command: Option<Command>,
) -> Result<usize, DispatchError> {
    let mut emitted = engine.fire_due(at).len();
    if let Some(command) = command {
        emitted += engine.apply(command, at)?.len();
    }
    Ok(emitted)
}
