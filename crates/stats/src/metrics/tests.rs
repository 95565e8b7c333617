//! Hand-computed examples of every definition.

use std::{collections::BTreeMap, time::Duration};

use switchboard_domain::{
    AgentId, Channel, ContactId, Event, EventId, EventKind, ExitReason, Presence, Priority,
    QueueId, Tier, Timestamp, TransferTarget, WithdrawReason, WrapUp,
};

use switchboard_test_support::time::{HOUR, MIDNIGHT};

use super::*;

/// 2026-01-04T23:00:00Z: one hour before the shared test [`MIDNIGHT`]; the logs start here.
const EVENING: i64 = MIDNIGHT - HOUR;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(EVENING + secs * 1000)
}

fn c(n: u32) -> ContactId {
    format!("00000000-0000-0000-0000-{n:012}").parse().unwrap()
}

fn q(name: &str) -> QueueId {
    QueueId::parse(name).unwrap()
}

fn a(name: &str) -> AgentId {
    AgentId::parse(name).unwrap()
}

/// Builds a log; times are seconds after `EVENING`. Waits are computed from the entries it saw.
#[derive(Default)]
struct Log {
    events: Vec<Event>,
    entered: BTreeMap<ContactId, i64>,
}

impl Log {
    fn push(&mut self, secs: i64, kind: EventKind) -> &mut Self {
        let id = EventId(self.events.len() as u64);
        self.events.push(Event {
            id,
            at: at(secs),
            kind,
        });
        self
    }

    fn waited(&self, n: u32, secs: i64) -> u64 {
        ((secs - self.entered[&c(n)]) * 1000) as u64
    }

    fn queued_on(&mut self, s: i64, n: u32, queue: &str, channel: Channel) -> &mut Self {
        self.entered.insert(c(n), s);
        self.push(
            s,
            EventKind::ContactQueued {
                contact: c(n),
                queue: q(queue),
                channel,
                tier: Tier::Standard,
                priority: Priority::default(),
                arrived_at: at(s),
                attributes: Default::default(),
            },
        )
    }

    fn queued(&mut self, s: i64, n: u32, queue: &str) -> &mut Self {
        self.queued_on(s, n, queue, Channel::Voice)
    }

    fn offered(&mut self, s: i64, n: u32, queue: &str, agent: &str) -> &mut Self {
        self.push(
            s,
            EventKind::ContactOffered {
                contact: c(n),
                queue: q(queue),
                agent: a(agent),
                deadline: at(s + 15),
            },
        )
    }

    fn accepted(&mut self, s: i64, n: u32, queue: &str, agent: &str) -> &mut Self {
        let waited_ms = self.waited(n, s);
        self.push(
            s,
            EventKind::OfferAccepted {
                contact: c(n),
                queue: q(queue),
                agent: a(agent),
                waited_ms,
            },
        )
    }

    fn rejected(&mut self, s: i64, n: u32, queue: &str, agent: &str) -> &mut Self {
        self.push(
            s,
            EventKind::OfferRejected {
                contact: c(n),
                queue: q(queue),
                agent: a(agent),
            },
        )
    }

    fn timed_out(&mut self, s: i64, n: u32, queue: &str, agent: &str) -> &mut Self {
        self.push(
            s,
            EventKind::OfferTimedOut {
                contact: c(n),
                queue: q(queue),
                agent: a(agent),
            },
        )
    }

    fn abandoned(&mut self, s: i64, n: u32, queue: &str) -> &mut Self {
        let waited_ms = self.waited(n, s);
        self.push(
            s,
            EventKind::ContactAbandoned {
                contact: c(n),
                queue: q(queue),
                waited_ms,
            },
        )
    }

    fn held(&mut self, s: i64, n: u32, agent: &str) -> &mut Self {
        self.push(
            s,
            EventKind::ContactHeld {
                contact: c(n),
                agent: a(agent),
            },
        )
    }

