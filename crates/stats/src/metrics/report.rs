//! Reports over segments: the metric definitions.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Channel, ContactId, QueueId, Timestamp};

use super::{
    agent_time::{agent_time, AgentTimeReport},
    callbacks::Callbacks,
    facts::{finish, BucketFacts, Promise},
    segments::{ms, Segments},
    survey::{Csat, MetricsError, Nps, SurveyAnswer},
};

/// The most intervals [`Segments::intervals`] makes in one call (about three years of
/// 15-minute intervals).
pub const MAX_INTERVALS: usize = 100_000;

/// A half-open time range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeRange {
    /// # Errors
    /// [`MetricsError::InvalidRange`] if `end < start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, MetricsError> {
        let r = Self { start, end };
        r.check()?;
        Ok(r)
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    fn check(&self) -> Result<(), MetricsError> {
        if self.end < self.start {
            Err(MetricsError::InvalidRange)
        } else {
            Ok(())
        }
    }
}

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
pub struct Filter {
    pub queue: Option<QueueId>,
    pub agent: Option<AgentId>,
    pub channel: Option<Channel>,
}

impl Filter {
    fn queue_channel(&self, queue: &QueueId, channel: Option<Channel>) -> bool {
        self.queue.as_ref().is_none_or(|q| q == queue)
            && self.channel.is_none_or(|c| Some(c) == channel)
    }
}

/// The service-level formula. All three count `AnsweredWithinT` = answered segments whose
/// wait was **at most** `T` (`wait ≤ T`: a call answered at exactly 20 s meets a 20 s target).
/// Short abandons are never in a denominator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Inputs that events do not carry.
#[derive(Clone, Copy, Debug)]
pub struct ReportInputs<'a> {
    /// The customer each contact belongs to (any stable reference: a CRM number, a caller
    /// id), needed for true FCR. Contacts missing here are left out of true FCR.
    pub customers: &'a BTreeMap<ContactId, String>,
    /// Post-contact survey answers.
    pub surveys: &'a [SurveyAnswer],
}

static NO_CUSTOMERS: BTreeMap<ContactId, String> = BTreeMap::new();

impl Default for ReportInputs<'_> {
    fn default() -> Self {
        Self {
            customers: &NO_CUSTOMERS,
            surveys: &[],
        }
    }
}

/// A numerator over a denominator; `value` is `None` when the denominator is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Ratio {
    pub numerator: u64,
    pub denominator: u64,
    pub value: Option<f64>,
}

impl Ratio {
    pub fn new(numerator: u64, denominator: u64) -> Self {
        Self {
            numerator,
            denominator,
            value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
        }
    }
}

/// A service level, with the formula and target it was computed with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
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

/// Interval lengths for [`Segments::intervals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalLength {
    Minutes15,
    Minutes30,
    Minutes60,
    Day,
}

impl IntervalLength {
    pub fn millis(self) -> i64 {
        match self {
            Self::Minutes15 => 15 * 60_000,
            Self::Minutes30 => 30 * 60_000,
            Self::Minutes60 => 60 * 60_000,
            Self::Day => 24 * 3_600_000,
        }
    }
}

/// How to cut a range into intervals: fixed lengths aligned on the clock of a fixed UTC
/// offset (in minutes, e.g. 60 for UTC+1; no daylight-saving changes), so days start at that
/// offset's midnight and hours on the hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervals {
    pub length: IntervalLength,
    pub utc_offset_minutes: i32,
}

/// A contact's first stay in a queue, for true FCR.
#[derive(Clone, Debug, PartialEq)]
pub struct Visit {
    pub contact: ContactId,
    pub queue: QueueId,
    pub channel: Option<Channel>,
    pub first_entered: Timestamp,
    /// Agent and `resolved` of its last completed handled segment in the queue.
    pub handled: Option<(AgentId, bool)>,
}

/// True-FCR flags `(first_contact, repeated)` by contact and queue.
pub type VisitFlags = HashMap<(ContactId, QueueId), (bool, bool)>;

/// How [`Segments::bucket_facts`] gathers what the segments alone do not say.
#[derive(Clone, Copy, Debug, Default)]
pub struct FactOptions<'a> {
    /// True-FCR flags `(first_contact, repeated)` of visits whose contact has a customer
    /// reference, when they are known from outside these segments (pre-computed over a
    /// longer history). `None`: computed from these segments and the customers of the
    /// [`ReportInputs`].
    pub visit_flags: Option<&'a VisitFlags>,
    /// Agent time only from this instant on (earlier time is accounted elsewhere).
    pub agent_time_from: Option<Timestamp>,
}

