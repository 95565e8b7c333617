//! A contact center on a virtual clock around any backend, with shorthand for scenarios.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use switchboard_dispatch::{DispatchError, QueueBackend};
use switchboard_domain::*;
use tokio::sync::broadcast;

pub(crate) use switchboard_test_support::time::T0;

pub(crate) fn q(name: &str) -> QueueId {
    QueueId::parse(name).unwrap()
}
pub(crate) fn a(name: &str) -> AgentId {
    AgentId::parse(name).unwrap()
}
pub(crate) fn skill(name: &str) -> SkillName {
    SkillName::parse(name).unwrap()
}
pub(crate) fn level(l: u8) -> SkillLevel {
    SkillLevel::new(l).unwrap()
}
pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A new contact id, increasing like the ids the edges mint, but from a counter: the same
/// ids every run (the `random` strategy hashes them).
pub(crate) fn new_contact_id() -> ContactId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut bits = [0; 10];
    bits[2..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    ContactId::from_parts(Timestamp::from_millis(T0), bits)
}

/// A queue with quiet defaults for tests: no wrap-up, no delays.
pub(crate) fn queue(name: &str) -> QueueConfig {
    let mut c = QueueConfig::new(q(name));
    c.wrap_up = Duration::ZERO;
    c.reject_delay = Duration::ZERO;
    c.no_answer_delay = Duration::ZERO;
    c
}

pub(crate) struct Center<B: QueueBackend> {
    pub(crate) backend: B,
    pub(crate) now: Timestamp,
    events: broadcast::Receiver<Event>,
    /// Every event so far, in order.
    pub(crate) log: Vec<Event>,
}

impl<B: QueueBackend> Center<B> {
    pub(crate) fn new(backend: B) -> Self {
        let events = backend.subscribe();
        Self {
            backend,
            now: Timestamp::from_millis(T0),
            events,
            log: Vec::new(),
        }
    }

    /// Collects published events (all of them: commands' and timers').
    async fn drain(&mut self) {
        // Let a backend that publishes from a background task catch up.
        tokio::task::yield_now().await;
        loop {
            match self.events.try_recv() {
                Ok(e) => self.log.push(e),
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(e) => panic!("event stream: {e}"),
            }
        }
    }

    pub(crate) async fn try_run(&mut self, cmd: Command) -> Result<Vec<Event>, DispatchError> {
        let r = self.backend.execute(cmd, self.now).await;
        self.drain().await;
        r
    }

    pub(crate) async fn run(&mut self, cmd: Command) -> Vec<Event> {
        let name = cmd.name();
        self.try_run(cmd)
            .await
            .unwrap_or_else(|e| panic!("{name} refused: {e}"))
    }

    /// Moves the clock on and fires what came due.
    pub(crate) async fn advance(&mut self, d: Duration) -> Vec<Event> {
        self.now = self.now.plus(d);
        let fired = self.backend.fire_due(self.now).await.expect("fire_due");
        self.drain().await;
        fired
    }

    pub(crate) async fn add_queue(&mut self, config: QueueConfig) {
        self.run(Command::UpsertQueue(config)).await;
    }

    /// An agent with `skills`, default capacity, logged in and available.
    pub(crate) async fn add_agent(&mut self, id: &str, skills: &[(&str, u8)]) {
        let mut p = AgentProfile::new(a(id));
        for (s, l) in skills {
            p = p.with_skill(skill(s), level(*l));
        }
        self.run(Command::UpsertAgent(p)).await;
        self.login(id).await;
    }

    pub(crate) async fn login(&mut self, id: &str) {
        self.presence(id, Presence::Available).await;
    }

    pub(crate) async fn presence(&mut self, id: &str, presence: Presence) -> Vec<Event> {
        self.run(Command::SetPresence {
            agent: a(id),
            presence,
        })
        .await
    }

    pub(crate) async fn away(&mut self, id: &str) -> Vec<Event> {
        self.presence(
            id,
            Presence::Away {
                reason: ReasonCode::parse("break").unwrap(),
            },
        )
        .await
    }

    pub(crate) async fn contact(&mut self, new: NewContact) -> ContactId {
        let id = new.id;
        self.run(Command::Enqueue(new)).await;
        id
    }

    pub(crate) async fn call(&mut self, queue: &str) -> ContactId {
        self.contact(NewContact::new(new_contact_id(), q(queue), Channel::Voice))
            .await
    }

    pub(crate) async fn accept(&mut self, c: ContactId, agent: &str) -> Vec<Event> {
        self.run(Command::Accept {
            contact: c,
            agent: a(agent),
        })
        .await
    }

    pub(crate) async fn reject(&mut self, c: ContactId, agent: &str) -> Vec<Event> {
        self.run(Command::Reject {
            contact: c,
            agent: a(agent),
        })
        .await
    }

    pub(crate) async fn complete(&mut self, c: ContactId) -> Vec<Event> {
        self.run(Command::Complete { contact: c }).await
    }

    pub(crate) async fn state(&self, c: ContactId) -> Option<ContactState> {
        self.backend.contact(c).await.unwrap()
    }

    pub(crate) async fn status(&self, agent: &str) -> AgentStatus {
        self.backend
            .agent_status(&a(agent))
            .await
            .unwrap()
            .expect("known agent")
    }

    /// The agent currently holding an offer for `c`, if any.
    pub(crate) async fn offered_to(&self, c: ContactId) -> Option<String> {
        match self.state(c).await {
            Some(ContactState::Offered { agent, .. }) => Some(agent.to_string()),
            _ => None,
        }
    }

    /// Event names in the log since index `from`, for compact assertions.
    pub(crate) fn names_since(&self, from: usize) -> Vec<&'static str> {
        self.log[from..].iter().map(|e| e.kind.name()).collect()
    }
}
