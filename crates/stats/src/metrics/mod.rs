//! Contact-center metrics defined over the dispatcher's events.
//!
//! Three layers, all pure (no I/O, no clock: `now` is always a parameter):
//!
//! 1. [`Segments`] folds events into per-contact **segments**: a [`QueuedSegment`] for each
//!    stay in a queue (entered by `ContactQueued`, `ContactOverflowed` into it or
//!    `ContactTransferred` into it; ended by an answer, an abandon, an exit, an overflow or a
//!    transfer) and a [`HandledSegment`] for each handling by an agent (answer, holds, end of
//!    conversation, wrap-up with its disposition and `resolved` flag). Offers (rejected,
//!    missed…) hang on the queued segment they were made for.
//! 2. [`Segments::report`] and [`Segments::intervals`] compute a [`Report`] for a [`Query`]
//!    (filter by queue, agent, channel; a time range; the [`MetricsConfig`] settings). Each
//!    figure's definition is documented on its field of [`Report`]. Segments belong to the
//!    range or interval in which they **entered their queue**.
//!    Agent time ([`AgentTime`]: staffed, away by reason, handling, occupancy,
//!    utilisation) comes from the agents' presence spans ([`PresenceSpan`]) and the handled
//!    segments and is cut exactly at range and interval bounds; callback promises
//!    ([`Callbacks`], the omission rate) belong to the range in which they were requested.
//! 3. [`LiveQueueStats`] keeps the main figures of one queue up to date event by event,
//!    [`LiveAgentTime`] one agent's staffed and handling time and their handlings (count,
//!    AHT) of the day.
//!
//! Surveys ([`SurveyAnswer`]) and the contact → customer map (for true FCR) are inputs of
//! their own ([`ReportInputs`]): events do not carry them.

mod agent_time;
mod callbacks;
mod facts;
mod figures;
mod live;
mod live_agent;
mod measure;
mod report;
pub mod rollup;
mod segments;
mod survey;

#[cfg(test)]
mod tests;

pub use agent_time::{AgentTime, AgentTimeReport};
pub use callbacks::{Callbacks, Promise};
pub use facts::{channel_key, finish, BucketFacts, Facts, Fcr, Handled, Ratings};
pub use figures::{
    AgentOffers, Filter, HandleTime, MetricsConfig, Query, Report, ServiceLevel,
    ServiceLevelFormula, TrueFcr,
};
pub use live::{AgentsNeeded, LiveQueueStats};
pub use live_agent::LiveAgentTime;
pub use measure::{Ratio, TimeRange};
pub use report::{
    buckets, visit_flags, FactOptions, IntervalLength, Intervals, ReportInputs, Visit, VisitFlags,
    MAX_INTERVALS,
};
pub use segments::{
    CallbackPromise, Entry, HandledSegment, Offer, OfferOutcome, PresenceSpan, QueueOutcome,
    QueuedSegment, Refusal, Segments,
};
pub use survey::{csat, nps, Csat, MetricsError, Nps, SurveyAnswer, SurveyScale};
