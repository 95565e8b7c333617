//! What a run reports: the same [`Report`]s the API computes from the event log (overall, per
//! queue, optionally per interval), with the warm-up left out, and — for a single queue with a
//! constant rate and constant staffing — the Erlang C / Erlang A prediction beside the
//! simulated figures.

use serde::Serialize;
use switchboard_domain::{QueueId, Timestamp};
use switchboard_stats::{
    erlang_c_metrics, ErlangA, Filter, IntervalLength, Intervals, MetricsConfig, Query, Report,
    ReportInputs, Segments, TimeRange,
};

use crate::{
    run::{Run, START},
    scenario::{Distribution, Plan, ReportInterval},
    SimError,
};

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub seed: u64,
    /// The virtual clock's start (scenario times count from here).
    pub start: Timestamp,
    /// What the reports cover: from the end of the warm-up to the end of arrivals.
    pub range: TimeRange,
    pub overall: Report,
    pub queues: Vec<QueueReport>,
    /// Per interval, all queues together (when the scenario asks for intervals).
    pub intervals: Vec<Report>,
    /// Theory beside simulation, or why there is none (in JSON: the theory, or
    /// `{"unavailable": "why"}`).
    #[serde(serialize_with = "theory_or_why")]
    pub theory: Result<Theory, String>,
    pub run: RunStats,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueReport {
    pub queue: QueueId,
    pub report: Report,
}

/// How big the run was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RunStats {
    /// Contacts generated (warm-up included).
    pub contacts: u64,
    /// Events the engine emitted.
    pub events: u64,
    /// Accepts and hang-ups that arrived after the offer or the caller was gone.
    pub stale_commands: u64,
    /// Simulated time from the start until the center had drained, in seconds.
    pub simulated_secs: u64,
}

/// The queueing model's prediction and the simulation's figures under the model's own
/// definitions (which differ from the report's: see [`Figures`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Theory {
    /// `erlang_c` (nobody hangs up) or `erlang_a` (exponential patience).
    pub model: &'static str,
    pub agents: u32,
    pub offered_erlangs: f64,
    /// Mean time an agent is busy per contact: handle time + wrap-up + answer delay.
    pub aht_secs: f64,
    pub predicted: Figures,
    pub simulated: Figures,
    /// Where the scenario departs from the model's assumptions.
    pub caveats: Vec<String>,
}

/// Figures as the queueing models define them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Figures {
    /// Answered within `T` over **all** arrivals (abandons at any time count as missed).
    pub service_level: f64,
    /// Mean wait of answered contacts, seconds.
    pub asa_secs: Option<f64>,
    /// Abandoned (short abandons included) over all arrivals.
    pub abandonment: f64,
}

pub(crate) fn outcome(plan: &Plan, run: Run) -> Result<Outcome, SimError> {
    let start = Timestamp::from_millis(START.as_millis() + plan.warm_up_ms);
    let end = run.arrivals_end.max(start);
    let range = TimeRange::new(start, end).map_err(SimError::Report)?;
    let config = MetricsConfig {
        service_level_target: plan.sl_target,
        ..MetricsConfig::default()
    };
    let query = |queue: Option<QueueId>| Query {
        filter: Filter {
            queue,
            ..Filter::default()
        },
        range,
        config,
    };
    let inputs = ReportInputs::default();
    let now = run.finished;
    let segments: &Segments = &run.segments;
    let overall = segments
        .report(&query(None), &inputs, now)
        .map_err(SimError::Report)?;
    let mut queues = Vec::new();
    if plan.queues.len() > 1 {
        for q in &plan.queues {
            let report = segments
                .report(&query(Some(q.config.id.clone())), &inputs, now)
                .map_err(SimError::Report)?;
            queues.push(QueueReport {
                queue: q.config.id.clone(),
                report,
            });
        }
    }
    let intervals = match plan.interval {
        None => Vec::new(),
        Some(i) => {
            let length = match i {
                ReportInterval::Minutes15 => IntervalLength::Minutes15,
                ReportInterval::Minutes30 => IntervalLength::Minutes30,
                ReportInterval::Minutes60 => IntervalLength::Minutes60,
            };
            let cut = Intervals {
                length,
                clock: switchboard_domain::CenterClock::UTC,
            };
            segments
                .intervals(&query(None), cut, &inputs, now)
                .map_err(SimError::Report)?
        }
    };
    let theory = theory(plan, &overall);
    Ok(Outcome {
        seed: plan.seed,
        start: START,
        range,
        overall,
        queues,
        intervals,
        theory,
        run: RunStats {
            contacts: run.contacts,
            events: run.events,
            stale_commands: run.stale,
            simulated_secs: (run.finished.as_millis() - START.as_millis()).max(0) as u64 / 1000,
        },
    })
}

