//! Callback promises kept on time, and the omission rate.

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Timestamp};

use super::{measure::Ratio, segments::CallbackPromise};

/// The callback promises made in a range (by when the callback was requested).
///
/// A promise made at `t` is **due** at the time promised in the request
/// ([`CallbackPromise::due`]), else at `t + callback_due` ([`super::MetricsConfig`]). It is
/// **kept on time** when an agent answered the contact at or before the due time, **kept
/// late** when answered after it, **broken** when it is past due and unanswered or the
/// contact left the ACD unanswered (abandoned, exited), and **pending** while it is neither
/// answered nor past due (`now ≤ due`).
///
/// `requested = kept_on_time + kept_late + broken + pending`; the **omission rate** — the
/// share of settled promises not kept on time — is `(kept_late + broken) / (kept_on_time +
/// kept_late + broken)`. Pending promises are in neither count (a promise answered early is
/// settled before its due time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Callbacks {
    pub requested: u64,
    pub kept_on_time: u64,
    pub kept_late: u64,
    pub broken: u64,
    pub pending: u64,
    /// `(kept_late + broken) / (kept_on_time + kept_late + broken)`.
    pub omission_rate: Ratio,
}

impl Callbacks {
    pub(super) fn add(&mut self, p: &Promise, due_ms: u64, now: Timestamp) {
        let due = p.due.map_or_else(
            || {
                p.requested_at
                    .as_millis()
                    .saturating_add(i64::try_from(due_ms).unwrap_or(i64::MAX))
            },
            |d| d.as_millis(),
        );
        self.requested += 1;
        match p.answered_at {
            Some(t) if t.as_millis() <= due => self.kept_on_time += 1,
            Some(_) => self.kept_late += 1,
            None if p.dropped_at.is_some() || now.as_millis() > due => self.broken += 1,
            None => self.pending += 1,
        }
    }

    pub(super) fn finish(&mut self) {
        let missed = self.kept_late + self.broken;
        self.omission_rate = Ratio::new(missed, missed + self.kept_on_time);
    }
}

/// A callback promise, as much as its figures need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Promise {
    pub requested_at: Timestamp,
    pub due: Option<Timestamp>,
    pub answered_at: Option<Timestamp>,
    pub answered_by: Option<AgentId>,
    pub dropped_at: Option<Timestamp>,
}

impl From<&CallbackPromise> for Promise {
    fn from(p: &CallbackPromise) -> Self {
        Self {
            requested_at: p.requested_at,
            due: p.due,
            answered_at: p.answered_at,
            answered_by: p.answered_by.clone(),
            dropped_at: p.dropped_at,
        }
    }
}
