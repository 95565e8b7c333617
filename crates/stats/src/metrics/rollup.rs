//! Interval aggregates: the event log rolled up into 15-minute cells, so that a report over
//! a month reads a few thousand cells instead of millions of events.
//!
//! **Cells.** A [`CellKey`] is an interval (UTC-aligned), a queue and a channel; its
//! [`Facts`] are those of the segments that entered that queue in that interval, kept per
//! agent where a report may filter by agent. Every fact is kept at three levels ([`SPANS`]:
//! 15 minutes, an hour, a UTC day), so that a month by day reads 30 cells per queue and
//! channel, and an interval report on quarter hours the quarter cells ([`span_for`]).
//! Agents' time has cells of its own, per interval and level, per agent.
//!
//! **Settled contacts.** A contact's facts go into the cells only once it is *settled*:
//! nothing of it is open any more (no segment waiting, no handling before the end of its
//! wrap-up, no callback promise pending). Until then its whole history is **carried** from
//! one rollup step to the next, so that its figures are computed from all of its events, as
//! a raw fold would, however long it lives (an e-mail may wait for days). Facts of settled
//! contacts do not depend on `now`, so a cell, once written, stays true.
//!
//! **A step** ([`step`]) folds the carried events and the events of `[from, to)` (both on
//! 15-minute boundaries): the settled contacts' facts are added to their cells, each
//! interval's agent time is written, and what is still open is carried on. Agent time of an
//! interval needs only the presence and handlings before its end, so it is final once the
//! step has passed it.
//!
//! **True FCR** depends on other contacts of the same customer: each first stay of a
//! contact in a queue is a [`VisitRecord`] kept with its `first_contact` and `repeated`
//! flags. Visits arrive in time order, so a new visit only looks back at the latest stored
//! visit of its customer and queue ([`link_visits`]): it is a first contact when that one is
//! more than the window before it, and that one becomes `repeated` when it is within the
//! window. A settled visit's FCR is counted in its cell; when a later repeat turns a
//! counted resolved first contact into a repeated one, the cell counts one solved less.
//!
//! **Surveys** come after the contact, and a later answer replaces an earlier one: a
//! settled contact's answers are counted in the cell of its last handling
//! ([`RatedRecord`]), and each answer given later is a [`RatingChange`] (the score counted
//! before taken back, the new one counted).
//!
//! **A report** ([`assemble`]) merges the cells of its range and adds the *tail*: the
//! carried contacts and the events since the last step, folded as a raw report would
//! ([`Segments::bucket_facts`]) with the FCR flags linked to the stored visits. The result
//! equals the report of the raw fold of the whole log (a property test replays logs both
//! ways and compares).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::Duration,
};

use switchboard_domain::{
    AgentId, Channel, ContactId, Event, EventId, EventKind, QueueId, Timestamp,
};

use super::{
    agent_time::{agent_time, AgentTime},
    facts::{finish, BucketFacts, Facts, Fcr},
    figures::{Filter, Query, Report},
    measure::TimeRange,
    report::{Visit, VisitFlags},
    segments::{ms, Segments},
    survey::{MetricsError, SurveyScale},
};

/// The length of a cell: 15 minutes.
pub const CELL_MS: i64 = 15 * 60_000;
/// An hour, the middle level of cells.
pub const HOUR_MS: i64 = 3_600_000;
/// A (UTC) day, the top level of cells.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// The lengths cells are kept at: every fact is in one cell of each, so a report reads the
/// coarsest level its bounds allow ([`span_for`]).
pub const SPANS: [i64; 3] = [CELL_MS, HOUR_MS, DAY_MS];

/// Which cell: its length (`span`, one of [`SPANS`]) and start, a queue, a channel (`None`:
/// unknown).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub span: i64,
    pub start: Timestamp,
    pub queue: QueueId,
    pub channel: Option<Channel>,
}

impl CellKey {
    /// The 15-minute cell of something that happened at `at` in `queue`.
    pub fn at(at: Timestamp, queue: &QueueId, channel: Option<Channel>) -> Self {
        Self {
            span: CELL_MS,
            start: cell_start(at),
            queue: queue.clone(),
            channel,
        }
    }

    /// The cells holding this one's facts at every level.
    pub fn levels(&self) -> impl Iterator<Item = CellKey> + '_ {
        SPANS.into_iter().map(|span| CellKey {
            span,
            start: floor(self.start, span),
            queue: self.queue.clone(),
            channel: self.channel,
        })
    }

    fn matches(&self, filter: &Filter) -> bool {
        filter.queue.as_ref().is_none_or(|q| *q == self.queue)
            && filter.channel.is_none_or(|c| Some(c) == self.channel)
    }
}