fn theory_or_why<S: serde::Serializer>(
    theory: &Result<Theory, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Unavailable<'a> {
        unavailable: &'a str,
    }
    match theory {
        Ok(t) => t.serialize(s),
        Err(why) => Unavailable { unavailable: why }.serialize(s),
    }
}

/// The model's prediction, when the scenario is one the model describes at all.
fn theory(plan: &Plan, report: &Report) -> Result<Theory, String> {
    let [queue] = plan.queues.as_slice() else {
        return Err("theory is shown for a single queue only".into());
    };
    let [(0, rate_per_ms)] = queue.profile.as_slice() else {
        return Err("theory needs a constant arrival rate from the start".into());
    };
    let serving: Vec<_> = plan
        .groups
        .iter()
        .filter(|g| {
            queue
                .config
                .required_skills
                .iter()
                .all(|r| g.profile_skills.contains_key(&r.skill))
        })
        .collect();
    if serving.iter().any(|g| !g.shifts.is_empty()) {
        return Err("theory needs constant staffing (no shifts)".into());
    }
    let agents: u32 = serving.iter().map(|g| g.agents).sum();
    let delay_ms = serving.iter().map(|g| g.answer_delay_ms).max().unwrap_or(0);
    let wrap_up = queue.config.wrap_up.as_secs_f64();
    let aht = queue.handle_time.mean() + wrap_up + delay_ms as f64 / 1000.0;
    let lambda = rate_per_ms * 1000.0;
    let target = plan.sl_target.as_secs_f64();
    let mut caveats = Vec::new();
    if !matches!(queue.handle_time, Distribution::Exponential { .. }) || wrap_up > 0.0 {
        caveats.push("busy time per contact is not exponential (the model assumes it is)".into());
    }
    if delay_ms > 0 {
        caveats.push("agents take time to answer: the wait includes ringing".into());
    }
    if serving.iter().any(|g| g.miss_rate > 0.0) {
        caveats.push("agents miss offers (the model assumes they never do)".into());
    }
    if plan.warm_up_ms == 0 {
        caveats.push("no warm-up: the first contacts find an empty center".into());
    }
    let (model, offered_erlangs, predicted) = match queue.patience {
        None => {
            let m = erlang_c_metrics(lambda * aht, agents, aht, target)
                .map_err(|e| format!("Erlang C: {e}"))?;
            (
                "erlang_c",
                m.traffic_erlangs,
                Figures {
                    service_level: m.service_level,
                    asa_secs: Some(m.asa_secs),
                    abandonment: 0.0,
                },
            )
        }
        Some(Distribution::Exponential { mean }) => {
            let m = ErlangA::new(lambda, aht, mean)
                .and_then(|model| model.metrics(agents, target))
                .map_err(|e| format!("Erlang A: {e}"))?;
            (
                "erlang_a",
                m.offered_erlangs,
                Figures {
                    service_level: m.service_level,
                    asa_secs: Some(m.asa_secs),
                    abandonment: m.probability_of_abandonment,
                },
            )
        }
        Some(_) => return Err("Erlang A needs exponential patience".into()),
    };
    let offered = report.offered.max(1) as f64;
    let simulated = Figures {
        service_level: report.service_level.ratio.numerator as f64 / offered,
        asa_secs: report.asa_ms.map(|ms| ms / 1000.0),
        abandonment: (report.abandoned + report.short_abandoned) as f64 / offered,
    };
    Ok(Theory {
        model,
        agents,
        offered_erlangs,
        aht_secs: aht,
        predicted,
        simulated,
        caveats,
    })
}