    fn resumed(&mut self, s: i64, n: u32, agent: &str) -> &mut Self {
        self.push(
            s,
            EventKind::ContactResumed {
                contact: c(n),
                agent: a(agent),
            },
        )
    }

    fn transferred(
        &mut self,
        s: i64,
        n: u32,
        from: &str,
        agent: Option<&str>,
        to: TransferTarget,
    ) -> &mut Self {
        self.entered.insert(c(n), s);
        self.push(
            s,
            EventKind::ContactTransferred {
                contact: c(n),
                from_queue: q(from),
                from_agent: agent.map(a),
                to,
            },
        )
    }

    fn overflowed(&mut self, s: i64, n: u32, from: &str, to: &str) -> &mut Self {
        self.entered.insert(c(n), s);
        self.push(
            s,
            EventKind::ContactOverflowed {
                contact: c(n),
                from_queue: q(from),
                to_queue: q(to),
            },
        )
    }

    fn exited(&mut self, s: i64, n: u32, queue: &str, reason: ExitReason) -> &mut Self {
        self.push(
            s,
            EventKind::ContactExited {
                contact: c(n),
                queue: q(queue),
                reason,
            },
        )
    }

    fn ended(&mut self, s: i64, n: u32, queue: &str, agent: &str) -> &mut Self {
        self.push(
            s,
            EventKind::ContactEnded {
                contact: c(n),
                queue: q(queue),
                agent: a(agent),
                wrap_up_until: at(s + 30),
            },
        )
    }

    fn completed(
        &mut self,
        s: i64,
        n: u32,
        queue: &str,
        agent: &str,
        resolved: Option<bool>,
    ) -> &mut Self {
        self.push(
            s,
            EventKind::ContactCompleted {
                contact: c(n),
                queue: q(queue),
                agent: a(agent),
                wrap_up: WrapUp {
                    disposition: Some("info".into()),
                    resolved,
                },
            },
        )
    }

    /// Answer at `s`, talk `talk` s, wrap up `wrap` s.
    fn handled(
        &mut self,
        s: i64,
        n: u32,
        queue: &str,
        agent: &str,
        (talk, wrap): (i64, i64),
        resolved: Option<bool>,
    ) -> &mut Self {
        self.offered(s, n, queue, agent)
            .accepted(s, n, queue, agent)
            .ended(s + talk, n, queue, agent)
            .completed(s + talk + wrap, n, queue, agent, resolved)
    }

    fn segments(&self) -> Segments {
        Segments::from_events(&self.events)
    }
}

fn query(queue: Option<&str>, from: i64, to: i64) -> Query {
    Query {
        filter: Filter {
            queue: queue.map(q),
            ..Filter::default()
        },
        range: TimeRange::new(at(from), at(to)).unwrap(),
        config: MetricsConfig::default(),
    }
}

fn report(log: &Log, query: &Query, now: i64) -> Report {
    log.segments()
        .report(query, &ReportInputs::default(), at(now))
        .unwrap()
}

/// `offered` = the sum of the outcomes.
fn assert_partition(r: &Report) {
    assert_eq!(
        r.offered,
        r.answered
            + r.abandoned
            + r.short_abandoned
            + r.timed_out
            + r.exited_no_agents
            + r.overflowed
            + r.transferred_out
            + r.waiting,
        "{r:#?}"
    );
}

fn sales_day() -> Log {
    let mut log = Log::default();
    for n in 1..=7 {
        log.queued(0, n, "sales");
    }
    log.accepted(10, 1, "sales", "ann")
        .accepted(20, 2, "sales", "bob") // exactly T: within
        .accepted(30, 3, "sales", "cat")
        .abandoned(3, 4, "sales") // short
        .abandoned(20, 5, "sales") // exactly T: not after T
        .abandoned(40, 6, "sales"); // after T
    log // 7 still waits
}

