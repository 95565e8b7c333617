//! The HTTP API's error body: every failed request answers `{code, message, details}`, with a
//! stable, machine-readable `code` and, for some codes, `details` saying which input was wrong
//! or when to try again.

use serde::{Deserialize, Serialize};

/// The body of every 4xx and 5xx answer of the HTTP API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable and machine-readable: `invalid`, `not_found`, `unauthorized`, `rate_limited`…
    pub code: String,
    /// In words an operator understands; a 5xx never reveals its cause.
    pub message: String,
    /// Absent when the code says it all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ErrorDetails>,
}

/// What an [`ErrorBody`] adds to its code, told apart by its keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// `invalid` (422): the offending input, e.g. `agent_id` or `expansion[1].after`, and
    /// what was wrong with it.
    Invalid { field: String, problem: String },
    /// `rate_limited` (429): seconds until another attempt may succeed (at least 1).
    RetryAfter { retry_after_secs: u64 },
    /// The staffing calculators' `invalid` (422): the input out of range; `null` for
    /// `no_staffing_solution` (409), where no single input is at fault.
    Field {
        #[serde(deserialize_with = "crate::nullable")]
        field: Option<String>,
    },
}
