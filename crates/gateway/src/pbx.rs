//! Outbound webhooks to the PBX (we-route mode): when the ACD offers a call to an agent, the
//! PBX must ring that agent's extension (`call.ring`); when the agent accepts on the console,
//! connect it (`call.connect`); when the offer ends unanswered, stop ringing (`call.cancel`).
//! A callback ([`for_callback`]) rings nothing while offered; when the agent accepts it the
//! PBX is told to dial (`call.dial`, with `number` and `due`): call the agent and the
//! customer's number and connect them. Only for a callback that was a call of this PBX: one
//! with no PBX call behind it is dialled by the agent (the console's offer shows the number).
//!
//! Two tasks per instance:
//! - the **planner** follows the dispatcher's events and turns offers of PBX calls (of an
//!   integration with a `callback_url`) into deliveries in the database. A delivery's id is
//!   derived from the dispatcher event, which is identical on every instance, so with many
//!   instances the first to insert it wins and the others' inserts change nothing;
//! - the **deliverer** claims due deliveries with a lease (so one instance sends each),
//!   POSTs them signed like the inbound hooks (HMAC-SHA256 over `"{timestamp}.{body}"` with
//!   the integration's secret, headers `x-switchboard-timestamp`, `x-switchboard-signature`,
//!   `x-switchboard-event-id`), and retries failures with exponential backoff (0.5 s, 1 s,
//!   2 s, 4 s, 8 s). A 2xx answer is success; other 4xx answers (but 408/429) are final.
//!   Every attempt's outcome is stored (`GET /api/v1/integrations/{id}/deliveries`) and
//!   counted (`switchboard_pbx_webhook_attempts_total`); giving up is logged as an error.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Query, State},
    http::StatusCode,
    Json,
};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{
    Agent, AgentId, ContactId, Event, EventKind, Integration, QueueId, Timestamp, ValidationError,
};
use switchboard_protocol::pbx::{
    CancelReason, DialInstruction, OfferInstruction, PbxAgent, Webhook,
};
use switchboard_store::{NewWebhook, WebhookAttempt, WebhookDelivery};
use tokio::sync::{broadcast, Notify};

use crate::{
    error::{ApiError, ApiPath},
    hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER},
    state::AppState,
};

pub const EVENT_ID_HEADER: &str = "x-switchboard-event-id";
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 6;
const FIRST_RETRY: Duration = Duration::from_millis(500);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a worker holds a claimed delivery before another may take it.
const LEASE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(500);
const BATCH: u32 = 32;

/// What the PBX is told about one offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub step: Step,
    pub contact: ContactId,
    pub queue: QueueId,
    pub agent: AgentId,
}

/// `call.ring` (until `deadline`), `call.connect`, `call.cancel` (with why) or, for a
/// callback, `call.dial` (the number and the time promised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Ring { deadline: Timestamp },
    Connect,
    Cancel { reason: CancelReason },
    Dial(Dial),
}

/// A callback owed: the number to dial, the time promised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub number: String,
    pub due: Option<Timestamp>,
}

/// What the PBX is told about an offer of a callback (the caller hung up; nobody is on the
/// line): nothing while it is offered, rejected, missed or withdrawn — the agent's console
/// shows the offer with the number, and nothing rings —, and `call.dial` when the agent
/// accepts: the PBX calls the agent and the customer's number and connects them.
pub fn for_callback(i: Instruction, dial: &Dial) -> Option<Instruction> {
    matches!(i.step, Step::Connect).then(|| Instruction {
        step: Step::Dial(dial.clone()),
        ..i
    })
}

/// The instruction a dispatcher event stands for, if any. An offer withdrawn because the
/// caller hung up needs none: the PBX knows, it told us.
pub fn instruction(e: &Event) -> Option<Instruction> {
    let make = |step, contact: &ContactId, queue: &QueueId, agent: &AgentId| Instruction {
        step,
        contact: *contact,
        queue: queue.clone(),
        agent: agent.clone(),
    };
    match &e.kind {
        EventKind::ContactOffered {
            contact,
            queue,
            agent,
            deadline,
        } => Some(make(
            Step::Ring {
                deadline: *deadline,
            },
            contact,
            queue,
            agent,
        )),
        EventKind::OfferAccepted {
            contact,
            queue,
            agent,
            ..
        } => Some(make(Step::Connect, contact, queue, agent)),
        EventKind::OfferRejected {
            contact,
            queue,
            agent,
        } => Some(make(
            Step::Cancel {
                reason: CancelReason::Rejected,
            },
            contact,
            queue,
            agent,
        )),
        EventKind::OfferTimedOut {
            contact,
            queue,
            agent,
        } => Some(make(
            Step::Cancel {
                reason: CancelReason::TimedOut,
            },
            contact,
            queue,
            agent,
        )),
        EventKind::OfferWithdrawn {
            contact,
            queue,
            agent,
            reason,
        } => {
            let reason = CancelReason::of_withdrawal(*reason)?;
            Some(make(Step::Cancel { reason }, contact, queue, agent))
        }
        _ => None,
    }
}

