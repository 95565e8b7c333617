//! The Zammad "generic CTI" format, `POST /api/v1/cti/{token}`, so that PBX bridges that
//! already speak it work unchanged.
//!
//! A request is a flat set of fields, form-encoded or a JSON object (`user[]` and JSON arrays
//! are joined with commas): `event` (`newCall`, `answer`, `hangup`), `callId`, `direction`
//! (`in` or `out`), `from`, `to`, `user`, `queue`, `answeringNumber`, `cause`. The gateway
//! turns the body into [`Fields`] (form decoding is its business; [`fields_from_json`] is
//! here), [`CtiEvent::from_fields`] reads them, and the answer is a [`CtiAnswer`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_domain::{QueueId, ValidationError, MAX_NAME_LEN};

use super::{check_call_id, check_text, MAX_NUMBER, MAX_TEXT};

/// A request's fields by name (`user[]` already named `user`), values as sent.
pub type Fields = BTreeMap<String, String>;

/// The fields of a JSON body: strings as they are, arrays of strings joined with commas, any
/// other value as its JSON text. A key `name[]` is `name`.
pub fn fields_from_json(body: Value) -> Result<Fields, ValidationError> {
    let Value::Object(map) = body else {
        return Err(ValidationError::new("body", "must be a JSON object"));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            (k.trim_end_matches("[]").to_owned(), text)
        })
        .collect())
}

/// Which way a call goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Inbound: it enters the ACD. (`newCall` must say which; for `answer` and `hangup`,
    /// which need none, this is what an absent `direction` reads as.)
    #[default]
    In,
    /// Outbound, placed by an agent: not ours to route.
    Out,
}

/// A CTI event, read from its [`Fields`] by [`CtiEvent::from_fields`]; serialised, it is the
/// JSON body a bridge sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "event")]
pub enum CtiEvent {
    #[serde(rename = "newCall")]
    NewCall {
        #[serde(rename = "callId")]
        call_id: String,
        direction: Direction,
        /// The queue: the `queue` field, else the queue's name in `to`. Always there for an
        /// inbound call; for an outbound one only if it names a queue.
        #[serde(skip_serializing_if = "Option::is_none")]
        queue: Option<QueueId>,
        /// The caller's number.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// Somebody picked up: `user` (an agent id) or `answeringNumber` (an extension).
    #[serde(rename = "answer")]
    Answer {
        #[serde(rename = "callId")]
        call_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        #[serde(rename = "answeringNumber", skip_serializing_if = "Option::is_none")]
        answering_number: Option<String>,
    },
    #[serde(rename = "hangup")]
    Hangup {
        #[serde(rename = "callId")]
        call_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
    },
}

impl CtiEvent {
    /// Every `event` a request may carry; anything else is refused (`unknown_event`).
    pub const EVENTS: [&'static str; 3] = ["newCall", "answer", "hangup"];

    /// Reads an event from its fields (trimmed; an empty field counts as absent). Checked in
    /// this order: `event` present and known, `callId` present and valid, `direction` `in`
    /// or `out` (and present for `newCall`), the text fields within their limits and free of
    /// control characters (`from` and `answeringNumber` ≤ [`MAX_NUMBER`], `to` — a number or
    /// a queue's name — ≤ [`MAX_NAME_LEN`], `user` and `cause` ≤ [`MAX_TEXT`]), and a new
    /// inbound call's queue (`queue`, else `to`) a valid queue id. Fields it does not read
    /// are ignored.
    pub fn from_fields(fields: &Fields) -> Result<Self, ValidationError> {
        let field = |name: &str| fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
        let event = field("event").ok_or_else(|| ValidationError::new("event", "is required"))?;
        if !Self::EVENTS.contains(&event) {
            return Err(unknown_event(event));
        }
        let call_id = field("callId")
            .ok_or_else(|| ValidationError::new("callId", "is required"))?
            .to_owned();
        check_call_id(&call_id)?;
        let direction = match field("direction") {
            None if event == "newCall" => {
                return Err(ValidationError::new(
                    "direction",
                    "is required for newCall: in or out",
                ))
            }
            None | Some("in") => Direction::In,
            Some("out") => Direction::Out,
            Some(_) => return Err(ValidationError::new("direction", "must be in or out")),
        };
        for (name, max) in [
            ("from", MAX_NUMBER),
            ("answeringNumber", MAX_NUMBER),
            ("to", MAX_NAME_LEN),
            ("user", MAX_TEXT),
            ("cause", MAX_TEXT),
            ("queue", MAX_NAME_LEN),
        ] {
            if let Some(value) = field(name) {
                check_text(name, value, max)?;
            }
        }
        let owned = |name: &str| field(name).map(str::to_owned);
        match event {
            "newCall" => {
                let name = field("queue").or(field("to"));
                let queue = match (direction, name) {
                    (Direction::Out, name) => name.and_then(|n| QueueId::parse(n).ok()),
                    (Direction::In, None) => return Err(missing_queue()),
                    (Direction::In, Some(name)) => {
                        Some(QueueId::parse(name).map_err(|mut e| {
                            e.field = "queue".into();
                            e
                        })?)
                    }
                };
                Ok(CtiEvent::NewCall {
                    call_id,
                    direction,
                    queue,
                    from: owned("from"),
                    to: owned("to"),
                    user: owned("user"),
                })
            }
            "answer" => Ok(CtiEvent::Answer {
                call_id,
                user: owned("user"),
                answering_number: owned("answeringNumber"),
            }),
            "hangup" => Ok(CtiEvent::Hangup {
                call_id,
                cause: owned("cause"),
            }),
            other => Err(unknown_event(other)),
        }
    }
}

fn unknown_event(event: &str) -> ValidationError {
    // Bounded: the name is echoed back.
    let shown: String = event.chars().take(40).collect();
    ValidationError::new(
        "event",
        format!("unknown event {shown:?}; use newCall, answer or hangup"),
    )
}

/// The refusal of an inbound `newCall` that names no queue.
pub fn missing_queue() -> ValidationError {
    ValidationError::new("queue", "newCall needs a queue (or the queue's name in to)")
}

/// The answer to a CTI request: `{}`, or `{"action": "reject", "reason": "busy"}` for a new
/// call the queue refuses (nobody is logged in to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum CtiAnswer {
    Reject {
        action: CtiAction,
        reason: CtiRejectReason,
    },
    Done {},
}

impl CtiAnswer {
    /// `{"action": "reject", "reason": "busy"}`.
    pub const BUSY: CtiAnswer = CtiAnswer::Reject {
        action: CtiAction::Reject,
        reason: CtiRejectReason::Busy,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CtiAction {
    Reject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CtiRejectReason {
    Busy,
}
