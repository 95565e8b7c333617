//! Agent time: where each agent's logged-in time went, split exactly at range and interval
//! boundaries.
//!
//! Unlike the contact counts (which belong to the interval a contact *entered*), time is cut:
//! a shift from 22:00 to 02:00 gives two hours to each day, and a wrap-up running across
//! midnight gives each day its part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Presence, Timestamp};

use super::{
    measure::TimeRange,
    segments::{HandledSegment, PresenceSpan, Segments},
};

/// One agent's time in a range (or the sum over agents). Durations in milliseconds.
///
/// * **Staffed** time is logged-in time: every presence but offline (available, or away with
///   any reason). `staffed_ms = available_ms + away_ms`.
/// * **Handling** time is wall-clock time, within staffed time, during which the agent had at
///   least one contact in hand — from the accept to the end of its wrap-up (talk, hold and
///   wrap-up). An agent holding three chats at once for ten minutes handles for ten minutes,
///   not thirty, so handling never exceeds staffed time. (The per-contact sums are
///   `talk_ms`, `hold_ms` and `wrap_up_ms`, which may exceed `handling_ms` with concurrent
///   contacts.)
/// * **Occupancy** = `handling_ms / staffed_ms`: the share of logged-in time spent on
///   contacts, `0..=1`.
/// * **Utilisation** = `handling_ms / ready_ms`, where `ready_ms = staffed_ms −
///   away_idle_ms` is the time the agent offered to the floor (available, or away while still
///   finishing a contact). It leaves out breaks, meetings and other away time, and says how
///   busy the agent was while they could take work; `occupancy ≤ utilisation ≤ 1`.
///
/// Handling outside staffed time (a contact kept after logging out, or a log that starts
/// after the agent logged in) is not in `handling_ms` but reported as
/// `handling_unstaffed_ms`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTime {
    pub staffed_ms: u64,
    /// Presence `available` (whether or not handling).
    pub available_ms: u64,
    /// Presence `away`, any reason (whether or not still finishing a contact).
    pub away_ms: u64,
    /// `away_ms` by reason code.
    pub away_by_reason: BTreeMap<String, u64>,
    /// Staffed time with at least one contact in hand.
    pub handling_ms: u64,
    /// Available with no contact in hand.
    pub idle_ms: u64,
    /// Away with no contact in hand.
    pub away_idle_ms: u64,
    /// `staffed_ms − away_idle_ms`.
    pub ready_ms: u64,
    /// Handling while logged out (or before the first login seen).
    pub handling_unstaffed_ms: u64,
    /// Per-contact talk time in the range (answer → end, minus holds).
    pub talk_ms: u64,
    /// Per-contact hold time in the range.
    pub hold_ms: u64,
    /// Per-contact wrap-up time in the range (end → completion).
    pub wrap_up_ms: u64,
    /// `handling_ms / staffed_ms`.
    pub occupancy: Option<f64>,
    /// `handling_ms / ready_ms`.
    pub utilisation: Option<f64>,
}

impl AgentTime {
    pub(super) fn add(&mut self, o: &AgentTime) {
        self.staffed_ms += o.staffed_ms;
        self.available_ms += o.available_ms;
        self.away_ms += o.away_ms;
        for (reason, v) in &o.away_by_reason {
            *self.away_by_reason.entry(reason.clone()).or_default() += v;
        }
        self.handling_ms += o.handling_ms;
        self.idle_ms += o.idle_ms;
        self.away_idle_ms += o.away_idle_ms;
        self.ready_ms += o.ready_ms;
        self.handling_unstaffed_ms += o.handling_unstaffed_ms;
        self.talk_ms += o.talk_ms;
        self.hold_ms += o.hold_ms;
        self.wrap_up_ms += o.wrap_up_ms;
    }

