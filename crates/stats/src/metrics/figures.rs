//! What a report asks and what it says: the [`Query`] (a [`Filter`], a range, the
//! [`MetricsConfig`] settings) and the [`Report`] with its parts. Definitions only: `facts.rs`
//! turns additive facts into a report, `report.rs` gathers the facts from segments.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Channel, QueueId, Timestamp};

use super::{
    agent_time::AgentTimeReport,
    callbacks::Callbacks,
    measure::{Ratio, TimeRange},
    segments::ms,
    survey::{Csat, Nps},
};

/// Which contacts a report covers. Every field left `None` means "all".
///
/// * `queue`: segments in that queue.
/// * `channel`: segments whose contact had that channel when it entered the queue (segments
///   of contacts whose `ContactQueued` was not seen have no known channel and are left out).
/// * `agent`: handled segments, offers and surveys of that agent; for the queue-side counts
///   (offered, answered, waits, service level) the queued segments *answered by* that agent,
///   so that under an agent filter `offered = answered`. Refusals have no agent and are left
///   out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Filter {
    pub queue: Option<QueueId>,
    pub agent: Option<AgentId>,
    pub channel: Option<Channel>,
}

impl Filter {
    pub(super) fn queue_channel(&self, queue: &QueueId, channel: Option<Channel>) -> bool {
        self.queue.as_ref().is_none_or(|q| q == queue)
            && self.channel.is_none_or(|c| Some(c) == channel)
    }
}

/// The service-level formula. All three count `AnsweredWithinT` = answered segments whose
/// wait was **at most** `T` (`wait ≤ T`: a call answered at exactly 20 s meets a 20 s target).
/// Short abandons are never in a denominator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevelFormula {
    /// `AnsweredWithinT / (Answered + AbandonedAfterT)`: callers who hung up before `T` are
    /// neutral, those who gave up after `T` count as failures (the industry's usual figure).
    #[default]
    AnsweredPlusAbandonedAfterT,
    /// `AnsweredWithinT / Answered` (Asterisk's first): abandons ignored.
    AnsweredOnly,
    /// `AnsweredWithinT / (Answered + Abandoned)` (Asterisk's second): every abandon fails.
    AnsweredPlusAbandoned,
}

impl ServiceLevelFormula {
    /// The formula, written out: the name a service-level figure carries.
    pub fn name(self) -> &'static str {
        match self {
            Self::AnsweredPlusAbandonedAfterT => {
                "answered_within_t / (answered + abandoned_after_t)"
            }
            Self::AnsweredOnly => "answered_within_t / answered",
            Self::AnsweredPlusAbandoned => "answered_within_t / (answered + abandoned)",
        }
    }
}

/// The settings of the definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsConfig {
    /// `T` of the service level (default 20 s).
    pub service_level_target: Duration,
    pub service_level_formula: ServiceLevelFormula,
    /// Abandons after a wait strictly shorter than this are *short abandons* (default 5 s):
    /// counted apart and kept out of the abandon count, the rates and the service level.
    pub short_abandon: Duration,
    /// How long after a first contact a new contact of the same customer in the same queue
    /// counts as a repeat, for true FCR (default 7 days).
    pub fcr_window: Duration,
    /// How long after it is requested a callback must be answered to be kept on time
    /// (default 1 hour; see [`Callbacks`]).
    #[serde(default = "default_callback_due")]
    pub callback_due: Duration,
}

fn default_callback_due() -> Duration {
    Duration::from_secs(3600)
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            service_level_target: Duration::from_secs(20),
            service_level_formula: ServiceLevelFormula::default(),
            short_abandon: Duration::from_secs(5),
            fcr_window: Duration::from_secs(7 * 24 * 3600),
            callback_due: default_callback_due(),
        }
    }
}

/// What a report is about: which contacts, which time range, with which settings.
///
/// A segment belongs to the range in which it **entered its queue**; the handling of an
/// answered segment (talk, hold, wrap-up, FCR, surveys) belongs where that segment entered,
/// so a call that started before midnight and was wrapped up after it stays in the day it
/// began. Nothing is split across ranges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub filter: Filter,
    pub range: TimeRange,
    pub config: MetricsConfig,
}

/// A service level, with the formula and target it was computed with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceLevel {
    pub formula: ServiceLevelFormula,
    /// [`ServiceLevelFormula::name`].
    pub formula_name: &'static str,
    pub target_ms: u64,
    /// `AnsweredWithinT` over the formula's denominator, a fraction in `0..=1`.
    pub ratio: Ratio,
}

/// Handle time of completed handled segments (wrap-up done).
///
/// `AHT = talk + hold + wrap-up`, each part's mean over the same `count` segments, so
/// `mean_talk + mean_hold + mean_wrap_up = aht` (up to floating-point rounding; the integer
/// totals add up exactly).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandleTime {
    pub count: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    pub wrap_up_ms: u64,
    pub mean_talk_ms: Option<f64>,
    pub mean_hold_ms: Option<f64>,
    pub mean_wrap_up_ms: Option<f64>,
    /// `(talk_ms + hold_ms + wrap_up_ms) / count`.
    pub aht_ms: Option<f64>,
}

/// One agent's offers in a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentOffers {
    /// `ContactOffered` to this agent.
    pub offered: u64,
    pub accepted: u64,
    /// Declined by the agent (`OfferRejected`).
    pub rejected: u64,
    /// Let ring out (`OfferTimedOut`).
    pub missed: u64,
    /// Taken back (caller hung up, agent went away, contact moved).
    pub withdrawn: u64,
    /// Still ringing at the last event.
    pub ringing: u64,
}