#[test]
fn counts_waits_and_percentiles() {
    let r = report(&sales_day(), &query(Some("sales"), 0, 3600), 100);
    assert_eq!(
        (
            r.offered,
            r.answered,
            r.abandoned,
            r.short_abandoned,
            r.waiting
        ),
        (7, 3, 2, 1, 1)
    );
    assert_partition(&r);
    assert_eq!(r.abandon_rate.value, Some(2.0 / 6.0));
    assert_eq!(r.asa_ms, Some(20_000.0));
    // Ended waits: 3 10 20 20 30 40.
    assert_eq!(r.mean_wait_ms, Some(123_000.0 / 6.0));
    assert_eq!(r.max_wait_ms, Some(40_000));
    assert_eq!(r.wait_p50_ms, Some(20_000)); // rank ⌈3⌉ = 3
    assert_eq!(r.wait_p90_ms, Some(40_000)); // rank ⌈5.4⌉ = 6
    assert_eq!(r.longest_waiting_ms, Some(100_000));
}

#[test]
fn service_level_formulas_and_the_boundary_at_t() {
    let log = sales_day();
    let mut qy = query(Some("sales"), 0, 3600);
    // Answered within 20 s: c1 (10), c2 (exactly 20). Abandoned after T: only c6 (40); c5
    // abandoned at exactly 20 s is not "after T"; c4 is a short abandon.
    let sl = report(&log, &qy, 100).service_level;
    assert_eq!(
        sl.formula_name,
        "answered_within_t / (answered + abandoned_after_t)"
    );
    assert_eq!((sl.ratio.numerator, sl.ratio.denominator), (2, 4));
    assert_eq!(sl.ratio.value, Some(0.5));
    qy.config.service_level_formula = ServiceLevelFormula::AnsweredOnly;
    let sl = report(&log, &qy, 100).service_level;
    assert_eq!((sl.ratio.numerator, sl.ratio.denominator), (2, 3));
    assert_eq!(sl.formula_name, "answered_within_t / answered");
    qy.config.service_level_formula = ServiceLevelFormula::AnsweredPlusAbandoned;
    let sl = report(&log, &qy, 100).service_level;
    assert_eq!((sl.ratio.numerator, sl.ratio.denominator), (2, 5));
    // A longer short-abandon threshold moves c4 (3 s) … and keeps c5 (20 s) out too.
    qy.config.short_abandon = Duration::from_secs(21);
    let r = report(&log, &qy, 100);
    assert_eq!((r.abandoned, r.short_abandoned), (1, 2));
    // Nothing answered or abandoned: no figure rather than 0 or 1.
    let mut log = Log::default();
    log.queued(0, 1, "sales");
    assert_eq!(
        report(&log, &query(None, 0, 60), 30)
            .service_level
            .ratio
            .value,
        None
    );
}