    pub(super) fn finish(&mut self) {
        self.occupancy = ratio(self.handling_ms, self.staffed_ms);
        self.utilisation = ratio(self.handling_ms, self.ready_ms);
    }
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Agent time of a report: per agent and the sum over them (`total`'s occupancy is
/// `Σ handling / Σ staffed`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTimeReport {
    pub agents: BTreeMap<AgentId, AgentTime>,
    pub total: AgentTime,
}

/// What one agent did in one bucket, before the sums.
#[derive(Debug, Default)]
struct Work<'a> {
    /// Clipped presence spans (disjoint: an agent's spans never overlap).
    staffed: Vec<(i64, i64, &'a Presence)>,
    /// Clipped handling intervals (may overlap: concurrent contacts).
    handling: Vec<(i64, i64)>,
    talk_ms: u64,
    hold_ms: u64,
    wrap_up_ms: u64,
}

/// `|[a, b)|` in ms (0 if empty).
fn len(a: i64, b: i64) -> u64 {
    u64::try_from(b - a).unwrap_or(0)
}

/// `|[a, b) ∩ [c, d)|` in ms.
fn overlap(a: i64, b: i64, c: i64, d: i64) -> u64 {
    u64::try_from(b.min(d) - a.max(c)).unwrap_or(0)
}

/// Calls `f(bucket index, clipped start, clipped end)` for every bucket `[start, end)`
/// overlaps. `buckets` are contiguous and in order.
fn each_bucket(buckets: &[TimeRange], start: i64, end: i64, mut f: impl FnMut(usize, i64, i64)) {
    if end <= start {
        return;
    }
    let mut i = buckets.partition_point(|b| b.end.as_millis() <= start);
    while let Some(b) = buckets.get(i) {
        let (bs, be) = (b.start.as_millis(), b.end.as_millis());
        if bs >= end {
            break;
        }
        let (s, e) = (start.max(bs), end.min(be));
        if s < e {
            f(i, s, e);
        }
        i += 1;
    }
}

/// Agent time per bucket, for every agent (or only `agent`), measured up to `now`.
pub(super) fn agent_time(
    segments: &Segments,
    buckets: &[TimeRange],
    agent: Option<&AgentId>,
    now: Timestamp,
) -> Vec<AgentTimeReport> {
    let now_ms = now.as_millis();
    let wanted = |a: &AgentId| agent.is_none_or(|x| x == a);
    let mut work: Vec<BTreeMap<&AgentId, Work<'_>>> =
        buckets.iter().map(|_| BTreeMap::new()).collect();
    for span in segments.presence() {
        let PresenceSpan {
            agent,
            presence,
            start,
            end,
        } = span;
        if !wanted(agent) {
            continue;
        }
        let end = end.map_or(now_ms, |e| e.as_millis().min(now_ms));
        each_bucket(buckets, start.as_millis(), end, |i, s, e| {
            work[i]
                .entry(agent)
                .or_default()
                .staffed
                .push((s, e, presence));
        });
    }
    for h in segments.handled() {
        if !wanted(&h.agent) {
            continue;
        }
        add_handling(&mut work, buckets, h, now_ms);
    }
    work.into_iter().map(sum_bucket).collect()
}

fn add_handling<'a>(
    work: &mut [BTreeMap<&'a AgentId, Work<'_>>],
    buckets: &[TimeRange],
    h: &'a HandledSegment,
    now: i64,
) {
    let answered = h.answered_at.as_millis();
    let ended = h.ended_at.map_or(now, |t| t.as_millis().min(now));
    let done = h.completed_at.map_or(now, |t| t.as_millis().min(now));
    each_bucket(buckets, answered, done.max(ended), |i, s, e| {
        let w = work[i].entry(&h.agent).or_default();
        w.handling.push((s, e));
        let conversation = overlap(answered, ended, s, e);
        let mut hold = 0u64;
        for (held, resumed) in &h.holds {
            hold += overlap(held.as_millis(), resumed.as_millis(), s, e);
        }
        if let Some(held) = h.held_since {
            hold += overlap(held.as_millis(), ended, s, e);
        }
        let hold = hold.min(conversation);
        w.talk_ms += conversation - hold;
        w.hold_ms += hold;
        if h.ended_at.is_some() {
            w.wrap_up_ms += overlap(ended, done, s, e);
        }
    });
}

fn sum_bucket(agents: BTreeMap<&AgentId, Work<'_>>) -> AgentTimeReport {
    let mut report = AgentTimeReport::default();
    for (agent, mut w) in agents {
        let t = agent_sum(&mut w);
        report.total.add(&t);
        report.agents.insert(agent.clone(), t);
    }
    report.total.finish();
    report
}

fn agent_sum(w: &mut Work<'_>) -> AgentTime {
    let mut t = AgentTime {
        talk_ms: w.talk_ms,
        hold_ms: w.hold_ms,
        wrap_up_ms: w.wrap_up_ms,
        ..AgentTime::default()
    };
    // The union of the handling intervals: disjoint, in order.
    w.handling.sort_unstable();
    let mut busy: Vec<(i64, i64)> = Vec::with_capacity(w.handling.len());
    for &(s, e) in &w.handling {
        match busy.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => busy.push((s, e)),
        }
    }
    let busy_total: u64 = busy.iter().map(|&(s, e)| len(s, e)).sum();
    w.staffed.sort_unstable_by_key(|&(s, e, _)| (s, e));
    let mut k = 0;
    for &(s, e, presence) in &w.staffed {
        let span = len(s, e);
        // Skip busy intervals wholly before this span; spans are disjoint and in order.
        while busy.get(k).is_some_and(|&(_, be)| be <= s) {
            k += 1;
        }
        let handling: u64 = busy[k..]
            .iter()
            .take_while(|&&(bs, _)| bs < e)
            .map(|&(bs, be)| overlap(bs, be, s, e))
            .sum();
        t.staffed_ms += span;
        t.handling_ms += handling;
        match presence {
            Presence::Away { reason } => {
                t.away_ms += span;
                t.away_idle_ms += span - handling;
                *t.away_by_reason.entry(reason.to_string()).or_default() += span;
            }
            _ => {
                t.available_ms += span;
                t.idle_ms += span - handling;
            }
        }
    }
    t.ready_ms = t.staffed_ms - t.away_idle_ms;
    t.handling_unstaffed_ms = busy_total.saturating_sub(t.handling_ms);
    t.finish();
    t
}
