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
    http::{HeaderMap, StatusCode},
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
        Delivery,
    },
    surveys::{SurveyRequest, SurveyScale},
};

use crate::{
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";
/// How far a hook's timestamp may be from our clock.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(300);

/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`: what a sender puts in
/// [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
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
    let expected = sign(&integration.secret, timestamp, &body);
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(unauthorized(
            "bad_signature",
            "unknown integration or wrong signature",
        ));
    }
    let delivery: Delivery = serde_json::from_slice(&body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string())
        } else {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
        }
    })?;
    Ok(Json(state.app.call_hook(&integration_id, delivery).await?))
}

/// `POST /api/v1/cti/{token}` — the Zammad generic CTI format.
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
    let json_body = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: cti::Fields = if json_body {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
        cti::fields_from_json(value).map_err(|e| ApiError::invalid(&e))?
    } else {
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
    };
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
