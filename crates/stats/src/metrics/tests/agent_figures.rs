//! Hand-computed examples of agent time, callback promises and the new live figures.

use switchboard_domain::ReasonCode;

use super::*;

fn presence(log: &mut Log, s: i64, agent: &str, p: Presence) {
    log.push(
        s,
        EventKind::AgentPresenceChanged {
            agent: a(agent),
            presence: p,
        },
    );
}

fn away(reason: &str) -> Presence {
    Presence::Away {
        reason: ReasonCode::parse(reason).unwrap(),
    }
}

fn agent_time(r: &Report, agent: &str) -> AgentTime {
    r.agent_time
        .as_ref()
        .expect("agent time")
        .agents
        .get(&a(agent))
        .cloned()
        .unwrap_or_default()
}

const SECOND: u64 = 1000;

#[test]
fn staffed_away_handling_occupancy_and_utilisation() {
    let mut log = Log::default();
    presence(&mut log, 0, "ann", Presence::Available);
    log.queued(5, 1, "sales")
        .offered(10, 1, "sales", "ann")
        .accepted(10, 1, "sales", "ann")
        .held(20, 1, "ann")
        .resumed(30, 1, "ann");
    // Logged in twice (a second console): the same presence again changes nothing.
    presence(&mut log, 50, "ann", Presence::Available);
    log.ended(70, 1, "sales", "ann")
        .completed(100, 1, "sales", "ann", Some(true));
    presence(&mut log, 200, "ann", away("lunch"));
    presence(&mut log, 300, "ann", Presence::Available);
    presence(&mut log, 400, "ann", Presence::Offline);
    // A second logout is no second shift.
    presence(&mut log, 500, "ann", Presence::Offline);

    let r = report(&log, &query(None, 0, 3600), 3600);
    let t = agent_time(&r, "ann");
    assert_eq!(t.staffed_ms, 400 * SECOND);
    assert_eq!(t.available_ms, 300 * SECOND);
    assert_eq!(t.away_ms, 100 * SECOND);
    assert_eq!(t.away_by_reason["lunch"], 100 * SECOND);
    // Handling: accept at 10 to wrap-up done at 100.
    assert_eq!(t.handling_ms, 90 * SECOND);
    assert_eq!(
        (t.talk_ms, t.hold_ms, t.wrap_up_ms),
        (50 * SECOND, 10 * SECOND, 30 * SECOND)
    );
    assert_eq!(t.idle_ms, 210 * SECOND);
    assert_eq!(t.away_idle_ms, 100 * SECOND);
    assert_eq!(t.ready_ms, 300 * SECOND);
    assert_eq!(t.occupancy, Some(90.0 / 400.0));
    assert_eq!(t.utilisation, Some(90.0 / 300.0));
    assert_eq!(t.handling_unstaffed_ms, 0);
    let total = &r.agent_time.as_ref().unwrap().total;
    assert_eq!(total.occupancy, Some(90.0 / 400.0));
    // Offers per agent (rejected / missed) stay in `agents`.
    assert_eq!(r.agents[&a("ann")].accepted, 1);
    // Under a queue filter there is no agent time: logged-in time belongs to no queue.
    assert!(report(&log, &query(Some("sales"), 0, 3600), 3600)
        .agent_time
        .is_none());
    // An agent filter keeps only that agent.
    let mut qy = query(None, 0, 3600);
    qy.filter.agent = Some(a("bob"));
    assert!(report(&log, &qy, 3600)
        .agent_time
        .unwrap()
        .agents
        .is_empty());
}