#[test]
fn overflow_transfer_and_exit_open_and_close_segments() {
    let mut log = Log::default();
    log.queued(0, 1, "sales")
        .overflowed(60, 1, "sales", "general")
        .handled(70, 1, "general", "ann", (30, 5), None);
    log.queued(0, 2, "sales")
        .transferred(5, 2, "sales", None, TransferTarget::Queue(q("billing")))
        .exited(65, 2, "billing", ExitReason::MaxWait);
    log.queued(0, 3, "sales")
        .offered(2, 3, "sales", "ann")
        .accepted(2, 3, "sales", "ann")
        .transferred(
            32,
            3,
            "sales",
            Some("ann"),
            TransferTarget::Queue(q("billing")),
        )
        .ended(32, 3, "sales", "ann")
        .offered(35, 3, "billing", "bob")
        .accepted(35, 3, "billing", "bob")
        .completed(40, 3, "sales", "ann", None)
        .ended(95, 3, "billing", "bob")
        .completed(100, 3, "billing", "bob", Some(true));
    log.queued(0, 4, "sales")
        .exited(1, 4, "sales", ExitReason::NoAgents);

    let sales = report(&log, &query(Some("sales"), 0, 3600), 200);
    assert_eq!(
        (
            sales.offered,
            sales.answered,
            sales.overflowed,
            sales.transferred_out
        ),
        (4, 1, 1, 1)
    );
    assert_eq!(sales.exited_no_agents, 1);
    assert_partition(&sales);
    let general = report(&log, &query(Some("general"), 0, 3600), 200);
    assert_eq!((general.offered, general.answered), (1, 1));
    assert_eq!(general.asa_ms, Some(10_000.0));
    let billing = report(&log, &query(Some("billing"), 0, 3600), 200);
    assert_eq!(
        (billing.offered, billing.answered, billing.timed_out),
        (2, 1, 1)
    );
    assert_partition(&billing);
    let all = report(&log, &query(None, 0, 3600), 200);
    assert_eq!(all.offered, 7);
    assert_partition(&all);

    let segs = log.segments();
    let ann = segs
        .handled()
        .iter()
        .find(|h| h.contact == c(3) && h.agent == a("ann"))
        .unwrap();
    assert!(ann.transferred);
    assert_eq!(
        (ann.talk_ms(at(200)), ann.wrap_up_ms(at(200))),
        (30_000, 8_000)
    );
    // Ann's handling belongs to sales, Bob's to billing.
    assert_eq!(sales.handle_time.count, 1);
    assert_eq!(sales.handle_time.aht_ms, Some(38_000.0));
    assert_eq!(billing.handle_time.aht_ms, Some(65_000.0));
    assert!(matches!(segs.queued()[1].entry, Entry::Overflowed { .. }));
    assert_eq!(segs.ignored(), 0);
}

#[test]
fn a_transfer_to_an_agent_is_a_new_segment_of_the_same_queue() {
    let mut log = Log::default();
    log.queued(0, 1, "sales")
        .offered(1, 1, "sales", "ann")
        .accepted(1, 1, "sales", "ann")
        .transferred(11, 1, "sales", Some("ann"), TransferTarget::Agent(a("bob")))
        .ended(11, 1, "sales", "ann")
        .offered(12, 1, "sales", "bob")
        .accepted(14, 1, "sales", "bob");
    let r = report(&log, &query(Some("sales"), 0, 60), 20);
    assert_eq!((r.offered, r.answered), (2, 2));
    let segs = log.segments();
    assert_eq!(
        segs.queued()[1].entry,
        Entry::Transferred {
            from_queue: q("sales"),
            from_agent: Some(a("ann")),
            to_agent: Some(a("bob")),
        }
    );
    assert_eq!(segs.queued()[1].waited_ms, Some(3_000));
    // Ann in wrap-up, Bob talking: both still handling.
    assert_eq!(r.handling, 2);
}

#[test]
fn handle_time_is_talk_plus_hold_plus_wrap_up() {
    let mut log = Log::default();
    log.queued(0, 1, "sales")
        .offered(0, 1, "sales", "ann")
        .accepted(10, 1, "sales", "ann")
        .held(20, 1, "ann")
        .resumed(50, 1, "ann")
        .held(60, 1, "ann")
        .ended(70, 1, "sales", "ann") // ended while on hold: that hold lasts to the end
        .completed(80, 1, "sales", "ann", Some(true));
    log.queued(0, 2, "sales")
        .handled(5, 2, "sales", "bob", (100, 20), None);
    let h = report(&log, &query(None, 0, 3600), 500).handle_time;
    assert_eq!(h.count, 2);
    // c1: talk 60 − hold 40 = 20, hold 40, wrap 10. c2: talk 100, wrap 20.
    assert_eq!(
        (h.talk_ms, h.hold_ms, h.wrap_up_ms),
        (120_000, 40_000, 30_000)
    );
    assert_eq!(h.mean_talk_ms, Some(60_000.0));
    assert_eq!(h.mean_hold_ms, Some(20_000.0));
    assert_eq!(h.mean_wrap_up_ms, Some(15_000.0));
    assert_eq!(h.aht_ms, Some(95_000.0));
    // In progress: measured up to now, not part of AHT.
    let mut log = Log::default();
    log.queued(0, 3, "sales")
        .offered(0, 3, "sales", "ann")
        .accepted(0, 3, "sales", "ann")
        .held(10, 3, "ann");
    let segs = log.segments();
    let h = &segs.handled()[0];
    assert_eq!((h.talk_ms(at(25)), h.hold_ms(at(25))), (10_000, 15_000));
    let r = report(&log, &query(None, 0, 3600), 25);
    assert_eq!((r.handle_time.count, r.handling), (0, 1));
}

