//! Historical reports: the figures of `switchboard_stats` for a queue, agent or channel over
//! a time range, whole or per interval.
//!
//! A report whose range and intervals fall on 15-minute boundaries (UTC, or any offset that
//! is a whole number of quarter hours) is answered from the interval aggregates
//! ([`rollup`]): the stored cells (the coarsest of quarter hour, hour and UTC day that the
//! bounds allow) plus the contacts still open and the events since the last rollup step. It
//! is the same report the raw event log gives, read from a few thousand cells instead of
//! millions of events, so a year may be asked for. Other ranges fold the raw event log of the
//! range (plus a day on each side, so contacts that entered in the range are followed to
//! their end), capped at [`MAX_RANGE`].

pub mod rollup;

use std::time::Duration;

use switchboard_domain::{EventId, Timestamp};
use switchboard_stats::{
    buckets, rollup::on_cell_boundary, Intervals, Query, Report, ReportInputs, Segments,
    SurveyAnswer, TimeRange,
};
use switchboard_store::{EventFilter, Store, StoreError};

/// Longest range one report folds from the raw event log.
pub const MAX_RANGE: Duration = Duration::from_secs(93 * 24 * 3600);
/// Longest range one report covers from the interval aggregates.
pub const MAX_AGGREGATED_RANGE: Duration = Duration::from_secs(366 * 24 * 3600);
/// Most events one report reads.
pub const MAX_EVENTS: usize = 2_000_000;
/// How far past the range events are read, to follow contacts to their end.
const MARGIN: Duration = Duration::from_secs(24 * 3600);

/// One report request: what to count (filter, range, settings) and, optionally, per which
/// intervals.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    pub query: Query,
    /// `None`: one report for the whole range.
    pub intervals: Option<Intervals>,
}

/// Where the figures were read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportSource {
    /// The interval aggregates, rolled up until `through`, plus the tail after it.
    Aggregates {
        through: Timestamp,
        cells_read: usize,
        events_read: usize,
    },
    /// The raw event log.
    Events { events_read: usize },
}

/// The reports asked for (one per interval, or one for the range) and their source.
#[derive(Clone, Debug)]
pub struct ReportAnswer {
    pub reports: Vec<Report>,
    pub source: ReportSource,
}

/// Why a report was not answered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request itself is wrong (the range, the intervals).
    #[error("{0}")]
    Invalid(String),
    /// A long range needs the aggregates, which are not rolled up that far yet.
    #[error(
        "the interval aggregates are still being rolled up; ask for 93 days or less, or try \
         again in a few minutes"
    )]
    AggregatesNotReady,
    /// A long range off the 15-minute grid cannot be answered from the aggregates.
    #[error(
        "a range over 93 days is answered from the interval aggregates only: put its bounds \
         (and intervals) on 15-minute boundaries"
    )]
    OffGrid,
    /// More than [`MAX_EVENTS`] events would have to be read.
    #[error("too many events in this range; ask for a shorter one")]
    TooManyEvents,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Answers `request` as of `now`: from the aggregates where its bounds allow and they are
/// rolled up, else from the raw event log.
///
/// # Errors
/// See [`ReportError`].
pub async fn report(
    store: &Store,
    request: &ReportRequest,
    now: Timestamp,
) -> Result<ReportAnswer, ReportError> {
    let query = &request.query;
    let (from, to) = (query.range.start, query.range.end);
    if to <= from {
        return Err(ReportError::Invalid("to must be after from".into()));
    }
    if to.since(from) > MAX_AGGREGATED_RANGE {
        return Err(ReportError::Invalid(
            "the range may span at most 366 days".into(),
        ));
    }
    let bucket_ranges = match request.intervals {
        None => vec![query.range],
        Some(intervals) => {
            buckets(query.range, intervals).map_err(|e| ReportError::Invalid(e.to_string()))?
        }
    };
    let aligned = bucket_ranges
        .iter()
        .all(|b| on_cell_boundary(b.start) && on_cell_boundary(b.end));
    let long = to.since(from) > MAX_RANGE;
    if aligned {
        let read = rollup::read_aggregated(store, query, &bucket_ranges, now, MAX_EVENTS).await?;
        match read {
            Some(Ok(agg)) => {
                return Ok(ReportAnswer {
                    reports: agg.reports,
                    source: ReportSource::Aggregates {
                        through: agg.through,
                        cells_read: agg.cells_read,
                        events_read: agg.tail_events,
                    },
                })
            }
            _ if long => return Err(ReportError::AggregatesNotReady),
            _ => {}
        }
    }
    if long {
        return Err(ReportError::OffGrid);
    }
    from_events(store, request, now).await
}