#[test]
fn a_shift_and_a_wrap_up_across_midnight_are_split() {
    // The log starts at 23:00; midnight is at 3600 s.
    let mut log = Log::default();
    presence(&mut log, 3000, "ann", Presence::Available);
    log.queued(3390, 1, "sales")
        .offered(3400, 1, "sales", "ann")
        .accepted(3400, 1, "sales", "ann")
        .ended(3500, 1, "sales", "ann")
        .completed(3700, 1, "sales", "ann", None);
    presence(&mut log, 5400, "ann", Presence::Offline);
    let segs = log.segments();
    let qy = query(None, 0, 7200);
    let days = segs
        .intervals(
            &qy,
            Intervals {
                length: IntervalLength::Day,
                clock: switchboard_domain::CenterClock::UTC,
            },
            &ReportInputs::default(),
            at(7200),
        )
        .unwrap();
    assert_eq!(days.len(), 2);
    let before = agent_time(&days[0], "ann");
    let after = agent_time(&days[1], "ann");
    assert_eq!(before.staffed_ms, 600 * SECOND);
    assert_eq!(after.staffed_ms, 1800 * SECOND);
    assert_eq!(before.handling_ms, 200 * SECOND);
    assert_eq!(after.handling_ms, 100 * SECOND);
    assert_eq!(
        (before.talk_ms, before.wrap_up_ms),
        (100 * SECOND, 100 * SECOND)
    );
    assert_eq!((after.talk_ms, after.wrap_up_ms), (0, 100 * SECOND));
    // The contact itself (and its AHT) stays with the day it entered.
    assert_eq!(days[0].handle_time.count, 1);
    assert_eq!(days[1].handle_time.count, 0);
    // 15-minute intervals add up to the whole range.
    let quarters = segs
        .intervals(
            &qy,
            Intervals {
                length: IntervalLength::Minutes15,
                clock: switchboard_domain::CenterClock::UTC,
            },
            &ReportInputs::default(),
            at(7200),
        )
        .unwrap();
    let whole = agent_time(
        &segs
            .report(&qy, &ReportInputs::default(), at(7200))
            .unwrap(),
        "ann",
    );
    let sum = |f: fn(&AgentTime) -> u64| {
        quarters
            .iter()
            .map(|r| f(&agent_time(r, "ann")))
            .sum::<u64>()
    };
    assert_eq!(sum(|t| t.staffed_ms), whole.staffed_ms);
    assert_eq!(sum(|t| t.handling_ms), whole.handling_ms);
    assert_eq!(whole.handling_ms, 300 * SECOND);
    assert_eq!(sum(|t| t.wrap_up_ms), 200 * SECOND);
}

#[test]
fn concurrent_chats_count_once_and_occupancy_stays_at_most_one() {
    let mut log = Log::default();
    presence(&mut log, 0, "ann", Presence::Available);
    log.queued_on(0, 1, "chat", Channel::Chat)
        .queued_on(0, 2, "chat", Channel::Chat)
        .queued_on(0, 3, "chat", Channel::Chat)
        .handled(10, 1, "chat", "ann", (80, 10), None) // 10..100
        .handled(50, 2, "chat", "ann", (90, 10), None) // 50..150
        .handled(60, 3, "chat", "ann", (20, 10), None); // 60..90
    presence(&mut log, 150, "ann", Presence::Offline);
    let t = agent_time(&report(&log, &query(None, 0, 3600), 3600), "ann");
    assert_eq!(t.staffed_ms, 150 * SECOND);
    // The union 10..150, not 90 + 100 + 30.
    assert_eq!(t.handling_ms, 140 * SECOND);
    assert_eq!(t.talk_ms + t.hold_ms + t.wrap_up_ms, 220 * SECOND);
    assert_eq!(t.occupancy, Some(140.0 / 150.0));
}

#[test]
fn handling_after_logout_and_open_work_up_to_now() {
    let mut log = Log::default();
    presence(&mut log, 0, "ann", Presence::Available);
    log.queued(0, 1, "sales")
        .offered(10, 1, "sales", "ann")
        .accepted(10, 1, "sales", "ann")
        .ended(40, 1, "sales", "ann");
    presence(&mut log, 60, "ann", away("meeting"));
    presence(&mut log, 80, "ann", Presence::Offline);
    log.completed(100, 1, "sales", "ann", None);
    // Bob logged in and talks still at `now` = 200.
    presence(&mut log, 100, "bob", Presence::Available);
    log.queued(100, 2, "sales")
        .offered(150, 2, "sales", "bob")
        .accepted(150, 2, "sales", "bob")
        .held(180, 2, "bob");
    let r = report(&log, &query(None, 0, 3600), 200);
    let ann = agent_time(&r, "ann");
    assert_eq!(ann.staffed_ms, 80 * SECOND);
    assert_eq!(ann.handling_ms, 70 * SECOND);
    assert_eq!(ann.handling_unstaffed_ms, 20 * SECOND);
    // Away for a meeting while finishing the wrap-up: not idle, and ready time.
    assert_eq!((ann.away_ms, ann.away_idle_ms), (20 * SECOND, 0));
    assert_eq!(ann.utilisation, Some(70.0 / 80.0));
    let bob = agent_time(&r, "bob");
    assert_eq!(bob.staffed_ms, 100 * SECOND);
    assert_eq!(bob.handling_ms, 50 * SECOND);
    assert_eq!((bob.talk_ms, bob.hold_ms), (30 * SECOND, 20 * SECOND));
    let total = r.agent_time.unwrap().total;
    assert_eq!(total.staffed_ms, 180 * SECOND);
    assert_eq!(total.occupancy, Some(120.0 / 180.0));
}