/// The start of the 15-minute interval (UTC-aligned) holding `t`.
pub fn cell_start(t: Timestamp) -> Timestamp {
    floor(t, CELL_MS)
}

fn floor(t: Timestamp, span: i64) -> Timestamp {
    Timestamp::from_millis(t.as_millis().div_euclid(span) * span)
}

/// The agent cells (span, start) holding the 15-minute agent cell starting at `start`.
pub fn agent_levels(start: Timestamp) -> impl Iterator<Item = (i64, Timestamp)> {
    SPANS
        .into_iter()
        .map(move |span| (span, floor(start, span)))
}

/// The longest of [`SPANS`] on whose boundaries every bucket starts and ends, if any: the
/// level a report over these buckets reads.
pub fn span_for(buckets: &[TimeRange]) -> Option<i64> {
    SPANS.into_iter().rev().find(|span| {
        buckets.iter().all(|b| {
            b.start.as_millis().rem_euclid(*span) == 0 && b.end.as_millis().rem_euclid(*span) == 0
        })
    })
}

/// Whether `t` is on a 15-minute boundary.
pub fn on_cell_boundary(t: Timestamp) -> bool {
    t.as_millis().rem_euclid(CELL_MS) == 0
}

/// Where a settled contact's last handling lies: its survey answers count there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rated {
    pub contact: ContactId,
    pub key: CellKey,
    pub agent: AgentId,
}

/// What one rollup step produced.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Facts of the contacts that settled, by cell (true FCR apart: see [`link_visits`]).
    pub cells: BTreeMap<CellKey, Facts>,
    /// Agent time of each 15-minute interval of the step that had any.
    pub agent_cells: Vec<(Timestamp, BTreeMap<AgentId, AgentTime>)>,
    /// Every visit folded, and whether its contact settled.
    pub visits: Vec<(Visit, bool)>,
    /// The last handling of each settled contact that was handled.
    pub rated: Vec<Rated>,
    /// What the next step must fold again: every event of the contacts still open, and for
    /// each logged-in agent a presence change at the start of their current presence.
    pub carried: Vec<Event>,
}

/// One rollup step over `[from, to)`: `carried` is the previous step's
/// [`Step::carried`], `events` the log's events of the range in order.
pub fn step(carried: &[Event], events: &[Event], from: Timestamp, to: Timestamp) -> Step {
    let segments = Segments::from_events(carried.iter().chain(events));
    let open = |c: ContactId| segments.is_open(c);
    let mut out = Step::default();
    for q in segments.queued() {
        if !open(q.contact) {
            let key = CellKey::at(q.entered_at, &q.queue, q.channel);
            out.cells.entry(key).or_default().add_queued(q);
        }
    }
    let mut last: BTreeMap<ContactId, usize> = BTreeMap::new();
    for (i, h) in segments.handled().iter().enumerate() {
        last.insert(h.contact, i);
        if !open(h.contact) {
            let key = CellKey::at(h.entered_at, &h.queue, h.channel);
            out.cells.entry(key).or_default().add_handled(h, to);
        }
    }
    for (contact, i) in last {
        if !open(contact) {
            let h = &segments.handled()[i];
            out.rated.push(Rated {
                contact,
                key: CellKey::at(h.entered_at, &h.queue, h.channel),
                agent: h.agent.clone(),
            });
        }
    }
    for r in segments.refused() {
        if !open(r.contact) {
            out.cells
                .entry(CellKey::at(r.at, &r.queue, None))
                .or_default()
                .refused += 1;
        }
    }
    for p in segments.callbacks() {
        if !open(p.contact) {
            let key = CellKey::at(p.requested_at, &p.queue, Some(Channel::Callback));
            out.cells.entry(key).or_default().callbacks.push(p.into());
        }
    }
    out.visits = segments
        .visits()
        .into_iter()
        .map(|v| {
            let settled = !open(v.contact);
            (v, settled)
        })
        .collect();

    let mut starts = Vec::new();
    let mut t = from.as_millis();
    while t < to.as_millis() {
        starts.push(TimeRange {
            start: Timestamp::from_millis(t),
            end: Timestamp::from_millis((t + CELL_MS).min(to.as_millis())),
        });
        t += CELL_MS;
    }
    for (range, time) in starts.iter().zip(agent_time(&segments, &starts, None, to)) {
        if !time.agents.is_empty() {
            out.agent_cells.push((range.start, time.agents));
        }
    }

    for span in segments.open_presence() {
        out.carried.push(Event {
            id: EventId(0),
            at: span.start,
            kind: EventKind::AgentPresenceChanged {
                agent: span.agent.clone(),
                presence: span.presence.clone(),
            },
        });
    }
    out.carried.extend(
        carried
            .iter()
            .chain(events)
            .filter(|e| e.kind.contact().is_some_and(open))
            .cloned(),
    );
    out
}