#[test]
fn offers_rejected_missed_then_accepted_and_presence_is_ignored() {
    let mut log = Log::default();
    let online = |log: &mut Log, s, who: &str| {
        log.push(
            s,
            EventKind::AgentPresenceChanged {
                agent: a(who),
                presence: Presence::Available,
            },
        );
    };
    // Ann logs in twice: two presence events change nothing in the counts.
    online(&mut log, 0, "ann");
    online(&mut log, 1, "ann");
    log.queued(2, 1, "sales")
        .offered(2, 1, "sales", "ann")
        .rejected(4, 1, "sales", "ann")
        .offered(4, 1, "sales", "bob")
        .timed_out(19, 1, "sales", "bob")
        .offered(19, 1, "sales", "ann")
        .accepted(21, 1, "sales", "ann");
    log.queued(3, 2, "sales")
        .offered(22, 2, "sales", "bob")
        .push(
            25,
            EventKind::OfferWithdrawn {
                contact: c(2),
                queue: q("sales"),
                agent: a("bob"),
                reason: WithdrawReason::Abandoned,
            },
        );
    log.abandoned(25, 2, "sales");
    let r = report(&log, &query(None, 0, 60), 60);
    assert_eq!((r.offered, r.answered, r.abandoned), (2, 1, 1));
    let ann = r.agents[&a("ann")];
    assert_eq!(
        (ann.offered, ann.rejected, ann.accepted, ann.missed),
        (2, 1, 1, 0)
    );
    let bob = r.agents[&a("bob")];
    assert_eq!((bob.offered, bob.missed, bob.withdrawn), (2, 1, 1));
    // Wait runs from entering the queue, across the declined offers.
    assert_eq!(r.asa_ms, Some(19_000.0));
    // In agent time the double login is one stretch of staffed time, 0..60 s.
    assert_eq!(
        r.agent_time.as_ref().unwrap().agents[&a("ann")].staffed_ms,
        60_000
    );
    // An agent filter: Bob's offers; queue-side, only what Bob answered (nothing).
    let mut qy = query(None, 0, 60);
    qy.filter.agent = Some(a("bob"));
    let r = log
        .segments()
        .report(&qy, &ReportInputs::default(), at(60))
        .unwrap();
    assert_eq!((r.offered, r.answered), (0, 0));
    assert_eq!(r.agents.len(), 1);
    assert_eq!(r.agents[&a("bob")].missed, 1);
}

#[test]
fn a_contact_is_counted_in_the_interval_it_entered() {
    let mut log = Log::default();
    // 23:14:50 queued, answered 23:15:10: the 23:00–23:15 interval.
    log.queued(14 * 60 + 50, 1, "sales").handled(
        15 * 60 + 10,
        1,
        "sales",
        "ann",
        (60, 10),
        Some(true),
    );
    let qy = query(None, 0, 3600);
    let quarter = Intervals {
        length: IntervalLength::Minutes15,
        clock: switchboard_domain::CenterClock::UTC,
    };
    let reports = log
        .segments()
        .intervals(&qy, quarter, &ReportInputs::default(), at(4000))
        .unwrap();
    assert_eq!(reports.len(), 4);
    assert_eq!(reports[0].range, TimeRange::new(at(0), at(900)).unwrap());
    assert_eq!(
        reports.iter().map(|r| r.offered).collect::<Vec<_>>(),
        [1, 0, 0, 0]
    );
    assert_eq!(reports[0].answered, 1);
    assert_eq!(reports[0].handle_time.count, 1);
    assert_eq!(reports[1].handle_time.count, 0);
    // A range not on a boundary: the first and last intervals are cut to it.
    let qy = query(None, 600, 1000);
    let cut = log
        .segments()
        .intervals(&qy, quarter, &ReportInputs::default(), at(4000))
        .unwrap();
    assert_eq!(
        cut.iter().map(|r| r.range).collect::<Vec<_>>(),
        [
            TimeRange::new(at(600), at(900)).unwrap(),
            TimeRange::new(at(900), at(1000)).unwrap()
        ]
    );
}