fn callback(log: &mut Log, s: i64, n: u32, queue: &str) {
    callback_by(log, s, n, queue, None);
}

fn callback_by(log: &mut Log, s: i64, n: u32, queue: &str, due: Option<i64>) {
    log.push(
        s,
        EventKind::CallbackRequested {
            contact: c(n),
            queue: q(queue),
            number: "+4930123".into(),
            due: due.map(at),
        },
    );
}

#[test]
fn callback_promises_kept_late_broken_pending_and_the_omission_rate() {
    let mut log = Log::default();
    for n in 1..=7 {
        log.queued(0, n, "sales");
    }
    for n in [1, 2, 3, 4, 6, 7] {
        callback(&mut log, 10, n, "sales");
    }
    callback(&mut log, 10, 1, "sales"); // asked twice: one promise
    log.abandoned(50, 3, "sales") // gone unanswered before due: broken
        .overflowed(20, 7, "sales", "billing")
        .accepted(30, 7, "billing", "bob") // answered in the overflow queue: on time
        .accepted(100, 1, "sales", "ann") // due at 110: on time
        .accepted(110, 6, "sales", "ann") // exactly at due: on time
        .accepted(200, 2, "sales", "bob"); // late
    callback(&mut log, 250, 5, "sales"); // due at 350: pending at 300
                                         // c4 is still waiting at 300, past due: broken.
    let mut qy = query(None, 0, 3600);
    qy.config.callback_due = Duration::from_secs(100);
    let cb = report(&log, &qy, 300).callbacks;
    assert_eq!(cb.requested, 7);
    assert_eq!(
        (cb.kept_on_time, cb.kept_late, cb.broken, cb.pending),
        (3, 1, 2, 1)
    );
    assert_eq!(cb.omission_rate.value, Some(3.0 / 6.0));
    // Later, c5 is past due too.
    let cb = report(&log, &qy, 351).callbacks;
    assert_eq!((cb.broken, cb.pending), (3, 0));
    // Filters: by agent (who answered), by the queue the promise was made in.
    qy.filter.agent = Some(a("ann"));
    assert_eq!(report(&log, &qy, 300).callbacks.kept_on_time, 2);
    qy.filter.agent = None;
    qy.filter.queue = Some(q("billing"));
    assert_eq!(report(&log, &qy, 300).callbacks.requested, 0);
    // A time promised in the request wins over the setting: c8 promised for 400 s, answered
    // at 380 s, is on time although requested more than 100 s before.
    log.queued(0, 8, "sales");
    callback_by(&mut log, 10, 8, "sales", Some(400));
    log.accepted(380, 8, "sales", "ann");
    qy.filter.queue = None;
    let cb = report(&log, &qy, 400).callbacks;
    assert_eq!((cb.requested, cb.kept_on_time), (8, 4));
    // The default due time is an hour.
    assert_eq!(
        MetricsConfig::default().callback_due,
        Duration::from_secs(3600)
    );
}

#[test]
fn live_fcr_aht_and_agents_needed_now() {
    let mut log = Log::default();
    // 30 arrivals in half an hour, one a minute, each handled for 180 s.
    for n in 0..30u32 {
        let s = i64::from(n) * 60;
        log.queued(s, n + 1, "sales").handled(
            s + 5,
            n + 1,
            "sales",
            "ann",
            (150, 30),
            Some(n % 3 == 0),
        );
    }
    let range = TimeRange::new(at(0), at(3600)).unwrap();
    let mut live = LiveQueueStats::new(q("sales"), range, MetricsConfig::default());
    // Fed as it happens, up to 29:59: the window holds minutes 0..=29 since the first event,
    // 30 arrivals in 1799 s; 27 handlings (those that started by 26:00) are done.
    for e in log.events.iter().filter(|e| e.at <= at(1799)) {
        live.apply(e);
    }
    let need = live.agents_needed_now(at(1799), 20.0, 0.8).unwrap();
    assert_eq!(need.arrivals, 30);
    assert_eq!(need.window_secs, 1799.0);
    assert_eq!(need.aht_ms, Some(180_000.0));
    assert_eq!(live.completed(), 27);
    // A ≈ 3 Erlangs: 4 agents give SL ≈ 0.54, 5 give ≈ 0.81 ≥ 0.8.
    assert_eq!(need.agents, Some(5));
    // A target out of range is an error, not a panic.
    assert!(live.agents_needed_now(at(1799), 20.0, 1.5).is_err());

    for e in log.events.iter().filter(|e| e.at > at(1799)) {
        live.apply(e);
    }
    let r = report(&log, &query(Some("sales"), 0, 3600), 3600);
    assert_eq!(live.completed(), 30);
    assert_eq!(live.aht_ms(), Some(180_000.0));
    assert_eq!(live.aht_ms(), r.handle_time.aht_ms);
    assert_eq!(live.fcr_reported(), r.fcr_reported);
    assert_eq!(live.fcr_reported().numerator, 10);
    // At 32:05, the window is minutes 3..=32: 27 arrivals in 29 min 5 s.
    let now = live.agents_needed_now(at(1925), 20.0, 0.8).unwrap();
    assert_eq!((now.arrivals, now.window_secs), (27, 1745.0));
    // An hour later nothing arrived: the window is empty, no agents needed; the AHT falls
    // back to the day's.
    let later = live.agents_needed_now(at(6000), 20.0, 0.8).unwrap();
    assert_eq!((later.arrivals, later.agents), (0, Some(0)));
    assert_eq!(later.aht_ms, Some(180_000.0));
}

