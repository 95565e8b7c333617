//! The ACD dispatcher: where the routing engine's state lives and what drives it.
//!
//! The decisions — which agent gets which contact, and when — are the pure
//! [`switchboard_engine::Engine`]'s (re-exported here with its views, so callers of a backend
//! need one crate). This crate gives it homes and a clock:
//!
//! Layout:
//! - [`QueueBackend`] — one behaviour, two homes for the live state: [`MemoryBackend`]
//!   (in-process, the default) and [`RedisBackend`] (scale-out: the engine replicated through
//!   a Redis Stream command log that any number of instances append to and follow).
//!   The in-process backend can be made durable ([`MemoryBackend::durable`]): every step is
//!   handed to a [`journal`] and acknowledged only once the journal writer stored it.
//! - [`ConsoleRegistry`] — which agents have a console open on which instance, with
//!   heartbeats, so that "their last console closed" means anywhere and a dead instance's
//!   agents can be found (in process: local counts; over Redis: shared, next to the log).
//! - [`run_timers`] — the edge that reads a [`Clock`] and fires due timers, event-driven:
//!   it sleeps until the next deadline and wakes on every event.
//! - [`fresh_contact_id`] — contact ids for the edges that create contacts: the caller's
//!   instant and the operating system's random bits, increasing within the process.
//! - [`DispatchError`] — the engine's refusals ([`EngineError`]) plus the backend's own
//!   failure.
//!
//! This crate knows nothing about HTTP, WebSockets, SQL or configuration files: settings
//! arrive as [`switchboard_domain::Command`]s and events leave as values. It contains no
//! routing policy: every decision is the engine's.

mod any;
mod backend;
mod driver;
mod error;
mod ids;
pub mod journal;
mod memory;
mod presence;
mod redis_conn;
mod redis_log;

pub use any::AnyBackend;
pub use backend::QueueBackend;
pub use driver::{run_timers, Clock, SystemClock, TokioClock};
pub use error::DispatchError;
pub use ids::fresh_contact_id;
pub use journal::{JournalEntry, JournalFeed, Syncer};
pub use memory::{MemoryBackend, EVENT_CHANNEL_CAPACITY};
pub use presence::{ConsoleRegistry, PresenceOptions};
pub use redis_log::{RedisBackend, RedisOptions};
pub use switchboard_engine::{Engine, EngineError, EngineSnapshot, QueuePosition, QueueSnapshot};
