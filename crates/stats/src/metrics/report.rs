//! Reports over segments: the facts of each bucket gathered from the segments (then finished
//! by `facts.rs` into the figures of `figures.rs`), buckets and intervals, true-FCR visits.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, CenterClock, Channel, ContactId, LocalStep, QueueId, Timestamp};

use super::{
    agent_time::agent_time,
    callbacks::Promise,
    facts::{finish, BucketFacts},
    figures::{empty_report, Query, Report},
    measure::TimeRange,
    segments::{ms, Segments},
    survey::{MetricsError, SurveyAnswer},
};

/// The most intervals [`Segments::intervals`] makes in one call (about three years of
/// 15-minute intervals).
pub const MAX_INTERVALS: usize = 100_000;

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

/// How to cut a range into intervals: lengths of the local clock of `clock` (a fixed UTC
/// offset, or an IANA zone with its daylight-saving changes), so days start at local
/// midnight — a spring day in Europe/Berlin has 23 hours — and hours on the local hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervals {
    pub length: IntervalLength,
    pub clock: CenterClock,
}

impl IntervalLength {
    /// The step of the local clock these intervals follow.
    pub fn local_step(self) -> LocalStep {
        match self {
            Self::Minutes15 => LocalStep::Minutes(15),
            Self::Minutes30 => LocalStep::Minutes(30),
            Self::Minutes60 => LocalStep::Minutes(60),
            Self::Day => LocalStep::Day,
        }
    }
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

/// The buckets of `intervals` over `range`: cut at the boundaries of the local clock, the
/// first and last cut to the range.
///
/// # Errors
/// [`MetricsError::InvalidRange`], [`MetricsError::TooManyIntervals`].
pub fn buckets(range: TimeRange, intervals: Intervals) -> Result<Vec<TimeRange>, MetricsError> {
    range.check()?;
    // A local day is at least 22 hours long (no zone changes by more than 2 hours at once),
    // so this bounds the count before the boundaries are walked.
    let shortest = match intervals.length {
        IntervalLength::Day => 22 * 3_600_000,
        other => other.millis(),
    };
    let span = i128::from(range.end.as_millis()) - i128::from(range.start.as_millis());
    if span / i128::from(shortest) > MAX_INTERVALS as i128 {
        return Err(MetricsError::TooManyIntervals {
            limit: MAX_INTERVALS,
        });
    }
    let starts = intervals
        .clock
        .boundaries(range.start, range.end, intervals.length.local_step());
    let buckets: Vec<TimeRange> = starts
        .iter()
        .enumerate()
        .map(|(i, start)| TimeRange {
            start: (*start).max(range.start),
            end: starts
                .get(i + 1)
                .copied()
                .unwrap_or(range.end)
                .min(range.end),
        })
        .filter(|b| b.start < b.end)
        .collect();
    if buckets.len() > MAX_INTERVALS {
        return Err(MetricsError::TooManyIntervals {
            limit: MAX_INTERVALS,
        });
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