/// Backoff before retry number `attempts` (1 = after the first failure).
pub fn backoff(attempts: i64) -> Duration {
    FIRST_RETRY * 2u32.pow(attempts.clamp(1, 10) as u32 - 1)
}

/// The planner: dispatcher events → deliveries. Wakes the deliverer when it queued one.
pub async fn plan(state: AppState, wake: Arc<Notify>) {
    let mut events = state.dispatcher.subscribe();
    // contact → its PBX call (integration, call id), or `None` for a contact that is not a
    // call of a PBX (a chat, an e-mail…), learnt from arrivals; the database answers only for
    // contacts that arrived before this instance started.
    let mut calls: HashMap<ContactId, Option<(String, String)>> = HashMap::new();
    // contact → the callback it became (`None`: a contact that is not, or not yet, one).
    let mut callbacks: HashMap<ContactId, Option<Dial>> = HashMap::new();
    let mut integrations = Integrations::default();
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(
                    missed = n,
                    "the PBX webhook planner fell behind the dispatcher; instructions for those events are not sent"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match &e.kind {
            EventKind::ContactQueued {
                contact,
                attributes,
                ..
            } => {
                let call = attributes
                    .get("integration")
                    .zip(attributes.get("call_id"))
                    .map(|(i, c)| (i.clone(), c.clone()));
                calls.insert(*contact, call);
                callbacks.insert(*contact, None);
                continue;
            }
            EventKind::CallbackRequested {
                contact,
                number,
                due,
                ..
            } => {
                let dial = Dial {
                    number: number.clone(),
                    due: *due,
                };
                callbacks.insert(*contact, Some(dial));
                continue;
            }
            EventKind::ContactAbandoned { contact, .. }
            | EventKind::ContactCompleted { contact, .. }
            | EventKind::ContactExited { contact, .. } => {
                calls.remove(contact);
                callbacks.remove(contact);
                continue;
            }
            _ => {}
        }
        let Some(instruction) = instruction(&e) else {
            continue;
        };
        let instruction = match callback_of(&state, &mut callbacks, instruction.contact).await {
            Ok(None) => instruction,
            Ok(Some(dial)) => match for_callback(instruction, &dial) {
                Some(dial) => dial,
                None => continue,
            },
            Err(err) => {
                tracing::error!(error = ?err, event = e.id.0, "could not tell whether this contact is a callback");
                instruction
            }
        };
        match queue_instruction(&state, &mut calls, &mut integrations, &e, &instruction).await {
            Ok(true) => wake.notify_one(),
            Ok(false) => {}
            Err(err) => tracing::error!(
                error = ?err,
                event = e.id.0,
                "could not queue the PBX webhook for this offer"
            ),
        }
    }
}

/// Integrations' callback URLs as last read, so that offers do not each read the database;
/// a change shows within [`INTEGRATION_TTL`].
#[derive(Debug, Default)]
struct Integrations(HashMap<String, (std::time::Instant, Option<String>)>);

const INTEGRATION_TTL: Duration = Duration::from_secs(30);

impl Integrations {
    async fn callback_url(
        &mut self,
        state: &AppState,
        id: &str,
    ) -> Result<Option<String>, ApiError> {
        if let Some((at, url)) = self.0.get(id) {
            if at.elapsed() < INTEGRATION_TTL {
                return Ok(url.clone());
            }
        }
        let url = state
            .store
            .get::<Integration>(id)
            .await?
            .and_then(|v| v.doc.callback_url);
        self.0
            .insert(id.to_owned(), (std::time::Instant::now(), url.clone()));
        Ok(url)
    }
}