/// A contact's first stay in a queue, kept for true FCR (only contacts with a customer
/// reference have one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitRecord {
    pub contact: ContactId,
    pub queue: QueueId,
    pub customer: String,
    pub first_entered: Timestamp,
    pub channel: Option<Channel>,
    /// No stay of the customer in the queue within the window before this one.
    pub first_contact: bool,
    /// Another stay of the customer in the queue followed within the window.
    pub repeated: bool,
    /// Its contact settled: it is counted in its cell.
    pub settled: bool,
    /// The agent and `resolved` of its last completed handling (set when settled).
    pub handled: Option<(AgentId, bool)>,
}

impl VisitRecord {
    /// The cell it is counted in.
    pub fn key(&self) -> CellKey {
        CellKey::at(self.first_entered, &self.queue, self.channel)
    }

    /// The (customer, queue) whose stays it is one of.
    pub fn stays(&self) -> (String, QueueId) {
        (self.customer.clone(), self.queue.clone())
    }

    /// Counted as a resolved first contact: a repeat now means one solved less.
    fn counted_solved(&self) -> Option<&AgentId> {
        match &self.handled {
            Some((agent, true)) if self.settled && self.first_contact && !self.repeated => {
                Some(agent)
            }
            _ => None,
        }
    }
}

/// What [`link_visits`] decided.
#[derive(Clone, Debug, Default)]
pub struct Linked {
    /// Records new or changed: to be stored.
    pub records: Vec<VisitRecord>,
    /// True FCR of the visits that settled, by cell and agent: to be added to the cells.
    pub fcr: BTreeMap<CellKey, BTreeMap<AgentId, Fcr>>,
    /// Counted resolved first contacts that became repeated: one solved less in that cell,
    /// for that agent.
    pub unsolved: Vec<(CellKey, AgentId)>,
    /// `(first_contact, repeated)` of every given visit whose contact has a customer.
    pub flags: VisitFlags,
}