#[test]
fn a_wrap_up_after_midnight_stays_with_its_day() {
    let mut log = Log::default();
    let m = (MIDNIGHT - EVENING) / 1000; // seconds from the evening to midnight
    log.queued(m - 10, 1, "sales")
        .offered(m + 5, 1, "sales", "ann")
        .accepted(m + 5, 1, "sales", "ann")
        .ended(m + 300, 1, "sales", "ann")
        .completed(m + 360, 1, "sales", "ann", Some(true));
    log.queued(m + 10, 2, "sales")
        .handled(m + 12, 2, "sales", "ann", (8, 2), None);
    let qy = query(None, m - 24 * 3600, m + 24 * 3600);
    let days = Intervals {
        length: IntervalLength::Day,
        clock: switchboard_domain::CenterClock::UTC,
    };
    let reports = log
        .segments()
        .intervals(&qy, days, &ReportInputs::default(), at(m + 3600))
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[1].range.start, Timestamp::from_millis(MIDNIGHT));
    let (d1, d2) = (&reports[0], &reports[1]);
    assert_eq!((d1.offered, d1.answered, d2.offered), (1, 1, 1));
    assert_eq!(d1.handle_time.aht_ms, Some(355_000.0));
    assert_eq!(d1.fcr_reported.value, Some(1.0));
    assert_eq!(d2.handle_time.aht_ms, Some(10_000.0));
    // In UTC+2 local days, midnight UTC is 02:00: both contacts fall on one local day.
    let local = Intervals {
        length: IntervalLength::Day,
        clock: switchboard_domain::CenterClock::Offset(120),
    };
    let reports = log
        .segments()
        .intervals(&qy, local, &ReportInputs::default(), at(m + 3600))
        .unwrap();
    assert_eq!(reports.iter().map(|r| r.offered).sum::<u64>(), 2);
    assert!(reports.iter().any(|r| r.offered == 2));
}

#[test]
fn fcr_agent_reported_and_true() {
    const DAY: i64 = 24 * 3600;
    let mut log = Log::default();
    let mut customers = BTreeMap::new();
    let mut contact = |log: &mut Log, n: u32, s: i64, who: Option<&str>, resolved| {
        log.queued(s, n, "support")
            .handled(s + 5, n, "support", "ann", (60, 10), resolved);
        if let Some(who) = who {
            customers.insert(c(n), who.to_string());
        }
    };
    contact(&mut log, 1, 0, Some("alice"), Some(true)); // "resolved", but …
    contact(&mut log, 2, 3 * DAY, Some("alice"), Some(true)); // … Alice is back in 3 days
    contact(&mut log, 3, 100, Some("bert"), Some(true)); // resolved, no repeat
    contact(&mut log, 4, 200, Some("carl"), Some(false));
    contact(&mut log, 5, 300, None, Some(true)); // no customer reference
    contact(&mut log, 6, 400, Some("dora"), None);
    contact(&mut log, 7, 20 * DAY, Some("bert"), Some(true)); // outside the window
    let segs = log.segments();
    let inputs = ReportInputs {
        customers: &customers,
        surveys: &[],
    };
    let qy = query(Some("support"), 0, 10 * DAY);
    let r = segs.report(&qy, &inputs, at(4 * DAY)).unwrap();
    // Agent-reported: 4 of the 6 completed segments in range said resolved.
    assert_eq!(
        (r.fcr_reported.numerator, r.fcr_reported.denominator),
        (4, 6)
    );
    // True: first contacts c1, c3, c4, c6 (c2 repeats c1; c5 unknown); resolved: c3 only.
    let t = r.fcr_true;
    assert_eq!((t.ratio.numerator, t.ratio.denominator), (1, 4));
    assert_eq!(t.unknown_customer, 1);
    assert_eq!(t.final_at, Some(at(400 + 7 * DAY)));
    assert!(!t.is_final);
    let later = segs.report(&qy, &inputs, at(400 + 7 * DAY)).unwrap();
    assert!(later.fcr_true.is_final);
    // c7: 20 days after c3, a first contact of its own.
    let all = segs
        .report(&query(None, 0, 30 * DAY), &inputs, at(40 * DAY))
        .unwrap();
    assert_eq!(
        (all.fcr_true.ratio.numerator, all.fcr_true.ratio.denominator),
        (2, 5)
    );
}