/// The callback the contact became, if it became one: from the events followed, else (a
/// contact queued before this instance started) its `callback_requested` in the event log.
async fn callback_of(
    state: &AppState,
    callbacks: &mut HashMap<ContactId, Option<Dial>>,
    contact: ContactId,
) -> Result<Option<Dial>, ApiError> {
    if let Some(known) = callbacks.get(&contact) {
        return Ok(known.clone());
    }
    let filter = switchboard_store::EventFilter {
        contact: Some(contact),
        kind: Some("callback_requested".into()),
        limit: 1,
        ..switchboard_store::EventFilter::default()
    };
    let dial = state
        .store
        .events(&filter)
        .await?
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::CallbackRequested { number, due, .. } => Some(Dial { number, due }),
            _ => None,
        });
    callbacks.insert(contact, dial.clone());
    Ok(dial)
}

async fn queue_instruction(
    state: &AppState,
    calls: &mut HashMap<ContactId, Option<(String, String)>>,
    integrations: &mut Integrations,
    e: &Event,
    i: &Instruction,
) -> Result<bool, ApiError> {
    let call = match calls.get(&i.contact) {
        Some(call) => call.clone(),
        None => {
            let call = state.store.call_of_contact(i.contact).await?;
            calls.insert(i.contact, call.clone());
            call
        }
    };
    let Some((integration_id, call_id)) = call else {
        return Ok(false); // not a PBX call (a chat, an e-mail…)
    };
    let Some(url) = integrations.callback_url(state, &integration_id).await? else {
        return Ok(false); // the PBX routes its calls itself
    };
    let agent = state
        .store
        .get::<Agent>(i.agent.as_str())
        .await?
        .map(|v| v.doc);
    let id = format!("{integration_id}:{}:{}", e.at.as_millis(), e.id.0);
    let offer = |deadline, reason| OfferInstruction {
        event_id: id.clone(),
        call_id: call_id.clone(),
        contact_id: i.contact,
        queue: i.queue.clone(),
        agent: PbxAgent {
            id: i.agent.clone(),
            extension: agent.as_ref().and_then(|a| a.extension.clone()),
            number: agent.as_ref().map(|a| a.number.clone()),
        },
        deadline,
        reason,
        at: e.at,
    };
    let webhook = match &i.step {
        Step::Ring { deadline } => Webhook::Ring(offer(Some(*deadline), None)),
        Step::Connect => Webhook::Connect(offer(None, None)),
        Step::Cancel { reason } => Webhook::Cancel(offer(None, Some(*reason))),
        // Nothing rings, nothing is cancelled: the number to dial and the promised time.
        Step::Dial(dial) => Webhook::Dial(DialInstruction {
            event_id: id.clone(),
            call_id: Some(call_id.clone()),
            contact_id: i.contact,
            queue: i.queue.clone(),
            number: dial.number.clone(),
            due: dial.due,
            agent: PbxAgent {
                id: i.agent.clone(),
                extension: agent.as_ref().and_then(|a| a.extension.clone()),
                number: agent.as_ref().map(|a| a.number.clone()),
            },
            at: e.at,
        }),
    };
    let body = switchboard_protocol::to_sorted_json(&webhook).map_err(ApiError::internal)?;
    Ok(state
        .store
        .queue_webhook(
            &NewWebhook {
                id: &id,
                integration_id: &integration_id,
                kind: webhook.kind(),
                url: &url,
                body: &body,
            },
            e.at,
        )
        .await?)
}

