//! Identifiers. Names chosen by operators (agents, queues, skills, reason codes) are validated
//! once, at the edge, and are cheap to clone afterwards (`Arc<str>` inside).

use std::{fmt, str::FromStr, sync::Arc};

use serde::{Deserialize, Serialize};
use uuid::{Builder, Uuid};

use crate::{Timestamp, ValidationError};

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Checks an operator-chosen name (1–64 characters of letters, digits and `-_.@`), naming
/// `field` in the error.
///
/// # Errors
/// [`ValidationError`] saying what is wrong.
pub fn check_name(field: &str, raw: &str) -> Result<(), ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    // Letters, digits and `-_.@` only: names end up inside Redis keys, URLs and CSV files,
    // so `:`, `{`, `}`, spaces and control characters are kept out.
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@')))
    {
        return Err(ValidationError::new(
            field,
            format!("may only contain letters, digits and - _ . @ (found {bad:?})"),
        ));
    }
    Ok(())
}

/// A name type: a validated operator-chosen name (1–64 characters of letters, digits and
/// `-_.@`, checked by [`check_name`] under `$field`), cheap to clone, written and read as
/// a string. Exported for the other pure crates' names (the help desk's policy and calendar
/// ids), so that every name in the system obeys one rule.
#[macro_export]
macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(::std::sync::Arc<str>);

        impl $name {
            /// Validates `raw`: 1–64 characters of letters, digits and `-_.@`.
            ///
            /// # Errors
            /// [`ValidationError`]($crate::ValidationError) naming the field.
            pub fn parse(raw: &str) -> ::std::result::Result<Self, $crate::ValidationError> {
                $crate::check_name($field, raw)?;
                Ok(Self(::std::sync::Arc::from(raw)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ValidationError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let raw =
                    <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                Self::parse(&raw).map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}

name_type!(
    /// An agent, as the operator names it (often the login or the agent number).
    AgentId,
    "agent_id"
);
name_type!(
    /// A queue (e.g. `billing`, `support-fr`).
    QueueId,
    "queue_id"
);
name_type!(
    /// A skill (e.g. `billing`, `lang-fr`, `vip`).
    SkillName,
    "skill"
);
name_type!(
    /// Why an agent is away (e.g. `break`, `lunch`, `no-answer`, `disconnected`).
    ReasonCode,
    "reason"
);

impl ReasonCode {
    /// Set by the dispatcher after too many missed offers in a row.
    pub fn no_answer() -> Self {
        Self(Arc::from("no-answer"))
    }
}

/// A contact (call, chat, e-mail, ticket, callback). Chosen by whoever creates the contact, so
/// that creating it twice (a retried hook) is recognisable and many instances need no shared
/// counter.
///
/// Usually a UUID v7 (time-ordered) built by [`ContactId::from_parts`] from an instant and
/// random bits the creator supplies: the domain reads no clock and draws no random number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactId(Uuid);

impl ContactId {
    /// The UUID v7 of a contact created at `at` with the creator's `random` bits.
    ///
    /// The first 48 bits are `at` in milliseconds since the epoch (clamped to what they hold:
    /// 1970 to the year 10889), so ids order by creation time first. Of `random`, 74 bits are
    /// kept, in order: the version takes the high four bits of `random[0]` and the variant the
    /// high two of `random[2]`. Equal parts give equal ids.
    pub fn from_parts(at: Timestamp, random: [u8; 10]) -> Self {
        const MAX_MILLIS: i64 = (1 << 48) - 1;
        let millis = at.as_millis().clamp(0, MAX_MILLIS).unsigned_abs();
        Self(Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContactId({})", self.0)
    }
}

impl FromStr for ContactId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| ValidationError::new("contact_id", "must be a UUID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_usual_shapes() {
        for ok in [
            "a",
            "agent-17",
            "support_fr",
            "lang.fr",
            "jane@acme",
            &"x".repeat(64),
        ] {
            assert!(AgentId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn names_reject_what_would_break_keys_or_urls() {
        for bad in ["", "a b", "a:b", "{tenant}", "é", "a/b", &"x".repeat(65)] {
            let err = QueueId::parse(bad).unwrap_err();
            assert_eq!(err.field, "queue_id", "{bad}");
        }
    }

    #[test]
    fn names_validate_when_deserialised() {
        assert!(serde_json::from_str::<SkillName>("\"lang-fr\"").is_ok());
        assert!(serde_json::from_str::<SkillName>("\"lang fr\"").is_err());
    }

    #[test]
    fn contact_ids_round_trip_as_strings() {
        let id = ContactId::from_parts(Timestamp::from_millis(1_767_603_600_000), [7; 10]);
        let back: ContactId = id.to_string().parse().unwrap();
        assert_eq!(id, back);
        assert!("not-a-uuid".parse::<ContactId>().is_err());
    }

    #[test]
    fn contact_ids_are_uuid_v7_of_their_parts() {
        let at = Timestamp::from_millis(1_767_603_600_123);
        let id = ContactId::from_parts(at, [0xff; 10]).as_uuid();
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let mut millis = [0; 8];
        millis[2..].copy_from_slice(&id.as_bytes()[..6]);
        assert_eq!(i64::from_be_bytes(millis), at.as_millis());
        // Everything but the version and variant bits comes from `random`.
        assert_eq!(
            &id.as_bytes()[6..],
            &[0x7f, 0xff, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        // Out-of-range instants are clamped, not wrapped.
        let before_epoch = ContactId::from_parts(Timestamp::from_millis(-5), [0; 10]);
        assert_eq!(&before_epoch.as_uuid().as_bytes()[..6], &[0; 6]);
        let far = ContactId::from_parts(Timestamp::from_millis(i64::MAX), [0; 10]);
        assert_eq!(&far.as_uuid().as_bytes()[..6], &[0xff; 6]);
    }

    #[test]
    fn contact_ids_order_by_time_then_random_bits() {
        let t = Timestamp::from_millis;
        let ids = [
            ContactId::from_parts(t(1_000), [0xff; 10]),
            ContactId::from_parts(t(1_001), [0; 10]),
            ContactId::from_parts(t(1_001), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ContactId::from_parts(t(1_001), [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ];
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }
}
