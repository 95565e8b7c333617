//! Reports with agent time over a synthetic week, and the live counters' cost per event.
//!
//! 200 agents work an 8-hour shift a day for 7 days (a 15-minute break mid-shift), each
//! handling back-to-back voice contacts of 5 minutes (10 s wait, 4 min talk, 30 s
//! wrap-up, 20 s idle); all in one queue. That is about 1.1 million events.
//!
//! `cargo bench -p switchboard-stats --bench agent_time`

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use switchboard_domain::{
    AgentId, Channel, ContactId, Event, EventId, EventKind, Presence, Priority, QueueId,
    ReasonCode, Tier, Timestamp, WrapUp,
};
use switchboard_stats::{
    Filter, IntervalLength, Intervals, LiveAgentTime, LiveQueueStats, MetricsConfig, Query,
    ReportInputs, Segments, TimeRange,
};
use switchboard_test_support::time::{DAY, HOUR, MIDNIGHT};

const AGENTS: usize = 200;
const DAYS: i64 = 7;

fn events() -> Vec<Event> {
    let queue = QueueId::parse("sales").unwrap();
    let brk = ReasonCode::parse("break").unwrap();
    let mut out: Vec<(i64, u64, EventKind)> = Vec::new();
    let mut seq = 0u64;
    let mut push = |out: &mut Vec<(i64, u64, EventKind)>, t: i64, kind| {
        seq += 1;
        out.push((t, seq, kind));
    };
    let mut contact = 0u128;
    for i in 0..AGENTS {
        let agent = AgentId::parse(&format!("agent-{i}")).unwrap();
        for d in 0..DAYS {
            // Shifts start between 06:00 and 14:00, so some end after others' midnight work.
            let start = MIDNIGHT + d * DAY + 6 * HOUR + (i as i64 % 9) * HOUR;
            let end = start + 8 * HOUR;
            let presence = |p| EventKind::AgentPresenceChanged {
                agent: agent.clone(),
                presence: p,
            };
            push(&mut out, start, presence(Presence::Available));
            let mut t = start;
            let mut on_break = false;
            while t + 300_000 <= end {
                if !on_break && t >= start + 4 * HOUR {
                    on_break = true;
                    push(
                        &mut out,
                        t,
                        presence(Presence::Away {
                            reason: brk.clone(),
                        }),
                    );
                    t += 15 * 60_000;
                    push(&mut out, t, presence(Presence::Available));
                }
                contact += 1;
                let c: ContactId = format!("00000000-0000-0000-0000-{contact:012}")
                    .parse()
                    .unwrap();
                push(
                    &mut out,
                    t,
                    EventKind::ContactQueued {
                        contact: c,
                        queue: queue.clone(),
                        channel: Channel::Voice,
                        tier: Tier::Standard,
                        priority: Priority::default(),
                        arrived_at: Timestamp::from_millis(t),
                        attributes: Default::default(),
                    },
                );
                push(
                    &mut out,
                    t + 10_000,
                    EventKind::ContactOffered {
                        contact: c,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        deadline: Timestamp::from_millis(t + 25_000),
                    },
                );
                push(
                    &mut out,
                    t + 10_000,
                    EventKind::OfferAccepted {
                        contact: c,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        waited_ms: 10_000,
                    },
                );
                push(
                    &mut out,
                    t + 250_000,
                    EventKind::ContactEnded {
                        contact: c,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        wrap_up_until: Timestamp::from_millis(t + 280_000),
                    },
                );
                push(
                    &mut out,
                    t + 280_000,
                    EventKind::ContactCompleted {
                        contact: c,
                        queue: queue.clone(),
                        agent: agent.clone(),
                        wrap_up: WrapUp {
                            disposition: None,
                            resolved: Some(contact % 4 != 0),
                        },
                    },
                );
                t += 300_000;
            }
            push(&mut out, end, presence(Presence::Offline));
        }
    }
    out.sort_by_key(|e| (e.0, e.1));
    out.into_iter()
        .enumerate()
        .map(|(i, (t, _, kind))| Event {
            id: EventId(i as u64),
            at: Timestamp::from_millis(t),
            kind,
        })
        .collect()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{what:<58} {:>9.1} ms", start.elapsed().as_secs_f64() * 1e3);
    out
}

