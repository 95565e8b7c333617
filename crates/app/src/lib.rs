//! Switchboard's application layer: each use case once, behind a plain function the edges
//! (HTTP, WebSocket, hooks) call, the read models fed by the event stream, and the
//! background tasks that keep them — owned in [`Tasks`] groups and stopped in order.
//!
//! Layout: [`accounts`] signs people in and administers users; [`callback`] is callback in
//! place, one use case behind every door; [`live`] is the read side —
//! one subscriber to the event stream (today's log replayed once at start, then the live
//! events) feeding the agents' consoles' and the supervisors' floor's read models;
//! [`reports`] answers historical reports, from the interval aggregates that
//! [`reports::rollup`] keeps (or from the raw event log); [`tasks`] owns background tasks.
//!
//! The application knows the dispatcher (`switchboard_dispatch`), the store, the stats and
//! the wire protocol's frame types (`switchboard_protocol`, plain data), and nothing of HTTP, axum, WebSocket framing or configuration files: it takes and returns
//! plain types and typed errors, and the edges turn them into responses.
//!
//! This crate is being grown out of the gateway one use case at a time (see ARCHITECTURE.md,
//! "Application layer"): what has moved here is no longer in the gateway.

pub mod accounts;
pub mod callback;
pub mod live;
pub mod reports;
pub mod tasks;

pub use accounts::Secret;
pub use tasks::Tasks;
