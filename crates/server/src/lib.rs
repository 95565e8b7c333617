//! The `switchboard` binary's library: layered configuration ([`config`]), the wiring of
//! store, dispatcher, event log, timers and HTTP server ([`app`]), the in-process dispatcher's
//! durability — restore, journal writer, snapshots ([`durable`]) — and the demo seed
//! ([`seed`]). The only crate that knows configuration files, environment variables and
//! process life; everything it wires comes from the other crates.

pub mod app;
pub mod config;
pub mod durable;
pub mod seed;
