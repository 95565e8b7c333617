//! Property tests of the metric definitions over random, well-formed event logs: per-contact
//! lifecycles generated one by one, then merged by time.

use proptest::prelude::*;
use switchboard_domain::{
    AgentId, Channel, ContactId, Event, EventId, EventKind, ExitReason, Presence, Priority,
    QueueId, ReasonCode, Tier, Timestamp, TransferTarget, WrapUp,
};
use switchboard_stats::{
    Filter, IntervalLength, Intervals, LiveAgentTime, LiveQueueStats, MetricsConfig, Query, Report,
    ReportInputs, Segments, ServiceLevelFormula, TimeRange,
};
use switchboard_test_support::time::MIDNIGHT;

const QUEUES: [&str; 3] = ["sales", "billing", "support"];
const AGENTS: [&str; 3] = ["ann", "bob", "cat"];
const CHANNELS: [Channel; 3] = [Channel::Voice, Channel::Chat, Channel::Email];

fn q(i: usize) -> QueueId {
    QueueId::parse(QUEUES[i % QUEUES.len()]).unwrap()
}

fn a(i: usize) -> AgentId {
    AgentId::parse(AGENTS[i % AGENTS.len()]).unwrap()
}

fn c(n: usize) -> ContactId {
    format!("00000000-0000-0000-0000-{n:012}").parse().unwrap()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(MIDNIGHT + ms)
}

/// One stay in a queue and what ends it.
#[derive(Clone, Debug)]
struct Step {
    wait_ms: i64,
    outcome: u8,
    agent: usize,
    /// Before the outcome, an offer to `agent + 1` that is rejected (0), missed (1) or none.
    decline: u8,
    talk_ms: i64,
    hold: Option<(i64, i64)>,
    wrap_ms: i64,
    resolved: Option<bool>,
    /// After an answer: transfer on (to a queue, or to an agent) instead of ending.
    transfer: Option<(bool, usize)>,
    target: usize,
}

#[derive(Clone, Debug)]
struct Lifecycle {
    arrival_ms: i64,
    queue: usize,
    channel: usize,
    steps: Vec<Step>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        (0i64..90_000, 0u8..8, 0usize..3, 0u8..3),
        (
            1i64..400_000,
            proptest::option::of((0i64..50_000, 0i64..50_000)),
        ),
        (0i64..60_000, proptest::option::of(any::<bool>())),
        (proptest::option::of((any::<bool>(), 0usize..3)), 1usize..3),
    )
        .prop_map(
            |(
                (wait_ms, outcome, agent, decline),
                (talk_ms, hold),
                (wrap_ms, resolved),
                (transfer, target),
            )| Step {
                wait_ms,
                outcome,
                agent,
                decline,
                talk_ms,
                hold,
                wrap_ms,
                resolved,
                transfer,
                target,
            },
        )
}

fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    (
        0i64..3 * 3_600_000,
        0usize..3,
        0usize..3,
        proptest::collection::vec(step(), 1..4),
    )
        .prop_map(|(arrival_ms, queue, channel, steps)| Lifecycle {
            arrival_ms,
            queue,
            channel,
            steps,
        })
}

