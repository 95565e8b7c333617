//! The interval aggregates behind historical reports: the event log rolled up into
//! 15-minute cells (`switchboard_stats::rollup` defines them; this module reads and writes
//! them through the store).
//!
//! [`run`] rolls up in the background: every [`EVERY`], each 15-minute interval that ended
//! at least [`SETTLE`] ago and whose events are all written is folded into the cells. Any
//! number of instances may run it: a step takes the rollup lock in the database, so steps
//! never interleave and none is done twice. [`read_aggregated`] answers a report from the
//! cells plus the *tail* (the contacts still open and the events since the last step),
//! within one consistent read of the database.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use switchboard_domain::{AgentId, Channel, ContactId, Event, QueueId, Timestamp};
use switchboard_stats::{
    channel_key,
    rollup::{
        self, agent_levels, apply, apply_agent_time, assemble, link_visits, span_for, touched,
        CellKey, RatedRecord, RatingChange, Stored, VisitRecord,
    },
    AgentTime, FactOptions, Facts, MetricsConfig, Query, Report, ReportInputs, Segments,
    SurveyAnswer, SurveyScale, TimeRange, Visit,
};
use switchboard_store::{self as store, ReportTx, Store, StoreError};

use switchboard_dispatch::Clock;
use tokio_util::sync::CancellationToken;

/// How long after an interval ends it is rolled up: time for every instance's events of it
/// to reach the log.
pub const SETTLE: Duration = Duration::from_secs(60);
/// How often the background task looks for intervals to roll up.
pub const EVERY: Duration = Duration::from_secs(30);
/// The most one step folds (a backlog is rolled up a few hours at a time, each in its own
/// transaction).
const MAX_STEP_MS: i64 = 6 * 3_600_000;

/// What [`roll_up`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rolled {
    /// Steps taken (0: nothing to do, or another instance had done it).
    pub steps: usize,
    /// The watermark afterwards: everything before it is in the cells.
    pub through: Timestamp,
}

