//! The telephony side: how a PBX or IVR tells us about calls, and how chats, e-mails and
//! tickets are created.
//!
//! - **Generic signed hooks**, `POST /api/v1/hooks/{integration_id}`: JSON events
//!   `call.arrived`, `call.answered`, `call.held`, `call.resumed`, `call.transferred`,
//!   `call.ended`, `call.callback_requested` (see `crate::callback`), each with a
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

use std::{collections::BTreeMap, time::Duration};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use switchboard_dispatch::{DispatchError, QueueBackend};
use switchboard_domain::{
    AgentId, Channel, Command, ContactId, ContactState, EventKind, Integration, IntegrationKind,
    NewContact, Tier, TransferTarget, Urgency, ValidationError,
};
use switchboard_protocol::{
    contacts::{ContactCreated, ContactRequest, Stage},
    hooks::{
        check_event_id,
        cti::{self, CtiAnswer, CtiEvent, Direction},
        CallEvent, Delivery, Done, HookAnswer,
    },
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

fn check_call_id(call_id: &str) -> Result<(), ApiError> {
    switchboard_protocol::hooks::check_call_id(call_id).map_err(|e| ApiError::invalid(&e))
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
        .store
        .get::<Integration>(&integration_id)
        .await?
        .map(|v| v.doc)
        .filter(|i| i.kind == IntegrationKind::Generic)
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
    let now = state.clock.now();
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
    check_event_id(&delivery.event_id).map_err(|e| ApiError::invalid(&e))?;
    if let Some(previous) = state
        .store
        .hook_response(&integration_id, &delivery.event_id)
        .await?
    {
        // A retry: the same answer, nothing done again.
        return serde_json::from_str(&previous)
            .map(Json)
            .map_err(ApiError::internal);
    }
    let answer = handle(&state, &integration_id, delivery.event).await?;
    let answer = serde_json::to_value(&answer).map_err(ApiError::internal)?;
    state
        .store
        .save_hook_response(
            &integration_id,
            &delivery.event_id,
            &answer.to_string(),
            now,
        )
        .await?;
    Ok(Json(answer))
}

/// What a call event does. Errors are only for requests that can never succeed as sent;
/// anything that is merely late or out of order is answered `ignored`.
async fn handle(
    state: &AppState,
    integration: &str,
    event: CallEvent,
) -> Result<HookAnswer, ApiError> {
    match event {
        CallEvent::Arrived {
            call_id,
            queue,
            caller,
            dialed,
            skills,
            language,
            customer,
            customer_name,
            tier,
            urgency,
            ivr,
        } => {
            check_call_id(&call_id)?;
            let mut attributes: BTreeMap<String, String> = ivr
                .into_iter()
                .map(|(k, v)| (format!("ivr.{k}"), v))
                .collect();
            for (key, value) in [
                ("caller", caller),
                ("dialed", dialed),
                ("language", language),
                ("customer", customer),
                ("customer_name", customer_name),
            ] {
                if let Some(v) = value {
                    attributes.insert(key.into(), v);
                }
            }
            attributes.insert("call_id".into(), call_id.clone());
            let new = NewContact {
                id: switchboard_dispatch::fresh_contact_id(state.clock.now()),
                queue,
                channel: Channel::Voice,
                skills,
                urgency,
                tier,
                attributes,
            };
            arrive(state, integration, &call_id, new).await
        }
        CallEvent::Ended { call_id, cause } => {
            check_call_id(&call_id)?;
            end(state, integration, &call_id, cause).await
        }
        CallEvent::CallbackRequested {
            call_id,
            number,
            due,
        } => {
            check_call_id(&call_id)?;
            crate::callback::from_hook(state, integration, &call_id, &number, due).await
        }
        CallEvent::Answered { call_id, agent } => {
            check_call_id(&call_id)?;
            let Some(contact) = known_contact(state, integration, &call_id).await? else {
                return Ok(HookAnswer::ignored("unknown call", None));
            };
            answered(state, contact, agent).await
        }
        CallEvent::Held { call_id } => {
            apply_to_call(state, integration, &call_id, |contact| Command::Hold {
                contact,
            })
            .await
        }
        CallEvent::Resumed { call_id } => {
            apply_to_call(state, integration, &call_id, |contact| Command::Resume {
                contact,
            })
            .await
        }
        CallEvent::Transferred {
            call_id,
            queue,
            agent,
        } => {
            let to = match (queue, agent) {
                (Some(q), None) => TransferTarget::Queue(q),
                (None, Some(a)) => TransferTarget::Agent(a),
                _ => {
                    return Err(ApiError::invalid(&ValidationError::new(
                        "queue",
                        "name exactly one of queue or agent",
                    )));
                }
            };
            apply_to_call(state, integration, &call_id, move |contact| {
                Command::Transfer { contact, to }
            })
            .await
        }
    }
}

async fn known_contact(
    state: &AppState,
    integration: &str,
    call_id: &str,
) -> Result<Option<ContactId>, ApiError> {
    Ok(state
        .store
        .call(integration, call_id)
        .await?
        .and_then(|c| c.contact_id))
}

/// Runs a command on the call's contact; a call no longer in a state for it is `ignored`.
async fn apply_to_call(
    state: &AppState,
    integration: &str,
    call_id: &str,
    command: impl FnOnce(ContactId) -> Command,
) -> Result<HookAnswer, ApiError> {
    check_call_id(call_id)?;
    let Some(contact) = known_contact(state, integration, call_id).await? else {
        return Ok(HookAnswer::ignored("unknown call", None));
    };
    match state
        .dispatcher
        .execute(command(contact), state.clock.now())
        .await
    {
        Ok(_) => Ok(HookAnswer::applied(contact)),
        Err(e @ (DispatchError::UnknownContact(_) | DispatchError::InvalidTransition { .. })) => {
            Ok(HookAnswer::ignored(e.to_string(), Some(contact)))
        }
        Err(e) => Err(e.into()),
    }
}

/// A call enters the ACD (once, whatever the retries): the answer carries the contact id,
/// its position and the estimated wait for the IVR to announce.
async fn arrive(
    state: &AppState,
    integration: &str,
    call_id: &str,
    new: NewContact,
) -> Result<HookAnswer, ApiError> {
    let now = state.clock.now();
    let record = state
        .store
        .claim_call(integration, call_id, new.id, now)
        .await?;
    if record.ended_at.is_some() {
        return Ok(HookAnswer::ignored("the call already ended", None));
    }
    let Some(contact) = record.contact_id else {
        return Ok(HookAnswer::ignored("the call already ended", None));
    };
    let queue = new.queue.clone();
    let mut new = new;
    // Which PBX the call is on: the outbound webhooks (`pbx.rs`) find it by this.
    new.attributes
        .insert("integration".into(), integration.to_owned());
    // Who the customer is, for repeat-contact detection: the IVR's reference, else the
    // caller's number.
    let customer = new
        .attributes
        .get("customer")
        .or(new.attributes.get("caller"))
        .cloned();
    let new = NewContact { id: contact, ..new };
    match state.dispatcher.execute(Command::Enqueue(new), now).await {
        Ok(events) => {
            if events
                .iter()
                .any(|e| matches!(e.kind, EventKind::ContactRefused { .. }))
            {
                return Ok(HookAnswer::Refused {
                    reason: "no agent is logged in to this queue".into(),
                    contact_id: contact,
                });
            }
        }
        // A retry of an arrival that was queued already.
        Err(DispatchError::DuplicateContact(_)) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some(customer) = customer {
        state
            .store
            .set_contact_customer(contact, &customer, now)
            .await?;
    }
    let position = state.dispatcher.position(contact, now).await?;
    Ok(HookAnswer::Ok(Done::Queued {
        contact_id: contact,
        queue,
        position: position.as_ref().map(|p| p.position),
        estimated_wait: position.and_then(|p| p.estimated_wait),
    }))
}

/// The caller hung up: a waiting or ringing call is abandoned, a call in conversation ends
/// (wrap-up starts). A hang-up first, arrival later: the arrival is then ignored. A call
/// that became a callback is not abandoned while it waits or rings (the caller hung up on
/// purpose); once an agent has it, the hang-up of its call id ends the conversation as for
/// any call.
async fn end(
    state: &AppState,
    integration: &str,
    call_id: &str,
    cause: Option<String>,
) -> Result<HookAnswer, ApiError> {
    let now = state.clock.now();
    let contact = known_contact(state, integration, call_id).await?;
    state.store.end_call(integration, call_id, now).await?;
    let Some(contact) = contact else {
        return Ok(HookAnswer::ignored("unknown call", None));
    };
    let command = match state.dispatcher.contact(contact).await? {
        // The caller asked to be called back, then hung up: the callback keeps its place.
        Some(ContactState::Queued { .. } | ContactState::Offered { .. })
            if crate::callback::is_callback(state.dispatcher.as_ref(), contact).await? =>
        {
            return Ok(HookAnswer::ignored(
                "the caller asked to be called back; the callback keeps its place",
                Some(contact),
            ));
        }
        Some(ContactState::Queued { .. } | ContactState::Offered { .. }) => {
            Command::Abandon { contact }
        }
        Some(ContactState::Assigned { .. } | ContactState::Held { .. }) => {
            Command::Complete { contact }
        }
        _ => {
            return Ok(HookAnswer::ignored(
                "the contact is no longer in the ACD",
                Some(contact),
            ))
        }
    };
    match state.dispatcher.execute(command, now).await {
        Ok(_) => Ok(HookAnswer::Ok(Done::Ended {
            contact_id: contact,
            cause,
        })),
        Err(e @ (DispatchError::UnknownContact(_) | DispatchError::InvalidTransition { .. })) => {
            Ok(HookAnswer::ignored(e.to_string(), Some(contact)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The PBX connected the call to `agent`. Ringing at that agent, it is their accept (they
/// picked up the phone); otherwise the PBX routed the call itself (PBX-routes mode) and the
/// agent is now busy with it — taken from the line, or from the agent it rang at. Without an
/// agent, or one who cannot take it (unknown, logged out, busy), the answer is `ignored`
/// with the reason: the PBX must not retry.
async fn answered(
    state: &AppState,
    contact: ContactId,
    agent: Option<AgentId>,
) -> Result<HookAnswer, ApiError> {
    let Some(agent) = agent else {
        return Ok(HookAnswer::ignored("no agent named", Some(contact)));
    };
    match state
        .dispatcher
        .execute(Command::Answer { contact, agent }, state.clock.now())
        .await
    {
        Ok(_) => Ok(HookAnswer::applied(contact)),
        Err(
            e @ (DispatchError::UnknownContact(_)
            | DispatchError::UnknownAgent(_)
            | DispatchError::AgentOffline(_)
            | DispatchError::AgentBusy(_)
            | DispatchError::InvalidTransition { .. }),
        ) => Ok(HookAnswer::ignored(e.to_string(), Some(contact))),
        Err(e) => Err(e.into()),
    }
}

/// The agent a CTI `answer` names: `user` is the agent's id; else `answeringNumber` is
/// matched against the agents' extensions.
async fn cti_agent(
    state: &AppState,
    user: Option<&str>,
    answering_number: Option<&str>,
) -> Result<Option<AgentId>, ApiError> {
    if let Some(agent) = user.and_then(|u| AgentId::parse(u).ok()) {
        return Ok(Some(agent));
    }
    let Some(number) = answering_number else {
        return Ok(None);
    };
    Ok(state
        .store
        .list::<switchboard_domain::Agent>()
        .await?
        .into_iter()
        .find(|a| a.doc.extension.as_deref() == Some(number))
        .map(|a| a.doc.profile.id))
}

/// `POST /api/v1/cti/{token}` — the Zammad generic CTI format.
pub async fn cti(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CtiAnswer>, ApiError> {
    let integration = state
        .store
        .list::<Integration>()
        .await?
        .into_iter()
        .map(|v| v.doc)
        .find(|i| {
            i.kind == IntegrationKind::ZammadCti
                && constant_time_eq(i.secret.as_bytes(), token.as_bytes())
        })
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
    let integration_id = integration.integration_id;
    match event {
        CtiEvent::NewCall {
            direction: Direction::Out,
            ..
        } => Ok(Json(CtiAnswer::Done {})),
        CtiEvent::NewCall {
            call_id,
            queue,
            from,
            to,
            user,
            ..
        } => {
            // `from_fields` names the queue of every inbound call.
            let queue = queue.ok_or_else(|| ApiError::invalid(&cti::missing_queue()))?;
            let mut attributes = BTreeMap::new();
            for (key, value) in [("caller", from), ("to", to), ("user", user)] {
                if let Some(v) = value {
                    attributes.insert(key.to_owned(), v);
                }
            }
            attributes.insert("call_id".into(), call_id.clone());
            let new = NewContact {
                id: switchboard_dispatch::fresh_contact_id(state.clock.now()),
                queue,
                channel: Channel::Voice,
                skills: Vec::new(),
                urgency: Urgency::default(),
                tier: Tier::default(),
                attributes,
            };
            let answer = arrive(&state, &integration_id, &call_id, new).await?;
            if matches!(answer, HookAnswer::Refused { .. }) {
                return Ok(Json(CtiAnswer::BUSY));
            }
            Ok(Json(CtiAnswer::Done {}))
        }
        CtiEvent::Hangup { call_id, cause } => {
            end(&state, &integration_id, &call_id, cause).await?;
            Ok(Json(CtiAnswer::Done {}))
        }
        CtiEvent::Answer {
            call_id,
            user,
            answering_number,
        } => {
            if let Some(contact) = known_contact(&state, &integration_id, &call_id).await? {
                let agent = cti_agent(&state, user.as_deref(), answering_number.as_deref()).await?;
                answered(&state, contact, agent).await?;
            }
            Ok(Json(CtiAnswer::Done {}))
        }
    }
}

/// `POST /api/v1/contacts`
pub async fn create_contact(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ContactRequest>,
) -> Result<(StatusCode, Json<ContactCreated>), ApiError> {
    if req.attributes.len() > 50
        || req
            .attributes
            .iter()
            .any(|(k, v)| k.len() > 64 || v.len() > 1_000)
    {
        return Err(ApiError::invalid(&ValidationError::new(
            "attributes",
            "at most 50, keys ≤ 64 and values ≤ 1000 characters",
        )));
    }
    let now = state.clock.now();
    let new = NewContact {
        id: switchboard_dispatch::fresh_contact_id(now),
        queue: req.queue,
        channel: req.channel,
        skills: req.skills,
        urgency: req.urgency,
        tier: req.tier,
        attributes: req.attributes,
    };
    let (id, queue) = (new.id, new.queue.clone());
    let customer = new.attributes.get("customer").cloned();
    let events = state.dispatcher.execute(Command::Enqueue(new), now).await?;
    if let Some(customer) = customer {
        state.store.set_contact_customer(id, &customer, now).await?;
    }
    if events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ContactRefused { .. }))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refused",
            "no agent is logged in to this queue, and it refuses contacts then",
        ));
    }
    let position = state.dispatcher.position(id, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(ContactCreated {
            contact_id: id,
            queue,
            state: state.dispatcher.contact(id).await?.map(|s| Stage::from(&s)),
            position: position.as_ref().map(|p| p.position),
            estimated_wait: position.and_then(|p| p.estimated_wait),
        }),
    ))
}

/// A post-contact survey answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyRequest {
    pub contact_id: ContactId,
    /// `csat5` (1–5) or `nps10` (0–10).
    pub scale: switchboard_stats::SurveyScale,
    pub score: u8,
}

/// `POST /api/v1/surveys`: feeds CSAT and NPS in the reports.
pub async fn survey(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SurveyRequest>,
) -> Result<StatusCode, ApiError> {
    let answer = switchboard_stats::SurveyAnswer {
        contact: req.contact_id,
        score: req.score,
        scale: req.scale,
    };
    answer
        .validate()
        .map_err(|e| ApiError::invalid(&ValidationError::new("score", e.to_string())))?;
    let scale = serde_json::to_value(req.scale)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    state
        .store
        .add_survey_answer(req.contact_id, &scale, req.score, state.clock.now())
        .await?;
    Ok(StatusCode::CREATED)
}
