//! The answer of `GET /api/v1/reports` as JSON: the reports and where their figures were
//! read from.
//!
//! A report's own shape is the statistics crate's (`switchboard_stats::Report`, a serde
//! type); this crate depends on no crate but the domain, so [`ReportAnswer`] is generic over
//! it and types the envelope around it.

use serde::{Deserialize, Serialize};
use switchboard_domain::Timestamp;

/// `{reports, source, …}`: one report per interval (or one for the whole range), and the
/// [`ReportSource`]'s fields beside them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportAnswer<R> {
    pub reports: Vec<R>,
    /// Whose clock the intervals and the `*_time` fields follow (`Europe/Berlin`, `+05:30`,
    /// `UTC`).
    #[serde(default)]
    pub time_zone: String,
    #[serde(flatten)]
    pub source: ReportSource,
}

/// Where the figures were read from, by `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ReportSource {
    /// The interval aggregates, rolled up until `aggregated_until`, plus the events after it.
    Aggregates {
        aggregated_until: Timestamp,
        cells_read: u64,
        events_read: u64,
    },
    /// The raw event log (a range off the 15-minute grid).
    Events { events_read: u64 },
}

/// A report with its range also as RFC 3339 times on the report's clock, beside the range
/// in milliseconds the report itself carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dated<R> {
    #[serde(flatten)]
    pub report: R,
    /// The range's start, e.g. `2026-03-29T00:00:00.000+01:00`.
    pub start_time: String,
    /// The range's end (exclusive).
    pub end_time: String,
}
