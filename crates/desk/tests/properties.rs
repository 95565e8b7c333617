//! Invariants of the calendar arithmetic and the SLA clock over random calendars (zones
//! with and without daylight saving, including Lord Howe's half-hour change and a
//! midnight change in Santiago), random instants around two years and random durations.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use proptest::prelude::*;
use switchboard_desk::{BusinessCalendar, CalendarError, ClockChange, ClockState, SlaClock, Slot};
use switchboard_domain::Timestamp;

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
];

/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;
const TWO_YEARS_MS: i64 = 2 * 365 * 86_400_000;

fn day_slots() -> impl Strategy<Value = Vec<Slot>> {
    // Up to three slots from sorted distinct quarter-hour boundaries of the day.
    prop::collection::btree_set(0u32..=96, 0..=6).prop_map(|points| {
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
        prop::collection::vec(0u64..730, 0..40),
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

fn instant() -> impl Strategy<Value = Timestamp> {
    (0..TWO_YEARS_MS).prop_map(|ms| Timestamp::from_millis(START_MS + ms))
}

fn duration() -> impl Strategy<Value = Duration> {
    // Up to 60 business hours, to the millisecond.
    (0u64..60 * 3_600_000).prop_map(Duration::from_millis)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 192,
        // Integration tests have no source file to keep regressions beside.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn adding_business_time_then_measuring_it_gives_it_back(
        cal in calendar(), t in instant(), d in duration()
    ) {
        let end = cal.add_business(t, d).unwrap();
        prop_assert!(end >= t);
        prop_assert_eq!(cal.business_between(t, end).unwrap(), d);
    }

    #[test]
    fn adding_is_monotone_in_the_duration_and_in_the_start(
        cal in calendar(), t1 in instant(), t2 in instant(), d1 in duration(), d2 in duration()
    ) {
        let (t1, t2) = (t1.min(t2), t1.max(t2));
        let (d1, d2) = (d1.min(d2), d1.max(d2));
        prop_assert!(cal.add_business(t1, d1).unwrap() <= cal.add_business(t1, d2).unwrap());
        prop_assert!(cal.add_business(t1, d1).unwrap() <= cal.add_business(t2, d1).unwrap());
    }

    #[test]
    fn business_time_adds_up_over_a_split_point(
        cal in calendar(), a in instant(), b in instant(), c in instant()
    ) {
        let mut v = [a, b, c];
        v.sort();
        let [a, b, c] = v;
        let whole = cal.business_between(a, c).unwrap();
        let parts = cal.business_between(a, b).unwrap() + cal.business_between(b, c).unwrap();
        prop_assert_eq!(whole, parts);
        prop_assert!(whole <= c.since(a));
    }

    #[test]
    fn open_means_the_next_millisecond_counts_and_next_open_is_open(
        cal in calendar(), t in instant()
    ) {
        let ms = Duration::from_millis(1);
        let counted = cal.business_between(t, t.plus(ms)).unwrap();
        prop_assert_eq!(cal.is_open(t), counted == ms);
        let next = cal.next_open(t).unwrap();
        prop_assert!(next >= t);
        prop_assert!(cal.is_open(next));
        prop_assert_eq!(cal.business_between(t, next).unwrap(), Duration::ZERO);
        prop_assert_eq!(next == t, cal.is_open(t));
    }

    #[test]
    fn promises_fall_on_later_days_as_they_grow(
        cal in calendar(), t in instant(), n in 1u32..12
    ) {
        let due = cal.add_business_days(t, n).unwrap();
        let later = cal.add_business_days(t, n + 1).unwrap();
        prop_assert!(due > t);
        prop_assert!(later > due);
        // The due time closes a business day on a later local date than `t`'s.
        let closing_day = cal.local_date(Timestamp::from_millis(due.as_millis() - 1)).unwrap();
        prop_assert!(closing_day > cal.local_date(t).unwrap());
        prop_assert!(cal.is_open(Timestamp::from_millis(due.as_millis() - 1)));
        let today = cal.add_business_days(t, 0).unwrap();
        // "Today" may be the first business day itself (when the day of `t` has closed).
        prop_assert!(today > t && today <= due);
    }

    #[test]
    fn the_sla_clock_agrees_with_its_deadline(
        cal in calendar(),
        start in instant(),
        steps in prop::collection::vec((0u64..100 * 3_600_000, 0u8..3), 0..5),
        look in 0u64..200 * 3_600_000,
        target in 1u64..40 * 3_600_000,
        percent in 1u8..=100,
    ) {
        let mut changes = vec![ClockChange::new(start, ClockState::Running)];
        let mut at = start;
        for (gap, state) in steps {
            at = at.plus(Duration::from_millis(gap));
            let states = [ClockState::Running, ClockState::Paused, ClockState::Stopped];
            let state = states[usize::from(state)];
            changes.push(ClockChange::new(at, state));
        }
        let clock = SlaClock::new(Duration::from_millis(target), percent, changes).unwrap();
        let now = start.plus(Duration::from_millis(look));
        let s = clock.status(&cal, now).unwrap();
        let target = Duration::from_millis(target);
        let elapsed_ms = i64::try_from(s.elapsed.as_millis()).unwrap();
        let target_ms = i64::try_from(target.as_millis()).unwrap();
        prop_assert_eq!(s.remaining.num_milliseconds() + elapsed_ms, target_ms);
        prop_assert_eq!(s.breached, s.elapsed >= target);
        prop_assert_eq!(s.warning, s.elapsed >= clock.warning_threshold());
        match s.deadline {
            Some(deadline) => prop_assert_eq!(s.breached, deadline <= now),
            None => prop_assert!(!s.breached && s.state != Some(ClockState::Running)),
        }
        if let (Some(w), Some(d)) = (s.warning_at, s.deadline) {
            prop_assert!(w <= d);
        }
        // Time only adds: a later look never shows less elapsed.
        let later = clock.status(&cal, now.plus(Duration::from_secs(3600))).unwrap();
        prop_assert!(later.elapsed >= s.elapsed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_calendar_closed_for_years_errors_instead_of_hanging(
        zone in prop::sample::select(ZONES),
        week in prop::array::uniform7(day_slots()),
        t in instant(),
        d in 1u64..3_600_000,
    ) {
        // Every date from a week before `t` to four years after is a holiday.
        let zone: Tz = zone.parse().unwrap();
        let mut week = week;
        if week.iter().all(Vec::is_empty) {
            week[0] = vec![Slot::from_secs(0, 3600).unwrap()];
        }
        let probe = BusinessCalendar::new(zone, week.clone(), []).unwrap();
        let first = probe.local_date(t).unwrap() - Days::new(7);
        let holidays = (0..4 * 366).map(|i| first + Days::new(i));
        let cal = BusinessCalendar::new(zone, week, holidays).unwrap();
        let never = CalendarError::NeverOpen { from: t };
        prop_assert_eq!(cal.next_open(t), Err(never.clone()));
        prop_assert_eq!(cal.add_business(t, Duration::from_millis(d)), Err(never.clone()));
        prop_assert_eq!(cal.add_business_days(t, 1), Err(never));
        prop_assert!(!cal.is_open(t));
    }
}
