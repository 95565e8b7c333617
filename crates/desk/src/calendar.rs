//! Business hours: when the help desk is open, and time counted only while it is.
//!
//! A [`BusinessCalendar`] is an IANA time zone, a week of open slots (several a day, e.g.
//! Mon–Fri 08:00–12:00 and 13:00–18:00) and holidays (local dates, closed all day). Every
//! function takes and returns instants ([`Timestamp`]); the calendar only turns them into
//! the zone's wall clock to find the slots.
//!
//! # Slots on a daylight-saving change
//! A slot is one unbroken stretch of real time: from the **first** instant the local clock
//! shows its start to the **last** instant it shows its end. A start or end the spring change
//! skips (02:30 in Europe/Berlin on the last Sunday of March) is read as the instant of the
//! change (03:00 summer time). So on the spring day a slot 00:00–06:00 is open 5 hours and
//! one inside the skipped hour (02:00–02:30) is not open at all; on the autumn day 00:00–06:00
//! is open 7 hours, and a slot that starts or ends in the doubled hour takes its start at
//! the first 02:30 and its end at the second. Slots of one day that touch or overlap after
//! this reading are merged, so no time is counted twice. Ordinary days are untouched:
//! 08:00–12:00 is four hours.
//!
//! # Bounds
//! No search runs forever: one that finds no open time in [`NEVER_OPEN_DAYS`] days in a row
//! fails with [`CalendarError::NeverOpen`], and no walk goes further than [`MAX_WALK_DAYS`]
//! days ([`CalendarError::TooFar`]). Durations count whole milliseconds (the resolution of a
//! [`Timestamp`]); anything finer is dropped.

use std::{collections::BTreeSet, fmt, time::Duration};

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use switchboard_domain::{Timestamp, ValidationError};

const DAY_SECS: u32 = 86_400;

/// Closed days in a row after which a forward search gives up: three years.
pub const NEVER_OPEN_DAYS: u32 = 3 * 366;

/// The most days one call walks: a hundred years.
pub const MAX_WALK_DAYS: u32 = 100 * 366;

/// Why a calendar question has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The calendar is closed on every day of [`NEVER_OPEN_DAYS`] in a row after `from`
    /// (e.g. holidays cover them all).
    #[error("the calendar has no open time in the {NEVER_OPEN_DAYS} days after {from}")]
    NeverOpen { from: Timestamp },
    /// The answer lies more than [`MAX_WALK_DAYS`] days away from `from`, or outside the
    /// dates the calendar can represent.
    #[error("the answer lies more than {MAX_WALK_DAYS} days after {from}")]
    TooFar { from: Timestamp },
}

/// An open stretch of one day, in local wall-clock time: `[start, end)`, seconds since
/// local midnight, `start < end ≤ 24:00`. A slot never crosses midnight; a night shift is
/// two slots (22:00–24:00 and 00:00–06:00 of the next weekday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    start: u32,
    end: u32,
}

impl Slot {
    /// A slot from `HH:MM` or `HH:MM:SS` strings; the end may be `24:00`.
    ///
    /// # Errors
    /// [`ValidationError`] (field `slot`) for a malformed time or `start ≥ end`.
    pub fn parse(start: &str, end: &str) -> Result<Self, ValidationError> {
        let problem = |p: String| ValidationError::new("slot", p);
        let start = parse_time(start, false).map_err(problem)?;
        let end = parse_time(end, true).map_err(problem)?;
        Self::from_secs(start, end)
    }

    /// A slot from seconds since local midnight.
    ///
    /// # Errors
    /// [`ValidationError`] (field `slot`) unless `start < end ≤ 86400`.
    pub fn from_secs(start: u32, end: u32) -> Result<Self, ValidationError> {
        if end > DAY_SECS {
            return Err(ValidationError::new(
                "slot",
                format!(
                    "a slot ends by 24:00, not at {}: split one that crosses midnight",
                    hms(end)
                ),
            ));
        }
        if start >= end {
            return Err(ValidationError::new(
                "slot",
                format!(
                    "a slot must start before it ends ({}–{})",
                    hms(start),
                    hms(end)
                ),
            ));
        }
        Ok(Self { start, end })
    }

