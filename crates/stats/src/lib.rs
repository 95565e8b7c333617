//! Switchboard's statistics: turns contact-center events into numbers.
//!
//! This first part is pure staffing math: given a forecast (contacts per interval, average
//! handle time) and a service goal (answer X % within T seconds), how many agents a queue
//! needs and what service it will get from a given headcount.
//!
//! * [`erlang_c_staffing`] and the per-headcount Erlang C functions ([`erlang_b`],
//!   [`probability_of_waiting`], [`service_level`], [`asa`], [`occupancy`],
//!   [`erlang_c_metrics`]) model the classic M/M/N queue in which nobody hangs up.
//! * [`ErlangA`] and [`erlang_a_staffing`] model M/M/N+M, in which callers abandon after an
//!   exponentially distributed patience; it stays meaningful when the queue is overloaded.
//!
//! The second part, [`metrics`], defines the contact-center figures over the dispatcher's
//! events: a fold of events into per-contact segments ([`Segments`]), reports for any filter
//! and time range and their intervals ([`Report`]: offered, answered, abandoned, service
//! level, ASA, waits, AHT, offers per agent, FCR, CSAT, NPS, agent time and occupancy,
//! callback promises and the omission rate), and live per-queue counters
//! ([`LiveQueueStats`], and per agent [`LiveAgentTime`]).
//!
//! This crate does no I/O, reads no clock, and knows nothing of HTTP, SQL or Redis: every
//! function is a deterministic computation on its arguments. Bad input is reported as a
//! [`StaffingError`] or a [`MetricsError`], never as a panic.

pub mod metrics;
mod staffing;

pub use metrics::{
    buckets, channel_key, csat, finish, nps, rollup, visit_flags, AgentOffers, AgentTime,
    AgentTimeReport, AgentsNeeded, BucketFacts, CallbackPromise, Callbacks, Csat, Entry,
    FactOptions, Facts, Fcr, Filter, HandleTime, Handled, HandledSegment, IntervalLength,
    Intervals, LiveAgentTime, LiveQueueStats, MetricsConfig, MetricsError, Nps, Offer,
    OfferOutcome, PresenceSpan, Promise, Query, QueueOutcome, QueuedSegment, Ratio, Refusal,
    Report, ReportInputs, Segments, ServiceLevel, ServiceLevelFormula, SurveyAnswer, SurveyScale,
    TimeRange, TrueFcr, Visit, MAX_INTERVALS,
};

pub use staffing::{
    asa, erlang_a_staffing, erlang_b, erlang_c_metrics, erlang_c_staffing, occupancy,
    probability_of_waiting, scheduled_agents, service_level, traffic_intensity, ErlangA,
    ErlangAInput, ErlangAMetrics, ErlangAStaffing, ErlangCInput, ErlangCMetrics, ErlangCStaffing,
    StaffingError, MAX_AGENTS, MAX_ERLANG_A_STATES,
};
