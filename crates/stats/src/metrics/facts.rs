//! The additive facts a report is computed from.
//!
//! Every figure of a [`Report`] is a function of a few counts, sums and lists of waits, and
//! those add up: the facts of two intervals merged are the facts of their union. A report
//! over raw segments ([`Segments::report`]) gathers the facts of each bucket and then
//! [`finish`]es them; a report over pre-computed 15-minute cells merges the cells' facts
//! and finishes them the same way, so the two cannot disagree on a definition.
//!
//! Facts are kept per agent where a report can filter by agent, and are otherwise filtered
//! (by queue and channel) before they are gathered: a stored cell is one queue and one
//! channel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Channel, ExitReason, Timestamp};

use super::{
    agent_time::{AgentTime, AgentTimeReport},
    callbacks::Promise,
    figures::{empty_report, AgentOffers, HandleTime, Query, Report, ServiceLevelFormula, TrueFcr},
    measure::{mean, nearest_rank, Ratio, TimeRange},
    segments::{ms, HandledSegment, OfferOutcome, QueueOutcome, QueuedSegment},
    survey::{csat_of_counts, nps_of_counts, MetricsError, SurveyScale},
};

/// The facts of the queued segments, offers, handlings, refusals, callback promises and
/// first-contact visits of one bucket (or one stored cell).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Waits of the answered segments, by the agent who answered.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answered: BTreeMap<AgentId, Vec<u64>>,
    /// Waits of the abandoned segments (short ones included; the threshold is applied when
    /// the report is finished).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abandoned: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timed_out: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exited_no_agents: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overflowed: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transferred_out: Vec<u64>,
    /// When each segment still waiting entered its queue (only for contacts not settled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_since: Vec<Timestamp>,
    /// Offers of the queued segments, by the agent offered.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub offers: BTreeMap<AgentId, AgentOffers>,
    /// Handlings, by agent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handled: BTreeMap<AgentId, Handled>,
    #[serde(default)]
    pub refused: u64,
    /// Callback promises (their answering agent filters them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<Promise>,
    /// True first-contact resolution of the visits, by the agent who last handled them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fcr: BTreeMap<AgentId, Fcr>,
    /// Survey answers about contacts whose last handling is here, by that handling's agent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ratings: BTreeMap<AgentId, Ratings>,
}

/// How many survey answers gave each score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratings {
    /// `csat[i]`: CSAT answers of `i + 1`.
    pub csat: [u64; 5],
    /// `nps[i]`: NPS answers of `i`.
    pub nps: [u64; 11],
}

impl Ratings {
    fn slot(&mut self, scale: SurveyScale, score: u8) -> Option<&mut u64> {
        match scale {
            SurveyScale::Csat5 => self.csat.get_mut(usize::from(score).checked_sub(1)?),
            SurveyScale::Nps10 => self.nps.get_mut(usize::from(score)),
        }
    }

    /// Counts one answer (scores outside the scale are not counted).
    pub fn add(&mut self, scale: SurveyScale, score: u8) {
        if let Some(n) = self.slot(scale, score) {
            *n += 1;
        }
    }

    /// Takes one answer back (one that was counted).
    pub fn remove(&mut self, scale: SurveyScale, score: u8) {
        if let Some(n) = self.slot(scale, score) {
            *n = n.saturating_sub(1);
        }
    }

    fn merge(&mut self, o: &Ratings) {
        for (a, b) in self.csat.iter_mut().zip(o.csat) {
            *a += b;
        }
        for (a, b) in self.nps.iter_mut().zip(o.nps) {
            *a += b;
        }
    }

    fn is_empty(&self) -> bool {
        *self == Ratings::default()
    }
}

/// One agent's handlings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    /// Handlings whose wrap-up is done.
    pub completed: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    pub wrap_up_ms: u64,
    /// Completed with `resolved = true`.
    pub resolved: u64,
    /// Not completed yet (only for contacts not settled).
    pub open: u64,
}