/// The events of one contact, in its own order.
fn events_of(n: usize, l: &Lifecycle) -> Vec<(i64, EventKind)> {
    let contact = c(n);
    let mut out = Vec::new();
    let mut queue = q(l.queue);
    let mut entered = l.arrival_ms;
    out.push((
        entered,
        EventKind::ContactQueued {
            contact,
            queue: queue.clone(),
            channel: CHANNELS[l.channel],
            tier: Tier::Standard,
            priority: Priority::default(),
            arrived_at: ts(entered),
            attributes: Default::default(),
        },
    ));
    for (i, s) in l.steps.iter().enumerate() {
        let last = i + 1 == l.steps.len();
        let t = entered + s.wait_ms;
        let agent = a(s.agent);
        let other = q(l.queue + s.target);
        let other = if other == queue {
            q(l.queue + s.target + 1)
        } else {
            other
        };
        if s.decline < 2 {
            let decliner = a(s.agent + 1);
            out.push((
                t,
                EventKind::ContactOffered {
                    contact,
                    queue: queue.clone(),
                    agent: decliner.clone(),
                    deadline: ts(t + 15_000),
                },
            ));
            let kind = if s.decline == 0 {
                EventKind::OfferRejected {
                    contact,
                    queue: queue.clone(),
                    agent: decliner,
                }
            } else {
                EventKind::OfferTimedOut {
                    contact,
                    queue: queue.clone(),
                    agent: decliner,
                }
            };
            out.push((t, kind));
        }
        let waited_ms = (t - entered) as u64;
        match s.outcome {
            0..=2 => {
                out.push((
                    t,
                    EventKind::ContactOffered {
                        contact,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        deadline: ts(t + 15_000),
                    },
                ));
                out.push((
                    t,
                    EventKind::OfferAccepted {
                        contact,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        waited_ms,
                    },
                ));
                let end = t + s.talk_ms;
                if let Some((start, len)) = s.hold {
                    let start = (t + start).min(end);
                    let stop = (start + len).min(end);
                    out.push((
                        start,
                        EventKind::ContactHeld {
                            contact,
                            agent: agent.clone(),
                        },
                    ));
                    if stop < end {
                        out.push((
                            stop,
                            EventKind::ContactResumed {
                                contact,
                                agent: agent.clone(),
                            },
                        ));
                    }
                }
                let transfer = s.transfer.filter(|_| !last);
                if let Some((to_queue, target)) = transfer {
                    let to = if to_queue {
                        TransferTarget::Queue(other.clone())
                    } else {
                        TransferTarget::Agent(a(target))
                    };
                    out.push((
                        end,
                        EventKind::ContactTransferred {
                            contact,
                            from_queue: queue.clone(),
                            from_agent: Some(agent.clone()),
                            to,
                        },
                    ));
                }
                out.push((
                    end,
                    EventKind::ContactEnded {
                        contact,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        wrap_up_until: ts(end + 60_000),
                    },
                ));
                out.push((
                    end + s.wrap_ms,
                    EventKind::ContactCompleted {
                        contact,
                        queue: queue.clone(),
                        agent,
                        wrap_up: WrapUp {
                            disposition: None,
                            resolved: s.resolved,
                        },
                    },
                ));
                match transfer {
                    Some((true, _)) => queue = other,
                    Some((false, _)) => {}
                    None => break,
                }
                entered = end;
            }
            3 => {
                out.push((
                    t,
                    EventKind::ContactAbandoned {
                        contact,
                        queue: queue.clone(),
                        waited_ms,
                    },
                ));
                break;
            }
            4 => {
                let reason = if s.agent == 0 {
                    ExitReason::NoAgents
                } else {
                    ExitReason::MaxWait
                };
                out.push((
                    t,
                    EventKind::ContactExited {
                        contact,
                        queue: queue.clone(),
                        reason,
                    },
                ));
                break;
            }
            5 if !last => {
                out.push((
                    t,
                    EventKind::ContactOverflowed {
                        contact,
                        from_queue: queue.clone(),
                        to_queue: other.clone(),
                    },
                ));
                queue = other;
                entered = t;
            }
            6 if !last => {
                out.push((
                    t,
                    EventKind::ContactTransferred {
                        contact,
                        from_queue: queue.clone(),
                        from_agent: None,
                        to: TransferTarget::Queue(other.clone()),
                    },
                ));
                queue = other;
                entered = t;
            }
            // Still waiting.
            _ => break,
        }
    }
    out
}

/// Every contact's events merged by time (a contact's own order kept on ties), up to `now`.
fn log(lifecycles: &[Lifecycle], now_ms: i64) -> Vec<Event> {
    let mut all: Vec<(i64, usize, usize, EventKind)> = Vec::new();
    for (n, l) in lifecycles.iter().enumerate() {
        for (k, (t, kind)) in events_of(n, l).into_iter().enumerate() {
            all.push((t, n, k, kind));
        }
    }
    all.sort_by_key(|e| (e.0, e.1, e.2));
    all.into_iter()
        .filter(|e| e.0 <= now_ms)
        .enumerate()
        .map(|(i, (t, _, _, kind))| Event {
            id: EventId(i as u64),
            at: ts(t),
            kind,
        })
        .collect()
}

/// Events `(at, tie-break, kind)` in time order (ties by the second field), numbered.
fn renumbered(mut all: Vec<(Timestamp, usize, EventKind)>) -> Vec<Event> {
    all.sort_by_key(|e| (e.0, e.1));
    all.into_iter()
        .enumerate()
        .map(|(i, (at, _, kind))| Event {
            id: EventId(i as u64),
            at,
            kind,
        })
        .collect()
}

