//! `GET /api/v1/reports`: historical reports as JSON or CSV. The query string is parsed into
//! a [`switchboard_app::reports::ReportRequest`]; the application answers it (from the
//! interval aggregates or the raw event log, see there) and this module renders it: as the
//! protocol's [`ReportAnswer`] or as CSV.

use std::{fmt::Write, time::Duration};

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use switchboard_app::reports::{self, ReportError, ReportRequest, ReportSource};
use switchboard_domain::{parse_instant, AgentId, CenterClock, Channel, QueueId};
use switchboard_protocol::reports::{Dated, ReportAnswer, ReportSource as WireSource};
use switchboard_stats::{
    Filter, IntervalLength, Intervals, MetricsConfig, Query as ReportQuery, Report,
    ServiceLevelFormula,
};

use crate::{error::ApiError, state::AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Start (inclusive): milliseconds since the epoch or RFC 3339.
    pub from: String,
    /// End (exclusive): milliseconds since the epoch or RFC 3339.
    pub to: String,
    pub queue: Option<QueueId>,
    pub agent: Option<AgentId>,
    pub channel: Option<Channel>,
    /// `15m`, `30m`, `60m` or `day`; absent: one report for the whole range.
    pub interval: Option<String>,
    /// Whose clock cuts intervals: an IANA zone (`Europe/Berlin`) or an offset (`+05:30`);
    /// default the center's (`CENTER_TIME_ZONE`).
    pub time_zone: Option<String>,
    /// The older way to give a fixed offset: minutes east of UTC (e.g. 60).
    pub utc_offset_minutes: Option<i32>,
    /// Service-level target in seconds, default 20.
    pub sl_target_secs: Option<u64>,
    /// `answered_plus_abandoned_after_t` (default), `answered_only`, `answered_plus_abandoned`.
    pub sl_formula: Option<ServiceLevelFormula>,
    /// Short-abandon threshold in seconds, default 5.
    pub short_abandon_secs: Option<u64>,
    /// How long after its request a callback must be answered to be kept on time, in
    /// seconds, default 3600.
    pub callback_due_secs: Option<u64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// `GET /api/v1/reports`
pub async fn report(
    State(state): State<AppState>,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| bad(e.body_text()))?;
    let instant =
        |name: &str, s: &str| parse_instant(s).map_err(|e| bad(format!("{name}: {}", e.problem)));
    let (from, to) = (instant("from", &p.from)?, instant("to", &p.to)?);
    if to <= from {
        return Err(bad("to must be after from"));
    }
    let length = match p.interval.as_deref() {
        None => None,
        Some("15m") => Some(IntervalLength::Minutes15),
        Some("30m") => Some(IntervalLength::Minutes30),
        Some("60m") => Some(IntervalLength::Minutes60),
        Some("day") => Some(IntervalLength::Day),
        Some(other) => return Err(bad(format!("interval {other:?}: use 15m, 30m, 60m or day"))),
    };
    let clock = match (p.time_zone.as_deref(), p.utc_offset_minutes) {
        (Some(_), Some(_)) => return Err(bad("give time_zone or utc_offset_minutes, not both")),
        (Some(zone), None) => zone.parse::<CenterClock>().map_err(|e| bad(e.problem))?,
        (None, Some(minutes)) => CenterClock::offset_minutes(minutes)
            .map_err(|_| bad("utc_offset_minutes must be within ±840"))?,
        (None, None) => state.app.center_clock(),
    };
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(bad(format!("format {other:?}: use json or csv"))),
    };
    let defaults = MetricsConfig::default();
    let config = MetricsConfig {
        service_level_target: p
            .sl_target_secs
            .map_or(defaults.service_level_target, Duration::from_secs),
        service_level_formula: p.sl_formula.unwrap_or(defaults.service_level_formula),
        short_abandon: p
            .short_abandon_secs
            .map_or(defaults.short_abandon, Duration::from_secs),
        callback_due: p
            .callback_due_secs
            .map_or(defaults.callback_due, Duration::from_secs),
        ..defaults
    };
    let request = ReportRequest {
        query: ReportQuery {
            filter: Filter {
                queue: p.queue,
                agent: p.agent,
                channel: p.channel,
            },
            range: reports::range(from, to).map_err(report_error)?,
            config,
        },
        intervals: length.map(|length| Intervals { length, clock }),
    };
    let answer = state.app.report(&request).await.map_err(report_error)?;
    if csv {
        return Ok(csv_response(&answer.reports, clock));
    }
    let source = match answer.source {
        ReportSource::Aggregates {
            through,
            cells_read,
            events_read,
        } => WireSource::Aggregates {
            aggregated_until: through,
            cells_read: cells_read as u64,
            events_read: events_read as u64,
        },
        ReportSource::Events { events_read } => WireSource::Events {
            events_read: events_read as u64,
        },
    };
    let body = ReportAnswer {
        reports: answer
            .reports
            .into_iter()
            .map(|report| Dated {
                start_time: clock.rfc3339(report.range.start),
                end_time: clock.rfc3339(report.range.end),
                report,
            })
            .collect(),
        time_zone: clock.to_string(),
        source,
    };
    Ok(Json(body).into_response())
}