/// The deliverer: sends due deliveries, each claimed so that one instance sends it.
pub async fn deliver(state: AppState, wake: Arc<Notify>) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    loop {
        let now = state.clock.now();
        let mut full = false;
        match state.store.due_webhooks(now, BATCH).await {
            Ok(due) => {
                full = due.len() == BATCH as usize;
                for d in due {
                    match state.store.claim_webhook(&d.id, now, LEASE).await {
                        Ok(true) => {
                            tokio::spawn(attempt(state.clone(), client.clone(), d));
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "could not claim a PBX webhook"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read due PBX webhooks"),
        }
        if !full {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

async fn attempt(state: AppState, client: Client<HttpConnector, Full<Bytes>>, d: WebhookDelivery) {
    let secret = match state.store.get::<Integration>(&d.integration_id).await {
        Ok(Some(i)) => Some(i.doc.secret),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the integration of a PBX webhook");
            return; // the lease runs out and the delivery is tried again
        }
    };
    let result = match secret {
        Some(secret) => send(&client, &d, &secret).await,
        None => Err(("the integration was deleted".to_owned(), None, true)),
    };
    let now = state.clock.now();
    let attempts = d.attempts + 1;
    let outcome = match &result {
        Ok(status) => WebhookAttempt::Delivered { status: *status },
        Err((error, status, final_)) if *final_ || attempts >= MAX_ATTEMPTS => {
            WebhookAttempt::GaveUp {
                error,
                status: *status,
            }
        }
        Err((error, status, _)) => WebhookAttempt::Retry {
            at: now.plus(backoff(attempts)),
            error,
            status: *status,
        },
    };
    let label = match outcome {
        WebhookAttempt::Delivered { .. } => "delivered",
        WebhookAttempt::Retry { .. } => "retry",
        WebhookAttempt::GaveUp { error, .. } => {
            tracing::error!(
                delivery = %d.id,
                integration = %d.integration_id,
                attempts,
                error,
                "gave up a PBX webhook"
            );
            "failed"
        }
    };
    state.metrics.observe_webhook(label);
    if let Err(e) = state
        .store
        .record_webhook_attempt(&d.id, now, outcome)
        .await
    {
        tracing::warn!(error = %e, delivery = %d.id, "could not record a PBX webhook attempt");
    }
}

/// One POST. `Err((why, status, final))`: `final` = retrying cannot help.
async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    d: &WebhookDelivery,
    secret: &str,
) -> Result<u16, (String, Option<u16>, bool)> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|t| t.as_secs() as i64)
        .unwrap_or_default();
    let request = hyper::Request::post(&d.url)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(secret, timestamp, d.body.as_bytes()))
        .header(EVENT_ID_HEADER, &d.id)
        .body(Full::new(Bytes::from(d.body.clone())))
        .map_err(|e| (format!("bad request: {e}"), None, true))?;
    match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request)).await {
        Err(_) => Err(("timed out after 5 s".to_owned(), None, false)),
        Ok(Err(e)) => Err((format!("{e}"), None, false)),
        Ok(Ok(response)) => {
            let status = response.status();
            let code = status.as_u16();
            if status.is_success() {
                Ok(code)
            } else {
                let retryable = status.is_server_error() || matches!(code, 408 | 425 | 429);
                Err((format!("the PBX answered {status}"), Some(code), !retryable))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `GET /api/v1/integrations/{id}/deliveries`: the latest outbound webhooks and how they
/// went, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    ApiPath(integration): ApiPath<String>,
    query: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "pending" | "delivered" | "failed") {
            return Err(ApiError::invalid(&ValidationError::new(
                "status",
                "must be pending, delivered or failed",
            )));
        }
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(&ValidationError::new(
            "limit",
            "must be 1 to 1000",
        )));
    }
    if state
        .store
        .get::<Integration>(&integration)
        .await?
        .is_none()
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such integration",
        ));
    }
    let rows = state
        .store
        .webhooks(&integration, q.status.as_deref(), limit)
        .await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "kind": d.kind,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "last_error": d.last_error,
                "last_status": d.last_status,
                "created_at": d.created_at,
                "delivered_at": d.delivered_at,
                "body": serde_json::from_str::<Value>(&d.body).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_rings_nothing_and_is_dialled_on_accept() {
        let contact: ContactId = "0190f0c4-0000-7000-8000-000000000001".parse().unwrap();
        let base = Instruction {
            step: Step::Ring {
                deadline: Timestamp::from_millis(5),
            },
            contact,
            queue: QueueId::parse("sales").unwrap(),
            agent: AgentId::parse("ann").unwrap(),
        };
        let dial = Dial {
            number: "+15550100".into(),
            due: Some(Timestamp::from_millis(9)),
        };
        let cancel = Step::Cancel {
            reason: CancelReason::TimedOut,
        };
        for step in [base.step.clone(), cancel] {
            let i = Instruction {
                step: step.clone(),
                ..base.clone()
            };
            assert_eq!(for_callback(i, &dial), None, "{step:?}");
        }
        let connect = Instruction {
            step: Step::Connect,
            ..base
        };
        let out = for_callback(connect.clone(), &dial).expect("a dial");
        assert_eq!(out.step, Step::Dial(dial));
        assert_eq!((out.contact, out.agent), (connect.contact, connect.agent));
    }

    #[test]
    fn backoff_doubles_from_half_a_second() {
        let waits: Vec<u128> = (1..=5).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000]);
    }
}