impl Segments {
    /// The report of `query` as of `now` (segments still open are measured up to `now`).
    ///
    /// # Errors
    /// [`MetricsError::InvalidRange`], or [`MetricsError::ScoreOutOfRange`] for a bad survey
    /// answer.
    pub fn report(
        &self,
        query: &Query,
        inputs: &ReportInputs<'_>,
        now: Timestamp,
    ) -> Result<Report, MetricsError> {
        query.range.check()?;
        let mut reports = self.reports(query, inputs, now, &[query.range])?;
        Ok(reports.pop().unwrap_or_else(|| empty_report(query)))
    }

    /// The report of `query` for every interval of `query.range`, in order. Each segment is
    /// counted in the interval it **entered** its queue, even if it was answered, ended or
    /// wrapped up in a later one. The first and last intervals are cut to the range.
    ///
    /// # Errors
    /// As [`Segments::report`], and [`MetricsError::TooManyIntervals`].
    pub fn intervals(
        &self,
        query: &Query,
        intervals: Intervals,
        inputs: &ReportInputs<'_>,
        now: Timestamp,
    ) -> Result<Vec<Report>, MetricsError> {
        let buckets = buckets(query.range, intervals)?;
        self.reports(query, inputs, now, &buckets)
    }

    /// One report per bucket; `buckets` are contiguous and in order.
    fn reports(
        &self,
        query: &Query,
        inputs: &ReportInputs<'_>,
        now: Timestamp,
        buckets: &[TimeRange],
    ) -> Result<Vec<Report>, MetricsError> {
        let facts = self.bucket_facts(query, inputs, now, buckets, FactOptions::default())?;
        buckets
            .iter()
            .zip(facts)
            .map(|(range, mut bucket)| {
                bucket.restrict(query.filter.agent.as_ref());
                finish(query, *range, &bucket, now)
            })
            .collect()
    }

    /// The facts of each bucket (contiguous, in order), filtered by the query's queue and
    /// channel but not yet by its agent ([`BucketFacts::restrict`]).
    ///
    /// # Errors
    /// [`MetricsError::ScoreOutOfRange`] for a bad survey answer.
    pub fn bucket_facts(
        &self,
        query: &Query,
        inputs: &ReportInputs<'_>,
        now: Timestamp,
        buckets: &[TimeRange],
        options: FactOptions<'_>,
    ) -> Result<Vec<BucketFacts>, MetricsError> {
        for s in inputs.surveys {
            s.validate()?;
        }
        let which = |t: Timestamp| {
            let i = buckets.partition_point(|b| b.start <= t).checked_sub(1)?;
            buckets[i].contains(t).then_some(i)
        };
        let f = &query.filter;
        let mut grouped: Vec<BucketFacts> =
            buckets.iter().map(|_| BucketFacts::default()).collect();
        for q in self.queued() {
            if f.queue_channel(&q.queue, q.channel) {
                if let Some(b) = which(q.entered_at) {
                    grouped[b].facts.add_queued(q);
                }
            }
        }
        let mut last_handled = HashMap::new();
        for (i, h) in self.handled().iter().enumerate() {
            last_handled.insert(h.contact, i);
        }
        let mut surveys: HashMap<ContactId, Vec<&SurveyAnswer>> = HashMap::new();
        for s in inputs.surveys {
            surveys.entry(s.contact).or_default().push(s);
        }
        for (i, h) in self.handled().iter().enumerate() {
            if !f.queue_channel(&h.queue, h.channel) {
                continue;
            }
            let Some(b) = which(h.entered_at) else {
                continue;
            };
            let facts = &mut grouped[b].facts;
            facts.add_handled(h, now);
            if last_handled.get(&h.contact) == Some(&i) {
                if let Some(answers) = surveys.get(&h.contact) {
                    let ratings = facts.ratings.entry(h.agent.clone()).or_default();
                    for a in answers {
                        ratings.add(a.scale, a.score);
                    }
                }
            }
        }
        let visits = self.visits();
        let computed;
        let flags = match options.visit_flags {
            Some(flags) => flags,
            None => {
                computed = visit_flags(&visits, inputs.customers, query.config.fcr_window);
                &computed
            }
        };
        for v in &visits {
            let Some((agent, resolved)) = &v.handled else {
                continue;
            };
            if f.queue_channel(&v.queue, v.channel) {
                if let Some(b) = which(v.first_entered) {
                    let flags = flags.get(&(v.contact, v.queue.clone())).copied();
                    grouped[b]
                        .facts
                        .fcr
                        .entry(agent.clone())
                        .or_default()
                        .count(flags, *resolved, v.first_entered);
                }
            }
        }
        if f.channel.is_none() {
            for r in self.refused() {
                if f.queue.as_ref().is_none_or(|q| *q == r.queue) {
                    if let Some(b) = which(r.at) {
                        grouped[b].facts.refused += 1;
                    }
                }
            }
        }
        for p in self.callbacks() {
            let channel_ok = f.channel.is_none_or(|c| c == Channel::Callback);
            if channel_ok && f.queue.as_ref().is_none_or(|x| *x == p.queue) {
                if let Some(b) = which(p.requested_at) {
                    grouped[b].facts.callbacks.push(Promise::from(p));
                }
            }
        }
        if f.queue.is_none() && f.channel.is_none() {
            let clipped: Vec<TimeRange> = match options.agent_time_from {
                None => buckets.to_vec(),
                Some(from) => buckets
                    .iter()
                    .map(|b| TimeRange {
                        start: b.start.max(from).min(b.end),
                        end: b.end,
                    })
                    .collect(),
            };
            let times = agent_time(self, &clipped, None, now);
            for (b, t) in grouped.iter_mut().zip(times) {
                b.add_agent_time(&t.agents);
            }
        }
        Ok(grouped)
    }

