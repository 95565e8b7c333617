//! Switchboard's wire protocol: every message that crosses the edge, as closed serde types.
//!
//! - [`console`] — the agent console socket (`GET /api/v1/agent/ws`): [`console::Frame`]
//!   server → agent, [`console::Request`] agent → server.
//! - [`floor`] — the supervisor floor socket (`GET /api/v1/supervisor/ws`): [`floor::Frame`]
//!   server → supervisor, [`floor::Request`] supervisor → server.
//! - [`hooks`] — what a PBX, an IVR or a CTI bridge sends us: the generic signed call events
//!   ([`hooks::Delivery`], [`hooks::CallEvent`]) and their answers ([`hooks::HookAnswer`]),
//!   and the Zammad "generic CTI" fields ([`hooks::cti`]).
//! - [`pbx`] — the webhooks we POST to a PBX (we-route mode): `call.ring`, `call.connect`,
//!   `call.cancel`, `call.dial` ([`pbx::Webhook`]).
//! - [`contacts`] — the contact API's public resources: create-contact request and answer,
//!   a waiting contact's position.
//!
//! The HTTP API's other public JSON resources, by theme:
//!
//! - [`errors`] — the error body of every failed request (`{code, message, details}`).
//! - [`users`] — sign-in (`/api/v1/auth/*`) and user administration (`/api/v1/users`):
//!   requests and the user as shown.
//! - [`api_keys`] — API keys for services (`/api/v1/api-keys`): their scopes, the key to
//!   create, the key as shown and the one answer that carries its secret.
//! - [`customers`] — customer records (`/api/v1/customers`): create, change, identities,
//!   merge, the list's query and page, the customer as shown.
//! - [`events`] — a page of the event log (`GET /api/v1/events`) and its query string.
//! - [`deliveries`] — the outbound PBX webhooks listed
//!   (`GET /api/v1/integrations/{id}/deliveries`) and its query string.
//! - [`reports`] — the envelope of a historical report (`GET /api/v1/reports`).
//! - [`surveys`] — a post-contact survey answer (`POST /api/v1/surveys`).
//! - [`ops`] — the operator's probes (`GET /healthz`, `GET /readyz`).
//!
//! Socket frames are stamped with the protocol [`VERSION`] and a per-connection sequence
//! number by [`Stamped`]; the HTTP resources are versioned by their path (`/api/v1`). Both
//! ends (the gateway, the tests, the coming web consoles) speak these types, so a change of
//! the wire format is a change here, and shows in this crate's snapshot tests
//! (`tests/snapshots/`).
//!
//! This crate is data and its (de)serialisation only: it depends on `switchboard-domain`,
//! `serde` and `serde_json` and knows nothing about HTTP, WebSockets, tokio, SQL, Redis or how
//! a message is acted upon (that is the gateway's and the dispatcher's business).

use serde::{Deserialize, Serialize};

pub mod api_keys;
pub mod console;
pub mod contacts;
pub mod customers;
pub mod deliveries;
pub mod errors;
pub mod events;
pub mod floor;
pub mod hooks;
pub mod ops;
pub mod pbx;
pub mod reports;
pub mod surveys;
pub mod users;

/// Protocol version, `v` in every socket frame.
pub const VERSION: u32 = 1;

/// A socket frame as sent: the frame's own fields with `v` (the protocol [`VERSION`]) and
/// `seq` (increasing per agent on the console, per connection on the floor) beside them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped<F> {
    pub v: u32,
    pub seq: u64,
    #[serde(flatten)]
    pub frame: F,
}

impl<F> Stamped<F> {
    /// `frame` as message number `seq` of this protocol version.
    pub fn new(seq: u64, frame: F) -> Self {
        Self {
            v: VERSION,
            seq,
            frame,
        }
    }
}

/// A request's `id`, as the client chose it (any JSON value), echoed as `in_reply_to`.
pub type RequestId = Option<serde_json::Value>;

/// `in_reply_to` of an `error` frame: absent (`None`) when the message could not be read, so
/// there is no request to answer; `null` (`Some(None)`) for a request without an `id`.
pub(crate) mod in_reply_to {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub(crate) fn serialize<S: Serializer>(
        v: &Option<Option<Value>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        // `None` is skipped by `skip_serializing_if`; here it is `null` or the id.
        v.as_ref().and_then(Option::as_ref).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<Value>>, D::Error> {
        // Present: `null` is a request without an id (a missing field is `None`, by `default`).
        Ok(Some(Option::<Value>::deserialize(d)?))
    }
}

/// A field that must be present but may be `null` (serde would take a missing `Option` as
/// `None`), so that the shapes of an answer are told apart by their keys.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

impl<F: Serialize> Stamped<F> {
    /// The frame as the text of a WebSocket message ([`to_sorted_json`]).
    pub fn to_text(&self) -> String {
        // Frames hold only strings, numbers and maps keyed by strings: they always serialise.
        to_sorted_json(self).expect("a protocol frame serialises to JSON")
    }
}

/// `value` as JSON text with every object's keys in sorted order: byte for byte what the
/// gateway sent when it built its messages as `serde_json::Value`s, so that a receiver that
/// compares texts, or re-serialises a parsed body to check its signature, sees no change.
pub fn to_sorted_json(value: &impl Serialize) -> Result<String, serde_json::Error> {
    serde_json::to_value(value).map(|v| v.to_string())
}
