//! The telephony side at the HTTP edge: how a PBX or IVR tells us about calls, and how
//! chats, e-mails and tickets are created. This module checks signatures and tokens and
//! parses bodies; what the events do is the application's (`switchboard_app::calls`, and
//! `switchboard_app::intake` for every door's contacts).
//!
//! - **Generic signed hooks**, `POST /api/v1/hooks/{integration_id}`: JSON events
//!   `call.arrived`, `call.answered`, `call.held`, `call.resumed`, `call.transferred`,
//!   `call.ended`, `call.callback_requested`, each with a
//!   sender-chosen `event_id`. Signed with HMAC-SHA256 over
//!   `"{timestamp}.{body}"` with the integration's secret (`x-switchboard-timestamp`: Unix
//!   seconds; `x-switchboard-signature: sha256=<hex>`); a timestamp more than 5 minutes off is
//!   refused. Idempotent: a repeated `event_id` gets the first answer again and changes
//!   nothing. Tolerant of order: a hang-up before the arrival keeps the call from being
//!   queued later; a hold for a call no longer handled is answered "ignored", never an error
//!   that makes the PBX retry forever.
//! - **Zammad generic CTI**, `POST /api/v1/cti/{token}` (JSON or form-encoded): `newCall`,
//!   `answer`, `hangup`, so PBX bridges that already speak it work unchanged — but made
//!   idempotent: a repeated `newCall` or a `hangup` for an unknown call is answered `{}`.
//! - **Contacts API**, `POST /api/v1/contacts`: chats, e-mails, tickets (any channel) created
//!   by a signed-in supervisor or admin.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use switchboard_app::intake::{Admission, Intake};
use switchboard_protocol::{
    contacts::{ContactCreated, ContactRequest},
    hooks::{
        cti::{self, CtiAnswer, CtiEvent},
        CallEvent, Delivery,
    },
    surveys::{SurveyRequest, SurveyScale},
};

use crate::{
    error::{ApiError, ApiJson, ApiPath, ErrorDetails},
    state::AppState,
};

pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";
/// How far a hook's timestamp may be from our clock.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(300);

