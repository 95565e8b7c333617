//! Switchboard's HTTP edge: the `/api/v1` JSON API — sign-in and sessions, user and
//! configuration administration, live queue views and the event log — plus `/healthz`,
//! `/readyz`, `/metrics` and the OpenAPI document at `/api/openapi.json`.
//!
//! Adapters only: every handler parses its input into the protocol's or the application's
//! types, calls the application (`switchboard_app::App`, in [`AppState`]) and turns the
//! answer or the `AppError` into a response.
//!
//! Layout: [`routes`] holds the route table that builds the router, checks roles and
//! drives the OpenAPI document that [`openapi`] derives from it and the types' schemas;
//! [`client`] tells who the client is (the peer, or what a trusted proxy forwarded);
//! [`auth`] signs people in and checks sessions' roles and API keys' scopes; [`documents`],
//! [`users`] and [`api_keys`] administer; [`customers`] serves the customer records; [`live`] serves the read views; [`hooks`] checks the PBX's signed call events
//! and CTI tokens and creates contacts through REST, and [`pbx`] is the signed HTTP client the
//! application's webhook deliverer sends through; [`callback`] is the REST door of callback in
//! place; [`ops`] serves the operator's probes and [`metrics`] counts for them; [`reports`]
//! renders historical reports; [`console`] and [`supervisor`] are the agent's and the
//! supervisor's WebSockets, generic over `Sink`/`Stream`, with the limits of [`socket`];
//! [`serve`] runs the router with header-read, idle and request timeouts; [`error`] turns
//! every failure into `{code, message, details}`.
//!
//! The gateway knows HTTP, WebSocket framing and the wire formats, and nothing of
//! configuration files, process wiring, SQL or Redis: it depends on neither
//! `switchboard_store` nor `switchboard_dispatch` (checked by the architecture test).

pub mod api_keys;
pub mod auth;
pub mod callback;
pub mod client;
pub mod console;
pub mod customers;
pub mod documents;
pub mod error;
pub mod hooks;
pub mod live;
pub mod metrics;
pub mod ops;
pub mod pbx;
pub mod reports;
pub mod routes;
pub mod serve;
pub mod socket;
pub mod staffing;
pub mod state;
pub mod supervisor;
pub mod users;

pub use routes::openapi::document as openapi;
pub use routes::{router, routes, Access, Route};
pub use serve::serve;
pub use state::{AppState, PasswordHashing, Secret, Settings};
