//! Switchboard's vocabulary: the plain data every other crate speaks.
//!
//! Ids and names that can only be built valid ([`AgentId`], [`QueueId`], [`SkillName`],
//! [`SkillLevel`]), contacts and their channels and tiers, agent profiles and presence, queue
//! settings (routing strategy, timeouts, skill expansion, overflow), the [`Command`]s a
//! dispatcher accepts and the [`Event`]s it emits, and [`Timestamp`], the only notion of time.
//!
//! This crate does no I/O, reads no clock and draws no random number (a [`ContactId`] is built
//! from an instant and random bits its creator passes in): it knows nothing about Redis, SQL,
//! HTTP or tokio. Everything here is `serde`-serialisable so that the same values travel through the
//! Redis backend, the event log and the wire.

mod agent;
mod clock;
mod command;
mod config;
mod contact;
mod error;
mod event;
mod ids;
#[cfg(feature = "openapi")]
mod openapi;
mod queue;
mod skill;
mod time;

pub use agent::{AgentProfile, AgentStatus, Capacity, Presence};
pub use clock::{parse_instant, CenterClock, LocalStep, MAX_OFFSET_MINUTES};
pub use command::{Command, NewContact, TransferTarget, WrapUp};
pub use config::{
    Agent, AwayReason, Disposition, GreetingScript, Integration, IntegrationKind, Skill,
    GREETING_VARIABLES,
};
pub use contact::{Channel, ContactState, Priority, Tier, Urgency};
pub use error::ValidationError;
pub use event::{Event, EventId, EventKind, ExitReason, WithdrawReason};
pub use ids::{check_name, AgentId, ContactId, QueueId, ReasonCode, SkillName, MAX_NAME_LEN};

pub use queue::{
    ExpansionStep, MaxWait, QueueConfig, RoutingStrategy, ServiceLevelTarget, WaitExit,
};
/// serde, for [`name_type!`]'s expansion in other crates.
#[doc(hidden)]
pub use serde as __serde;
pub use skill::{SkillLevel, SkillRequirement};
pub use time::{duration_secs, Timestamp};
