//! The in-process backend: the engine behind a mutex. The default when no Redis is
//! configured, and the one the simulator drives.

use std::sync::{Mutex, MutexGuard};

use switchboard_domain::{
    AgentId, AgentStatus, Command, ContactId, ContactState, Event, QueueId, Timestamp,
};

use tokio::sync::broadcast;

use crate::{DispatchError, Engine, QueueBackend, QueuePosition, QueueSnapshot};

/// Events buffered per subscriber before it counts as lagging.
pub const EVENT_CHANNEL_CAPACITY: usize = 1 << 16;

/// All state in this process. Commands are serialised by a mutex that is never held across
/// an `await`; a routing decision takes microseconds, so contention is negligible.
#[derive(Debug)]
pub struct MemoryBackend {
    engine: Mutex<Engine>,
    events: broadcast::Sender<Event>,
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

    pub fn from_engine(engine: Engine) -> Self {
        Self {
            engine: Mutex::new(engine),
            events: broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
        }
    }

    /// The engine's full state (see [`Engine::snapshot`]).
    pub fn snapshot(&self) -> crate::EngineSnapshot {
        self.lock().snapshot()
    }

    fn publish(&self, events: &[Event]) {
        for e in events {
            // No subscriber is not an error.
            let _ = self.events.send(e.clone());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Engine> {
        // The engine never panics half-way through a transition on valid state; if a bug
        // made it, the state is still the last consistent one, so keep serving.
        self.engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl QueueBackend for MemoryBackend {
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn execute(&self, command: Command, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let mut engine = self.lock();
        let fired = engine.fire_due(now);
        self.publish(&fired);
        let events = engine.apply(command, now)?;
        self.publish(&events);
        Ok(events)
    }

    async fn fire_due(&self, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let mut engine = self.lock();
        let fired = engine.fire_due(now);
        self.publish(&fired);
        Ok(fired)
    }

    async fn next_deadline(&self) -> Result<Option<Timestamp>, DispatchError> {
        Ok(self.lock().next_deadline())
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactState>, DispatchError> {
        Ok(self.lock().contact(id))
    }

    async fn agent_status(&self, id: &AgentId) -> Result<Option<AgentStatus>, DispatchError> {
        Ok(self.lock().agent_status(id))
    }

    async fn agent_contacts(&self, id: &AgentId) -> Result<Vec<ContactId>, DispatchError> {
        Ok(self.lock().agent_contacts(id))
    }

    async fn position(
        &self,
        id: ContactId,
        now: Timestamp,
    ) -> Result<Option<QueuePosition>, DispatchError> {
        Ok(self.lock().position(id, now))
    }

    async fn queue_snapshot(
        &self,
        id: &QueueId,
        now: Timestamp,
    ) -> Result<Option<QueueSnapshot>, DispatchError> {
        Ok(self.lock().queue_snapshot(id, now))
    }
}