/// Links `visits` (a step's, or a report's tail; with whether their contact settled) to the
/// stored records.
///
/// * `customers`: the customer of each visit's contact that has one;
/// * `existing`: the stored records of these visits (those that have one);
/// * `latest`: for each (customer, queue) of the visits without a record, the stored record
///   with the greatest `(first_entered, contact)`, if any.
///
/// Visits without a record are new and later than every stored one (the log is rolled up
/// in time order); they are linked in `(first_entered, contact)` order, as the raw
/// definition orders stays ([`super::visit_flags`]).
pub fn link_visits(
    visits: &[(Visit, bool)],
    customers: &BTreeMap<ContactId, String>,
    existing: &[VisitRecord],
    latest: &[VisitRecord],
    window: Duration,
) -> Linked {
    let window = ms(window);
    let apart = |a: Timestamp, b: Timestamp| ms(b.since(a));
    let mut records: HashMap<(ContactId, QueueId), VisitRecord> = HashMap::new();
    let mut last: HashMap<(String, QueueId), (Timestamp, ContactId)> = HashMap::new();
    for r in latest {
        let stays = r.stays();
        if last
            .get(&stays)
            .is_none_or(|l| *l < (r.first_entered, r.contact))
        {
            last.insert(stays, (r.first_entered, r.contact));
        }
        records.insert((r.contact, r.queue.clone()), r.clone());
    }
    for r in existing {
        records.insert((r.contact, r.queue.clone()), r.clone());
    }
    let mut changed: BTreeSet<(ContactId, QueueId)> = BTreeSet::new();
    let mut out = Linked::default();

    let mut new: Vec<(&Visit, &String)> = visits
        .iter()
        .filter_map(|(v, _)| {
            let customer = customers.get(&v.contact)?;
            (!records.contains_key(&(v.contact, v.queue.clone()))).then_some((v, customer))
        })
        .collect();
    new.sort_by_key(|(v, _)| (v.first_entered, v.contact));
    new.dedup_by_key(|(v, _)| (v.contact, v.queue.clone()));
    for (v, customer) in new {
        let stays = (customer.clone(), v.queue.clone());
        let mut first_contact = true;
        if let Some(&(t, prev)) = last.get(&stays) {
            let gap = apart(t, v.first_entered);
            first_contact = gap > window;
            if gap <= window {
                if let Some(p) = records.get_mut(&(prev, v.queue.clone())) {
                    if !p.repeated {
                        if let Some(agent) = p.counted_solved() {
                            out.unsolved.push((p.key(), agent.clone()));
                        }
                        p.repeated = true;
                        changed.insert((prev, v.queue.clone()));
                    }
                }
            }
        }
        records.insert(
            (v.contact, v.queue.clone()),
            VisitRecord {
                contact: v.contact,
                queue: v.queue.clone(),
                customer: customer.clone(),
                first_entered: v.first_entered,
                channel: v.channel,
                first_contact,
                repeated: false,
                settled: false,
                handled: None,
            },
        );
        changed.insert((v.contact, v.queue.clone()));
        last.insert(stays, (v.first_entered, v.contact));
    }

    for (v, settled) in visits {
        let key = (v.contact, v.queue.clone());
        let record = records.get_mut(&key);
        if let Some(r) = &record {
            out.flags.insert(key.clone(), (r.first_contact, r.repeated));
        }
        if !settled {
            continue;
        }
        match record {
            None => {
                if let Some((agent, resolved)) = &v.handled {
                    let cell = CellKey::at(v.first_entered, &v.queue, v.channel);
                    out.fcr
                        .entry(cell)
                        .or_default()
                        .entry(agent.clone())
                        .or_default()
                        .count(None, *resolved, v.first_entered);
                }
            }
            Some(r) if !r.settled => {
                r.settled = true;
                r.handled = v.handled.clone();
                changed.insert(key);
                if let Some((agent, resolved)) = &r.handled {
                    out.fcr
                        .entry(r.key())
                        .or_default()
                        .entry(agent.clone())
                        .or_default()
                        .count(
                            Some((r.first_contact, r.repeated)),
                            *resolved,
                            r.first_entered,
                        );
                }
            }
            Some(_) => {}
        }
    }
    out.records = changed
        .into_iter()
        .filter_map(|k| records.remove(&k))
        .collect();
    out
}

/// Where a settled contact's survey answers are counted, and which are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatedRecord {
    pub contact: ContactId,
    /// The 15-minute cell of its last handling.
    pub key: CellKey,
    pub agent: AgentId,
    /// The CSAT and NPS scores counted for it.
    pub csat: Option<u8>,
    pub nps: Option<u8>,
}

impl From<&Rated> for RatedRecord {
    fn from(r: &Rated) -> Self {
        Self {
            contact: r.contact,
            key: r.key.clone(),
            agent: r.agent.clone(),
            csat: None,
            nps: None,
        }
    }
}

/// A change to a cell's survey counts: the answer counted before (if any) taken back, the
/// new one counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatingChange {
    pub key: CellKey,
    pub agent: AgentId,
    pub scale: SurveyScale,
    pub remove: Option<u8>,
    pub add: u8,
}

impl RatedRecord {
    /// Takes the contact's current answer on `scale`: the change to count, if it differs
    /// from what is counted (a later answer replaces an earlier one).
    pub fn rate(&mut self, scale: SurveyScale, score: u8) -> Option<RatingChange> {
        let counted = match scale {
            SurveyScale::Csat5 => &mut self.csat,
            SurveyScale::Nps10 => &mut self.nps,
        };
        if *counted == Some(score) {
            return None;
        }
        let remove = counted.replace(score);
        Some(RatingChange {
            key: self.key.clone(),
            agent: self.agent.clone(),
            scale,
            remove,
            add: score,
        })
    }
}

fn rerate(facts: &mut Facts, change: &RatingChange) {
    let r = facts.ratings.entry(change.agent.clone()).or_default();
    if let Some(old) = change.remove {
        r.remove(change.scale, old);
    }
    r.add(change.scale, change.add);
}

/// The cells (at every level) a step, its linking and its rating changes change: load
/// these, [`apply`], store them.
pub fn touched(step: &Step, linked: &Linked, ratings: &[RatingChange]) -> BTreeSet<CellKey> {
    step.cells
        .keys()
        .chain(linked.fcr.keys())
        .chain(linked.unsolved.iter().map(|(k, _)| k))
        .chain(ratings.iter().map(|c| &c.key))
        .flat_map(CellKey::levels)
        .collect()
}