/// Rolls up every 15-minute interval that ended [`SETTLE`] before `now` and is not rolled
/// up yet.
///
/// # Errors
/// A database failure, or stored aggregates that no longer parse.
pub async fn roll_up(store: &Store, now: Timestamp) -> Result<Rolled, StoreError> {
    let target = rollup::cell_start(Timestamp::from_millis(
        now.as_millis() - SETTLE.as_millis() as i64,
    ));
    // Where a first rollup starts (asked before the lock: an in-memory database has one
    // connection).
    let first = store.first_event_at().await?;
    let window = MetricsConfig::default().fcr_window;
    let mut steps = 0;
    loop {
        let (mut tx, state) = store.begin_rollup(now).await?;
        let from = match (state.through, first) {
            (Some(t), _) => t,
            (None, Some(first)) => rollup::cell_start(first),
            (None, None) => target,
        };
        if from >= target {
            let through = match state.through {
                Some(through) => {
                    tx.commit(None).await?;
                    through
                }
                None => {
                    // Nothing to roll up yet: start from here, so that no later event is
                    // missed.
                    let state = store::RollupState {
                        through: Some(target),
                        carried: state.carried,
                    };
                    tx.commit(Some(&state)).await?;
                    target
                }
            };
            return Ok(Rolled { steps, through });
        }
        let to = Timestamp::from_millis((from.as_millis() + MAX_STEP_MS).min(target.as_millis()));
        let carried: Vec<Event> = parse(&state.carried, "report_rollup.carried")?;
        let events = tx.events_between(from, to).await?;
        let step = rollup::step(&carried, &events, from, to);

        let (customers, existing, latest) = records_for(&mut tx, &step.visits).await?;
        let linked = link_visits(&step.visits, &customers, &existing, &latest, window);

        // Survey answers given during the step about contacts already counted, then the
        // answers so far of the contacts settling now.
        let (mut rated, mut ratings) = rerated(&mut tx, from, to).await?;
        let settled: Vec<ContactId> = step.rated.iter().map(|r| r.contact).collect();
        let mut answers: BTreeMap<ContactId, Vec<(SurveyScale, u8)>> = BTreeMap::new();
        for (contact, scale, score) in tx.surveys_of(&settled).await? {
            if let Some(scale) = scale_of(&scale) {
                answers.entry(contact).or_default().push((scale, score));
            }
        }
        for r in &step.rated {
            let mut record = RatedRecord::from(r);
            for (scale, score) in answers.get(&r.contact).into_iter().flatten() {
                ratings.extend(record.rate(*scale, *score));
            }
            rated.insert(r.contact, record);
        }

        let keys: Vec<store::CellKey> = touched(&step, &linked, &ratings)
            .iter()
            .map(store_key)
            .collect();
        let mut cells: BTreeMap<CellKey, Facts> = BTreeMap::new();
        for (key, body) in tx.cells(&keys).await? {
            cells.insert(stats_key(&key)?, parse(&body, "report_cell.body")?);
        }
        apply(&mut cells, &step, &linked, &ratings);
        let rows: Vec<(store::CellKey, String)> = cells
            .iter()
            .map(|(k, f)| Ok((store_key(k), json(f)?)))
            .collect::<Result<_, StoreError>>()?;
        tx.put_cells(&rows).await?;

        let agent_keys: Vec<(i64, Timestamp)> = step
            .agent_cells
            .iter()
            .flat_map(|(start, _)| agent_levels(*start))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut agent_cells: BTreeMap<(i64, Timestamp), BTreeMap<AgentId, AgentTime>> =
            BTreeMap::new();
        for (key, body) in tx.agent_cells(&agent_keys).await? {
            agent_cells.insert(key, parse(&body, "report_agent_cell.body")?);
        }
        apply_agent_time(&mut agent_cells, &step.agent_cells);
        let agent_rows: Vec<(i64, Timestamp, String)> = agent_cells
            .iter()
            .map(|((span, start), m)| Ok((*span, *start, json(m)?)))
            .collect::<Result<_, StoreError>>()?;
        tx.put_agent_cells(&agent_rows).await?;
        let visit_rows: Vec<store::VisitRow> = linked.records.iter().map(visit_row).collect();
        tx.put_visits(&visit_rows).await?;
        let rated: Vec<store::RatedRow> = rated.values().map(rated_row).collect();
        tx.put_rated(&rated).await?;
        let state = store::RollupState {
            through: Some(to),
            carried: json(&step.carried)?,
        };
        tx.commit(Some(&state)).await?;
        tracing::debug!(
            from = %from,
            to = %to,
            events = events.len(),
            cells = rows.len(),
            carried = step.carried.len(),
            "rolled up"
        );
        steps += 1;
    }
}

/// What the background rollup needs besides the store and the clock.
pub struct Rollup {
    pub store: Store,
    pub clock: std::sync::Arc<dyn Clock>,
    /// Events this instance still has to write to the log: while any wait, an interval to
    /// roll up may be missing some of them, so the step waits.
    pub pending_events: std::sync::Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Told after each attempt: the watermark reached, or `None` when it failed.
    pub observe: Box<dyn Fn(Option<Timestamp>) + Send + Sync>,
}

impl std::fmt::Debug for Rollup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollup")
            .field("store", &self.store.kind())
            .finish_non_exhaustive()
    }
}

/// Rolls up every [`EVERY`] until `stop` is cancelled. A step in progress at the stop is
/// finished (it is one transaction; cutting it would only roll it back).
pub async fn run(rollup: Rollup, stop: CancellationToken) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = stop.cancelled() => return,
        }
        if (rollup.pending_events)() > 0 {
            continue;
        }
        match roll_up(&rollup.store, rollup.clock.now()).await {
            Ok(rolled) => (rollup.observe)(Some(rolled.through)),
            Err(e) => {
                (rollup.observe)(None);
                tracing::warn!(error = %e, "rolling up report aggregates failed");
            }
        }
    }
}

/// The customers of the visits' contacts, the stored records of the visits, and the latest
/// stored record of each (customer, queue) of the visits that have none.
async fn records_for(
    tx: &mut ReportTx,
    visits: &[(Visit, bool)],
) -> Result<
    (
        BTreeMap<ContactId, String>,
        Vec<VisitRecord>,
        Vec<VisitRecord>,
    ),
    StoreError,