#[test]
fn live_handling_across_the_day_boundary_stays_with_its_day() {
    let mut log = Log::default();
    log.queued(3500, 1, "sales")
        .handled(3550, 1, "sales", "ann", (100, 0), Some(true)); // completed after midnight
    let mut live = LiveQueueStats::new(
        q("sales"),
        TimeRange::new(at(0), at(3600)).unwrap(),
        MetricsConfig::default(),
    );
    for e in &log.events {
        if e.at >= at(3600) && live.range().end <= e.at {
            live.roll_over(TimeRange::new(at(3600), at(7200)).unwrap());
        }
        live.apply(e);
    }
    // The new day did not count a contact that entered the day before.
    assert_eq!((live.completed(), live.fcr_reported().denominator), (0, 0));
}

#[test]
fn live_agent_time_across_midnight_with_a_double_login() {
    // The log starts at 23:00; the day ends at 3600 s.
    let mut log = Log::default();
    presence(&mut log, 1800, "ann", Presence::Available);
    presence(&mut log, 1900, "ann", Presence::Available); // a second console
    log.queued(3000, 1, "chat")
        .queued(3000, 2, "chat")
        .handled(3000, 1, "chat", "ann", (400, 100), None) // 3000..3500
        .handled(3200, 2, "chat", "ann", (500, 100), None); // 3200..3800
    presence(&mut log, 4000, "ann", away("break"));
    presence(&mut log, 4500, "ann", Presence::Offline);
    let day = TimeRange::new(at(-82_800), at(3600)).unwrap();
    let mut live = LiveAgentTime::new(a("ann"), day);
    let mut events = log.events.clone();
    events.sort_by_key(|e| e.at);
    for e in events.iter().filter(|e| e.at < at(3600)) {
        live.apply(e);
    }
    // A second before midnight: staffed 1800..3599, handling 3000..3599; at midnight the
    // new day starts from zero.
    assert_eq!(live.totals(at(3599)), (1799 * SECOND, 599 * SECOND));
    assert_eq!(live.occupancy(at(3599)), Some(599.0 / 1799.0));
    assert_eq!(live.totals(at(3600)), (0, 0));
    for e in events.iter().filter(|e| e.at >= at(3600)) {
        live.apply(e);
    }
    // After midnight: staffed 3600..4500, handling 3600..3800 (away counts as staffed).
    assert_eq!(live.totals(at(5000)), (900 * SECOND, 200 * SECOND));
    // The batch figures of that day agree.
    let r = report(&log, &query(None, 3600, 90_000), 5000);
    let t = agent_time(&r, "ann");
    assert_eq!((t.staffed_ms, t.handling_ms), (900 * SECOND, 200 * SECOND));
    // A day later nothing is staffed.
    assert_eq!(live.totals(at(90_000)), (0, 0));
    assert_eq!(live.occupancy(at(90_000)), None);
}

#[test]
fn the_arrival_window_is_at_least_a_minute() {
    let mut log = Log::default();
    log.queued(100, 1, "sales");
    let mut live = LiveQueueStats::new(
        q("sales"),
        TimeRange::new(at(0), at(3600)).unwrap(),
        MetricsConfig::default(),
    );
    for e in &log.events {
        live.apply(e);
    }
    // Five seconds after the first event seen: one arrival over a minute, 60 an hour.
    let need = live.agents_needed_now(at(105), 20.0, 0.8).unwrap();
    assert_eq!((need.arrivals, need.window_secs), (1, 60.0));
    assert_eq!(need.arrivals_per_hour, 60.0);
    // No handling completed yet: no AHT, no headcount.
    assert_eq!((need.aht_ms, need.agents), (None, None));
}