    /// Seconds since local midnight at which it opens.
    pub fn start_secs(self) -> u32 {
        self.start
    }

    /// Seconds since local midnight at which it closes (86400 for 24:00).
    pub fn end_secs(self) -> u32 {
        self.end
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", hms(self.start), hms(self.end))
    }
}

/// `HH:MM` or `HH:MM:SS` as seconds since midnight; `24:00` only where `end`.
fn parse_time(s: &str, end: bool) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a time of day like 08:30");
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let n = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<u32>());
    let (Ok(h), Ok(m), Ok(sec)) = (n(0), n(1), n(2)) else {
        return Err(bad());
    };
    if m >= 60 || sec >= 60 || h > 24 {
        return Err(bad());
    }
    let secs = h * 3600 + m * 60 + sec;
    if secs > DAY_SECS || (secs == DAY_SECS && !end) {
        return Err(if end {
            bad()
        } else {
            format!("{s:?}: 24:00 can only end a slot")
        });
    }
    Ok(secs)
}

fn hms(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if s == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// When the help desk is open: a zone, open slots per weekday, holidays. Built valid only
/// (slots of a day do not overlap; some day has a slot).
///
/// As data (serde) it is written
/// `{"time_zone": "Europe/Berlin", "week": {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], …},
/// "holidays": ["2026-12-25"]}`, days without slots left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct BusinessCalendar {
    zone: Tz,
    /// Indexed by `Weekday::num_days_from_monday`; each day's slots sorted, disjoint.
    week: [Vec<Slot>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// An open stretch in instants: `[start, end)`, milliseconds since the epoch.
type Span = (i64, i64);

impl BusinessCalendar {
    /// A calendar from its zone, its week (index 0 = Monday … 6 = Sunday) and its holidays.
    ///
    /// # Errors
    /// [`ValidationError`] naming the day (`week.mon`) whose slots overlap, or `week` when
    /// no day has a slot.
    pub fn new(
        zone: Tz,
        week: [Vec<Slot>; 7],
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, ValidationError> {
        let mut week = week;
        for (day, slots) in week.iter_mut().enumerate() {
            slots.sort();
            if let Some(w) = slots.windows(2).find(|w| w[0].end > w[1].start) {
                return Err(ValidationError::new(
                    format!("week.{}", WEEKDAYS[day]),
                    format!("slots {} and {} overlap", w[0], w[1]),
                ));
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(ValidationError::new(
                "week",
                "a calendar must have at least one open slot in the week",
            ));
        }
        Ok(Self {
            zone,
            week,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// The same slots on each of `days`, closed on the others.
    ///
    /// # Errors
    /// As [`BusinessCalendar::new`].
    pub fn weekly(
        zone: Tz,
        days: &[chrono::Weekday],
        slots: &[Slot],
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, ValidationError> {
        let mut week: [Vec<Slot>; 7] = Default::default();
        for day in days {
            week[day.num_days_from_monday() as usize] = slots.to_vec();
        }
        Self::new(zone, week, holidays)
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The slots of a weekday, in order.
    pub fn slots(&self, day: chrono::Weekday) -> &[Slot] {
        &self.week[day.num_days_from_monday() as usize]
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// The local date that holds `t`, or `None` past the dates chrono represents.
    pub fn local_date(&self, t: Timestamp) -> Option<NaiveDate> {
        DateTime::from_timestamp_millis(t.as_millis())
            .map(|utc| utc.with_timezone(&self.zone).date_naive())
    }

    /// The open stretches of a local date, as instants `[start, end)` in order (none on a
    /// holiday; see the module doc for daylight-saving days).
    pub fn hours_on(&self, date: NaiveDate) -> Vec<(Timestamp, Timestamp)> {
        self.spans_on(date)
            .into_iter()
            .map(|(a, b)| (Timestamp::from_millis(a), Timestamp::from_millis(b)))
            .collect()
    }

    /// Whether the desk is open at `t`.
    pub fn is_open(&self, t: Timestamp) -> bool {
        let Some(date) = self.local_date(t) else {
            return false;
        };
        let t = t.as_millis();
        [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
            .any(|d| self.spans_on(d).iter().any(|&(a, b)| a <= t && t < b))
    }

    /// The first open instant at or after `t` (`t` itself when open).
    ///
    /// # Errors
    /// [`CalendarError`] when no open time comes (see the module's bounds).
    pub fn next_open(&self, t: Timestamp) -> Result<Timestamp, CalendarError> {
        match self.spans(t, None)?.next() {
            Some(span) => Ok(Timestamp::from_millis(span?.0)),
            None => Err(CalendarError::TooFar { from: t }),
        }
    }

    /// The instant at which `duration` of open time has passed since `t`: the end of the
    /// last millisecond counted. So an hour from Friday 17:00 with a close at 18:00 is
    /// Friday 18:00 (not Monday's opening), and a zero duration is `t` itself.
    ///
    /// # Errors
    /// [`CalendarError`] when the calendar does not hold that much open time (see the
    /// module's bounds).
    pub fn add_business(
        &self,
        t: Timestamp,
        duration: Duration,
    ) -> Result<Timestamp, CalendarError> {
        let mut left = millis(duration);
        if left == 0 {
            return Ok(t);
        }
        for span in self.spans(t, None)? {
            let (a, b) = span?;
            if left <= b - a {
                return Ok(Timestamp::from_millis(a + left));
            }
            left -= b - a;
        }
        Err(CalendarError::TooFar { from: t })
    }

    /// Open time in `[a, b)`; zero when `b ≤ a`.
    ///
    /// # Errors
    /// [`CalendarError::TooFar`] when `a` and `b` lie more than [`MAX_WALK_DAYS`] days
    /// apart.
    pub fn business_between(&self, a: Timestamp, b: Timestamp) -> Result<Duration, CalendarError> {
        if b <= a {
            return Ok(Duration::ZERO);
        }
        let last = self
            .local_date(b)
            .and_then(|d| d.succ_opt())
            .ok_or(CalendarError::TooFar { from: a })?;
        let (a_ms, b_ms) = (a.as_millis(), b.as_millis());
        let mut total: i64 = 0;
        for span in self.spans(a, Some(last))? {
            let (s, e) = span?;
            if s >= b_ms {
                break;
            }
            total += e.min(b_ms) - s.max(a_ms);
        }
        Ok(Duration::from_millis(u64::try_from(total).unwrap_or(0)))
    }

    /// The due time of a promise "within `n` working days" made at `t`: the close of
    /// business (the end of its last open slot) of the `n`-th business day after the local
    /// day of `t`. A business day is a local date that is no holiday and has open time.
    ///
    /// The day the promise is made never counts, whatever the hour: a customer who calls on
    /// Monday at 09:00 or at 17:55, or on Saturday, is promised "three working days" and gets
    /// three full working days — Thursday, Wednesday and Wednesday at closing time
    /// respectively (with Mon–Fri open). That is how an operator reads the promise to the
    /// customer ("by Thursday evening"), and it never depends on how late in the day the
    /// call came.
    ///
    /// `n = 0` means "today" (the sundown rule): the close of the first business day whose
    /// close is after `t` — today's if it is a business day not yet closed, else the next.
    ///
    /// # Errors
    /// [`CalendarError`] when no such day comes within the module's bounds.
    pub fn add_business_days(&self, t: Timestamp, n: u32) -> Result<Timestamp, CalendarError> {
        let mut walk = Walk::new(self, t, None)?;
        // The walk starts the day before `t`'s; a promise counts from the day after.
        walk.day(self)?;
        if n > 0 {
            walk.day(self)?;
        }
        let mut counted = 0;
        loop {
            let spans = walk.day(self)?;
            let Some(&(_, close)) = spans.last() else {
                continue;
            };
            if n == 0 {
                if close > t.as_millis() {
                    return Ok(Timestamp::from_millis(close));
                }
                continue;
            }
            counted += 1;
            if counted == n {
                return Ok(Timestamp::from_millis(close));
            }
        }
    }

    /// The open spans of one local date, merged, in order.
    fn spans_on(&self, date: NaiveDate) -> Vec<Span> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let mut spans: Vec<Span> = self.week[date.weekday().num_days_from_monday() as usize]
            .iter()
            .filter_map(|s| {
                let a = self.instant(date, s.start, false)?;
                let b = self.instant(date, s.end, true)?;
                (a < b).then_some((a, b))
            })
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    /// The instant the wall clock shows `secs` after midnight of `date` (86400: the next
    /// midnight): the earliest of two in a fold unless `latest`; the instant of the change
    /// when the time is skipped.
    fn instant(&self, date: NaiveDate, secs: u32, latest: bool) -> Option<i64> {
        let (date, secs) = if secs >= DAY_SECS {
            (date.succ_opt()?, secs - DAY_SECS)
        } else {
            (date, secs)
        };
        let wall = date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)?);
        match self.zone.from_local_datetime(&wall) {
            LocalResult::Single(t) => Some(t.timestamp_millis()),
            LocalResult::Ambiguous(x, y) => {
                let (x, y) = (x.timestamp_millis(), y.timestamp_millis());
                Some(if latest { x.max(y) } else { x.min(y) })
            }
            LocalResult::None => self.gap_end(wall),
        }
    }

    /// The instant the clocks jumped over the skipped wall time `wall`: the first second
    /// whose wall time is at or after it (zone changes fall on whole seconds).
    fn gap_end(&self, wall: NaiveDateTime) -> Option<i64> {
        let as_utc = wall.and_utc().timestamp();
        // Offsets lie within ±26 hours of each other, so `lo` shows an earlier and `hi` a
        // later wall time.
        let (mut lo, mut hi) = (as_utc - 26 * 3600, as_utc + 26 * 3600);
        let shows_after = |secs: i64| {
            DateTime::from_timestamp(secs, 0)
                .map(|utc| utc.with_timezone(&self.zone).naive_local() >= wall)
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if shows_after(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi * 1000)
    }

    /// The open spans from `from` on, each cut to start no earlier than `from` and than the
    /// previous span's end; up to and including the local date `last` if given.
    fn spans(&self, from: Timestamp, last: Option<NaiveDate>) -> Result<Spans<'_>, CalendarError> {
        Ok(Spans {
            walk: Walk::new(self, from, last)?,
            cal: self,
            floor: from.as_millis(),
            buf: Vec::new().into_iter(),
            done: false,
        })
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Local dates one after another from the day before `from`'s, with the module's bounds.
struct Walk {
    from: Timestamp,
    date: NaiveDate,
    last: Option<NaiveDate>,
    walked: u32,
    closed_in_a_row: u32,
}

impl Walk {
    fn new(
        cal: &BusinessCalendar,
        from: Timestamp,
        last: Option<NaiveDate>,
    ) -> Result<Self, CalendarError> {
        let too_far = CalendarError::TooFar { from };
        let date = cal.local_date(from).ok_or(too_far.clone())?;
        Ok(Self {
            from,
            // The day before too: on a fold at midnight its last slot may reach past `from`.
            date: date.pred_opt().ok_or(too_far)?,
            last,
            walked: 0,
            closed_in_a_row: 0,
        })
    }

    /// Whether the walk has passed its last date.
    fn finished(&self) -> bool {
        self.last.is_some_and(|last| self.date > last)
    }

    /// The spans of the next date.
    fn day(&mut self, cal: &BusinessCalendar) -> Result<Vec<Span>, CalendarError> {
        if self.walked >= MAX_WALK_DAYS {
            return Err(CalendarError::TooFar { from: self.from });
        }
        // A walk to a last date is bounded by it: closed days are then an answer, not a
        // sign of a calendar that never opens.
        if self.last.is_none() && self.closed_in_a_row >= NEVER_OPEN_DAYS {
            return Err(CalendarError::NeverOpen { from: self.from });
        }
        let spans = cal.spans_on(self.date);
        self.walked += 1;
        self.closed_in_a_row = if spans.is_empty() {
            self.closed_in_a_row + 1
        } else {
            0
        };
        self.date = self
            .date
            .succ_opt()
            .ok_or(CalendarError::TooFar { from: self.from })?;
        Ok(spans)
    }
}

/// Open spans in order, disjoint, none before the floor.
struct Spans<'a> {
    walk: Walk,
    cal: &'a BusinessCalendar,
    floor: i64,
    buf: std::vec::IntoIter<Span>,
    done: bool,
}

impl Iterator for Spans<'_> {
    type Item = Result<Span, CalendarError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            for (a, b) in self.buf.by_ref() {
                let a = a.max(self.floor);
                if a < b {
                    self.floor = b;
                    return Some(Ok((a, b)));
                }
            }
            if self.done || self.walk.finished() {
                return None;
            }
            match self.walk.day(self.cal) {
                Ok(spans) => self.buf = spans.into_iter(),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The calendar as configuration data.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarSpec {
    time_zone: String,
    #[serde(default)]
    week: WeekSpec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    holidays: Vec<NaiveDate>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeekSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mon: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tue: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    wed: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    thu: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fri: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sat: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sun: Vec<[String; 2]>,
}

impl TryFrom<CalendarSpec> for BusinessCalendar {
    type Error = ValidationError;

    fn try_from(spec: CalendarSpec) -> Result<Self, ValidationError> {
        let zone: Tz = spec.time_zone.trim().parse().map_err(|_| {
            ValidationError::new(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone like Europe/Berlin",
                    spec.time_zone
                ),
            )
        })?;
        let w = spec.week;
        let days = [w.mon, w.tue, w.wed, w.thu, w.fri, w.sat, w.sun];
        let mut week: [Vec<Slot>; 7] = Default::default();
        for (i, day) in days.iter().enumerate() {
            for (j, [start, end]) in day.iter().enumerate() {
                let slot = Slot::parse(start, end).map_err(|e| {
                    ValidationError::new(format!("week.{}[{j}]", WEEKDAYS[i]), e.problem)
                })?;
                week[i].push(slot);
            }
        }
        Self::new(zone, week, spec.holidays)
    }
}

impl From<BusinessCalendar> for CalendarSpec {
    fn from(cal: BusinessCalendar) -> Self {
        let day = |i: usize| -> Vec<[String; 2]> {
            cal.week[i]
                .iter()
                .map(|s| [hms(s.start), hms(s.end)])
                .collect()
        };
        Self {
            time_zone: cal.zone.name().to_owned(),
            week: WeekSpec {
                mon: day(0),
                tue: day(1),
                wed: day(2),
                thu: day(3),
                fri: day(4),
                sat: day(5),
                sun: day(6),
            },
            holidays: cal.holidays.iter().copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    use switchboard_domain::parse_instant;

    use super::*;

    fn at(s: &str) -> Timestamp {
        parse_instant(s).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn hours(h: u64) -> Duration {
        Duration::from_secs(h * 3600)
    }

    fn slot(a: &str, b: &str) -> Slot {
        Slot::parse(a, b).unwrap()
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    /// Mon–Fri 08:00–12:00 and 13:00–18:00 in Berlin; closed 24–26 December 2026
    /// (Thursday to Saturday).
    fn office() -> BusinessCalendar {
        BusinessCalendar::weekly(
            berlin(),
            &[Mon, Tue, Wed, Thu, Fri],
            &[slot("08:00", "12:00"), slot("13:00", "18:00")],
            [date("2026-12-24"), date("2026-12-25"), date("2026-12-26")],
        )
        .unwrap()
    }

    /// Every day, `slots`, in Berlin.
    fn every_day(slots: &[Slot]) -> BusinessCalendar {
        BusinessCalendar::weekly(berlin(), &[Mon, Tue, Wed, Thu, Fri, Sat, Sun], slots, []).unwrap()
    }

    #[test]
    fn open_inside_slots_only_ends_exclusive() {
        let cal = office();
        // Friday 2026-03-27.
        for (t, open) in [
            ("2026-03-27T08:00:00+01:00", true),
            ("2026-03-27T07:59:59.999+01:00", false),
            ("2026-03-27T11:59:59.999+01:00", true),
            ("2026-03-27T12:00:00+01:00", false),
            ("2026-03-27T12:30:00+01:00", false),
            ("2026-03-27T13:00:00+01:00", true),
            ("2026-03-27T18:00:00+01:00", false),
            ("2026-03-28T10:00:00+01:00", false),
            ("2026-12-24T10:00:00+01:00", false),
            ("2026-12-23T10:00:00+01:00", true),
        ] {
            assert_eq!(cal.is_open(at(t)), open, "{t}");
        }
    }

    #[test]
    fn next_open_skips_lunch_weekends_and_holidays() {
        let cal = office();
        let check = |t: &str, expected: &str| {
            assert_eq!(cal.next_open(at(t)).unwrap(), at(expected), "{t}");
        };
        check("2026-03-27T09:15:00+01:00", "2026-03-27T09:15:00+01:00");
        check("2026-03-27T12:15:00+01:00", "2026-03-27T13:00:00+01:00");
        // Over the weekend of the spring change: Monday opens in summer time.
        check("2026-03-27T18:00:00+01:00", "2026-03-30T08:00:00+02:00");
        check("2026-12-23T18:30:00+01:00", "2026-12-28T08:00:00+01:00");
    }

    #[test]
    fn business_time_is_added_over_lunch_weekends_and_holidays() {
        let cal = office();
        let check = |t: &str, h: u64, expected: &str| {
            assert_eq!(
                cal.add_business(at(t), hours(h)).unwrap(),
                at(expected),
                "{t} + {h}h"
            );
            assert_eq!(cal.business_between(at(t), at(expected)).unwrap(), hours(h));
        };
        // The last hour of Friday ends at the close, not at Monday's opening.
        check("2026-03-27T17:00:00+01:00", 1, "2026-03-27T18:00:00+01:00");
        check("2026-03-27T17:00:00+01:00", 2, "2026-03-30T09:00:00+02:00");
        check("2026-03-30T11:30:00+02:00", 1, "2026-03-30T13:30:00+02:00");
        check("2026-03-28T03:00:00+01:00", 3, "2026-03-30T11:00:00+02:00");
        // Thursday to Saturday are holidays: Wednesday evening's next hour is Monday's.
        check("2026-12-23T17:00:00+01:00", 2, "2026-12-28T09:00:00+01:00");
        assert_eq!(
            cal.add_business(at("2026-03-28T03:00:00+01:00"), Duration::ZERO)
                .unwrap(),
            at("2026-03-28T03:00:00+01:00")
        );
        // A whole week: 5 × 9 hours.
        assert_eq!(
            cal.business_between(
                at("2026-03-23T00:00:00+01:00"),
                at("2026-03-30T00:00:00+02:00")
            )
            .unwrap(),
            hours(45)
        );
        assert_eq!(
            cal.business_between(
                at("2026-03-30T10:00:00+02:00"),
                at("2026-03-30T09:00:00+02:00")
            )
            .unwrap(),
            Duration::ZERO
        );
    }

    #[test]
    fn promises_in_working_days_end_at_the_close_of_the_nth_day_after_today() {
        let cal = office();
        let check = |t: &str, n: u32, expected: &str| {
            assert_eq!(
                cal.add_business_days(at(t), n).unwrap(),
                at(expected),
                "{t} + {n} days"
            );
        };
        // Monday morning or evening: three full working days, Thursday at closing time.
        check("2026-03-23T09:00:00+01:00", 3, "2026-03-26T18:00:00+01:00");
        check("2026-03-23T17:55:00+01:00", 3, "2026-03-26T18:00:00+01:00");
        check("2026-03-23T22:00:00+01:00", 3, "2026-03-26T18:00:00+01:00");
        // Friday and Saturday: Wednesday (summer time by then).
        check("2026-03-27T10:00:00+01:00", 3, "2026-04-01T18:00:00+02:00");
        check("2026-03-28T10:00:00+01:00", 3, "2026-04-01T18:00:00+02:00");
        // Over the Christmas holidays: Wednesday 23rd + 1 is Monday 28th.
        check("2026-12-23T10:00:00+01:00", 1, "2026-12-28T18:00:00+01:00");
        // "Today": this evening's close, or the next business day's once closed.
        check("2026-03-23T09:00:00+01:00", 0, "2026-03-23T18:00:00+01:00");
        check("2026-03-23T18:00:00+01:00", 0, "2026-03-24T18:00:00+01:00");
        check("2026-03-28T10:00:00+01:00", 0, "2026-03-30T18:00:00+02:00");
    }

    #[test]
    fn the_spring_change_shortens_slots_across_it_and_empties_slots_inside_it() {
        // Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        let cal = every_day(&[slot("00:00", "06:00"), slot("08:00", "12:00")]);
        let day = cal.hours_on(date("2026-03-29"));
        assert_eq!(
            day,
            vec![
                (
                    at("2026-03-29T00:00:00+01:00"),
                    at("2026-03-29T06:00:00+02:00")
                ),
                (
                    at("2026-03-29T08:00:00+02:00"),
                    at("2026-03-29T12:00:00+02:00")
                ),
            ]
        );
        assert_eq!(day[0].1.since(day[0].0), hours(5));
        let whole_day = cal
            .business_between(
                at("2026-03-29T00:00:00+01:00"),
                at("2026-03-30T00:00:00+02:00"),
            )
            .unwrap();
        assert_eq!(whole_day, hours(9));
        assert_eq!(
            cal.add_business(at("2026-03-29T01:30:00+01:00"), hours(1))
                .unwrap(),
            at("2026-03-29T03:30:00+02:00")
        );

        let skipped = every_day(&[slot("02:00", "02:30"), slot("10:00", "11:00")]);
        assert_eq!(
            skipped.hours_on(date("2026-03-29")),
            vec![(
                at("2026-03-29T10:00:00+02:00"),
                at("2026-03-29T11:00:00+02:00")
            )]
        );
        // A slot starting in the skipped hour starts at the change.
        let half = every_day(&[slot("02:30", "04:00")]);
        assert_eq!(
            half.hours_on(date("2026-03-29")),
            vec![(at("2026-03-29T01:00:00Z"), at("2026-03-29T04:00:00+02:00"))]
        );
    }

    #[test]
    fn the_autumn_change_lengthens_slots_across_it() {
        // Sunday 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00 UTC).
        let cal = every_day(&[slot("00:00", "06:00")]);
        let day = cal.hours_on(date("2026-10-25"));
        assert_eq!(day.len(), 1);
        assert_eq!(day[0].1.since(day[0].0), hours(7));
        // A slot starting and ending in the doubled hour: first 02:30 to the second 02:45.
        let doubled = every_day(&[slot("02:30", "02:45")]);
        assert_eq!(
            doubled.hours_on(date("2026-10-25")),
            vec![(
                at("2026-10-25T02:30:00+02:00"),
                at("2026-10-25T02:45:00+01:00")
            )]
        );
        // One unbroken stretch: open also while the clock shows 02:00–02:30 the second time.
        let across = every_day(&[slot("02:30", "04:00")]);
        assert!(across.is_open(at("2026-10-25T02:15:00+01:00")));
        assert_eq!(
            across
                .business_between(
                    at("2026-10-25T00:00:00+02:00"),
                    at("2026-10-26T00:00:00+01:00")
                )
                .unwrap(),
            Duration::from_secs(150 * 60)
        );
        // Slots touching in the doubled hour are merged, not counted twice.
        let touching = every_day(&[slot("01:00", "02:30"), slot("02:30", "04:00")]);
        assert_eq!(
            touching.hours_on(date("2026-10-25")),
            vec![(
                at("2026-10-25T01:00:00+02:00"),
                at("2026-10-25T04:00:00+01:00")
            )]
        );
        assert_eq!(
            cal.add_business(at("2026-10-25T05:00:00+01:00"), hours(2))
                .unwrap(),
            at("2026-10-26T01:00:00+01:00")
        );
    }

    #[test]
    fn a_round_the_clock_calendar_counts_real_time_on_change_days() {
        let cal = every_day(&[slot("00:00", "24:00")]);
        let between = |a: &str, b: &str| cal.business_between(at(a), at(b)).unwrap();
        assert_eq!(
            between("2026-03-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
            hours(47)
        );
        assert_eq!(
            between("2026-10-24T00:00:00+02:00", "2026-10-26T00:00:00+01:00"),
            hours(49)
        );
        assert_eq!(
            cal.add_business_days(at("2026-03-28T10:00:00+01:00"), 1)
                .unwrap(),
            at("2026-03-30T00:00:00+02:00")
        );
    }

    #[test]
    fn a_calendar_that_never_opens_again_errors_instead_of_searching_forever() {
        // Open on Mondays only, and every Monday of four years is a holiday.
        let first = date("2026-01-05");
        let mondays = (0..210).map(|w| first + chrono::Days::new(w * 7));
        let cal =
            BusinessCalendar::weekly(berlin(), &[Mon], &[slot("08:00", "09:00")], mondays).unwrap();
        let t = at("2026-01-01T00:00:00+01:00");
        assert_eq!(cal.next_open(t), Err(CalendarError::NeverOpen { from: t }));
        assert_eq!(
            cal.add_business(t, hours(1)),
            Err(CalendarError::NeverOpen { from: t })
        );
        assert_eq!(
            cal.add_business_days(t, 1),
            Err(CalendarError::NeverOpen { from: t })
        );
        // A bounded question still has its answer.
        assert_eq!(
            cal.business_between(t, at("2029-12-31T00:00:00+01:00"))
                .unwrap(),
            Duration::ZERO
        );
        assert_eq!(
            office().business_between(t, Timestamp::from_millis(i64::MAX / 4)),
            Err(CalendarError::TooFar { from: t })
        );
        assert_eq!(
            office().add_business_days(t, u32::MAX),
            Err(CalendarError::TooFar { from: t })
        );
    }

    #[test]
    fn slots_and_calendars_are_built_valid_only() {
        let problem = |r: Result<Slot, ValidationError>| r.unwrap_err().problem;
        assert!(problem(Slot::parse("12:00", "08:00")).contains("before it ends"));
        assert!(problem(Slot::parse("24:00", "24:00")).contains("only end"));
        assert!(problem(Slot::parse("8:00", "12:00")).contains("08:30"));
        assert!(problem(Slot::parse("08:60", "12:00")).contains("08:30"));
        assert!(problem(Slot::from_secs(0, 90_000)).contains("crosses midnight"));
        assert_eq!(slot("08:00:30", "24:00").to_string(), "08:00:30–24:00");

        let mut week: [Vec<Slot>; 7] = Default::default();
        week[1] = vec![slot("13:00", "18:00"), slot("08:00", "13:30")];
        let e = BusinessCalendar::new(berlin(), week, []).unwrap_err();
        assert_eq!(e.field, "week.tue");
        assert!(
            e.problem.contains("08:00–13:30 and 13:00–18:00 overlap"),
            "{e}"
        );
        let e = BusinessCalendar::new(berlin(), Default::default(), []).unwrap_err();
        assert_eq!(e.field, "week");
        // Touching slots are fine.
        let mut week: [Vec<Slot>; 7] = Default::default();
        week[0] = vec![slot("08:00", "12:00"), slot("12:00", "13:00")];
        assert!(BusinessCalendar::new(berlin(), week, []).is_ok());
    }

    #[test]
    fn calendars_are_read_and_written_as_data() {
        let day = r#"[["08:00","12:00"],["13:00","18:00"]]"#;
        let json = format!(
            r#"{{"time_zone":"Europe/Berlin","week":{{"mon":{day},"tue":{day},"wed":{day},"thu":{day},"fri":{day}}},"holidays":["2026-12-24","2026-12-25","2026-12-26"]}}"#
        );
        let json = json.as_str();
        let cal: BusinessCalendar = serde_json::from_str(json).unwrap();
        assert_eq!(cal, office());
        assert_eq!(serde_json::to_string(&cal).unwrap(), json);
        let err = |json: &str| {
            serde_json::from_str::<BusinessCalendar>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(r#"{"time_zone":"Mars/Olympus","week":{"mon":[["08:00","12:00"]]}}"#)
                .contains("time_zone")
        );
        assert!(
            err(r#"{"time_zone":"UTC","week":{"tue":[["08:00","12:00"],["13:00","12:00"]]}}"#)
                .contains("week.tue[1]")
        );
        assert!(
            err(r#"{"time_zone":"UTC","week":{"mon":[["08:00","12:00"]]},"hours":1}"#)
                .contains("unknown field")
        );
    }
}
