//! Switchboard's HTTP edge: the `/api/v1` JSON API — sign-in and sessions, user and
//! configuration administration, live queue views and the event log — plus `/healthz`,
//! `/readyz`, `/metrics` and the OpenAPI document at `/api/openapi.json`.
//!
//! Layout: [`routes`] holds the route table that builds the router, checks roles and
//! generates the OpenAPI document; [`auth`] signs people in; [`documents`] and [`users`]
//! administer; [`live`] reads the dispatcher and the event log; [`hooks`] takes the PBX's
//! call events and [`pbx`] sends it signed webhooks (which extension to ring, which number to
//! dial); [`callback`] is callback in place, one use case behind four doors; [`ops`] serves
//! the operator's probes; [`reports`] renders historical reports that the application layer
//! (`switchboard_app::reports`) answers; [`console`] and [`supervisor`] are the agent's and the
//! supervisor's WebSockets, adapters over the application's read models
//! (`switchboard_app::live`, fed by its one event subscriber); [`error`] turns every failure
//! into `{code, message, details}`.
//!
//! The gateway knows the wire formats and nothing of configuration files, process wiring or
//! SQL: it talks to the dispatcher through `QueueBackend` and to the database through
//! `switchboard_store::Store`.

pub mod auth;
pub mod callback;
pub mod console;
pub mod documents;
pub mod error;
pub mod hooks;
pub mod live;
pub mod metrics;
pub mod ops;
pub mod pbx;
pub mod presence;
pub mod reports;
pub mod routes;
pub mod staffing;
pub mod state;
pub mod supervisor;
pub mod users;

pub use routes::{openapi, router, routes, Access, Route};
pub use state::{AppState, PasswordHashing, Secret, Settings};
