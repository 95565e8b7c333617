//! The clock readings tests and benchmarks start from, so that logs, ids and reports from
//! different tests line up, and a failing test prints times one recognises.
//!
//! Times are Unix milliseconds (`i64`), as [`Timestamp::from_millis`] takes them.

use switchboard_domain::Timestamp;

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// 2026-01-05 09:00:00 UTC, a Monday morning: when a test's center opens.
pub const T0: i64 = 1_767_603_600_000;

/// 2026-01-05 00:00:00 UTC: the midnight that starts [`T0`]'s day (and the simulator's
/// virtual clock), for tests about days and intervals.
pub const MIDNIGHT: i64 = T0 - 9 * HOUR;

/// [`T0`] as a timestamp.
pub const fn t0() -> Timestamp {
    Timestamp::from_millis(T0)
}

/// `offset_ms` after (or, negative, before) [`T0`].
pub const fn t(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readings_are_what_they_say() {
        // 2026-01-05 is day 20,458 since 1970-01-01, a Thursday: 20,458 % 7 = 4 days later
        // is a Monday.
        assert_eq!(MIDNIGHT % DAY, 0);
        assert_eq!(MIDNIGHT / DAY, 20_458);
        assert_eq!((MIDNIGHT / DAY) % 7, 4);
        assert_eq!(T0 - MIDNIGHT, 9 * HOUR);
        assert_eq!(t(-T0), Timestamp::from_millis(0));
        assert_eq!(t0(), t(0));
    }
}
