//! Properties of the center's clock over zones with every kind of change: daylight saving
//! at 02:00 (Berlin), at midnight (Santiago), by half an hour (Lord Howe), a skipped day
//! (Apia, 2011), and offsets off the hour (Kolkata, Kathmandu, St John's).

use proptest::prelude::*;
use switchboard_domain::{CenterClock, LocalStep, Timestamp};

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "+05:30",
    "-00:45",
];

/// 1990-01-01 to 2060-01-01.
fn instant() -> impl Strategy<Value = Timestamp> {
    (631_152_000_000i64..2_840_140_800_000).prop_map(Timestamp::from_millis)
}

fn clock() -> impl Strategy<Value = CenterClock> {
    prop::sample::select(ZONES).prop_map(|z| z.parse().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_day_holds_its_instant_and_lasts_22_to_26_hours(clock in clock(), t in instant()) {
        let (start, end) = clock.day(t);
        prop_assert!(start <= t && t < end, "{clock}: {t:?} not in [{start:?}, {end:?})");
        let hours = end.since(start).as_secs_f64() / 3600.0;
        prop_assert!((22.0..=26.0).contains(&hours), "{clock}: a day of {hours} h at {t:?}");
        // The next day starts where this one ends.
        prop_assert_eq!(clock.day(end).0, end);
    }

    #[test]
    fn boundaries_increase_and_cover_the_range(
        clock in clock(),
        t in instant(),
        hours in 1u64..80,
        step in prop::sample::select(vec![LocalStep::Minutes(15), LocalStep::Minutes(30), LocalStep::Minutes(60), LocalStep::Day]),
    ) {
        let end = t.plus(std::time::Duration::from_secs(hours * 3600));
        let b = clock.boundaries(t, end, step);
        prop_assert!(!b.is_empty());
        prop_assert!(b[0] <= t, "the first boundary is at or before the start");
        prop_assert_eq!(b[0], clock.floor(t, step));
        prop_assert!(b.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        prop_assert!(b.iter().skip(1).all(|x| *x > t && *x < end), "the rest inside the range");
        let longest = match step {
            LocalStep::Minutes(m) => u64::from(m) * 60 + 2 * 3600,
            LocalStep::Day => 26 * 3600,
        };
        let last_gap = end.since(*b.last().unwrap()).as_secs();
        prop_assert!(b.windows(2).all(|w| w[1].since(w[0]).as_secs() <= longest) && last_gap <= longest);
    }
}
