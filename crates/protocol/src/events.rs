//! The event log's page: `GET /api/v1/events` (its query string and its answer, each event
//! with its time also in RFC 3339).

use serde::{Deserialize, Serialize};
use switchboard_domain::{Event, EventId};

/// The query string of `GET /api/v1/events`: filters, all optional. Unknown keys are
/// refused. Ids are kept as written; the gateway reads them, so that it can name the one
/// that is not valid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct EventQuery {
    /// Only events after this id (the previous page's `next_after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<EventId>,
    /// From this instant, inclusive: milliseconds since the epoch or RFC 3339 (kept as
    /// written; the gateway reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Up to this instant, exclusive (as `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Event type, e.g. `contact_offered`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// 1–1000, default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// An event of the log, with its `at` also written as an RFC 3339 time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedEvent {
    #[serde(flatten)]
    pub event: Event,
    /// `at` in the center's time zone, to the millisecond, e.g.
    /// `2026-03-29T03:00:00.000+02:00`.
    pub time: String,
}

/// The answer to `GET /api/v1/events`: events in log order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<LoggedEvent>,
    /// Pass as `after` for the next page; `null` on the last page.
    #[serde(deserialize_with = "crate::nullable")]
    pub next_after: Option<EventId>,
}
