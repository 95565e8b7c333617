//! Invariants of the deadline scheduler over random schedules (`Deadlines` against a plain
//! sorted map as the model) and of the planner over random calendars and clock histories.

use std::{collections::BTreeMap, time::Duration};

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use proptest::prelude::*;
use switchboard_desk::{
    plan_clock, ticket::TicketId, BusinessCalendar, ClockChange, ClockKind, ClockState,
    DeadlineKey, Deadlines, Mark, Raised, SlaClock, Slot,
};
use switchboard_domain::Timestamp;

fn ticket(n: u8) -> TicketId {
    format!("0190f0c4-0000-7000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn key() -> impl Strategy<Value = DeadlineKey> {
    (
        0u8..5,
        prop::sample::select(ClockKind::ALL.to_vec()),
        prop::sample::select(Mark::ALL.to_vec()),
    )
        .prop_map(|(n, clock, mark)| DeadlineKey::new(ticket(n), clock, mark))
}

fn instant() -> impl Strategy<Value = Timestamp> {
    // A narrow range, so that equal instants are common.
    (0i64..60).prop_map(Timestamp::from_millis)
}

#[derive(Clone, Debug)]
enum Op {
    Upsert(DeadlineKey, Timestamp),
    Remove(DeadlineKey),
    RemoveTicket(u8),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => (key(), instant()).prop_map(|(k, at)| Op::Upsert(k, at)),
        2 => key().prop_map(Op::Remove),
        1 => (0u8..5).prop_map(Op::RemoveTicket),
    ];
    prop::collection::vec(op, 0..60)
}

/// The deadlines after `ops`, and the model's view of them.
fn build(ops: &[Op]) -> (Deadlines, BTreeMap<DeadlineKey, Timestamp>) {
    let mut d = Deadlines::new();
    let mut model = BTreeMap::new();
    for op in ops {
        match *op {
            Op::Upsert(k, at) => {
                assert_eq!(d.upsert(k, at), model.insert(k, at));
            }
            Op::Remove(k) => {
                assert_eq!(d.remove(&k), model.remove(&k));
            }
            Op::RemoveTicket(n) => {
                let before = model.len();
                model.retain(|k, _| k.ticket != ticket(n));
                assert_eq!(d.remove_ticket(ticket(n)), before - model.len());
            }
        }
    }
    (d, model)
}

/// The model's entries in `due`'s order: by instant, then key.
fn in_order(model: &BTreeMap<DeadlineKey, Timestamp>) -> Vec<(DeadlineKey, Timestamp)> {
    let mut all: Vec<_> = model.iter().map(|(k, at)| (*k, *at)).collect();
    all.sort_by_key(|&(k, at)| (at, k));
    all
}

const ZONES: &[&str] = &["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"];

/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;
const HOUR_MS: i64 = 3_600_000;

fn day_slots() -> impl Strategy<Value = Vec<Slot>> {
    prop::collection::btree_set(0u32..=96, 0..=4).prop_map(|points| {
        let points: Vec<u32> = points.into_iter().collect();
        points
            .chunks_exact(2)
            .map(|p| Slot::from_secs(p[0] * 900, p[1] * 900).unwrap())
            .collect()
    })
}

fn calendar() -> impl Strategy<Value = BusinessCalendar> {
    (
        prop::sample::select(ZONES),
        prop::array::uniform7(day_slots()),
        prop::collection::vec(0u64..120, 0..10),
    )
        .prop_map(|(zone, mut week, holidays)| {
            if week.iter().all(Vec::is_empty) {
                week[2] = vec![Slot::from_secs(9 * 3600, 17 * 3600).unwrap()];
            }
            let zone: Tz = zone.parse().unwrap();
            let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            BusinessCalendar::new(
                zone,
                week,
                holidays.into_iter().map(|d| first + Days::new(d)),
            )
            .unwrap()
        })
}

