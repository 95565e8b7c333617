//! Switchboard's test helpers, written once: the clock readings tests start from
//! ([`time`]), a scratch directory that removes itself ([`ScratchDir`]), a throw-away SQLite
//! file or PostgreSQL database per test ([`database`]), a Redis key namespace per test
//! ([`redis`](mod@redis)) and a small center seeded through the store ([`center`]).
//!
//! Every resource is a guard: dropping it (also when a test panics) removes what it made,
//! and an explicit `remove` reports what could not be removed. A service a test needs that
//! is not there (PostgreSQL, Redis) fails the test loudly, naming the URL; nothing is ever
//! skipped.
//!
//! It is only ever a dev-dependency (the load generator, a tool, shares it too): no
//! production crate may depend on it — `crates/engine/tests/architecture.rs` checks that.
//! It must not know how the server is wired or how routing decides: it uses the store's
//! public API like a migration or an administrator would, and the gateway only for how a
//! sign-in stores a session. The heavy parts are behind features (`database`, `redis`,
//! `center`), so that the pure crates' tests use [`time`] without an async runtime or a
//! database client.

mod error;
mod scratch;
pub mod time;

#[cfg(feature = "center")]
pub mod center;
#[cfg(feature = "database")]
pub mod database;
#[cfg(feature = "redis")]
pub mod redis;

pub use error::Error;
pub use scratch::ScratchDir;

/// A name no other test (or run) uses: `prefix` and 32 hex digits.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}
