//! The bounded, validated pieces of a ticket: texts, custom fields, teams, evidence.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use switchboard_domain::{Timestamp, ValidationError};

/// Longest subject, in characters.
pub const MAX_SUBJECT_LEN: usize = 200;
/// Longest description, note, reply, resolution or evidence content, in characters.
pub const MAX_NOTE_LEN: usize = 10_000;
/// At most this many custom fields on a ticket.
pub const MAX_CUSTOM_FIELDS: usize = 32;
/// Longest custom-field key (letters, digits, `_`, `-`, `.`), in bytes.
pub const MAX_FIELD_KEY_LEN: usize = 64;
/// Longest custom-field value, in characters.
pub const MAX_FIELD_VALUE_LEN: usize = 1_000;
/// Longest team name, in characters.
const MAX_TEAM_LEN: usize = 100;
/// Longest caller number or seat, in characters.
const MAX_SHORT_LEN: usize = 64;

/// A text that must say something: not blank, at most `max` characters, no control
/// characters but line breaks and tabs when `multiline`.
pub(crate) fn check_text(
    field: &str,
    text: &str,
    max: usize,
    multiline: bool,
) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    optional_text(field, text, max, multiline)
}

/// The same, but an empty text is allowed.
pub(crate) fn optional_text(
    field: &str,
    text: &str,
    max: usize,
    multiline: bool,
) -> Result<(), ValidationError> {
    let len = text.chars().count();
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters, not {len}"),
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(ValidationError::new(
            field,
            format!("must not contain the control character {bad:?}"),
        ));
    }
    Ok(())
}

/// Extra fields a ticket type carries (an appointment's address and slot, a return's order
/// number…): a bounded map of short keys to texts. Which keys a type expects is
/// configuration for the application; here only the bounds are checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CustomFields(BTreeMap<String, String>);

impl CustomFields {
    /// Validates every entry and the count.
    ///
    /// # Errors
    /// [`ValidationError`] on `custom_fields` (too many) or `custom_fields.<key>`.
    pub fn new(fields: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        if fields.len() > MAX_CUSTOM_FIELDS {
            return Err(ValidationError::new(
                "custom_fields",
                format!(
                    "at most {MAX_CUSTOM_FIELDS} custom fields, not {}",
                    fields.len()
                ),
            ));
        }
        for (key, value) in &fields {
            check_field(key, Some(value))?;
        }
        Ok(Self(fields))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets (`Some`) or removes (`None`) one field, without checks: the caller checked with
    /// [`CustomFields::check_set`].
    pub(crate) fn set(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.0.insert(key.to_owned(), v.to_owned());
            }
            None => {
                self.0.remove(key);
            }
        }
    }

    /// Whether setting `key` to `value` keeps the map valid.
    pub(crate) fn check_set(&self, key: &str, value: Option<&str>) -> Result<(), ValidationError> {
        check_field(key, value)?;
        if value.is_some() && !self.0.contains_key(key) && self.0.len() >= MAX_CUSTOM_FIELDS {
            return Err(ValidationError::new(
                "custom_fields",
                format!("at most {MAX_CUSTOM_FIELDS} custom fields"),
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for CustomFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CustomFields::new(BTreeMap::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

fn check_field(key: &str, value: Option<&str>) -> Result<(), ValidationError> {
    if key.is_empty() || key.len() > MAX_FIELD_KEY_LEN {
        return Err(ValidationError::new(
            "custom_fields",
            format!("a key is 1 to {MAX_FIELD_KEY_LEN} characters"),
        ));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ValidationError::new(
            "custom_fields",
            format!("a key may only contain letters, digits and _ - . (found {bad:?})"),
        ));
    }
    if let Some(value) = value {
        optional_text(
            &format!("custom_fields.{key}"),
            value,
            MAX_FIELD_VALUE_LEN,
            true,
        )?;
    }
    Ok(())
}

/// The team that owns a ticket (free text, like an agent's team: 1–100 characters, one line).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Team(String);

impl Team {
    /// # Errors
    /// [`ValidationError`] (field `team`) when blank, too long or with control characters.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        check_text("team", raw, MAX_TEAM_LEN, false)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Team {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Team::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What an agent records of a special call (harassment, a threat), as evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: SpecialCallKind,
    /// The number the call came from, as the telephony reported it (may be withheld:
    /// `anonymous`).
    pub caller_number: String,
    /// When the call was received.
    pub received_at: Timestamp,
    /// The seat (agent position or agent number) that took it.
    pub seat: String,
    /// What was said, as close to verbatim as the agent can.
    pub content: String,
}

/// The special calls that become tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialCallKind {
    Harassment,
    Threat,
}

impl Evidence {
    /// # Errors
    /// [`ValidationError`] on `evidence.caller_number`, `evidence.seat`, `evidence.content`
    /// (blank or too long) or `evidence.received_at` (after `now`).
    pub fn check(&self, now: Timestamp) -> Result<(), ValidationError> {
        check_text(
            "evidence.caller_number",
            &self.caller_number,
            MAX_SHORT_LEN,
            false,
        )?;
        check_text("evidence.seat", &self.seat, MAX_SHORT_LEN, false)?;
        check_text("evidence.content", &self.content, MAX_NOTE_LEN, true)?;
        if self.received_at > now {
            return Err(ValidationError::new(
                "evidence.received_at",
                "a call cannot be received after it is recorded",
            ));
        }
        Ok(())
    }
}