fn report_error(e: ReportError) -> ApiError {
    match e {
        ReportError::Invalid(message) => bad(message),
        ReportError::OffGrid => bad(e.to_string()),
        ReportError::AggregatesNotReady => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "aggregates_not_ready",
            e.to_string(),
        ),
        ReportError::TooManyEvents => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "range_too_large",
            e.to_string(),
        ),
        ReportError::Store(e) => switchboard_app::AppError::from(e).into(),
    }
}

fn csv_response(reports: &[Report], clock: CenterClock) -> Response {
    let body = to_csv(reports, clock);
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn secs(ms: Option<f64>) -> String {
    opt(ms.map(|m| format!("{:.1}", m / 1000.0)))
}

fn share(v: Option<f64>) -> String {
    opt(v.map(|v| format!("{v:.4}")))
}

/// The agent-time and callback columns of one report (all agents' totals; empty agent-time
/// columns under a queue or channel filter).
fn agent_and_callback_columns(r: &Report) -> String {
    let t = r.agent_time.as_ref().map(|a| &a.total);
    let cb = &r.callbacks;
    format!(
        "{},{},{},{},{},{},{},{},{},{}",
        secs(t.map(|t| t.staffed_ms as f64)),
        secs(t.map(|t| t.handling_ms as f64)),
        share(t.and_then(|t| t.occupancy)),
        share(t.and_then(|t| t.utilisation)),
        cb.requested,
        cb.kept_on_time,
        cb.kept_late,
        cb.broken,
        cb.pending,
        share(cb.omission_rate.value),
    )
}

/// One line per report; times in milliseconds since the epoch (and, last, as RFC 3339 on
/// `clock`), durations in seconds, shares as fractions; empty where there is nothing to
/// compute.
pub fn to_csv(reports: &[Report], clock: CenterClock) -> String {
    let mut out = String::from(
        "start,end,offered,answered,abandoned,short_abandoned,timed_out,overflowed,transferred_out,waiting,refused,\
         abandon_rate,asa_s,mean_wait_s,max_wait_s,service_level,service_level_formula,service_level_target_s,\
         handled,aht_s,talk_s,hold_s,wrap_up_s,fcr_reported,fcr_true,fcr_true_final,\
         staffed_s,handling_s,occupancy,utilisation,\
         callbacks_requested,callbacks_kept_on_time,callbacks_kept_late,callbacks_broken,callbacks_pending,callback_omission_rate,\
         start_time,end_time\n",
    );
    for r in reports {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{}",
            r.range.start.as_millis(),
            r.range.end.as_millis(),
            r.offered,
            r.answered,
            r.abandoned,
            r.short_abandoned,
            r.timed_out,
            r.overflowed,
            r.transferred_out,
            r.waiting,
            r.refused,
            opt(r.abandon_rate.value.map(|v| format!("{v:.4}"))),
            secs(r.asa_ms),
            secs(r.mean_wait_ms),
            secs(r.max_wait_ms.map(|m| m as f64)),
            opt(r.service_level.ratio.value.map(|v| format!("{v:.4}"))),
            r.service_level.formula_name,
            r.service_level.target_ms / 1000,
            r.handle_time.count,
            secs(r.handle_time.aht_ms),
            secs(r.handle_time.mean_talk_ms),
            secs(r.handle_time.mean_hold_ms),
            secs(r.handle_time.mean_wrap_up_ms),
            opt(r.fcr_reported.value.map(|v| format!("{v:.4}"))),
            opt(r.fcr_true.ratio.value.map(|v| format!("{v:.4}"))),
            r.fcr_true.is_final,
            agent_and_callback_columns(r),
            clock.rfc3339(r.range.start),
            clock.rfc3339(r.range.end),
        );
    }
    out
}