/// A clock history: a start, then changes at random gaps (up to two days each).
fn clock() -> impl Strategy<Value = SlaClock> {
    let state = prop::sample::select(vec![
        ClockState::Running,
        ClockState::Paused,
        ClockState::Stopped,
    ]);
    (
        1u64..40 * 3_600_000,
        1u8..=100,
        0i64..30 * 24 * HOUR_MS,
        prop::collection::vec((0i64..48 * HOUR_MS, state), 0..6),
    )
        .prop_map(|(target_ms, warn, start, rest)| {
            let mut t = START_MS + start;
            let mut changes = vec![ClockChange::new(
                Timestamp::from_millis(t),
                ClockState::Running,
            )];
            for (gap, state) in rest {
                t += gap;
                changes.push(ClockChange::new(Timestamp::from_millis(t), state));
            }
            SlaClock::new(Duration::from_millis(target_ms), warn, changes).unwrap()
        })
}

fn raised() -> impl Strategy<Value = Raised> {
    (any::<bool>(), any::<bool>()).prop_map(|(warning, breach)| Raised { warning, breach })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Integration tests have no source file to keep regressions beside.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn due_pops_exactly_what_is_at_or_before_now_in_time_order(
        ops in ops(), now in instant()
    ) {
        let (mut d, model) = build(&ops);
        prop_assert_eq!(d.len(), model.len());
        prop_assert_eq!(d.entries(), in_order(&model));
        let (expected_due, expected_rest): (Vec<_>, Vec<_>) =
            in_order(&model).into_iter().partition(|&(_, at)| at <= now);
        let due = d.due(now);
        prop_assert!(due.windows(2).all(|w| w[0].1 <= w[1].1));
        prop_assert_eq!(due, expected_due);
        prop_assert_eq!(d.next_at(), expected_rest.first().map(|&(_, at)| at));
        prop_assert_eq!(d.entries(), expected_rest);
        prop_assert!(d.due(now).is_empty());
    }

    #[test]
    fn upsert_then_remove_or_move_back_leaves_the_schedule_as_it_was(
        ops in ops(), k in key(), at in instant()
    ) {
        let (mut d, _) = build(&ops);
        let before = d.clone();
        match d.upsert(k, at) {
            None => {
                prop_assert_eq!(d.len(), before.len() + 1);
                prop_assert_eq!(d.remove(&k), Some(at));
            }
            Some(was) => {
                prop_assert_eq!(d.len(), before.len());
                prop_assert_eq!(d.upsert(k, was), Some(at));
            }
        }
        prop_assert_eq!(d.entries(), before.entries());
        prop_assert_eq!(&d, &before);
    }

    #[test]
    fn the_planner_follows_the_clock_status(
        cal in calendar(),
        clock in clock(),
        offset in 0i64..40 * 24 * HOUR_MS,
        raised in raised(),
    ) {
        let now = Timestamp::from_millis(START_MS + offset);
        let status = clock.status(&cal, now).unwrap();
        let plan = plan_clock(&clock, &cal, now, raised).unwrap();
        if status.state != Some(ClockState::Running) {
            // Paused, stopped or not started: nothing.
            prop_assert!(plan.is_empty(), "{:?} planned {:?}", status.state, plan);
            return Ok(());
        }
        let deadline = status.deadline.expect("a running clock has a deadline");
        let breach: Vec<_> = plan.iter().copied().filter(|(m, _)| *m == Mark::Breach).collect();
        if raised.breach {
            prop_assert!(breach.is_empty());
        } else {
            prop_assert_eq!(breach, vec![(Mark::Breach, deadline)]);
        }
        for &(mark, at) in &plan {
            if mark == Mark::Warning {
                prop_assert!(!raised.warning && !status.breached);
                prop_assert_eq!(Some(at), status.warning_at);
                prop_assert!(at < deadline);
            }
        }
        // A warning comes before the breach, and each mark once.
        prop_assert!(plan.len() <= 2);
        prop_assert!(plan.windows(2).all(|w| w[0].0 == Mark::Warning && w[1].0 == Mark::Breach));
        // Scheduled, a breach already past comes out of the next `due(now)`.
        let mut d = Deadlines::new();
        d.set_clock(ticket(1), ClockKind::Resolution, &plan);
        let due = d.due(now);
        let breach_due = due.iter().any(|(k, _)| k.mark == Mark::Breach);
        prop_assert_eq!(breach_due, !raised.breach && status.breached);
    }
}