/// True FCR counts of one agent's visits (see [`TrueFcr`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fcr {
    /// Handled visits of contacts with no customer reference.
    pub unknown: u64,
    /// First contacts, handled.
    pub first: u64,
    /// First contacts resolved and not repeated.
    pub solved: u64,
    /// The latest first entry among the first contacts.
    pub last: Option<Timestamp>,
}

impl Fcr {
    /// Adds `o`'s counts.
    pub fn merge(&mut self, o: &Fcr) {
        self.unknown += o.unknown;
        self.first += o.first;
        self.solved += o.solved;
        self.last = self.last.max(o.last);
    }

    /// Counts one handled visit: `flags` is `None` when the contact has no customer
    /// reference, else `(first_contact, repeated)`.
    pub fn count(&mut self, flags: Option<(bool, bool)>, resolved: bool, first_entered: Timestamp) {
        match flags {
            None => self.unknown += 1,
            Some((false, _)) => {}
            Some((true, repeated)) => {
                self.first += 1;
                self.last = self.last.max(Some(first_entered));
                if resolved && !repeated {
                    self.solved += 1;
                }
            }
        }
    }
}

impl Facts {
    /// Adds a queued segment and its offers.
    pub fn add_queued(&mut self, q: &QueuedSegment) {
        for o in &q.offers {
            let a = self.offers.entry(o.agent.clone()).or_default();
            a.offered += 1;
            match o.outcome {
                None => a.ringing += 1,
                Some(OfferOutcome::Accepted) => a.accepted += 1,
                Some(OfferOutcome::Rejected) => a.rejected += 1,
                Some(OfferOutcome::TimedOut) => a.missed += 1,
                Some(OfferOutcome::Withdrawn(_)) => a.withdrawn += 1,
            }
        }
        let Some(outcome) = &q.outcome else {
            self.waiting_since.push(q.entered_at);
            return;
        };
        let wait = q.waited_ms.unwrap_or(0);
        let list = match outcome {
            QueueOutcome::Answered { agent } => self.answered.entry(agent.clone()).or_default(),
            QueueOutcome::Abandoned => &mut self.abandoned,
            QueueOutcome::Exited {
                reason: ExitReason::MaxWait,
            } => &mut self.timed_out,
            QueueOutcome::Exited {
                reason: ExitReason::NoAgents,
            } => &mut self.exited_no_agents,
            QueueOutcome::Overflowed { .. } => &mut self.overflowed,
            QueueOutcome::Transferred { .. } => &mut self.transferred_out,
        };
        list.push(wait);
    }

    /// Adds a handling (measured up to `now` while it lasts).
    pub fn add_handled(&mut self, h: &HandledSegment, now: Timestamp) {
        let e = self.handled.entry(h.agent.clone()).or_default();
        if !h.is_completed() {
            e.open += 1;
            return;
        }
        e.completed += 1;
        e.talk_ms = e.talk_ms.saturating_add(h.talk_ms(now));
        e.hold_ms = e.hold_ms.saturating_add(h.hold_ms(now));
        e.wrap_up_ms = e.wrap_up_ms.saturating_add(h.wrap_up_ms(now));
        if h.resolved() == Some(true) {
            e.resolved += 1;
        }
    }

    /// Adds everything of `o`.
    pub fn merge(&mut self, o: &Facts) {
        for (agent, waits) in &o.answered {
            self.answered
                .entry(agent.clone())
                .or_default()
                .extend_from_slice(waits);
        }
        self.abandoned.extend_from_slice(&o.abandoned);
        self.timed_out.extend_from_slice(&o.timed_out);
        self.exited_no_agents.extend_from_slice(&o.exited_no_agents);
        self.overflowed.extend_from_slice(&o.overflowed);
        self.transferred_out.extend_from_slice(&o.transferred_out);
        self.waiting_since.extend_from_slice(&o.waiting_since);
        for (agent, x) in &o.offers {
            let a = self.offers.entry(agent.clone()).or_default();
            a.offered += x.offered;
            a.accepted += x.accepted;
            a.rejected += x.rejected;
            a.missed += x.missed;
            a.withdrawn += x.withdrawn;
            a.ringing += x.ringing;
        }
        for (agent, x) in &o.handled {
            let h = self.handled.entry(agent.clone()).or_default();
            h.completed += x.completed;
            h.talk_ms = h.talk_ms.saturating_add(x.talk_ms);
            h.hold_ms = h.hold_ms.saturating_add(x.hold_ms);
            h.wrap_up_ms = h.wrap_up_ms.saturating_add(x.wrap_up_ms);
            h.resolved += x.resolved;
            h.open += x.open;
        }
        self.refused += o.refused;
        self.callbacks.extend(o.callbacks.iter().cloned());
        for (agent, x) in &o.fcr {
            self.fcr.entry(agent.clone()).or_default().merge(x);
        }
        for (agent, x) in &o.ratings {
            self.ratings.entry(agent.clone()).or_default().merge(x);
        }
    }

