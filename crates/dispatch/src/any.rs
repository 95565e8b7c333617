//! A backend chosen at run time (the server picks by configuration).

use switchboard_domain::{
    AgentId, AgentStatus, Channel, Command, ContactId, ContactState, Event, QueueId, Timestamp,
};
use tokio::sync::broadcast;

use crate::{
    DispatchError, MemoryBackend, QueueBackend, QueuePosition, QueueSnapshot, RedisBackend,
};

/// Either backend, behind one type.
#[derive(Debug)]
pub enum AnyBackend {
    Memory(MemoryBackend),
    Redis(RedisBackend),
}

macro_rules! delegate {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Memory($b) => $e,
            AnyBackend::Redis($b) => $e,
        }
    };
}

impl AnyBackend {
    /// The console registry that goes with this backend: local counts in process, shared
    /// through the same Redis and namespace otherwise.
    pub fn console_registry(
        &self,
        options: crate::PresenceOptions,
    ) -> Result<crate::ConsoleRegistry, DispatchError> {
        match self {
            AnyBackend::Memory(_) => Ok(crate::ConsoleRegistry::in_process()),
            AnyBackend::Redis(b) => b.console_registry(options),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AnyBackend::Memory(_) => "memory",
            AnyBackend::Redis(_) => "redis",
        }
    }
}

impl QueueBackend for AnyBackend {
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        delegate!(self, b => b.subscribe())
    }

    async fn execute(&self, command: Command, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        delegate!(self, b => b.execute(command, now).await)
    }

    async fn fire_due(&self, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        delegate!(self, b => b.fire_due(now).await)
    }

    async fn ping(&self) -> Result<(), DispatchError> {
        delegate!(self, b => b.ping().await)
    }

    async fn next_deadline(&self) -> Result<Option<Timestamp>, DispatchError> {
        delegate!(self, b => b.next_deadline().await)
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactState>, DispatchError> {
        delegate!(self, b => b.contact(id).await)
    }

    async fn contact_channel(&self, id: ContactId) -> Result<Option<Channel>, DispatchError> {
        delegate!(self, b => b.contact_channel(id).await)
    }

    async fn agent_status(&self, id: &AgentId) -> Result<Option<AgentStatus>, DispatchError> {
        delegate!(self, b => b.agent_status(id).await)
    }

    async fn agent_contacts(&self, id: &AgentId) -> Result<Vec<ContactId>, DispatchError> {
        delegate!(self, b => b.agent_contacts(id).await)
    }

    async fn agent_queues(&self, id: &AgentId) -> Result<Vec<QueueId>, DispatchError> {
        delegate!(self, b => b.agent_queues(id).await)
    }

    async fn position(
        &self,
        id: ContactId,
        now: Timestamp,
    ) -> Result<Option<QueuePosition>, DispatchError> {
        delegate!(self, b => b.position(id, now).await)
    }

    async fn queue_snapshot(
        &self,
        id: &QueueId,
        now: Timestamp,
    ) -> Result<Option<QueueSnapshot>, DispatchError> {
        delegate!(self, b => b.queue_snapshot(id, now).await)
    }
}
