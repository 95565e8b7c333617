//! Fixtures and the round-trip check shared by the wire tests.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use switchboard_domain::{AgentId, ContactId, QueueId, Timestamp};

pub fn contact() -> ContactId {
    "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap()
}

pub fn agent(id: &str) -> AgentId {
    AgentId::parse(id).unwrap()
}

pub fn queue(id: &str) -> QueueId {
    QueueId::parse(id).unwrap()
}

/// 2026-12-07 15:00:00 UTC.
pub fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(1_796_655_600_000 + offset_ms)
}

/// Serialises `value` as it goes on the wire, checks that reading that text back gives the
/// same value, and returns the JSON.
pub fn round_trip<T>(value: &T) -> Value
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).unwrap();
    let back: T =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text} does not read back: {e}"));
    assert_eq!(&back, value, "{text} reads back as something else");
    serde_json::from_str(&text).unwrap()
}

/// Reads `text` as a `T`, and the error message if it is refused.
pub fn read<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}