    /// Keeps only what concerns `agent`: segments they answered, their offers, handlings,
    /// callbacks and visits. Waiting and unanswered segments and refusals concern no agent.
    pub fn restrict(&mut self, agent: &AgentId) {
        self.answered.retain(|a, _| a == agent);
        self.abandoned.clear();
        self.timed_out.clear();
        self.exited_no_agents.clear();
        self.overflowed.clear();
        self.transferred_out.clear();
        self.waiting_since.clear();
        self.offers.retain(|a, _| a == agent);
        self.handled.retain(|a, _| a == agent);
        self.refused = 0;
        self.callbacks
            .retain(|p| p.answered_by.as_ref() == Some(agent));
        self.fcr.retain(|a, _| a == agent);
        self.ratings.retain(|a, _| a == agent);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        *self == Facts::default()
    }
}

/// Facts of one bucket of a report: the contact facts and, when the report is not filtered
/// by queue or channel, the agents' time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketFacts {
    pub facts: Facts,
    /// Per agent; `None` under a queue or channel filter.
    pub agent_time: Option<BTreeMap<AgentId, AgentTime>>,
}

impl BucketFacts {
    /// Adds agent time (per agent) to this bucket's.
    pub fn add_agent_time(&mut self, times: &BTreeMap<AgentId, AgentTime>) {
        let mine = self.agent_time.get_or_insert_with(BTreeMap::new);
        for (agent, t) in times {
            mine.entry(agent.clone()).or_default().add(t);
        }
    }

    /// Applies the query's agent filter.
    pub fn restrict(&mut self, agent: Option<&AgentId>) {
        if let Some(agent) = agent {
            self.facts.restrict(agent);
            if let Some(t) = &mut self.agent_time {
                t.retain(|a, _| a == agent);
            }
        }
    }
}

