//! The in-process backend: the engine behind a mutex. The default when no Redis is
//! configured, and the one the simulator drives.
//!
//! Plain ([`MemoryBackend::new`]): events are published as they happen and nothing survives
//! the process. Durable ([`MemoryBackend::durable`]): every step goes to a journal first
//! (see [`crate::journal`]); a command returns, and its events are published, only once the
//! journal holds it.

use std::sync::{Arc, Mutex, MutexGuard};

use switchboard_domain::{
    AgentId, AgentStatus, Channel, Command, ContactId, ContactState, Event, QueueId, Timestamp,
};

use tokio::sync::{broadcast, mpsc};

use crate::{
    journal::{Durability, JournalEntry, JournalFeed},
    DispatchError, Engine, QueueBackend, QueuePosition, QueueSnapshot,
};

/// Events buffered per subscriber before it counts as lagging.
pub const EVENT_CHANNEL_CAPACITY: usize = 1 << 16;

/// All state in this process. Commands are serialised by a mutex that is never held across
/// an `await`; a routing decision takes microseconds, so contention is negligible.
#[derive(Debug)]
pub struct MemoryBackend {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Event>,
    durability: Option<Arc<Durability>>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    journal: Option<Journal>,
}

/// The sending side of a durable backend's journal.
#[derive(Debug)]
struct Journal {
    /// `None` once closed: every later step is refused before it touches the engine.
    tx: Option<mpsc::UnboundedSender<JournalEntry>>,
    /// The last step's number.
    seq: u64,
}

impl Journal {
    /// Refuses before the engine is touched when the journal cannot take the step, so the
    /// engine never holds a step the journal lacks.
    fn check_open(&self) -> Result<(), DispatchError> {
        match &self.tx {
            Some(tx) if !tx.is_closed() => Ok(()),
            _ => Err(DispatchError::Backend("the dispatcher is stopping".into())),
        }
    }

    fn push(
        &mut self,
        shared: &Durability,
        at: Timestamp,
        command: Option<Command>,
        events: Vec<Event>,
    ) -> u64 {
        self.seq += 1;
        let entry = JournalEntry {
            seq: self.seq,
            at,
            command,
            events,
        };
        shared.sent();
        if let Some(tx) = &self.tx {
            if tx.send(entry).is_err() {
                tracing::error!(
                    seq = self.seq,
                    "the journal writer is gone: a step was not stored"
                );
            }
        }
        self.seq
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::from_engine(Engine::new())
    }
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// A plain backend over `engine`: nothing is journaled.
    pub fn from_engine(engine: Engine) -> Self {
        Self {
            inner: Mutex::new(Inner {
                engine,
                journal: None,
            }),
            events: broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
            durability: None,
        }
    }

    /// A durable backend over `engine`, whose state includes the journal up to step
    /// `journal_seq`: the next step is `journal_seq + 1`. The feed goes to the journal writer,
    /// which must store what it reads and call [`JournalFeed::committed`].
    pub fn durable(engine: Engine, journal_seq: u64) -> (Self, JournalFeed) {
        let (tx, rx) = mpsc::unbounded_channel();
        let events = broadcast::channel(EVENT_CHANNEL_CAPACITY).0;
        let shared = Durability::new(journal_seq);
        let backend = Self {
            inner: Mutex::new(Inner {
                engine,
                journal: Some(Journal {
                    tx: Some(tx),
                    seq: journal_seq,
                }),
            }),
            events: events.clone(),
            durability: Some(shared.clone()),
        };
        (backend, JournalFeed::new(rx, shared, events))
    }

    /// The engine's full state (see [`Engine::snapshot`]).
    pub fn snapshot(&self) -> crate::EngineSnapshot {
        self.lock().engine.snapshot()
    }

    /// The engine's full state and the journal step it includes (0 when not durable), taken
    /// together. Save it only once that step is stored ([`MemoryBackend::wait_durable`]).
    pub fn snapshot_at(&self) -> (crate::EngineSnapshot, u64) {
        let inner = self.lock();
        let seq = inner.journal.as_ref().map_or(0, |j| j.seq);
        (inner.engine.snapshot(), seq)
    }