    /// Every contact's first stay in each queue it entered, in the order they began, with
    /// its last completed handling there.
    pub fn visits(&self) -> Vec<Visit> {
        let mut visits: Vec<Visit> = Vec::new();
        let mut index: HashMap<(ContactId, &QueueId), usize> = HashMap::new();
        for q in self.queued() {
            match index.get(&(q.contact, &q.queue)) {
                Some(&v) => {
                    let v = &mut visits[v];
                    v.first_entered = v.first_entered.min(q.entered_at);
                }
                None => {
                    index.insert((q.contact, &q.queue), visits.len());
                    visits.push(Visit {
                        contact: q.contact,
                        queue: q.queue.clone(),
                        channel: q.channel,
                        first_entered: q.entered_at,
                        handled: None,
                    });
                }
            }
        }
        let mut done_at: HashMap<usize, Timestamp> = HashMap::new();
        for h in self.handled() {
            let (Some(done), Some(&v)) = (h.completed_at, index.get(&(h.contact, &h.queue))) else {
                continue;
            };
            if done_at.get(&v).is_none_or(|t| *t <= done) {
                done_at.insert(v, done);
                visits[v].handled = Some((h.agent.clone(), h.resolved() == Some(true)));
            }
        }
        visits
    }
}

/// The buckets of `intervals` over `range`: aligned on the interval length in the given UTC
/// offset, the first and last cut to the range.
///
/// # Errors
/// [`MetricsError::InvalidRange`], [`MetricsError::TooManyIntervals`].
pub fn buckets(range: TimeRange, intervals: Intervals) -> Result<Vec<TimeRange>, MetricsError> {
    range.check()?;
    let len = intervals.length.millis();
    let offset = i64::from(intervals.utc_offset_minutes) * 60_000;
    let local = range.start.as_millis().saturating_add(offset);
    let first = local.div_euclid(len) * len - offset;
    let span = i128::from(range.end.as_millis()) - i128::from(first);
    let count = (span + i128::from(len) - 1) / i128::from(len);
    if count > MAX_INTERVALS as i128 {
        return Err(MetricsError::TooManyIntervals {
            limit: MAX_INTERVALS,
        });
    }
    let mut buckets = Vec::new();
    let mut start = first;
    while start < range.end.as_millis() {
        let end = start.saturating_add(len);
        buckets.push(TimeRange {
            start: Timestamp::from_millis(start.max(range.start.as_millis())),
            end: Timestamp::from_millis(end.min(range.end.as_millis())),
        });
        start = end;
    }
    Ok(buckets)
}

/// True-FCR flags `(first_contact, repeated)` of the visits whose contact has a customer,
/// from these visits alone: each customer's stays per queue in time order (ties by
/// contact); a stay is a first contact when the previous one is more than `window` before
/// it, and repeated when the next one is at most `window` after it.
pub fn visit_flags(
    visits: &[Visit],
    customers: &BTreeMap<ContactId, String>,
    window: Duration,
) -> VisitFlags {
    let mut by_customer: BTreeMap<(&str, &QueueId), Vec<(Timestamp, ContactId)>> = BTreeMap::new();
    for v in visits {
        if let Some(customer) = customers.get(&v.contact) {
            by_customer
                .entry((customer.as_str(), &v.queue))
                .or_default()
                .push((v.first_entered, v.contact));
        }
    }
    let window = ms(window);
    let apart = |a: Timestamp, b: Timestamp| ms(b.since(a));
    let mut flags = HashMap::new();
    for ((_, queue), mut stays) in by_customer {
        stays.sort();
        for (k, &(t, contact)) in stays.iter().enumerate() {
            let first = k == 0 || apart(stays[k - 1].0, t) > window;
            let repeated = stays.get(k + 1).is_some_and(|n| apart(t, n.0) <= window);
            flags.insert((contact, queue.clone()), (first, repeated));
        }
    }
    flags
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

/// `sum / n`, `None` for `n = 0`.
pub(crate) fn mean(sum: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// The nearest-rank `p`-th percentile of sorted `values`: rank `⌈p·n/100⌉`, at least 1.
pub(crate) fn nearest_rank(sorted: &[u64], p: usize) -> Option<u64> {
    let n = sorted.len();
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}