/// The report of one bucket from its facts (already filtered), as of `now`.
///
/// # Errors
/// [`MetricsError::ScoreOutOfRange`] for a bad survey answer.
pub fn finish(
    query: &Query,
    range: TimeRange,
    bucket: &BucketFacts,
    now: Timestamp,
) -> Result<Report, MetricsError> {
    let config = &query.config;
    let f = &bucket.facts;
    let mut r = empty_report(query);
    r.range = range;
    r.refused = f.refused;
    let due = ms(config.callback_due);
    for p in &f.callbacks {
        r.callbacks.add(p, due, now);
    }
    r.callbacks.finish();
    r.agent_time = bucket.agent_time.as_ref().map(|times| {
        let mut report = AgentTimeReport::default();
        for (agent, t) in times {
            let mut t = t.clone();
            report.total.add(&t);
            t.finish();
            report.agents.insert(agent.clone(), t);
        }
        report.total.finish();
        report
    });

    let target = ms(config.service_level_target);
    let short = ms(config.short_abandon);
    let (mut within, mut abandoned_after_t, mut answer_waits) = (0u64, 0u64, 0u64);
    let mut waits: Vec<u64> = Vec::new();
    for list in f.answered.values() {
        for &wait in list {
            r.answered += 1;
            answer_waits = answer_waits.saturating_add(wait);
            if wait <= target {
                within += 1;
            }
        }
        waits.extend_from_slice(list);
    }
    for &wait in &f.abandoned {
        if wait < short {
            r.short_abandoned += 1;
        } else {
            r.abandoned += 1;
            if wait > target {
                abandoned_after_t += 1;
            }
        }
    }
    r.timed_out = f.timed_out.len() as u64;
    r.exited_no_agents = f.exited_no_agents.len() as u64;
    r.overflowed = f.overflowed.len() as u64;
    r.transferred_out = f.transferred_out.len() as u64;
    for list in [
        &f.abandoned,
        &f.timed_out,
        &f.exited_no_agents,
        &f.overflowed,
        &f.transferred_out,
    ] {
        waits.extend_from_slice(list);
    }
    r.waiting = f.waiting_since.len() as u64;
    r.longest_waiting_ms = f.waiting_since.iter().map(|&t| ms(now.since(t))).max();
    r.offered = waits.len() as u64 + r.waiting;

    r.abandon_rate = Ratio::new(r.abandoned, r.offered - r.short_abandoned);
    r.asa_ms = mean(answer_waits, r.answered);
    waits.sort_unstable();
    r.mean_wait_ms = mean(
        waits.iter().fold(0u64, |s, w| s.saturating_add(*w)),
        waits.len() as u64,
    );
    r.max_wait_ms = waits.last().copied();
    r.wait_p50_ms = nearest_rank(&waits, 50);
    r.wait_p90_ms = nearest_rank(&waits, 90);
    let denominator = match config.service_level_formula {
        ServiceLevelFormula::AnsweredPlusAbandonedAfterT => r.answered + abandoned_after_t,
        ServiceLevelFormula::AnsweredOnly => r.answered,
        ServiceLevelFormula::AnsweredPlusAbandoned => r.answered + r.abandoned,
    };
    r.service_level.ratio = Ratio::new(within, denominator);
    r.agents = f.offers.clone();

    let mut h = Handled::default();
    for x in f.handled.values() {
        h.completed += x.completed;
        h.talk_ms = h.talk_ms.saturating_add(x.talk_ms);
        h.hold_ms = h.hold_ms.saturating_add(x.hold_ms);
        h.wrap_up_ms = h.wrap_up_ms.saturating_add(x.wrap_up_ms);
        h.resolved += x.resolved;
        h.open += x.open;
    }
    r.handling = h.open;
    r.handle_time = HandleTime {
        count: h.completed,
        talk_ms: h.talk_ms,
        hold_ms: h.hold_ms,
        wrap_up_ms: h.wrap_up_ms,
        mean_talk_ms: mean(h.talk_ms, h.completed),
        mean_hold_ms: mean(h.hold_ms, h.completed),
        mean_wrap_up_ms: mean(h.wrap_up_ms, h.completed),
        aht_ms: mean(
            h.talk_ms
                .saturating_add(h.hold_ms)
                .saturating_add(h.wrap_up_ms),
            h.completed,
        ),
    };
    r.fcr_reported = Ratio::new(h.resolved, h.completed);
    let mut ratings = Ratings::default();
    for x in f.ratings.values() {
        ratings.merge(x);
    }
    if !ratings.is_empty() {
        r.csat = csat_of_counts(&ratings.csat);
        r.nps = nps_of_counts(&ratings.nps);
    }

    let mut fcr = Fcr::default();
    for x in f.fcr.values() {
        fcr.merge(x);
    }
    let final_at = fcr.last.map(|t| t.plus(config.fcr_window));
    r.fcr_true = TrueFcr {
        ratio: Ratio::new(fcr.solved, fcr.first),
        is_final: final_at.is_none_or(|t| now >= t),
        final_at,
        unknown_customer: fcr.unknown,
    };
    Ok(r)
}

/// The stored channel of a cell: the channel's name, or `""` when unknown.
pub fn channel_key(channel: Option<Channel>) -> &'static str {
    match channel {
        None => "",
        Some(Channel::Voice) => "voice",
        Some(Channel::Chat) => "chat",
        Some(Channel::Email) => "email",
        Some(Channel::Ticket) => "ticket",
        Some(Channel::Callback) => "callback",
    }
}