fn main() {
    let events = events();
    println!(
        "{} events, {AGENTS} agents, {DAYS} days, one queue",
        events.len()
    );
    let segments = timed("fold into segments", || Segments::from_events(&events));
    let range = TimeRange::new(
        Timestamp::from_millis(MIDNIGHT),
        Timestamp::from_millis(MIDNIGHT + DAYS * DAY),
    )
    .unwrap();
    let now = range.end;
    let all = Query {
        filter: Filter::default(),
        range,
        config: MetricsConfig::default(),
    };
    let by_queue = Query {
        filter: Filter {
            queue: Some(QueueId::parse("sales").unwrap()),
            ..Filter::default()
        },
        ..all.clone()
    };
    let inputs = ReportInputs::default();
    let r = timed("week report, with agent time (no filter)", || {
        segments.report(&all, &inputs, now).unwrap()
    });
    let total = &r.agent_time.as_ref().unwrap().total;
    timed("week report, without agent time (queue filter)", || {
        segments.report(&by_queue, &inputs, now).unwrap()
    });
    let quarter = Intervals {
        length: IntervalLength::Minutes15,
        clock: switchboard_domain::CenterClock::UTC,
    };
    let parts = timed("672 x 15-minute reports, with agent time", || {
        segments.intervals(&all, quarter, &inputs, now).unwrap()
    });
    timed("672 x 15-minute reports, without agent time", || {
        segments
            .intervals(&by_queue, quarter, &inputs, now)
            .unwrap()
    });
    println!(
        "  check: offered {}, occupancy {:.4}, utilisation {:.4}, intervals {}",
        r.offered,
        total.occupancy.unwrap_or(0.0),
        total.utilisation.unwrap_or(0.0),
        parts.len()
    );

    let mut live = LiveQueueStats::new(
        QueueId::parse("sales").unwrap(),
        range,
        MetricsConfig::default(),
    );
    // Fed up to noon of the last day, when most agents are on shift.
    let noon = Timestamp::from_millis(MIDNIGHT + (DAYS - 1) * DAY + 12 * HOUR);
    let split = events.partition_point(|e| e.at <= noon);
    let start = Instant::now();
    for e in &events[..split] {
        live.apply(e);
    }
    let mut elapsed = start.elapsed();
    let mut need = None;
    let start = Instant::now();
    for _ in 0..10_000 {
        need = live.agents_needed_now(noon, 20.0, 0.8).ok();
    }
    let per = start.elapsed().as_secs_f64() * 1e9 / 10_000.0;
    let start = Instant::now();
    for e in &events[split..] {
        live.apply(e);
    }
    elapsed += start.elapsed();
    let per_event = elapsed.as_secs_f64() * 1e9 / events.len() as f64;
    println!(
        "{:<58} {per_event:>9.0} ns",
        "LiveQueueStats::apply, per event"
    );
    println!(
        "{:<58} {per:>9.0} ns",
        "agents_needed_now at noon (window + Erlang C)"
    );
    let mut clock = LiveAgentTime::new(AgentId::parse("agent-0").unwrap(), range);
    let start = Instant::now();
    for e in &events {
        clock.apply(e);
    }
    let per = start.elapsed().as_secs_f64() * 1e9 / events.len() as f64;
    println!(
        "{:<58} {per:>9.0} ns",
        "LiveAgentTime::apply (one agent), per event"
    );
    println!(
        "  check: aht {:.0} ms, fcr {:.3}; at noon {:.0} arrivals/h, agents needed {:?}",
        live.aht_ms().unwrap_or(0.0),
        live.fcr_reported().value.unwrap_or(0.0),
        need.map_or(0.0, |n| n.arrivals_per_hour),
        need.and_then(|n| n.agents)
    );
}
