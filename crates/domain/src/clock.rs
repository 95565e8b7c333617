//! Whose wall clock a day and an interval follow: a fixed offset from UTC, or a zone of the
//! IANA time-zone database with its daylight-saving changes ([`CenterClock`]).
//!
//! A contact center's "today", its day reports and its half hours are local: in
//! Europe/Berlin the day of the spring change lasts 23 hours and its 02:00–03:00 does not
//! exist; the autumn day lasts 25 hours and its 02:00–03:00 happens twice. All of it is
//! plain arithmetic on instants, so callers pass the instant in.

use std::{fmt, str::FromStr};

use chrono::{
    DateTime, Duration as ChronoDuration, FixedOffset, LocalResult, NaiveDateTime, NaiveTime,
    Offset, SecondsFormat, TimeZone,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Timestamp, ValidationError};

/// The widest offset from UTC in use (UTC−12 … UTC+14), in minutes.
pub const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// A center's clock: a fixed offset (minutes east of UTC, no daylight saving) or an IANA
/// zone. Written as the zone's name (`Europe/Berlin`, `UTC`) or as an offset (`+05:30`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CenterClock {
    Offset(i32),
    Zone(Tz),
}

impl Default for CenterClock {
    fn default() -> Self {
        Self::UTC
    }
}

/// How far apart the local boundaries of [`CenterClock::boundaries`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalStep {
    /// Every this many minutes of the local clock, counted from local midnight (a divisor
    /// of a day: 15, 30, 60).
    Minutes(u32),
    /// Every local midnight.
    Day,
}

impl CenterClock {
    pub const UTC: Self = Self::Offset(0);

    /// A fixed offset, in minutes east of UTC, within ±14 hours.
    ///
    /// # Errors
    /// [`ValidationError`] beyond ±840 minutes.
    pub fn offset_minutes(minutes: i32) -> Result<Self, ValidationError> {
        if (-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&minutes) {
            Ok(Self::Offset(minutes))
        } else {
            Err(ValidationError::new(
                "utc_offset",
                format!("a UTC offset must be within ±{MAX_OFFSET_MINUTES} minutes, not {minutes}"),
            ))
        }
    }