/// Presence changes of each agent: `(gap since the previous change, which presence)` with 0
/// offline, 1 available, 2 and 3 away for two reasons (repeats included: logged in twice).
fn shifts() -> impl Strategy<Value = Vec<Vec<(i64, u8)>>> {
    proptest::collection::vec(
        proptest::collection::vec((0i64..3_600_000, 0u8..4), 0..8),
        AGENTS.len(),
    )
}

/// `events` with the agents' presence changes up to `now_ms` merged in by time, renumbered.
fn with_presence(events: Vec<Event>, shifts: &[Vec<(i64, u8)>], now_ms: i64) -> Vec<Event> {
    let mut all: Vec<(Timestamp, usize, EventKind)> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| (e.at, i + 1, e.kind))
        .collect();
    for (agent, changes) in shifts.iter().enumerate() {
        let mut t = 0i64;
        for &(gap, which) in changes {
            t += gap;
            if t > now_ms {
                break;
            }
            let presence = match which {
                0 => Presence::Offline,
                1 => Presence::Available,
                r => Presence::Away {
                    reason: ReasonCode::parse(if r == 2 { "lunch" } else { "break" }).unwrap(),
                },
            };
            all.push((
                ts(t),
                0,
                EventKind::AgentPresenceChanged {
                    agent: a(agent),
                    presence,
                },
            ));
        }
    }
    renumbered(all)
}

fn filters() -> Vec<Filter> {
    let mut out = vec![Filter::default()];
    for (i, channel) in CHANNELS.into_iter().enumerate() {
        out.push(Filter {
            queue: Some(q(i)),
            ..Filter::default()
        });
        out.push(Filter {
            agent: Some(a(i)),
            ..Filter::default()
        });
        out.push(Filter {
            channel: Some(channel),
            ..Filter::default()
        });
    }
    out
}