    /// The last step handed to the journal (0 when not durable).
    pub fn journal_seq(&self) -> u64 {
        self.lock().journal.as_ref().map_or(0, |j| j.seq)
    }

    /// Steps handed to the journal and not stored yet (0 when not durable).
    pub fn journal_pending(&self) -> u64 {
        self.durability.as_ref().map_or(0, |d| d.pending())
    }

    /// Waits until the journal holds step `seq` (at once when not durable).
    pub async fn wait_durable(&self, seq: u64) -> Result<(), DispatchError> {
        match &self.durability {
            Some(d) => d.wait(seq).await,
            None => Ok(()),
        }
    }

    /// Stops journaling: every later command and timer step is refused, and the journal
    /// writer's feed ends once it took the steps already handed over.
    pub fn close_journal(&self) {
        if let Some(j) = self.lock().journal.as_mut() {
            j.tx = None;
        }
    }

    fn publish(&self, events: &[Event]) {
        for e in events {
            // No subscriber is not an error.
            let _ = self.events.send(e.clone());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The engine never panics half-way through a transition on valid state; if a bug
        // made it, the state is still the last consistent one, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn shared(&self) -> &Durability {
        self.durability
            .as_deref()
            .expect("a journal comes with its durability")
    }
}

impl QueueBackend for MemoryBackend {
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn execute(&self, command: Command, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let (seq, events) = {
            let mut inner = self.lock();
            let Inner { engine, journal } = &mut *inner;
            let Some(journal) = journal else {
                let fired = engine.fire_due(now);
                self.publish(&fired);
                let events = engine.apply(command, now)?;
                self.publish(&events);
                return Ok(events);
            };
            journal.check_open()?;
            let mut step = engine.fire_due(now);
            let record = command.clone();
            match engine.apply(command, now) {
                Ok(events) => {
                    step.extend_from_slice(&events);
                    let seq = journal.push(self.shared(), now, Some(record), step);
                    (seq, events)
                }
                // A refused command changed nothing; the timers it fired did.
                Err(e) => {
                    if !step.is_empty() {
                        journal.push(self.shared(), now, None, step);
                    }
                    return Err(e.into());
                }
            }
        };
        self.wait_durable(seq).await?;
        Ok(events)
    }

    async fn fire_due(&self, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let (seq, fired) = {
            let mut inner = self.lock();
            let Inner { engine, journal } = &mut *inner;
            let Some(journal) = journal else {
                let fired = engine.fire_due(now);
                self.publish(&fired);
                return Ok(fired);
            };
            journal.check_open()?;
            let fired = engine.fire_due(now);
            if fired.is_empty() {
                return Ok(fired);
            }
            (journal.push(self.shared(), now, None, fired.clone()), fired)
        };
        self.wait_durable(seq).await?;
        Ok(fired)
    }

    async fn next_deadline(&self) -> Result<Option<Timestamp>, DispatchError> {
        Ok(self.lock().engine.next_deadline())
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactState>, DispatchError> {
        Ok(self.lock().engine.contact(id))
    }

    async fn contact_channel(&self, id: ContactId) -> Result<Option<Channel>, DispatchError> {
        Ok(self.lock().engine.contact_channel(id))
    }

    async fn agent_status(&self, id: &AgentId) -> Result<Option<AgentStatus>, DispatchError> {
        Ok(self.lock().engine.agent_status(id))
    }

    async fn agent_contacts(&self, id: &AgentId) -> Result<Vec<ContactId>, DispatchError> {
        Ok(self.lock().engine.agent_contacts(id))
    }

    async fn agent_queues(&self, id: &AgentId) -> Result<Vec<QueueId>, DispatchError> {
        Ok(self.lock().engine.agent_queues(id))
    }

    async fn position(
        &self,
        id: ContactId,
        now: Timestamp,
    ) -> Result<Option<QueuePosition>, DispatchError> {
        Ok(self.lock().engine.position(id, now))
    }

    async fn queue_snapshot(
        &self,
        id: &QueueId,
        now: Timestamp,
    ) -> Result<Option<QueueSnapshot>, DispatchError> {
        Ok(self.lock().engine.queue_snapshot(id, now))
    }
}