> {
    let contacts: Vec<ContactId> = visits
        .iter()
        .map(|(v, _)| v.contact)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let customers = tx.customers_of(&contacts).await?;
    let keys: Vec<(ContactId, QueueId)> = visits
        .iter()
        .filter(|(v, _)| customers.contains_key(&v.contact))
        .map(|(v, _)| (v.contact, v.queue.clone()))
        .collect();
    let existing: Vec<VisitRecord> = tx
        .visits_of(&keys)
        .await?
        .into_iter()
        .map(visit_record)
        .collect::<Result<_, _>>()?;
    let known: BTreeSet<(ContactId, QueueId)> = existing
        .iter()
        .map(|r| (r.contact, r.queue.clone()))
        .collect();
    let stays: Vec<(String, QueueId)> = keys
        .iter()
        .filter(|k| !known.contains(k))
        .map(|(c, q)| (customers[c].clone(), q.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let latest = tx
        .latest_visits(&stays)
        .await?
        .into_iter()
        .map(visit_record)
        .collect::<Result<_, _>>()?;
    Ok((customers, existing, latest))
}

/// The contacts already counted that were given survey answers in `[from, to)`, and the
/// changes those answers make to the counts.
async fn rerated(
    tx: &mut ReportTx,
    from: Timestamp,
    to: Timestamp,
) -> Result<(BTreeMap<ContactId, RatedRecord>, Vec<RatingChange>), StoreError> {
    let mut rated: BTreeMap<ContactId, RatedRecord> = BTreeMap::new();
    let mut ratings = Vec::new();
    for (row, scale, score) in tx.rated_surveys_answered_between(from, to).await? {
        let record = match rated.entry(row.contact) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(rated_record(row)?),
        };
        if let Some(scale) = scale_of(&scale) {
            ratings.extend(record.rate(scale, score));
        }
    }
    Ok((rated, ratings))
}

/// What [`read_aggregated`] read, for the response.
#[derive(Debug)]
pub struct Aggregated {
    pub reports: Vec<Report>,
    /// Rolled up until here; the rest came from the tail.
    pub through: Timestamp,
    pub cells_read: usize,
    pub tail_events: usize,
}

/// The reports of `query` over `buckets` (on 15-minute boundaries) from the aggregates,
/// as of `now`; `None` when nothing is rolled up yet. `max_events` caps the tail.
///
/// # Errors
/// A database failure or unparseable aggregates (`StoreError`), or the tail being longer
/// than `max_events` (`Ok(Err(n))` with its length).
pub async fn read_aggregated(
    store: &Store,
    query: &Query,
    buckets: &[TimeRange],
    now: Timestamp,
    max_events: usize,
) -> Result<Option<Result<Aggregated, usize>>, StoreError> {
    let (mut tx, state) = store.begin_report_read().await?;
    let Some(through) = state.through else {
        tx.commit(None).await?;
        return Ok(None);
    };
    let carried: Vec<Event> = parse(&state.carried, "report_rollup.carried")?;
    let events = tx
        .events_between(through, now.plus(Duration::from_millis(1)))
        .await?;
    if events.len() > max_events {
        tx.commit(None).await?;
        return Ok(Some(Err(events.len())));
    }
    let tail = Segments::from_events(carried.iter().chain(&events));
    let visits: Vec<(Visit, bool)> = tail.visits().into_iter().map(|v| (v, false)).collect();
    let (customers, existing, latest) = records_for(&mut tx, &visits).await?;
    let linked = link_visits(
        &visits,
        &customers,
        &existing,
        &latest,
        query.config.fcr_window,
    );
    let handled: Vec<ContactId> = tail
        .handled()
        .iter()
        .map(|h| h.contact)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let surveys: Vec<SurveyAnswer> = tx
        .surveys_of(&handled)
        .await?
        .into_iter()
        .filter_map(|(contact, scale, score)| survey(contact, &scale, score))
        .collect();
    let inputs = ReportInputs {
        customers: &customers,
        surveys: &surveys,
    };
    let options = FactOptions {
        visit_flags: Some(&linked.flags),
        agent_time_from: Some(through),
    };
    let Ok(tail_facts) = tail.bucket_facts(query, &inputs, now, buckets, options) else {
        return Err(StoreError::Corrupt(
            "a stored survey score is out of range".into(),
        ));
    };

    // Answers given since the watermark about contacts already counted.
    let (_, ratings) = rerated(&mut tx, through, now.plus(Duration::from_millis(1))).await?;

    let Some(span) = span_for(buckets) else {
        return Err(StoreError::Invalid(
            "report buckets are not on 15-minute boundaries".into(),
        ));
    };
    let (from, to) = (query.range.start, query.range.end);
    let filter = &query.filter;
    let channel = filter.channel.map(|c| channel_key(Some(c)));
    let mut stored = Stored::default();
    for (key, body) in tx
        .cells_between(span, from, to, filter.queue.as_ref(), channel)
        .await?
    {
        stored
            .cells
            .push((stats_key(&key)?, parse(&body, "report_cell.body")?));
    }
    if filter.queue.is_none() && filter.channel.is_none() {
        for (start, body) in tx.agent_cells_between(span, from, to).await? {
            let times: BTreeMap<AgentId, AgentTime> = parse(&body, "report_agent_cell.body")?;
            stored.agent_cells.push((start, times));
        }
    }
    tx.commit(None).await?;
    let cells_read = stored.cells.len();
    let reports = assemble(
        query,
        buckets,
        &stored,
        tail_facts,
        &linked.unsolved,
        &ratings,
        now,
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(Ok(Aggregated {
        reports,
        through,
        cells_read,
        tail_events: events.len(),
    })))
}

fn scale_of(scale: &str) -> Option<SurveyScale> {
    serde_json::from_value(serde_json::Value::String(scale.to_owned())).ok()
}

fn survey(contact: ContactId, scale: &str, score: u8) -> Option<SurveyAnswer> {
    Some(SurveyAnswer {
        contact,
        score,
        scale: scale_of(scale)?,
    })
}

fn rated_record(row: store::RatedRow) -> Result<RatedRecord, StoreError> {
    Ok(RatedRecord {
        contact: row.contact,
        key: CellKey {
            span: rollup::CELL_MS,
            start: row.start,
            queue: row.queue,
            channel: parse_channel(&row.channel)?,
        },
        agent: row.agent,
        csat: row.csat,
        nps: row.nps,
    })
}

fn rated_row(r: &RatedRecord) -> store::RatedRow {
    store::RatedRow {
        contact: r.contact,
        start: r.key.start,
        queue: r.key.queue.clone(),
        channel: channel_key(r.key.channel).to_owned(),
        agent: r.agent.clone(),
        csat: r.csat,
        nps: r.nps,
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn parse_channel(text: &str) -> Result<Option<Channel>, StoreError> {
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map(Some)
        .map_err(|_| StoreError::Corrupt(format!("report channel {text:?}")))
}

fn store_key(key: &CellKey) -> store::CellKey {
    store::CellKey {
        span: key.span,
        start: key.start,
        queue: key.queue.clone(),
        channel: channel_key(key.channel).to_owned(),
    }
}

fn stats_key(key: &store::CellKey) -> Result<CellKey, StoreError> {
    Ok(CellKey {
        span: key.span,
        start: key.start,
        queue: key.queue.clone(),
        channel: parse_channel(&key.channel)?,
    })
}

fn visit_record(row: store::VisitRow) -> Result<VisitRecord, StoreError> {
    Ok(VisitRecord {
        channel: parse_channel(&row.channel)?,
        handled: row.agent.map(|a| (a, row.resolved)),
        contact: row.contact,
        queue: row.queue,
        customer: row.customer,
        first_entered: row.first_entered,
        first_contact: row.first_contact,
        repeated: row.repeated,
        settled: row.settled,
    })
}

fn visit_row(r: &VisitRecord) -> store::VisitRow {
    store::VisitRow {
        contact: r.contact,
        queue: r.queue.clone(),
        customer: r.customer.clone(),
        first_entered: r.first_entered,
        channel: channel_key(r.channel).to_owned(),
        first_contact: r.first_contact,
        repeated: r.repeated,
        settled: r.settled,
        agent: r.handled.as_ref().map(|(a, _)| a.clone()),
        resolved: r.handled.as_ref().is_some_and(|(_, r)| *r),
    }
}
