//! The ACD dispatcher: decides which agent gets which contact, and when.
//!
//! Layout:
//! - [`Engine`] — the routing policy and the whole ACD state as a pure state machine:
//!   commands and `now` in, events out. No clock, no I/O, no async.
//! - [`QueueBackend`] — one behaviour, two homes for the live state: [`MemoryBackend`]
//!   (in-process, the default) and [`RedisBackend`] (scale-out: every transition one atomic
//!   Lua script, shared by any number of instances).
//!
//! This crate knows nothing about HTTP, WebSockets, SQL or configuration files: settings
//! arrive as [`switchboard_domain::Command`]s and events leave as values.

mod backend;
mod engine;
mod error;
mod memory;

pub use backend::QueueBackend;
pub use engine::{Engine, QueuePosition, QueueSnapshot};
pub use error::DispatchError;
pub use memory::{MemoryBackend, EVENT_CHANNEL_CAPACITY};