/// The HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`, not yet finalised.
fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`: what a sender puts in
/// [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let hex: String = mac(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Whether `signature` (`sha256=<hex>`, as [`sign`] makes it) is the signature of `body` at
/// `timestamp` under `secret`. The tags are compared by the `hmac` crate (`verify_slice`,
/// constant time), never by hand.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(tag) = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(decode_hex)
    else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&tag).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// The request's media type (`Content-Type` without its parameters), lowercase.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

fn unsupported_media_type(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("send Content-Type: {expected}"),
    )
}

/// 422 `unknown_event`: a well-formed request of an event type we do not know. (Answering
/// it 200 would tell the sender it was handled.)
fn unknown_event(field: &str, known: &[&str]) -> ApiError {
    let problem = format!("unknown event type; use one of {}", known.join(", "));
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_event",
        format!("{field}: {problem}"),
    )
    .with_details(ErrorDetails::Invalid {
        field: field.to_owned(),
        problem,
    })
}

/// `POST /api/v1/hooks/{integration_id}`
pub async fn generic(
    State(state): State<AppState>,
    ApiPath(integration_id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // Unknown integration and wrong signature look the same to the caller.
    let integration = state
        .app
        .hook_integration(&integration_id)
        .await?
        .ok_or_else(|| unauthorized("bad_signature", "unknown integration or wrong signature"))?;
    let timestamp: i64 = headers
        .get(TIMESTAMP_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            unauthorized(
                "bad_signature",
                "missing or malformed x-switchboard-timestamp",
            )
        })?;
    let now = state.app.now();
    let skew = (now.as_millis() / 1000 - timestamp).unsigned_abs();
    if skew > REPLAY_WINDOW.as_secs() {
        return Err(unauthorized(
            "stale_request",
            "the timestamp is more than 5 minutes off",
        ));
    }
    let given = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !verify(&integration.secret, timestamp, &body, given) {
        return Err(unauthorized(
            "bad_signature",
            "unknown integration or wrong signature",
        ));
    }
    // Signed: now what it says is worth reading.
    if media_type(&headers).as_deref() != Some("application/json") {
        return Err(unsupported_media_type("application/json"));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
    if let Some(kind) = value.get("type").and_then(Value::as_str) {
        if !CallEvent::TYPES.contains(&kind) {
            return Err(unknown_event("type", &CallEvent::TYPES));
        }
    }
    let delivery: Delivery = serde_json::from_value(value)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))?;
    Ok(Json(state.app.call_hook(&integration_id, delivery).await?))
}

/// `POST /api/v1/cti/{token}` — the Zammad generic CTI format, JSON or form-encoded.
pub async fn cti(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CtiAnswer>, ApiError> {
    let integration = state
        .app
        .cti_integration(&token)
        .await?
        .ok_or_else(|| unauthorized("unauthorized", "unknown CTI token"))?;
    let fields: cti::Fields = match media_type(&headers).as_deref() {
        Some("application/json") => {
            let value: Value = serde_json::from_slice(&body).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string())
            })?;
            cti::fields_from_json(value).map_err(|e| ApiError::invalid(&e))?
        }
        Some("application/x-www-form-urlencoded") => {
            let mut map = cti::Fields::new();
            for (k, v) in form_urlencoded::parse(&body) {
                let key = k.trim_end_matches("[]").to_owned();
                map.entry(key)
                    .and_modify(|e| {
                        e.push(',');
                        e.push_str(&v)
                    })
                    .or_insert_with(|| v.into_owned());
            }
            map
        }
        _ => {
            return Err(unsupported_media_type(
                "application/x-www-form-urlencoded or application/json",
            ))
        }
    };
    if let Some(event) = fields.get("event").map(|e| e.trim()) {
        if !event.is_empty() && !CtiEvent::EVENTS.contains(&event) {
            return Err(unknown_event("event", &CtiEvent::EVENTS));
        }
    }
    let event = CtiEvent::from_fields(&fields).map_err(|e| ApiError::invalid(&e))?;
    Ok(Json(
        state
            .app
            .cti_event(&integration.integration_id, event)
            .await?,
    ))
}

/// `POST /api/v1/contacts`: 201 with the contact's place; 409 `refused` when its queue
/// refuses contacts while nobody is logged in.
pub async fn create_contact(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ContactRequest>,
) -> Result<(StatusCode, Json<ContactCreated>), ApiError> {
    let intake = Intake {
        queue: req.queue,
        channel: req.channel,
        skills: req.skills,
        urgency: req.urgency,
        tier: req.tier,
        attributes: req.attributes,
        call: None,
    };
    match state.app.intake(intake).await? {
        Admission::Admitted(a) => Ok((
            StatusCode::CREATED,
            Json(ContactCreated {
                contact_id: a.contact,
                queue: a.queue,
                state: a.stage,
                position: a.position,
                estimated_wait: a.estimated_wait,
            }),
        )),
        Admission::Refused { .. } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            "no agent is logged in to this queue, and it refuses contacts then",
        )),
        Admission::CallEnded => Err(ApiError::internal(
            "a contact without a PBX call cannot have ended before it arrived",
        )),
    }
}

/// `POST /api/v1/surveys`: feeds CSAT and NPS in the reports.
pub async fn survey(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SurveyRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .record_survey(switchboard_stats::SurveyAnswer {
            contact: req.contact_id,
            score: req.score,
            scale: match req.scale {
                SurveyScale::Csat5 => switchboard_stats::SurveyScale::Csat5,
                SurveyScale::Nps10 => switchboard_stats::SurveyScale::Nps10,
            },
        })
        .await?;
    Ok(StatusCode::CREATED)
}
