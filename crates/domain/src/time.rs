//! Time as data. Nothing in the domain, the routing policy or the stats reads a clock: the
//! caller passes `now` as a [`Timestamp`].

use std::{fmt, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC. Millisecond resolution is what a contact center
/// needs (service levels are measured in seconds) and keeps the value a cheap `i64` that
/// Redis scores and SQL columns hold exactly.
///
/// Written as that number. Read from the number, or from an RFC 3339 string
/// (`2026-03-29T01:00:00+01:00`, `…Z`, fractions kept to the millisecond), or from a string
/// of digits (a query string's number).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("milliseconds since the epoch, or an RFC 3339 time")
            }
            fn visit_i64<E: serde::de::Error>(self, ms: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(ms))
            }
            fn visit_u64<E: serde::de::Error>(self, ms: u64) -> Result<Timestamp, E> {
                i64::try_from(ms)
                    .map(Timestamp)
                    .map_err(|_| E::custom("milliseconds out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Timestamp, E> {
                if let Ok(ms) = s.parse::<i64>() {
                    return Ok(Timestamp(ms));
                }
                DateTime::parse_from_rfc3339(s)
                    .map(|t| Timestamp(t.timestamp_millis()))
                    .map_err(|_| {
                        E::custom(format!(
                            "{:?} is not a time: use milliseconds since the epoch or RFC 3339 \
                             (2026-03-29T01:00:00+01:00)",
                            s.chars().take(40).collect::<String>()
                        ))
                    })
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// `self + d`, saturating at the end of time.
    pub fn plus(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
    }

    /// How long after `earlier` this is; zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0)
    }

    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t.timestamp_millis())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            None => write!(f, "Timestamp({})", self.0),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Serde for a [`Duration`] written as a number of seconds (fractions allowed), the unit
/// operators think in: `offer_timeout = 15`, `after = 0.5`.
pub mod duration_secs {
    use std::time::Duration;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Longest duration accepted: one year. Anything longer in a queue setting is a typo.
    const MAX_SECS: f64 = 366.0 * 24.0 * 3600.0;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        if !(0.0..=MAX_SECS).contains(&secs) {
            return Err(D::Error::custom(
                "must be a number of seconds between 0 and one year",
            ));
        }
        // Whole milliseconds: the resolution of every timestamp.
        Ok(Duration::from_millis((secs * 1000.0).round() as u64))
    }

    /// The same for `Option<Duration>`.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Duration);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let t = Timestamp::from_millis(1_000);
        assert_eq!(t.plus(Duration::from_millis(500)).as_millis(), 1_500);
        assert_eq!(Timestamp::from_millis(400).since(t), Duration::ZERO);
        assert_eq!(
            t.since(Timestamp::from_millis(400)),
            Duration::from_millis(600)
        );
        assert_eq!(
            Timestamp::from_millis(i64::MAX - 1)
                .plus(Duration::from_secs(9))
                .as_millis(),
            i64::MAX
        );
    }

    #[test]
    fn durations_are_seconds_on_the_wire() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct S(#[serde(with = "duration_secs")] Duration);
        let s: S = serde_json::from_str("1.5").unwrap();
        assert_eq!(s.0, Duration::from_millis(1_500));
        assert_eq!(serde_json::to_string(&s).unwrap(), "1.5");
        assert!(serde_json::from_str::<S>("-1").is_err());
        assert!(serde_json::from_str::<S>("1e12").is_err());
    }

    #[test]
    fn times_are_read_as_milliseconds_or_rfc_3339_and_written_as_milliseconds() {
        let read = |json: &str| serde_json::from_str::<Timestamp>(json);
        let t = Timestamp::from_millis(1_774_746_000_000);
        assert_eq!(read("1774746000000").unwrap(), t);
        assert_eq!(read("\"1774746000000\"").unwrap(), t);
        assert_eq!(read("\"2026-03-29T01:00:00Z\"").unwrap(), t);
        assert_eq!(read("\"2026-03-29T03:00:00+02:00\"").unwrap(), t);
        assert_eq!(
            read("\"2026-03-29T01:00:00.2509Z\"").unwrap(),
            t.plus(Duration::from_millis(250))
        );
        assert_eq!(serde_json::to_string(&t).unwrap(), "1774746000000");
        for bad in [
            "1.5",
            "\"yesterday\"",
            "\"2026-03-29\"",
            "true",
            "18446744073709551615",
        ] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("RFC 3339") || e.contains("range"), "{bad}: {e}");
        }
    }
}