/// True first-contact resolution.
///
/// For each contact `C` of a customer in a queue `Q`, let `t(C)` be when `C` first entered
/// `Q`. `C` is a **first contact** when no other contact of the same customer entered `Q` in
/// `[t(C) − W, t(C))` (`W` = [`MetricsConfig::fcr_window`]), it was handled and its wrap-up
/// completed in `Q`. It is **resolved on first contact** when, in addition, the last wrap-up
/// of `C` in `Q` said `resolved = true` and no other contact of the customer entered `Q` in
/// `(t(C), t(C) + W]`. `value = resolved / first_contacts`.
///
/// Repeats may still come until `t + W`: the figure is **final** only when
/// `now ≥ max t(C) + W` over the first contacts counted (`final_at`). Contacts without a
/// customer reference are left out (counted in `unknown_customer`). For exact figures fold
/// events from `W` before the range to `W` after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrueFcr {
    /// `resolved / first_contacts`.
    pub ratio: Ratio,
    /// `now ≥ final_at`; `true` when there are no first contacts.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub final_at: Option<Timestamp>,
    /// Handled-and-completed contacts left out because they have no customer reference.
    pub unknown_customer: u64,
}

/// Every figure of one report. Durations are in milliseconds, rates are fractions in `0..=1`.
///
/// The counts partition the queued segments that entered in the range:
/// `offered = answered + abandoned + short_abandoned + timed_out + exited_no_agents +
/// overflowed + transferred_out + waiting`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub range: TimeRange,
    /// Queued segments that entered a queue in the range: new arrivals (`ContactQueued`),
    /// overflows into (`ContactOverflowed`) and transfers into (`ContactTransferred`) it.
    pub offered: u64,
    /// Ended by `OfferAccepted`.
    pub answered: u64,
    /// Ended by `ContactAbandoned` after a wait of at least the short-abandon threshold.
    pub abandoned: u64,
    /// Ended by `ContactAbandoned` after a wait shorter than the short-abandon threshold:
    /// counted apart, left out of `abandoned`, `abandon_rate` and the service level.
    pub short_abandoned: u64,
    /// Ended by `ContactExited` with reason `max_wait` (waited the queue's maximum).
    pub timed_out: u64,
    /// Ended by `ContactExited` with reason `no_agents`.
    pub exited_no_agents: u64,
    /// Ended by `ContactOverflowed` out of the queue.
    pub overflowed: u64,
    /// Ended by `ContactTransferred` before being answered.
    pub transferred_out: u64,
    /// Not ended at the last event: still waiting (or ringing).
    pub waiting: u64,
    /// Contacts refused admission (`ContactRefused`) in the range; not part of `offered`.
    pub refused: u64,
    /// `abandoned / (offered − short_abandoned)`.
    pub abandon_rate: Ratio,
    /// Average speed of answer: `Σ wait(answered) / answered`.
    pub asa_ms: Option<f64>,
    /// Mean wait of every segment whose wait ended (all outcomes, short abandons included;
    /// segments still waiting are not included).
    pub mean_wait_ms: Option<f64>,
    pub max_wait_ms: Option<u64>,
    /// Nearest-rank percentiles of the same waits: the `p`-th percentile of `n` sorted waits
    /// is the one of rank `⌈p·n/100⌉` (1-based), always an observed wait. With waits
    /// 1, 2, 3, 4: p50 = 2, p90 = 4.
    pub wait_p50_ms: Option<u64>,
    pub wait_p90_ms: Option<u64>,
    /// Longest wait so far among segments still waiting at `now`.
    pub longest_waiting_ms: Option<u64>,
    pub service_level: ServiceLevel,
    pub handle_time: HandleTime,
    /// Handled segments whose wrap-up had not finished at the last event.
    pub handling: u64,
    /// Per agent, the offers of the queued segments in the report.
    pub agents: BTreeMap<AgentId, AgentOffers>,
    /// Agent-reported FCR: completed handled segments whose wrap-up said `resolved = true`
    /// over all completed handled segments (`resolved` unset counts as not resolved).
    pub fcr_reported: Ratio,
    pub fcr_true: TrueFcr,
    /// Survey answers about contacts whose last handled segment is in the report.
    pub csat: Option<Csat>,
    pub nps: Option<Nps>,
    /// Callback promises requested in the range (see [`Callbacks`]); under an agent filter,
    /// those that agent answered.
    pub callbacks: Callbacks,
    /// Where agents' time went in the range, cut exactly at its bounds (see
    /// [`crate::AgentTime`]): staffed, available, away by reason, handling, occupancy,
    /// utilisation. Follows the agent filter; `None` under a queue or channel filter, since
    /// logged-in time belongs to no queue or channel.
    pub agent_time: Option<AgentTimeReport>,
}

pub(crate) fn empty_report(query: &Query) -> Report {
    let formula = query.config.service_level_formula;
    Report {
        range: query.range,
        offered: 0,
        answered: 0,
        abandoned: 0,
        short_abandoned: 0,
        timed_out: 0,
        exited_no_agents: 0,
        overflowed: 0,
        transferred_out: 0,
        waiting: 0,
        refused: 0,
        abandon_rate: Ratio::default(),
        asa_ms: None,
        mean_wait_ms: None,
        max_wait_ms: None,
        wait_p50_ms: None,
        wait_p90_ms: None,
        longest_waiting_ms: None,
        service_level: ServiceLevel {
            formula,
            formula_name: formula.name(),
            target_ms: ms(query.config.service_level_target),
            ratio: Ratio::default(),
        },
        handle_time: HandleTime::default(),
        handling: 0,
        agents: BTreeMap::new(),
        fcr_reported: Ratio::default(),
        fcr_true: TrueFcr {
            is_final: true,
            ..TrueFcr::default()
        },
        csat: None,
        nps: None,
        callbacks: Callbacks::default(),
        agent_time: None,
    }
}