#[test]
fn surveys_follow_the_contact_and_are_validated() {
    let mut log = Log::default();
    log.queued(0, 1, "sales")
        .handled(1, 1, "sales", "ann", (10, 1), None);
    log.queued(0, 2, "billing")
        .handled(1, 2, "billing", "bob", (10, 1), None);
    let surveys = [
        SurveyAnswer {
            contact: c(1),
            score: 5,
            scale: SurveyScale::Csat5,
        },
        SurveyAnswer {
            contact: c(1),
            score: 10,
            scale: SurveyScale::Nps10,
        },
        SurveyAnswer {
            contact: c(2),
            score: 2,
            scale: SurveyScale::Csat5,
        },
        SurveyAnswer {
            contact: c(9),
            score: 4,
            scale: SurveyScale::Csat5,
        },
    ];
    let inputs = ReportInputs {
        surveys: &surveys,
        ..ReportInputs::default()
    };
    let segs = log.segments();
    let sales = segs
        .report(&query(Some("sales"), 0, 60), &inputs, at(60))
        .unwrap();
    let csat = sales.csat.unwrap();
    assert_eq!((csat.responses, csat.satisfied, csat.mean), (1, 1, 5.0));
    assert_eq!(sales.nps.unwrap().score, 100.0);
    let all = segs.report(&query(None, 0, 60), &inputs, at(60)).unwrap();
    assert_eq!(all.csat.unwrap().share_satisfied, 0.5);
    let bad = [SurveyAnswer {
        contact: c(1),
        score: 0,
        scale: SurveyScale::Csat5,
    }];
    let inputs = ReportInputs {
        surveys: &bad,
        ..ReportInputs::default()
    };
    assert!(matches!(
        segs.report(&query(None, 0, 60), &inputs, at(60)),
        Err(MetricsError::ScoreOutOfRange { score: 0, .. })
    ));
}

#[test]
fn contacts_that_began_before_the_window_and_odd_orders() {
    // The log starts mid-way: c1 was queued 30 s before it, c2 was answered before it.
    let mut log = Log::default();
    log.entered.insert(c(1), -30);
    log.accepted(0, 1, "sales", "ann");
    log.held(5, 2, "bob")
        .resumed(6, 2, "bob")
        .ended(10, 2, "sales", "bob")
        .completed(12, 2, "sales", "bob", Some(true));
    let segs = log.segments();
    assert_eq!(segs.queued().len(), 1);
    assert_eq!(segs.queued()[0].entry, Entry::Unseen);
    assert_eq!(segs.queued()[0].entered_at, at(-30));
    assert_eq!(segs.queued()[0].channel, None);
    assert_eq!(segs.ignored(), 4);
    let r = report(&log, &query(None, -60, 60), 60);
    assert_eq!((r.offered, r.answered), (1, 1));
    // Reversed, every event still folds without a panic.
    let reversed: Vec<_> = log.events.iter().rev().cloned().collect();
    let segs = Segments::from_events(&reversed);
    segs.report(&query(None, -60, 60), &ReportInputs::default(), at(0))
        .unwrap();
    // A channel filter leaves out contacts of unknown channel.
    let mut qy = query(None, -60, 60);
    qy.filter.channel = Some(Channel::Voice);
    assert_eq!(
        log.segments()
            .report(&qy, &ReportInputs::default(), at(60))
            .unwrap()
            .offered,
        0
    );
}