    /// The offset from UTC in force at `t`, in seconds east.
    pub fn offset_secs_at(self, t: Timestamp) -> i32 {
        match self {
            Self::Offset(m) => m * 60,
            Self::Zone(tz) => match DateTime::from_timestamp_millis(t.as_millis()) {
                Some(utc) => tz
                    .offset_from_utc_datetime(&utc.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    /// `t` as RFC 3339 with this clock's offset at that instant, to the millisecond
    /// (`2026-03-29T03:00:00.000+02:00`).
    pub fn rfc3339(self, t: Timestamp) -> String {
        let offset = FixedOffset::east_opt(self.offset_secs_at(t)).unwrap_or(utc_offset());
        match DateTime::from_timestamp_millis(t.as_millis()) {
            Some(utc) => utc
                .with_timezone(&offset)
                .to_rfc3339_opts(SecondsFormat::Millis, false),
            None => t.as_millis().to_string(),
        }
    }

    /// The start of the local day holding `t`.
    pub fn day_start(self, t: Timestamp) -> Timestamp {
        self.floor(t, LocalStep::Day)
    }

    /// The local day holding `t`: `[its midnight, the next midnight)`; 23, 24 or 25 hours
    /// long in a zone with daylight saving.
    pub fn day(self, t: Timestamp) -> (Timestamp, Timestamp) {
        let start = self.day_start(t);
        let next = self
            .boundaries(
                start,
                start.plus(std::time::Duration::from_secs(27 * 3600)),
                LocalStep::Day,
            )
            .into_iter()
            .find(|b| *b > start)
            .unwrap_or(start.plus(std::time::Duration::from_secs(24 * 3600)));
        (start, next)
    }

    /// The latest boundary of `step` at or before `t`.
    pub fn floor(self, t: Timestamp, step: LocalStep) -> Timestamp {
        match self {
            Self::Offset(m) => floor_in(&fixed(m), t, step),
            Self::Zone(tz) => floor_in(&tz, t, step),
        }
    }

    /// Every boundary of `step` in `[from, to)`, in order, plus the last one at or before
    /// `from`. A local time that does not exist (skipped by a spring change) is no boundary
    /// of its own (it falls on the change); one that happens twice (an autumn change) is
    /// two.
    pub fn boundaries(self, from: Timestamp, to: Timestamp, step: LocalStep) -> Vec<Timestamp> {
        match self {
            Self::Offset(m) => boundaries_in(&fixed(m), from, to, step),
            Self::Zone(tz) => boundaries_in(&tz, from, to, step),
        }
    }
}

fn utc_offset() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero is a valid offset")
}

fn fixed(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes.clamp(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES) * 60)
        .unwrap_or(utc_offset())
}

/// The local wall time of `t`.
fn local<Z: TimeZone>(zone: &Z, t: Timestamp) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(t.as_millis()).map(|utc| utc.with_timezone(zone).naive_local())
}

/// The local boundary at or before the wall time `n`.
fn floor_naive(n: NaiveDateTime, step: LocalStep) -> NaiveDateTime {
    let midnight = n.date().and_time(NaiveTime::MIN);
    match step {
        LocalStep::Day => midnight,
        LocalStep::Minutes(m) => {
            let m = i64::from(m.max(1));
            let minutes = (n - midnight).num_minutes();
            midnight + ChronoDuration::minutes(minutes / m * m)
        }
    }
}

fn next_naive(n: NaiveDateTime, step: LocalStep) -> NaiveDateTime {
    match step {
        LocalStep::Day => n + ChronoDuration::days(1),
        LocalStep::Minutes(m) => n + ChronoDuration::minutes(i64::from(m.max(1))),
    }
}

/// The instants at which the wall clock shows `n`: none in a gap (then the instant the gap
/// starts, so a day whose midnight is skipped still starts), two in an overlap.
fn instants<Z: TimeZone>(zone: &Z, n: NaiveDateTime) -> Vec<Timestamp> {
    let at = |d: DateTime<Z>| Timestamp::from_millis(d.timestamp_millis());
    match zone.from_local_datetime(&n) {
        LocalResult::Single(d) => vec![at(d)],
        LocalResult::Ambiguous(a, b) => vec![at(a), at(b)],
        LocalResult::None => {
            // Read with the offset in force just before the gap: that lands on the change.
            let before = zone
                .from_local_datetime(&(n - ChronoDuration::hours(3)))
                .earliest()
                .map(|d| d.offset().fix().local_minus_utc());
            match before {
                Some(offset) => vec![Timestamp::from_millis(
                    (n.and_utc().timestamp() - i64::from(offset)) * 1000,
                )],
                None => Vec::new(),
            }
        }
    }
}

fn floor_in<Z: TimeZone>(zone: &Z, t: Timestamp, step: LocalStep) -> Timestamp {
    let Some(n) = local(zone, t) else { return t };
    let mut wall = floor_naive(n, step);
    // In an overlap the wall boundary may map to two instants; take the latest not after
    // `t`. If none is (can't happen for a real zone), step back once more.
    for _ in 0..3 {
        if let Some(b) = instants(zone, wall).into_iter().filter(|b| *b <= t).max() {
            return b;
        }
        wall = floor_naive(wall - ChronoDuration::minutes(1), step);
    }
    t
}

fn boundaries_in<Z: TimeZone>(
    zone: &Z,
    from: Timestamp,
    to: Timestamp,
    step: LocalStep,
) -> Vec<Timestamp> {
    let first = floor_in(zone, from, step);
    let mut out = vec![first];
    let Some(mut wall) = local(zone, first).map(|n| floor_naive(n, step)) else {
        return out;
    };
    loop {
        wall = next_naive(wall, step);
        let found = instants(zone, wall);
        if found.iter().all(|b| *b >= to) && !found.is_empty() {
            break;
        }
        for b in found {
            if b > *out.last().unwrap_or(&first) && b < to {
                out.push(b);
            }
        }
        // A wall time past the end of the representable range stops the walk.
        if wall.and_utc().timestamp_millis() > to.as_millis().saturating_add(2 * 86_400_000) {
            break;
        }
    }
    out
}

impl fmt::Display for CenterClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Offset(0) => f.write_str("UTC"),
            Self::Offset(m) => {
                let sign = if *m < 0 { '-' } else { '+' };
                write!(f, "{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
            }
            Self::Zone(tz) => f.write_str(tz.name()),
        }
    }
}

impl FromStr for CenterClock {
    type Err = ValidationError;

