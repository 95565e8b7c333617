//! The HTTP API without a server: `router(state).oneshot(request)`.
//!
//! `support` holds [`Api`](support::Api): the router over a fresh SQLite store and an
//! in-memory dispatcher, with users signed in and requests made. Then a module per theme:
//! - `auth` — the role matrix (every route × no token, agent, supervisor, admin), sign-in,
//!   sign-out and the rate limit, first-admin setup, users administered;
//! - `api_keys` — the scope matrix (every route × keys with and without its scope), keys
//!   shown once, stored hashed, used, revoked and expired;
//! - `customers` — customer records: created, found by phone in any spelling and e-mail in
//!   any case, identities unique, versions, merges, and a table of bad inputs;
//! - `configuration` — configuration documents reaching the running dispatcher, with versions
//!   and references;
//! - `errors` — a table of bad inputs, each a 4xx with its code;
//! - `operations` — health, readiness, metrics, request ids and the OpenAPI document;
//! - `telephony` — signed PBX hooks, the Zammad CTI, contacts created through the API;
//! - `pbx_webhooks` — outbound webhooks to the PBX (we-route mode) and PBX-routes mode;
//! - `callback_in_place` — a waiting contact turned into a callback, and every refusal;
//! - `reports` — reports from the event log (JSON and CSV, agent time, callback promises) and
//!   the staffing calculators.

mod api_keys;
mod auth;
mod callback_in_place;
mod configuration;
mod customers;
mod errors;
mod operations;
mod pbx_webhooks;
mod reports;
mod support;
mod telephony;