/// Adds a step's facts, its FCR and its rating changes to the `cells` at every level
/// (loaded by [`touched`]; missing ones start empty).
pub fn apply(
    cells: &mut BTreeMap<CellKey, Facts>,
    step: &Step,
    linked: &Linked,
    ratings: &[RatingChange],
) {
    for (key, facts) in &step.cells {
        for key in key.levels() {
            cells.entry(key).or_default().merge(facts);
        }
    }
    for (key, agents) in &linked.fcr {
        for key in key.levels() {
            let cell = cells.entry(key).or_default();
            for (agent, fcr) in agents {
                cell.fcr.entry(agent.clone()).or_default().merge(fcr);
            }
        }
    }
    for (key, agent) in &linked.unsolved {
        for key in key.levels() {
            unsolve(cells.entry(key).or_default(), agent);
        }
    }
    for change in ratings {
        for key in change.key.levels() {
            rerate(cells.entry(key).or_default(), change);
        }
    }
}

/// Adds 15-minute agent time to the agent cells at every level (loaded for
/// [`agent_levels`] of each start).
pub fn apply_agent_time(
    cells: &mut BTreeMap<(i64, Timestamp), BTreeMap<AgentId, AgentTime>>,
    quarters: &[(Timestamp, BTreeMap<AgentId, AgentTime>)],
) {
    for (start, times) in quarters {
        for key in agent_levels(*start) {
            let cell = cells.entry(key).or_default();
            for (agent, t) in times {
                cell.entry(agent.clone()).or_default().add(t);
            }
        }
    }
}

fn unsolve(facts: &mut Facts, agent: &AgentId) {
    if let Some(f) = facts.fcr.get_mut(agent) {
        f.solved = f.solved.saturating_sub(1);
    }
}

/// What is stored for a report's range at one level: cells and agent cells, all before the
/// rollup's watermark.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    pub cells: Vec<(CellKey, Facts)>,
    pub agent_cells: Vec<(Timestamp, BTreeMap<AgentId, AgentTime>)>,
}

/// The reports of `query` over `buckets` (contiguous, in order, each on the boundaries of
/// the level the `stored` cells are of: [`span_for`]) from the stored cells plus the tail:
/// `tail` is [`Segments::bucket_facts`] of the tail's fold over the same buckets (with the
/// tail's FCR flags and agent time from the watermark on), `unsolved` the tail's
/// [`Linked::unsolved`], `ratings` the changes of survey answers given since the watermark
/// about contacts already in the cells. Stored rows outside the buckets or the query's queue
/// and channel are ignored.
///
/// # Errors
/// [`MetricsError::ScoreOutOfRange`] for a bad survey answer.
pub fn assemble(
    query: &Query,
    buckets: &[TimeRange],
    stored: &Stored,
    tail: Vec<BucketFacts>,
    unsolved: &[(CellKey, AgentId)],
    ratings: &[RatingChange],
    now: Timestamp,
) -> Result<Vec<Report>, MetricsError> {
    let which = |t: Timestamp| {
        let i = buckets.partition_point(|b| b.start <= t).checked_sub(1)?;
        buckets[i].contains(t).then_some(i)
    };
    let f = &query.filter;
    let mut grouped = tail;
    grouped.resize_with(buckets.len(), BucketFacts::default);
    for (key, facts) in &stored.cells {
        if key.matches(f) {
            if let Some(b) = which(key.start) {
                grouped[b].facts.merge(facts);
            }
        }
    }
    for (key, agent) in unsolved {
        if key.matches(f) {
            if let Some(b) = which(key.start) {
                unsolve(&mut grouped[b].facts, agent);
            }
        }
    }
    for change in ratings {
        if change.key.matches(f) {
            if let Some(b) = which(change.key.start) {
                rerate(&mut grouped[b].facts, change);
            }
        }
    }
    if f.queue.is_none() && f.channel.is_none() {
        for g in &mut grouped {
            g.agent_time.get_or_insert_with(BTreeMap::new);
        }
        for (start, times) in &stored.agent_cells {
            if let Some(b) = which(*start) {
                grouped[b].add_agent_time(times);
            }
        }
    }
    buckets
        .iter()
        .zip(grouped)
        .map(|(range, mut bucket)| {
            bucket.restrict(f.agent.as_ref());
            finish(query, *range, &bucket, now)
        })
        .collect()
}