    /// An IANA zone name (`Europe/Berlin`, `UTC`) or an offset `±HH:MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(sign) = s.chars().next().filter(|c| *c == '+' || *c == '-') {
            let rest = &s[1..];
            let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
            let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
                return Err(ValidationError::new(
                    "time_zone",
                    format!("{s:?} is not an offset like +05:30"),
                ));
            };
            if !(0..60).contains(&m) {
                return Err(ValidationError::new(
                    "time_zone",
                    format!("{s:?} is not an offset like +05:30"),
                ));
            }
            let minutes = h * 60 + m;
            return Self::offset_minutes(if sign == '-' { -minutes } else { minutes });
        }
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Self::UTC);
        }
        s.parse::<Tz>().map(Self::Zone).map_err(|_| {
            ValidationError::new("time_zone", format!(
                "{s:?} is not a time zone: use an IANA name like Europe/Berlin, or an offset like +05:30"
            ))
        })
    }
}

impl Serialize for CenterClock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CenterClock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An instant as a client may write it: milliseconds since the epoch (`1774740000000`) or
/// RFC 3339 (`2026-03-29T01:00:00+01:00`, `2026-03-29T00:00:00Z`).
///
/// # Errors
/// [`ValidationError`] naming what was expected.
pub fn parse_instant(s: &str) -> Result<Timestamp, ValidationError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Timestamp::from_millis(ms));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| Timestamp::from_millis(t.timestamp_millis()))
        .map_err(|_| {
            ValidationError::new("time", format!(
                "{s:?} is not a time: use milliseconds since the epoch or RFC 3339 (2026-03-29T01:00:00+01:00)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        parse_instant(s).unwrap()
    }

    fn berlin() -> CenterClock {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn a_spring_day_in_berlin_lasts_23_hours_and_an_autumn_day_25() {
        let (start, end) = berlin().day(at("2026-03-29T12:00:00+02:00"));
        assert_eq!(start, at("2026-03-29T00:00:00+01:00"));
        assert_eq!(end, at("2026-03-30T00:00:00+02:00"));
        assert_eq!(end.since(start).as_secs(), 23 * 3600);
        let (start, end) = berlin().day(at("2026-10-25T12:00:00+01:00"));
        assert_eq!(end.since(start).as_secs(), 25 * 3600);
    }

    #[test]
    fn hours_skip_the_missing_one_and_repeat_the_doubled_one() {
        let day = berlin().day(at("2026-03-29T12:00:00+02:00"));
        let hours = berlin().boundaries(day.0, day.1, LocalStep::Minutes(60));
        assert_eq!(hours.len(), 23);
        let day = berlin().day(at("2026-10-25T12:00:00+01:00"));
        let hours = berlin().boundaries(day.0, day.1, LocalStep::Minutes(60));
        assert_eq!(hours.len(), 25);
        assert!(hours.windows(2).all(|w| w[1].since(w[0]).as_secs() == 3600));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_at_the_change() {
        // America/Santiago moved from -04:00 to -03:00 at local midnight on 2026-09-06.
        let clock: CenterClock = "America/Santiago".parse().unwrap();
        let (start, end) = clock.day(at("2026-09-06T12:00:00-03:00"));
        assert_eq!(start, at("2026-09-06T04:00:00Z"));
        assert_eq!(end, at("2026-09-07T03:00:00Z"));
    }

    #[test]
    fn a_fixed_offset_keeps_its_days_24_hours() {
        let clock = CenterClock::offset_minutes(-45).unwrap();
        let (start, end) = clock.day(at("2026-03-29T12:00:00Z"));
        assert_eq!(start, at("2026-03-29T00:00:00-00:45"));
        assert_eq!(end.since(start).as_secs(), 24 * 3600);
        assert_eq!(clock.to_string(), "-00:45");
        assert!(CenterClock::offset_minutes(900).is_err());
    }

    #[test]
    fn clocks_parse_and_print() {
        assert_eq!("UTC".parse::<CenterClock>().unwrap(), CenterClock::UTC);
        assert_eq!(
            "+05:30".parse::<CenterClock>().unwrap(),
            CenterClock::Offset(330)
        );
        assert_eq!(berlin().to_string(), "Europe/Berlin");
        assert!("Mars/Olympus".parse::<CenterClock>().is_err());
        assert!("+5:75".parse::<CenterClock>().is_err());
        assert_eq!(
            berlin().rfc3339(at("2026-03-29T01:00:00Z")),
            "2026-03-29T03:00:00.000+02:00"
        );
    }

    #[test]
    fn instants_are_read_as_milliseconds_or_rfc_3339() {
        assert_eq!(parse_instant("1000").unwrap(), Timestamp::from_millis(1000));
        assert_eq!(
            parse_instant("1970-01-01T00:00:01+00:00").unwrap(),
            Timestamp::from_millis(1000)
        );
        assert!(parse_instant("yesterday").is_err());
    }
}