fn check_report(r: &Report, segs: &Segments, query: &Query) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        r.offered,
        r.answered
            + r.abandoned
            + r.short_abandoned
            + r.timed_out
            + r.exited_no_agents
            + r.overflowed
            + r.transferred_out
            + r.waiting
    );
    if let Some(sl) = r.service_level.ratio.value {
        prop_assert!((0.0..=1.0).contains(&sl), "{sl}");
    }
    let h = &r.handle_time;
    if let Some(aht) = h.aht_ms {
        let parts = h.mean_talk_ms.unwrap() + h.mean_hold_ms.unwrap() + h.mean_wrap_up_ms.unwrap();
        prop_assert!(
            (parts - aht).abs() <= 1e-9 * aht.max(1.0),
            "{parts} vs {aht}"
        );
    }
    // talk + hold = answer → end, wrap-up = end → completion: the total is answer → completion.
    let f = &query.filter;
    let expected: i64 = segs
        .handled()
        .iter()
        .filter(|s| {
            r.range.contains(s.entered_at)
                && f.queue.as_ref().is_none_or(|x| *x == s.queue)
                && f.agent.as_ref().is_none_or(|x| *x == s.agent)
                && f.channel.is_none_or(|x| Some(x) == s.channel)
        })
        .filter_map(|s| Some(s.completed_at?.as_millis() - s.answered_at.as_millis()))
        .sum();
    prop_assert_eq!(h.talk_ms + h.hold_ms + h.wrap_up_ms, expected as u64);
    for v in [
        r.fcr_reported.value,
        r.fcr_true.ratio.value,
        r.abandon_rate.value,
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!((0.0..=1.0).contains(&v));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn reports_partition_and_stay_in_bounds(
        lifecycles in proptest::collection::vec(lifecycle(), 0..40),
        now_ms in 0i64..5 * 3_600_000,
        formula in 0usize..3,
    ) {
        let events = log(&lifecycles, now_ms);
        let segs = Segments::from_events(&events);
        prop_assert_eq!(segs.ignored(), 0);
        let config = MetricsConfig {
            service_level_formula: [
                ServiceLevelFormula::AnsweredPlusAbandonedAfterT,
                ServiceLevelFormula::AnsweredOnly,
                ServiceLevelFormula::AnsweredPlusAbandoned,
            ][formula],
            ..MetricsConfig::default()
        };
        for filter in filters() {
            let query = Query {
                filter,
                range: TimeRange::new(ts(0), ts(5 * 3_600_000)).unwrap(),
                config,
            };
            let r = segs.report(&query, &ReportInputs::default(), ts(now_ms)).unwrap();
            check_report(&r, &segs, &query)?;
        }
        // Every queued segment is in the unfiltered report.
        let all = Query {
            filter: Filter::default(),
            range: TimeRange::new(ts(0), ts(5 * 3_600_000)).unwrap(),
            config,
        };
        let r = segs.report(&all, &ReportInputs::default(), ts(now_ms)).unwrap();
        prop_assert_eq!(r.offered, segs.queued().len() as u64);
    }

    #[test]
    fn intervals_add_up_to_the_report(
        lifecycles in proptest::collection::vec(lifecycle(), 0..40),
        start in 0i64..3_600_000,
        len in 0i64..4 * 3_600_000,
        length in 0usize..3,
    ) {
        let events = log(&lifecycles, i64::MAX);
        let segs = Segments::from_events(&events);
        let query = Query {
            filter: Filter::default(),
            range: TimeRange::new(ts(start), ts(start + len)).unwrap(),
            config: MetricsConfig::default(),
        };
        let now = ts(10 * 3_600_000);
        let whole = segs.report(&query, &ReportInputs::default(), now).unwrap();
        let spec = Intervals {
            length: [IntervalLength::Minutes15, IntervalLength::Minutes30, IntervalLength::Minutes60][length],
            clock: switchboard_domain::CenterClock::UTC,
        };
        let parts = segs.intervals(&query, spec, &ReportInputs::default(), now).unwrap();
        let sum = |f: fn(&Report) -> u64| parts.iter().map(f).sum::<u64>();
        prop_assert_eq!(sum(|r| r.offered), whole.offered);
        prop_assert_eq!(sum(|r| r.answered), whole.answered);
        prop_assert_eq!(sum(|r| r.abandoned), whole.abandoned);
        prop_assert_eq!(sum(|r| r.handle_time.count), whole.handle_time.count);
        prop_assert_eq!(sum(|r| r.handle_time.talk_ms), whole.handle_time.talk_ms);
        for w in parts.windows(2) {
            prop_assert_eq!(w[0].range.end, w[1].range.start);
        }
    }

    #[test]
    fn live_counters_equal_the_batch_report(
        lifecycles in proptest::collection::vec(lifecycle(), 0..40),
        now_ms in 0i64..5 * 3_600_000,
        start in 0i64..2 * 3_600_000,
        len in 0i64..3 * 3_600_000,
        queue in 0usize..3,
        formula in 0usize..3,
    ) {
        let events = log(&lifecycles, now_ms);
        let range = TimeRange::new(ts(start), ts(start + len)).unwrap();
        let config = MetricsConfig {
            service_level_formula: [
                ServiceLevelFormula::AnsweredPlusAbandonedAfterT,
                ServiceLevelFormula::AnsweredOnly,
                ServiceLevelFormula::AnsweredPlusAbandoned,
            ][formula],
            ..MetricsConfig::default()
        };
        let mut live = LiveQueueStats::new(q(queue), range, config);
        for e in &events {
            live.apply(e);
        }
        let query = Query {
            filter: Filter { queue: Some(q(queue)), ..Filter::default() },
            range,
            config,
        };
        let r = Segments::from_events(&events)
            .report(&query, &ReportInputs::default(), ts(now_ms))
            .unwrap();
        prop_assert_eq!(live.offered(), r.offered);
        prop_assert_eq!(live.answered(), r.answered);
        prop_assert_eq!(live.abandoned(), r.abandoned);
        prop_assert_eq!(live.short_abandoned(), r.short_abandoned);
        prop_assert_eq!(live.service_level(), r.service_level);
        prop_assert_eq!(live.asa_ms(), r.asa_ms);
        prop_assert_eq!(live.completed(), r.handle_time.count);
        prop_assert_eq!(live.fcr_reported(), r.fcr_reported);
        if let (Some(x), Some(y)) = (live.aht_ms(), r.handle_time.aht_ms) {
            prop_assert!((x - y).abs() <= 1e-6 * y.max(1.0), "{x} vs {y}");
        } else {
            prop_assert_eq!(live.aht_ms(), r.handle_time.aht_ms);
        }
        // Waiting now: every segment of the queue still open, whenever it entered.
        let all_time = Query {
            range: TimeRange::new(ts(-1), ts(i64::MAX - MIDNIGHT)).unwrap(),
            ..query
        };
        let everything = Segments::from_events(&events)
            .report(&all_time, &ReportInputs::default(), ts(now_ms))
            .unwrap();
        prop_assert_eq!(live.waiting_now(), everything.waiting);
    }

    #[test]
    fn agent_time_stays_in_bounds_and_intervals_add_up(
        lifecycles in proptest::collection::vec(lifecycle(), 0..30),
        shifts in shifts(),
        now_ms in 0i64..6 * 3_600_000,
        start in 0i64..3_600_000,
        len in 0i64..5 * 3_600_000,
    ) {
        let events = with_presence(log(&lifecycles, now_ms), &shifts, now_ms);
        let segs = Segments::from_events(&events);
        let query = Query {
            filter: Filter::default(),
            range: TimeRange::new(ts(start), ts(start + len)).unwrap(),
            config: MetricsConfig::default(),
        };
        let now = ts(now_ms);
        let whole = segs.report(&query, &ReportInputs::default(), now).unwrap();
        let time = whole.agent_time.clone().unwrap();
        for t in time.agents.values().chain([&time.total]) {
            prop_assert_eq!(t.staffed_ms, t.available_ms + t.away_ms);
            prop_assert_eq!(t.away_ms, t.away_by_reason.values().sum::<u64>());
            prop_assert!(t.handling_ms <= t.staffed_ms);
            prop_assert!(t.ready_ms <= t.staffed_ms);
            prop_assert_eq!(t.staffed_ms, t.handling_ms + t.idle_ms + t.away_idle_ms);
            let agents = if t == &time.total { AGENTS.len() as u64 } else { 1 };
            prop_assert!(t.staffed_ms <= len as u64 * agents, "staffed beyond the range");
            if let Some(o) = t.occupancy {
                prop_assert!((0.0..=1.0).contains(&o), "occupancy {o}");
                // No ready time (only away, idle): occupancy 0, no utilisation.
                let u = t.utilisation.unwrap_or(0.0);
                prop_assert!((0.0..=1.0).contains(&u), "utilisation {u}");
                prop_assert!(o <= u + 1e-12);
            }
        }
        let parts = segs
            .intervals(
                &query,
                Intervals { length: IntervalLength::Minutes15, clock: switchboard_domain::CenterClock::Offset(0) },
                &ReportInputs::default(),
                now,
            )
            .unwrap();
        let sum = |f: fn(&switchboard_stats::AgentTime) -> u64| {
            parts.iter().map(|r| f(&r.agent_time.as_ref().unwrap().total)).sum::<u64>()
        };
        // The live per-agent clock agrees with the batch figures over the same day.
        let day = TimeRange::new(ts(0), ts(24 * 3_600_000)).unwrap();
        let by_day = Query { range: day, ..query.clone() };
        let batch = segs.report(&by_day, &ReportInputs::default(), now).unwrap().agent_time.unwrap();
        for i in 0..AGENTS.len() {
            let mut live = LiveAgentTime::new(a(i), day);
            for e in &events {
                live.apply(e);
            }
            let b = batch.agents.get(&a(i)).cloned().unwrap_or_default();
            prop_assert_eq!(live.totals(now), (b.staffed_ms, b.handling_ms), "agent {}", i);
        }
        prop_assert_eq!(sum(|t| t.staffed_ms), time.total.staffed_ms);
        prop_assert_eq!(sum(|t| t.handling_ms), time.total.handling_ms);
        prop_assert_eq!(sum(|t| t.talk_ms + t.hold_ms + t.wrap_up_ms),
            time.total.talk_ms + time.total.hold_ms + time.total.wrap_up_ms);
    }

    #[test]
    fn any_order_of_events_folds_without_panicking(
        lifecycles in proptest::collection::vec(lifecycle(), 0..15),
        seed in any::<u64>(),
    ) {
        let mut events = log(&lifecycles, i64::MAX);
        // A reproducible shuffle.
        let mut x = seed | 1;
        for i in (1..events.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            events.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let segs = Segments::from_events(&events);
        let query = Query {
            filter: Filter::default(),
            range: TimeRange::new(ts(-10 * 3_600_000), ts(10 * 3_600_000)).unwrap(),
            config: MetricsConfig::default(),
        };
        let r = segs.report(&query, &ReportInputs::default(), ts(0)).unwrap();
        check_report(&r, &segs, &query).ok();
        prop_assert_eq!(
            r.offered,
            r.answered + r.abandoned + r.short_abandoned + r.timed_out + r.exited_no_agents
                + r.overflowed + r.transferred_out + r.waiting
        );
        let mut live = LiveQueueStats::new(q(0), query.range, MetricsConfig::default());
        for e in &events {
            live.apply(e);
        }
    }
}

/// The interval aggregates, driven as the server drives them but with maps for tables:
/// rollup steps at 15-minute boundaries, then reports from the cells plus the tail.
mod aggregates {
    use std::{collections::BTreeMap, time::Duration};

    use switchboard_domain::{AgentId, ContactId, Event, QueueId, Timestamp};
    use switchboard_stats::{
        buckets,
        rollup::{
            apply, apply_agent_time, assemble, link_visits, span_for, step, touched, CellKey,
            RatedRecord, RatingChange, Stored, VisitRecord,
        },
        AgentTime, FactOptions, Facts, Query, Report, ReportInputs, Segments, SurveyAnswer,
        SurveyScale, TimeRange, Visit,
    };

    /// Survey answers as posted: `(answered_at, answer)`; a later answer of the same contact
    /// and scale replaces the earlier one in the table.
    pub(crate) struct Surveys(pub(crate) Vec<(Timestamp, SurveyAnswer)>);

    impl Surveys {
        /// The table as it is just before `t`: the latest answer per contact and scale,
        /// with when it was given.
        fn before(&self, t: Timestamp) -> BTreeMap<(ContactId, u8), (Timestamp, SurveyAnswer)> {
            let mut out = BTreeMap::new();
            for (at, s) in &self.0 {
                if *at < t {
                    let scale = match s.scale {
                        SurveyScale::Csat5 => 0,
                        SurveyScale::Nps10 => 1,
                    };
                    let slot = out.entry((s.contact, scale)).or_insert((*at, *s));
                    if slot.0 <= *at {
                        *slot = (*at, *s);
                    }
                }
            }
            out
        }

        pub(crate) fn at(&self, t: Timestamp) -> Vec<SurveyAnswer> {
            self.before(t).into_values().map(|(_, s)| s).collect()
        }
    }

    pub(crate) struct MemoryRollup {
        pub(crate) through: Timestamp,
        carried: Vec<Event>,
        cells: BTreeMap<CellKey, Facts>,
        agent_cells: BTreeMap<(i64, Timestamp), BTreeMap<AgentId, AgentTime>>,
        visits: BTreeMap<(ContactId, QueueId), VisitRecord>,
        rated: BTreeMap<ContactId, RatedRecord>,
    }

    impl MemoryRollup {
        pub(crate) fn new(start: Timestamp) -> Self {
            Self {
                through: start,
                carried: Vec::new(),
                cells: BTreeMap::new(),
                agent_cells: BTreeMap::new(),
                visits: BTreeMap::new(),
                rated: BTreeMap::new(),
            }
        }

        fn records_for(
            &self,
            visits: &[(Visit, bool)],
            customers: &BTreeMap<ContactId, String>,
        ) -> (Vec<VisitRecord>, Vec<VisitRecord>) {
            let mut existing = Vec::new();
            let mut latest: BTreeMap<(String, QueueId), VisitRecord> = BTreeMap::new();
            for (v, _) in visits {
                if let Some(r) = self.visits.get(&(v.contact, v.queue.clone())) {
                    existing.push(r.clone());
                } else if let Some(customer) = customers.get(&v.contact) {
                    let stays = (customer.clone(), v.queue.clone());
                    for r in self.visits.values() {
                        if r.stays() == stays
                            && latest.get(&stays).is_none_or(|l| {
                                (l.first_entered, l.contact) < (r.first_entered, r.contact)
                            })
                        {
                            latest.insert(stays.clone(), r.clone());
                        }
                    }
                }
            }
            (existing, latest.into_values().collect())
        }

        /// Rating changes of already rated contacts from the answers given in `[from, to)`,
        /// as the table shows them at `to`.
        fn rerated(
            rated: &mut BTreeMap<ContactId, RatedRecord>,
            surveys: &Surveys,
            from: Timestamp,
            to: Timestamp,
        ) -> Vec<RatingChange> {
            let mut out = Vec::new();
            for (at, s) in surveys.before(to).into_values() {
                if at >= from {
                    if let Some(r) = rated.get_mut(&s.contact) {
                        out.extend(r.rate(s.scale, s.score));
                    }
                }
            }
            out
        }

        pub(crate) fn step(
            &mut self,
            log: &[Event],
            to: Timestamp,
            customers: &BTreeMap<ContactId, String>,
            surveys: &Surveys,
            window: Duration,
        ) {
            let from = self.through;
            let events: Vec<Event> = log
                .iter()
                .filter(|e| e.at >= from && e.at < to)
                .cloned()
                .collect();
            let step = step(&self.carried, &events, from, to);
            let (existing, latest) = self.records_for(&step.visits, customers);
            let linked = link_visits(&step.visits, customers, &existing, &latest, window);
            // Answers given since the last step about contacts already counted, then the
            // answers so far of the contacts settling now.
            let mut ratings = Self::rerated(&mut self.rated, surveys, from, to);
            let table = surveys.at(to);
            for r in &step.rated {
                let mut record = RatedRecord::from(r);
                for s in table.iter().filter(|s| s.contact == r.contact) {
                    ratings.extend(record.rate(s.scale, s.score));
                }
                self.rated.insert(r.contact, record);
            }
            let mut loaded: BTreeMap<CellKey, Facts> = touched(&step, &linked, &ratings)
                .into_iter()
                .filter_map(|k| self.cells.get(&k).map(|f| (k, f.clone())))
                .collect();
            apply(&mut loaded, &step, &linked, &ratings);
            self.cells.extend(loaded);
            apply_agent_time(&mut self.agent_cells, &step.agent_cells);
            for r in linked.records {
                self.visits.insert((r.contact, r.queue.clone()), r);
            }
            self.carried = step.carried;
            self.through = to;
        }

        #[allow(clippy::too_many_arguments)]
        pub(crate) fn report(
            &self,
            log: &[Event],
            query: &Query,
            buckets: &[TimeRange],
            customers: &BTreeMap<ContactId, String>,
            surveys: &Surveys,
            now: Timestamp,
        ) -> Vec<Report> {
            let tail = Segments::from_events(
                self.carried
                    .iter()
                    .chain(log.iter().filter(|e| e.at >= self.through)),
            );
            let visits: Vec<(Visit, bool)> =
                tail.visits().into_iter().map(|v| (v, false)).collect();
            let (existing, latest) = self.records_for(&visits, customers);
            let linked = link_visits(
                &visits,
                customers,
                &existing,
                &latest,
                query.config.fcr_window,
            );
            let later = now.plus(Duration::from_millis(1));
            let tail_surveys: Vec<SurveyAnswer> = surveys
                .at(later)
                .into_iter()
                .filter(|s| tail.handled().iter().any(|h| h.contact == s.contact))
                .collect();
            let mut rated = self.rated.clone();
            let ratings = Self::rerated(&mut rated, surveys, self.through, later);
            let inputs = ReportInputs {
                customers,
                surveys: &tail_surveys,
            };
            let options = FactOptions {
                visit_flags: Some(&linked.flags),
                agent_time_from: Some(self.through),
            };
            let tail = tail
                .bucket_facts(query, &inputs, now, buckets, options)
                .unwrap();
            let span = span_for(buckets).expect("buckets on 15-minute boundaries");
            let (from, to) = (buckets[0].start, buckets[buckets.len() - 1].end);
            let stored = Stored {
                cells: self
                    .cells
                    .iter()
                    .filter(|(k, _)| k.span == span && k.start >= from && k.start < to)
                    .map(|(k, f)| (k.clone(), f.clone()))
                    .collect(),
                agent_cells: self
                    .agent_cells
                    .range((span, from)..(span, to))
                    .map(|((_, t), m)| (*t, m.clone()))
                    .collect(),
            };
            assemble(
                query,
                buckets,
                &stored,
                tail,
                &linked.unsolved,
                &ratings,
                now,
            )
            .unwrap()
        }
    }

    pub(crate) fn all_buckets(
        query: &Query,
        length: Option<switchboard_stats::Intervals>,
    ) -> Vec<TimeRange> {
        match length {
            None => vec![query.range],
            Some(spec) => buckets(query.range, spec).unwrap(),
        }
    }
}

/// `events` with callback requests for every fourth contact (right after it queued) and a
/// few refused contacts, renumbered.
fn with_callbacks_and_refusals(events: Vec<Event>, refusals: &[(i64, usize)]) -> Vec<Event> {
    let mut all: Vec<(Timestamp, usize, EventKind)> = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        let extra = match &e.kind {
            EventKind::ContactQueued {
                contact,
                queue,
                arrived_at,
                ..
            } if *arrived_at == e.at && contact.to_string().ends_with(['0', '4', '8']) => {
                Some(EventKind::CallbackRequested {
                    contact: *contact,
                    queue: queue.clone(),
                    number: "+15550100".into(),
                    due: None,
                })
            }
            _ => None,
        };
        all.push((e.at, 2 * i, e.kind));
        if let Some(kind) = extra {
            all.push((e.at, 2 * i + 1, kind));
        }
    }
    for (n, &(t, queue)) in refusals.iter().enumerate() {
        all.push((
            ts(t),
            usize::MAX - n,
            EventKind::ContactRefused {
                contact: c(10_000 + n),
                queue: q(queue),
                reason: ExitReason::NoAgents,
            },
        ));
    }
    renumbered(all)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Reports from the interval aggregates (cells rolled up at random 15-minute steps, plus
    /// the tail since the last step) equal the reports of the raw fold of the whole log, for
    /// every filter, interval length and setting.
    #[test]
    fn aggregates_answer_exactly_as_the_raw_log(
        lifecycles in proptest::collection::vec(lifecycle(), 0..40),
        shifts in shifts(),
        refusals in proptest::collection::vec((0i64..4 * 3_600_000, 0usize..3), 0..4),
        answers in proptest::collection::vec(
            (0usize..40, any::<bool>(), 0u8..11, 0i64..7 * 3_600_000),
            0..40,
        ),
        now_ms in 0i64..7 * 3_600_000,
        cuts in proptest::collection::btree_set(1i64..28, 0..16),
        customers_mod in 1usize..12,
        window_min in 1u64..120,
        range in (0i64..12, 1i64..30),
        align in 0usize..3,
        formula in 0usize..3,
        length in 0usize..4,
    ) {
        let log = with_callbacks_and_refusals(
            with_presence(log(&lifecycles, now_ms), &shifts, now_ms),
            &refusals,
        );
        let log: Vec<Event> = log.into_iter().filter(|e| e.at <= ts(now_ms)).collect();
        let customers: std::collections::BTreeMap<ContactId, String> = (0..lifecycles.len())
            .filter(|n| n % 5 != 4)
            .map(|n| (c(n), format!("cust{}", n % customers_mod)))
            .collect();
        // Survey answers at random times, some replaced by a later answer.
        let surveys = aggregates::Surveys(
            answers
                .iter()
                .filter(|(n, ..)| *n < lifecycles.len())
                .map(|&(n, nps, score, at)| {
                    (
                        ts(at),
                        switchboard_stats::SurveyAnswer {
                            contact: c(n),
                            score: if nps { score % 11 } else { score % 5 + 1 },
                            scale: if nps {
                                switchboard_stats::SurveyScale::Nps10
                            } else {
                                switchboard_stats::SurveyScale::Csat5
                            },
                        },
                    )
                })
                .collect(),
        );
        let window = std::time::Duration::from_secs(window_min * 60);
        let quarter = 15 * 60_000;
        let mut rollup = aggregates::MemoryRollup::new(ts(0));
        for cut in cuts {
            if cut * quarter <= now_ms {
                rollup.step(&log, ts(cut * quarter), &customers, &surveys, window);
            }
        }
        let config = MetricsConfig {
            service_level_formula: [
                ServiceLevelFormula::AnsweredPlusAbandonedAfterT,
                ServiceLevelFormula::AnsweredOnly,
                ServiceLevelFormula::AnsweredPlusAbandoned,
            ][formula],
            fcr_window: window,
            callback_due: std::time::Duration::from_secs(20 * 60),
            ..MetricsConfig::default()
        };
        let spec = [
            None,
            Some(IntervalLength::Minutes15),
            Some(IntervalLength::Minutes60),
            Some(IntervalLength::Day),
        ][length]
        .map(|length| Intervals { length, clock: switchboard_domain::CenterClock::Offset(0) });
        // In quarters: as drawn, on whole hours (hour cells), or the whole day (day cells).
        let (first, last) = match align {
            0 => (range.0, range.0 + range.1),
            1 => (range.0 / 4 * 4, (range.0 / 4 + range.1 / 4 + 1) * 4),
            _ => (0, 96),
        };
        let raw = Segments::from_events(&log);
        let now = ts(now_ms);
        for filter in filters() {
            let query = Query {
                filter,
                range: TimeRange::new(ts(first * quarter), ts(last * quarter)).unwrap(),
                config,
            };
            let answered = surveys.at(ts(now_ms + 1));
            let inputs = ReportInputs { customers: &customers, surveys: &answered };
            let expected = match spec {
                None => vec![raw.report(&query, &inputs, now).unwrap()],
                Some(spec) => raw.intervals(&query, spec, &inputs, now).unwrap(),
            };
            let buckets = aggregates::all_buckets(&query, spec);
            let got = rollup.report(&log, &query, &buckets, &customers, &surveys, now);
            prop_assert_eq!(got, expected, "filter {:?}", query.filter);
        }
    }
}
