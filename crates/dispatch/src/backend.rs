//! The one interface every home of the live ACD state offers.

use std::future::Future;

use tokio::sync::broadcast;

use switchboard_domain::{
    AgentId, AgentStatus, Channel, Command, ContactId, ContactState, Event, QueueId, Timestamp,
};

use crate::{DispatchError, QueuePosition, QueueSnapshot};

/// A home for the live ACD state. Every backend behaves exactly like [`crate::Engine`]; the
/// conformance suite (`tests/conformance`) runs the same scenarios against each.
///
/// `now` is always passed in: backends never read a clock, so tests and the simulator run on
/// virtual time.
pub trait QueueBackend: Send + Sync + 'static {
    /// Every event the backend emits, in order: those of commands and of timers, whoever
    /// caused them (with Redis: on any instance). A receiver that falls more than the
    /// channel's capacity behind gets `Lagged` and must resynchronise from a snapshot.
    fn subscribe(&self) -> broadcast::Receiver<Event>;

    /// Fires the timers due at `now`, then applies one command at `now`, atomically, and
    /// returns the command's events (the timers' are only published).
    fn execute(
        &self,
        command: Command,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<Event>, DispatchError>> + Send;

    /// Fires every timer due at `now` (offer deadlines, wrap-up ends, delays, expansion steps,
    /// maximum waits). Safe to call from many places at once: a timer fires once.
    fn fire_due(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<Event>, DispatchError>> + Send;

    /// Checks that the backend can serve (for readiness probes).
    fn ping(&self) -> impl Future<Output = Result<(), DispatchError>> + Send {
        async { Ok(()) }
    }

    /// When [`QueueBackend::fire_due`] next has work.
    fn next_deadline(
        &self,
    ) -> impl Future<Output = Result<Option<Timestamp>, DispatchError>> + Send;

    fn contact(
        &self,
        id: ContactId,
    ) -> impl Future<Output = Result<Option<ContactState>, DispatchError>> + Send;

    /// The contact's channel now (`callback` once a call became one), `None` once it left.
    fn contact_channel(
        &self,
        id: ContactId,
    ) -> impl Future<Output = Result<Option<Channel>, DispatchError>> + Send;

    fn agent_status(
        &self,
        id: &AgentId,
    ) -> impl Future<Output = Result<Option<AgentStatus>, DispatchError>> + Send;

    /// The contacts the agent holds: ringing, in conversation, on hold or in wrap-up.
    fn agent_contacts(
        &self,
        id: &AgentId,
    ) -> impl Future<Output = Result<Vec<ContactId>, DispatchError>> + Send;

    /// The queues the agent serves (the engine's eligibility: every required skill held).
    fn agent_queues(
        &self,
        id: &AgentId,
    ) -> impl Future<Output = Result<Vec<QueueId>, DispatchError>> + Send;

    fn position(
        &self,
        id: ContactId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<QueuePosition>, DispatchError>> + Send;

    fn queue_snapshot(
        &self,
        id: &QueueId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<QueueSnapshot>, DispatchError>> + Send;
}