#[test]
fn channel_filter_and_callbacks() {
    let mut log = Log::default();
    log.queued_on(0, 1, "sales", Channel::Chat)
        .handled(2, 1, "sales", "ann", (10, 1), None);
    log.queued(0, 2, "sales").push(
        5,
        EventKind::CallbackRequested {
            contact: c(2),
            queue: q("sales"),
            number: "+100".into(),
            due: None,
        },
    );
    let mut qy = query(None, 0, 60);
    qy.filter.channel = Some(Channel::Chat);
    let chat = log
        .segments()
        .report(&qy, &ReportInputs::default(), at(60))
        .unwrap();
    assert_eq!((chat.offered, chat.answered), (1, 1));
    qy.filter.channel = Some(Channel::Voice);
    let voice = log
        .segments()
        .report(&qy, &ReportInputs::default(), at(60))
        .unwrap();
    assert_eq!((voice.offered, voice.waiting), (1, 1));
    assert!(log.segments().queued()[1].callback_requested);
}

#[test]
fn refusals_and_bad_ranges() {
    let mut log = Log::default();
    log.push(
        1,
        EventKind::ContactRefused {
            contact: c(1),
            queue: q("sales"),
            reason: ExitReason::NoAgents,
        },
    );
    let r = report(&log, &query(Some("sales"), 0, 60), 60);
    assert_eq!((r.refused, r.offered), (1, 0));
    assert_eq!(
        TimeRange::new(at(5), at(1)),
        Err(MetricsError::InvalidRange)
    );
    let bad = Query {
        range: TimeRange {
            start: at(5),
            end: at(1),
        },
        ..query(None, 0, 1)
    };
    assert!(log
        .segments()
        .report(&bad, &ReportInputs::default(), at(0))
        .is_err());
    let huge = query(None, 0, 10 * 365 * 24 * 3600);
    let quarter = Intervals {
        length: IntervalLength::Minutes15,
        clock: switchboard_domain::CenterClock::UTC,
    };
    assert!(matches!(
        log.segments()
            .intervals(&huge, quarter, &ReportInputs::default(), at(0)),
        Err(MetricsError::TooManyIntervals { .. })
    ));
}

#[test]
fn live_counters_match_the_report() {
    let log = sales_day();
    let range = TimeRange::new(at(0), at(3600)).unwrap();
    let mut live = LiveQueueStats::new(q("sales"), range, MetricsConfig::default());
    for e in &log.events {
        live.apply(e);
    }
    let r = report(&log, &query(Some("sales"), 0, 3600), 100);
    assert_eq!(live.waiting_now(), 1);
    assert_eq!(live.longest_waiting_ms(at(100)), Some(100_000));
    assert_eq!(
        (
            live.offered(),
            live.answered(),
            live.abandoned(),
            live.short_abandoned()
        ),
        (r.offered, r.answered, r.abandoned, r.short_abandoned)
    );
    assert_eq!(live.service_level(), r.service_level);
    assert_eq!(live.asa_ms(), r.asa_ms);
    assert_eq!(live.answered_within_target(), 2);
    assert_eq!(live.answered_wait_ms(), 60_000);
    // The next day starts from zero but still sees who waits.
    live.roll_over(TimeRange::new(at(3600), at(7200)).unwrap());
    assert_eq!((live.offered(), live.waiting_now()), (0, 1));
}

mod agent_figures;