/// The report folded from the raw event log of the range (plus [`MARGIN`] each side).
async fn from_events(
    store: &Store,
    request: &ReportRequest,
    now: Timestamp,
) -> Result<ReportAnswer, ReportError> {
    let query = &request.query;
    let (from, to) = (query.range.start, query.range.end);
    // Read the log: the range, a margin before (contacts already waiting) and after.
    let read_from = Timestamp::from_millis(from.as_millis() - MARGIN.as_millis() as i64);
    let read_to = to.plus(MARGIN).min(now.plus(Duration::from_millis(1)));
    let mut events = Vec::new();
    let mut after: Option<EventId> = None;
    loop {
        let filter = EventFilter {
            after,
            from: Some(read_from),
            to: Some(read_to),
            limit: EventFilter::MAX_LIMIT,
            ..EventFilter::default()
        };
        let page = store.events(&filter).await?;
        let full = page.len() == EventFilter::MAX_LIMIT as usize;
        after = page.last().map(|e| e.id);
        events.extend(page);
        if events.len() > MAX_EVENTS {
            return Err(ReportError::TooManyEvents);
        }
        if !full {
            break;
        }
    }
    let segments = Segments::from_events(&events);
    // What events do not carry: customers (for repeat contacts, a window either side) and
    // survey answers (given after the contact, so up to now).
    let window = query.config.fcr_window;
    let customers = store
        .contact_customers_between(
            Timestamp::from_millis(read_from.as_millis() - window.as_millis() as i64),
            read_to.plus(window),
        )
        .await?;
    let surveys: Vec<SurveyAnswer> = store
        .survey_answers_between(read_from, now.plus(Duration::from_millis(1)))
        .await?
        .into_iter()
        .filter_map(|(contact, scale, score)| {
            let scale = serde_json::from_value(serde_json::Value::String(scale)).ok()?;
            Some(SurveyAnswer {
                contact,
                score,
                scale,
            })
        })
        .collect();
    let inputs = ReportInputs {
        customers: &customers,
        surveys: &surveys,
    };
    let invalid = |e: switchboard_stats::MetricsError| ReportError::Invalid(e.to_string());
    let reports = match request.intervals {
        None => vec![segments.report(query, &inputs, now).map_err(invalid)?],
        Some(intervals) => segments
            .intervals(query, intervals, &inputs, now)
            .map_err(invalid)?,
    };
    Ok(ReportAnswer {
        reports,
        source: ReportSource::Events {
            events_read: events.len(),
        },
    })
}

/// The range of a report, checked.
///
/// # Errors
/// `ReportError::Invalid` when `to` is not after `from`.
pub fn range(from: Timestamp, to: Timestamp) -> Result<TimeRange, ReportError> {
    TimeRange::new(from, to).map_err(|e| ReportError::Invalid(e.to_string()))
}

impl crate::App {
    /// The report `request` asks for, as of now (see [`report`]).
    ///
    /// # Errors
    /// See [`ReportError`].
    pub async fn report(&self, request: &ReportRequest) -> Result<ReportAnswer, ReportError> {
        report(&self.store, request, self.now()).await
    }
}
