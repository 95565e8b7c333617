//! Switchboard's application layer: each use case once, behind the [`App`] handle the edges
//! (HTTP, WebSocket, hooks) hold, the read models fed by the event stream, and the
//! background tasks that keep them — owned in [`Tasks`] groups and stopped in order.
//!
//! Layout — the use cases, each a module of `impl App` methods:
//! - [`intake`]: a contact enters the ACD, the same way from the PBX's hooks, the CTI
//!   bridge and REST;
//! - [`calls`]: what a PBX reports about its calls (generic hooks, Zammad CTI), idempotent and
//!   tolerant of order;
//! - [`control`]: call control from the agent's console and the supervisor's floor (state,
//!   accept, reject, hold, resume, end, transfer, wrap up, move, urgency);
//! - [`callback`]: callback in place, one use case behind every door;
//! - [`configuration`]: the configuration records (queues, agents, skills, scripts, …) and
//!   their effect on the running dispatcher;
//! - [`customers`]: customer records — numbered, found by a normalised phone, e-mail or
//!   external reference, versioned, merged; [`identity`] normalises those identities (pure);
//! - [`presence`]: agents' presence follows their open consoles across instances;
//! - [`accounts`]: sign-in, sessions and users;
//! - [`views`]: read views (a queue's snapshot, a contact's place, the event log, surveys);
//! - [`reports`]: historical reports, from the interval aggregates [`reports::rollup`] keeps
//!   (or from the raw event log).
//!
//! And the parts that run in the background: [`live`], the read side — one subscriber to the
//! event stream (today's log replayed once at start, then the live events) feeding the
//! agents' consoles' and the supervisors' floor's read models; [`pbx`], the outbound
//! webhooks' planner and deliverer; [`presence::run`]; [`reports::rollup::run`]; and
//! [`tasks`], which owns them.
//!
//! The application knows the dispatcher (`switchboard_dispatch`), the store, the stats and
//! the wire protocol's frame types (`switchboard_protocol`, plain data), and nothing of HTTP,
//! axum, WebSocket framing or configuration files: it takes and returns plain types and
//! [`AppError`] (each with a stable code and a [`Class`]), and the edges turn them into
//! responses. Outbound HTTP (the PBX's webhooks) goes through a port the edge implements
//! ([`pbx::Sender`]).

pub mod accounts;
mod app;
pub mod callback;
pub mod calls;
pub mod configuration;
pub mod control;
pub mod customers;
mod error;
pub mod identity;
pub mod intake;
pub mod live;
pub mod pbx;
pub mod presence;
pub mod reports;
pub mod tasks;
pub mod views;

pub use accounts::Secret;
pub use app::{App, Readiness, Settings};
pub use error::{AppError, Class};
pub use switchboard_store::PoolStatus;
pub use tasks::Tasks;
