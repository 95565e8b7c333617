//! The agent console's WebSocket, `GET /api/v1/agent/ws`.
//!
//! Versioned JSON messages, each with a sequence number per agent (`seq`):
//! - server → agent: `hello` (profile, state, the contacts in hand), `offer` (the contact, its
//!   channel and data, the queue's greeting rendered for this agent and customer, the accept
//!   deadline; for a callback — channel `callback` — `callback: {number, due}`, the number to
//!   dial and the promised time),
//!   `offer_withdrawn` (rejected, missed, withdrawn — with why), `assigned`, `ended` (wrap-up
//!   starts), `completed`, `state` (presence), `stats` (every 5 s: handled today, average
//!   handle time, occupancy today — handling over logged-in time, as seen by this instance
//!   since it started —, contacts waiting in the agent's queues and the longest wait), `ack`,
//!   `error`, `pong`;
//! - agent → server: `set_state`, `accept`, `reject`, `hold`, `resume`, `end`, `transfer`,
//!   `wrap_up`, `callback_in_place` (a waiting call of one of their queues becomes a callback,
//!   `crate::callback`), `ping`; an optional `id` is echoed as `in_reply_to`.
//!
//! Every message for an agent is kept in a bounded outbox, so a console that reconnects with
//! `?resume_from=<last seq seen>` gets exactly what it missed; if that is no longer in the
//! outbox (or it reconnects to another instance) it gets a fresh `hello`. Malformed, unknown
//! or out-of-turn messages get an `error` frame and the connection stays up. When an agent's
//! last connection on any live instance closes they are set away (`disconnected`, see
//! `crate::presence`): their offers are withdrawn at once and go to other agents. A console that cannot keep up (its socket's send buffer
//! full for 10 s) is disconnected rather than slowing anyone else.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{
    Agent, AgentId, Channel, Command, ContactId, Event, EventKind, GreetingScript, Tier, Timestamp,
    WrapUp,
};
use switchboard_protocol::{
    console::{Figures, Frame, Request, WithdrawnReason},
    Stamped,
};
use switchboard_stats::{LiveAgentTime, TimeRange};
use tokio::sync::{broadcast, Notify};

use crate::{auth::token_hash, error::ApiError, state::AppState};

/// Messages kept per agent for resuming.
const OUTBOX: usize = 1024;
/// Bytes read from a console's socket at a time (larger messages still arrive whole).
const CONSOLE_READ_BUFFER: usize = 4 * 1024;
/// How long one send may take before the console counts as stuck.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Outbox {
    next_seq: u64,
    messages: VecDeque<(u64, Arc<str>)>,
    /// Messages up to this seq may be gone for lack of room: a console that saw less
    /// cannot resume.
    dropped_upto: u64,
    /// The `stats` message in the outbox, if any: each one supersedes the previous, so only
    /// the latest is kept (an idle console's outbox does not fill up with figures).
    stats_seq: Option<u64>,
    wake: Arc<Notify>,
}

impl Outbox {
    fn push(&mut self, frame: Frame) -> u64 {
        let is_stats = matches!(frame, Frame::Stats(_));
        if let (true, Some(old)) = (is_stats, self.stats_seq.take()) {
            if let Ok(i) = self.messages.binary_search_by_key(&old, |(seq, _)| *seq) {
                self.messages.remove(i);
            }
        }
        self.next_seq += 1;
        let text = Stamped::new(self.next_seq, frame).to_text();
        self.messages.push_back((self.next_seq, Arc::from(text)));
        if is_stats {
            self.stats_seq = Some(self.next_seq);
        }
        while self.messages.len() > OUTBOX {
            if let Some((seq, _)) = self.messages.pop_front() {
                self.dropped_upto = seq;
            }
        }
        self.wake.notify_waiters();
        self.next_seq
    }
}

/// Contact data the offer shows, remembered from `contact_queued` until the contact leaves.
#[derive(Debug, Clone)]
struct ContactInfo {
    channel: Channel,
    tier: Tier,
    attributes: std::collections::BTreeMap<String, String>,
    /// The number to call back and the promised time, once the call became a callback.
    callback: Option<(String, Option<Timestamp>)>,
}

impl ContactInfo {
    /// The call became a callback (`callback_requested`).
    fn became_callback(&mut self, number: &str, due: Option<Timestamp>) {
        self.channel = Channel::Callback;
        self.callback = Some((number.to_owned(), due));
    }
}

/// The outboxes of every agent this instance has seen, fed by the dispatcher's events.
#[derive(Debug, Default)]
pub struct Consoles {
    outboxes: Mutex<HashMap<AgentId, Outbox>>,
    contacts: Mutex<HashMap<ContactId, ContactInfo>>,
    /// Per agent: the day (its UTC midnight, ms), contacts handled that day and their total
    /// handle time (accept to completion), for the agent's own figures.
    handled: Mutex<HashMap<AgentId, (i64, u64, u64)>>,
    /// When each contact was accepted by its agent.
    accepted_at: Mutex<HashMap<(ContactId, AgentId), Timestamp>>,
    /// Per agent: staffed and handling time of the (UTC) day, for the occupancy figure.
    time: Mutex<HashMap<AgentId, LiveAgentTime>>,
    /// Scripts, queues and agent profiles, as offers and figures read them.
    config: Mutex<ConfigCache>,
    queue_figures: Mutex<QueueFigures>,
}

/// The UTC day containing `t`.
fn day_of(t: Timestamp) -> TimeRange {
    let start = t.as_millis().div_euclid(DAY_MS) * DAY_MS;
    TimeRange {
        start: Timestamp::from_millis(start),
        end: Timestamp::from_millis(start + DAY_MS),
    }
}

/// Greeting scripts, queues and agent profiles as last read from the store. Offers (hundreds
/// a second, rendered one after another by the event follower) and every console's figures
/// (every 5 s each) read these; reading the database each time made the follower fall
/// seconds behind under load. A write through this instance clears the cache
/// ([`Consoles::config_changed`]); a write through another instance shows within
/// [`CONFIG_TTL`].
#[derive(Debug, Default)]
struct ConfigCache {
    scripts: Option<(std::time::Instant, Arc<Vec<GreetingScript>>)>,
    queues: Option<(
        std::time::Instant,
        Arc<Vec<switchboard_domain::QueueConfig>>,
    )>,
    agents: HashMap<AgentId, (std::time::Instant, Option<Arc<Agent>>)>,
    /// Bumped by every clearing, so that a read begun before a write is not kept after it.
    generation: u64,
}

/// Per queue: when it was looked at, contacts waiting and the longest wait (ms). A queue
/// snapshot walks every agent, so thousands of consoles share one per queue per second.
type QueueFigures = HashMap<switchboard_domain::QueueId, (std::time::Instant, u32, u64)>;

/// How old the waiting figures in a `stats` frame may be.
const QUEUE_FIGURES_TTL: Duration = Duration::from_secs(1);

/// How long a cached configuration record is used before it is read again.
const CONFIG_TTL: Duration = Duration::from_secs(30);

fn fresh(at: std::time::Instant) -> bool {
    at.elapsed() < CONFIG_TTL
}

const DAY_MS: i64 = 24 * 3_600_000;
/// How often a console gets the agent's own figures.
const STATS_EVERY: Duration = Duration::from_secs(5);

impl Consoles {
    fn with<R>(&self, agent: &AgentId, f: impl FnOnce(&mut Outbox) -> R) -> R {
        let mut boxes = self.outboxes.lock().unwrap_or_else(|p| p.into_inner());
        f(boxes.entry(agent.clone()).or_default())
    }

    fn push(&self, agent: &AgentId, frame: Frame) -> u64 {
        self.with(agent, |o| o.push(frame))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, ConfigCache> {
        self.config.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forget the cached scripts, queues and agent profiles (after a configuration write).
    pub fn config_changed(&self) {
        let mut cache = self.cache();
        *cache = ConfigCache {
            generation: cache.generation + 1,
            ..ConfigCache::default()
        };
    }

    async fn scripts(&self, state: &AppState) -> Option<Arc<Vec<GreetingScript>>> {
        if let Some((at, s)) = &self.cache().scripts {
            if fresh(*at) {
                return Some(s.clone());
            }
        }
        let (read, generation) = (std::time::Instant::now(), self.cache().generation);
        let scripts: Arc<Vec<GreetingScript>> = Arc::new(
            state
                .store
                .list::<GreetingScript>()
                .await
                .ok()?
                .into_iter()
                .map(|v| v.doc)
                .collect(),
        );
        let mut cache = self.cache();
        if cache.generation == generation {
            cache.scripts = Some((read, scripts.clone()));
        }
        Some(scripts)
    }

    async fn queues(&self, state: &AppState) -> Arc<Vec<switchboard_domain::QueueConfig>> {
        if let Some((at, q)) = &self.cache().queues {
            if fresh(*at) {
                return q.clone();
            }
        }
        let (read, generation) = (std::time::Instant::now(), self.cache().generation);
        let Ok(stored) = state.store.list::<switchboard_domain::QueueConfig>().await else {
            return Arc::default();
        };
        let queues: Arc<Vec<_>> = Arc::new(stored.into_iter().map(|v| v.doc).collect());
        let mut cache = self.cache();
        if cache.generation == generation {
            cache.queues = Some((read, queues.clone()));
        }
        queues
    }

    async fn agent(&self, state: &AppState, agent: &AgentId) -> Option<Arc<Agent>> {
        if let Some((at, a)) = self.cache().agents.get(agent) {
            if fresh(*at) {
                return a.clone();
            }
        }
        let (read, generation) = (std::time::Instant::now(), self.cache().generation);
        let profile = state
            .store
            .get::<Agent>(agent.as_str())
            .await
            .ok()?
            .map(|v| Arc::new(v.doc));
        let mut cache = self.cache();
        if cache.generation == generation {
            cache.agents.insert(agent.clone(), (read, profile.clone()));
        }
        profile
    }
}

/// Follows the dispatcher's events and turns those about an agent into console messages.
pub async fn run(state: AppState) {
    let mut events = state.dispatcher.subscribe();
    let replayed = crate::today::replay(&state, |e| count(&state.consoles, e)).await;
    loop {
        match events.recv().await {
            Ok(e) if replayed.contains(e.id) => {}
            Ok(e) => on_event(&state, &e).await,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(
                    missed = n,
                    "agent consoles fell behind the dispatcher; consoles will resync"
                );
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Keeps each agent's own figures of the day (handled, handle time, staffed and handling
/// time) up to date with one event. Also fed, at start, with today's events read back from
/// the event log (see [`run`]), so figures cover what happened before this instance started.
fn count(consoles: &Consoles, e: &Event) {
    if let EventKind::AgentPresenceChanged { agent, .. }
    | EventKind::OfferAccepted { agent, .. }
    | EventKind::ContactCompleted { agent, .. } = &e.kind
    {
        consoles
            .time
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(agent.clone())
            .or_insert_with(|| LiveAgentTime::new(agent.clone(), day_of(e.at)))
            .apply(e);
    }
    match &e.kind {
        EventKind::OfferAccepted { contact, agent, .. } => {
            consoles
                .accepted_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((*contact, agent.clone()), e.at);
        }
        EventKind::ContactCompleted { contact, agent, .. } => {
            let accepted = consoles
                .accepted_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(*contact, agent.clone()));
            if let Some(accepted) = accepted {
                let day = e.at.as_millis().div_euclid(DAY_MS) * DAY_MS;
                let mut handled = consoles.handled.lock().unwrap_or_else(|p| p.into_inner());
                let entry = handled.entry(agent.clone()).or_insert((day, 0, 0));
                if entry.0 != day {
                    *entry = (day, 0, 0);
                }
                entry.1 += 1;
                entry.2 += e.at.since(accepted).as_millis() as u64;
            }
        }
        _ => {}
    }
}

async fn on_event(state: &AppState, e: &Event) {
    let consoles = &state.consoles;
    count(consoles, e);
    match &e.kind {
        EventKind::ContactQueued {
            contact,
            channel,
            tier,
            attributes,
            ..
        } => {
            consoles
                .contacts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    *contact,
                    ContactInfo {
                        channel: *channel,
                        tier: *tier,
                        attributes: attributes.clone(),
                        callback: None,
                    },
                );
        }
        EventKind::CallbackRequested {
            contact,
            number,
            due,
            ..
        } => {
            let known = consoles
                .contacts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(contact)
                .map(|info| info.became_callback(number, *due))
                .is_some();
            // Queued before this instance followed: read back (callback included).
            if !known {
                queued_info(state, *contact).await;
            }
        }
        EventKind::ContactOffered {
            contact,
            queue,
            agent,
            deadline,
        } => {
            let known = consoles
                .contacts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(contact)
                .cloned();
            let info = match known {
                Some(info) => Some(info),
                None => queued_info(state, *contact).await,
            };
            let greeting = greeting(state, agent, queue.as_str(), info.as_ref()).await;
            consoles.push(
                agent,
                Frame::Offer {
                    contact_id: *contact,
                    queue: queue.clone(),
                    deadline: *deadline,
                    channel: info.as_ref().map(|i| i.channel),
                    tier: info.as_ref().map(|i| i.tier),
                    callback: info.as_ref().and_then(|i| i.callback.clone()).map(
                        |(number, due)| switchboard_protocol::console::CallbackOffer {
                            number,
                            due,
                        },
                    ),
                    data: info.map(|i| i.attributes),
                    greeting,
                },
            );
        }
        EventKind::OfferRejected { contact, agent, .. } => {
            consoles.push(
                agent,
                Frame::OfferWithdrawn {
                    contact_id: *contact,
                    reason: WithdrawnReason::Rejected,
                },
            );
        }
        EventKind::OfferTimedOut { contact, agent, .. } => {
            consoles.push(
                agent,
                Frame::OfferWithdrawn {
                    contact_id: *contact,
                    reason: WithdrawnReason::TimedOut,
                },
            );
        }
        EventKind::OfferWithdrawn {
            contact,
            agent,
            reason,
            ..
        } => {
            consoles.push(
                agent,
                Frame::OfferWithdrawn {
                    contact_id: *contact,
                    reason: (*reason).into(),
                },
            );
        }
        EventKind::OfferAccepted {
            contact,
            agent,
            queue,
            ..
        } => {
            consoles.push(
                agent,
                Frame::Assigned {
                    contact_id: *contact,
                    queue: queue.clone(),
                },
            );
        }
        EventKind::ContactEnded {
            contact,
            agent,
            wrap_up_until,
            ..
        } => {
            consoles.push(
                agent,
                Frame::Ended {
                    contact_id: *contact,
                    wrap_up_until: *wrap_up_until,
                },
            );
        }
        EventKind::ContactCompleted { contact, agent, .. } => {
            consoles.push(
                agent,
                Frame::Completed {
                    contact_id: *contact,
                },
            );
        }
        EventKind::AgentPresenceChanged { agent, presence } => {
            consoles.push(
                agent,
                Frame::State {
                    presence: presence.clone(),
                },
            );
        }
        _ => {}
    }
    // Forget contacts that left the ACD (or the agent who completed it: should it ring
    // again after a transfer, `queued_info` reads its data back).
    if let EventKind::ContactAbandoned { contact, .. }
    | EventKind::ContactExited { contact, .. }
    | EventKind::ContactRefused { contact, .. }
    | EventKind::ContactCompleted { contact, .. } = &e.kind
    {
        consoles
            .contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(contact);
    }
}

/// The data of a contact queued before this instance followed the dispatcher (it joined the
/// others or restarted since), read back from its `contact_queued` (and `callback_requested`)
/// events, and remembered.
async fn queued_info(state: &AppState, contact: ContactId) -> Option<ContactInfo> {
    let filter = switchboard_store::EventFilter {
        contact: Some(contact),
        kind: Some("contact_queued".into()),
        limit: 1,
        ..switchboard_store::EventFilter::default()
    };
    let queued = match state.store.events(&filter).await {
        Ok(events) => events.into_iter().next()?,
        Err(e) => {
            tracing::warn!(%contact, error = %e, "could not read the contact's data for its offer");
            return None;
        }
    };
    let EventKind::ContactQueued {
        channel,
        tier,
        attributes,
        ..
    } = queued.kind
    else {
        return None;
    };
    let mut info = ContactInfo {
        channel,
        tier,
        attributes,
        callback: None,
    };
    let callback = switchboard_store::EventFilter {
        contact: Some(contact),
        kind: Some("callback_requested".into()),
        limit: 1,
        ..switchboard_store::EventFilter::default()
    };
    match state.store.events(&callback).await {
        Ok(events) => {
            if let Some(EventKind::CallbackRequested { number, due, .. }) =
                events.into_iter().next().map(|e| e.kind)
            {
                info.became_callback(&number, due);
            }
        }
        Err(e) => {
            tracing::warn!(%contact, error = %e, "could not read the contact's callback for its offer")
        }
    }
    state
        .consoles
        .contacts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(contact, info.clone());
    Some(info)
}

/// The queue's greeting for this contact's language (else the default script), with the
/// company, the agent and the customer filled in.
async fn greeting(
    state: &AppState,
    agent: &AgentId,
    queue: &str,
    info: Option<&ContactInfo>,
) -> Option<String> {
    let language = info
        .and_then(|i| i.attributes.get("language"))
        .map(String::as_str)
        .unwrap_or("en");
    let scripts = state.consoles.scripts(state).await?;
    let rank = |s: &GreetingScript| {
        let queue_match = s.queue.as_ref().map(|q| q.as_str() == queue);
        let lang_match =
            s.language == language || language.starts_with(&format!("{}-", s.language));
        match (queue_match, lang_match) {
            (Some(true), true) => 0,
            (None, true) => 1,
            (Some(true), false) => 2,
            (None, false) => 3,
            (Some(false), _) => 9,
        }
    };
    let script = scripts
        .iter()
        .filter(|s| rank(s) < 9)
        .min_by_key(|s| rank(s))?;
    let profile = state.consoles.agent(state, agent).await;
    let attr = |k: &str| info.and_then(|i| i.attributes.get(k)).cloned();
    let values = [
        ("company", state.settings.company_name.clone()),
        (
            "agent_name",
            profile
                .as_ref()
                .map_or_else(|| agent.to_string(), |p| p.display_name.clone()),
        ),
        (
            "agent_number",
            profile
                .as_ref()
                .map_or_else(String::new, |p| p.number.clone()),
        ),
        ("customer_name", attr("customer_name").unwrap_or_default()),
        (
            "customer_tier",
            info.map(|i| i.tier.as_str().to_owned()).unwrap_or_default(),
        ),
        ("queue", queue.to_owned()),
        ("language", language.to_owned()),
    ];
    let mut text = script.template.clone();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), &value);
    }
    // A greeting with an empty name reads badly: "How can I help you, ?" → "How can I help you?"
    Some(text.replace(", ?", "?").replace(" ,", ","))
}

#[derive(Debug, Deserialize)]
pub struct ConnectParams {
    /// The session token, for browsers that cannot set headers on a WebSocket.
    pub token: Option<String>,
    /// The last `seq` this console saw; missed messages are replayed.
    pub resume_from: Option<u64>,
}

/// `GET /api/v1/agent/ws`
pub async fn connect(
    State(state): State<AppState>,
    query: Result<Query<ConnectParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_request",
            "bad query",
        )
        .into_response();
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or(params.token);
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 200) else {
        return ApiError::unauthorized().into_response();
    };
    let user = match state
        .store
        .session_user(&token_hash(&token), state.clock.now())
        .await
    {
        Ok(Some(u)) => u,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(agent) = user.agent_id.clone() else {
        return ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "this user is not linked to an agent",
        )
        .into_response();
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "not_a_websocket",
                e.to_string(),
            )
            .into_response()
        }
    };
    // Console messages are small; tungstenite's default 128 KiB read buffer per socket made
    // 10,000 idle consoles cost 1.3 GB.
    ws.read_buffer_size(CONSOLE_READ_BUFFER)
        .on_upgrade(move |socket| session(state, agent, params.resume_from, socket))
}

async fn session(state: AppState, agent: AgentId, resume_from: Option<u64>, socket: WebSocket) {
    let consoles = state.consoles.clone();
    let wake = consoles.with(&agent, |o| o.wake.clone());
    crate::presence::console_opened(&state, &agent).await;
    // Resume if everything after `resume_from` is still in the outbox; else a fresh hello.
    let resumable = consoles.with(&agent, |o| {
        resume_from.is_some_and(|n| n >= o.dropped_upto && n <= o.next_seq)
    });
    let mut sent = if resumable {
        resume_from.unwrap_or(0)
    } else {
        let hello = hello(&state, &agent).await;
        consoles.push(&agent, hello) - 1
    };
    let (mut tx, mut rx) = socket.split();
    let mut stats_tick = tokio::time::interval(STATS_EVERY);
    stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Everything queued after `sent`.
        let pending: Vec<(u64, Arc<str>)> = consoles.with(&agent, |o| {
            o.messages
                .iter()
                .filter(|(seq, _)| *seq > sent)
                .cloned()
                .collect()
        });
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut broken = false;
        for (seq, text) in pending {
            match tokio::time::timeout(
                SEND_TIMEOUT,
                tx.send(Message::Text(text.to_string().into())),
            )
            .await
            {
                Ok(Ok(())) => sent = seq,
                _ => {
                    broken = true;
                    break;
                }
            }
        }
        if broken {
            break;
        }
        tokio::select! {
            () = &mut notified => {}
            _ = stats_tick.tick() => {
                let figures = own_figures(&state, &agent).await;
                consoles.push(&agent, figures);
            }
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = handle(&state, &agent, text.as_str()).await;
                    consoles.push(&agent, reply);
                }
                Some(Ok(Message::Binary(_))) => {
                    consoles.push(&agent, Frame::bad_message("send JSON text frames"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // Their last console anywhere? Then nobody can answer offers: set away, which
    // withdraws them for other agents.
    crate::presence::console_closed(&state, &agent).await;
}

async fn hello(state: &AppState, agent: &AgentId) -> Frame {
    let profile = state
        .store
        .get::<Agent>(agent.as_str())
        .await
        .ok()
        .flatten()
        .map(|v| v.doc);
    let status = state.dispatcher.agent_status(agent).await.ok().flatten();
    Frame::Hello {
        agent: agent.clone(),
        display_name: profile.as_ref().map(|p| p.display_name.clone()),
        number: profile.as_ref().map(|p| p.number.clone()),
        status,
    }
}

async fn handle(state: &AppState, agent: &AgentId, text: &str) -> Frame {
    let request: Request = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return Frame::bad_message(e.to_string()),
    };
    let (id, command) = match request {
        Request::Ping { id } => return Frame::Pong { in_reply_to: id },
        Request::SetState { id, presence } => (
            id,
            Command::SetPresence {
                agent: agent.clone(),
                presence,
            },
        ),
        Request::Accept { id, contact_id } => (
            id,
            Command::Accept {
                contact: contact_id,
                agent: agent.clone(),
            },
        ),
        Request::Reject { id, contact_id } => (
            id,
            Command::Reject {
                contact: contact_id,
                agent: agent.clone(),
            },
        ),
        Request::Hold { id, contact_id } => (
            id,
            Command::Hold {
                contact: contact_id,
            },
        ),
        Request::Resume { id, contact_id } => (
            id,
            Command::Resume {
                contact: contact_id,
            },
        ),
        Request::End { id, contact_id } => (
            id,
            Command::Complete {
                contact: contact_id,
            },
        ),
        Request::Transfer { id, contact_id, to } => (
            id,
            Command::Transfer {
                contact: contact_id,
                to,
            },
        ),
        Request::WrapUp {
            id,
            contact_id,
            disposition,
            resolved,
        } => (
            id,
            Command::FinishWrapUp {
                contact: contact_id,
                agent: agent.clone(),
                wrap_up: WrapUp {
                    disposition,
                    resolved,
                },
            },
        ),
        // One use case behind every door (`crate::callback`).
        Request::CallbackInPlace {
            id,
            contact_id,
            number,
            due,
        } => {
            let by = crate::callback::Actor::Agent(agent.clone());
            let due = due.map(Timestamp::as_millis);
            return match crate::callback::request_callback(state, contact_id, &number, due, by)
                .await
            {
                Ok(_) => Frame::Ack { in_reply_to: id },
                Err(e) => Frame::error(id, e.code(), e.to_string()),
            };
        }
    };
    // An agent acts on their own contacts only.
    if let Some(contact) = contact_of(&command) {
        let mine = match state.dispatcher.contact(contact).await {
            Ok(Some(s)) => {
                holder(&s).is_none_or(|h| &h == agent)
                    || matches!(command, Command::FinishWrapUp { .. })
            }
            Ok(None) => true,
            Err(_) => false,
        };
        if !mine {
            return Frame::error(id, "not_yours", "that contact is another agent's");
        }
    }
    match state.dispatcher.execute(command, state.clock.now()).await {
        Ok(_) => Frame::Ack { in_reply_to: id },
        Err(e) => Frame::error(id, e.code(), e.to_string()),
    }
}

fn contact_of(command: &Command) -> Option<ContactId> {
    match command {
        Command::Hold { contact }
        | Command::Resume { contact }
        | Command::Complete { contact }
        | Command::Transfer { contact, .. } => Some(*contact),
        _ => None,
    }
}

fn holder(state: &switchboard_domain::ContactState) -> Option<AgentId> {
    use switchboard_domain::ContactState::*;
    match state {
        Offered { agent, .. }
        | Assigned { agent, .. }
        | Held { agent, .. }
        | WrapUp { agent, .. } => Some(agent.clone()),
        Queued { .. } => None,
    }
}

/// The agent's own figures: handled today and average handle time, and the contacts waiting
/// in the queues they serve (how many, the longest wait).
async fn own_figures(state: &AppState, agent: &AgentId) -> Frame {
    let now = state.clock.now();
    let day = now.as_millis().div_euclid(DAY_MS) * DAY_MS;
    let (handled, total_ms) = match state
        .consoles
        .handled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(agent)
    {
        Some(&(d, n, ms)) if d == day => (n, ms),
        _ => (0, 0),
    };
    let profile = state.consoles.agent(state, agent).await;
    let no_skills = Default::default();
    let skills = profile.as_ref().map_or(&no_skills, |a| &a.profile.skills);
    let (mut waiting, mut longest_ms) = (0u32, 0u64);
    for q in state.consoles.queues(state).await.iter() {
        let serves = q
            .required_skills
            .iter()
            .all(|r| skills.contains_key(&r.skill));
        if !serves {
            continue;
        }
        let cached = state
            .consoles
            .queue_figures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&q.id)
            .filter(|(at, _, _)| at.elapsed() < QUEUE_FIGURES_TTL)
            .map(|&(_, w, l)| (w, l));
        let figures = match cached {
            Some(f) => Some(f),
            None => match state.dispatcher.queue_snapshot(&q.id, now).await {
                Ok(Some(s)) => {
                    let f = (s.waiting, s.longest_wait.as_millis() as u64);
                    state
                        .consoles
                        .queue_figures
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(q.id.clone(), (std::time::Instant::now(), f.0, f.1));
                    Some(f)
                }
                _ => None,
            },
        };
        if let Some((w, l)) = figures {
            waiting += w;
            longest_ms = longest_ms.max(l);
        }
    }
    let occupancy = state
        .consoles
        .time
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(agent)
        .and_then(|t| t.occupancy(now));
    Frame::Stats(Figures {
        handled_today: handled,
        occupancy_today: occupancy,
        average_handle_time_ms: (handled > 0).then(|| total_ms / handled),
        waiting_in_my_queues: waiting,
        longest_wait_ms: longest_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_supersede_each_other_and_never_crowd_out_what_must_be_replayed() {
        use switchboard_domain::{Presence, QueueId};
        use switchboard_protocol::console::Frame;

        let contact: ContactId = "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap();
        let figures = || {
            Frame::Stats(Figures {
                handled_today: 1,
                occupancy_today: None,
                average_handle_time_ms: None,
                waiting_in_my_queues: 0,
                longest_wait_ms: 0,
            })
        };
        let mut o = Outbox::default();
        let offer = o.push(Frame::Offer {
            contact_id: contact,
            queue: QueueId::parse("sales").unwrap(),
            deadline: Timestamp::from_millis(0),
            channel: None,
            tier: None,
            callback: None,
            data: None,
            greeting: None,
        });
        for _ in 0..5_000 {
            o.push(figures());
        }
        // The offer and one (the latest) figures message: an idle console does not grow.
        let sent: Vec<Stamped<Frame>> = o
            .messages
            .iter()
            .map(|(_, m)| serde_json::from_str(m).unwrap())
            .collect();
        assert!(matches!(
            sent[..],
            [
                Stamped {
                    seq: 1,
                    frame: Frame::Offer { .. },
                    ..
                },
                Stamped {
                    seq: 5001,
                    frame: Frame::Stats(_),
                    ..
                },
            ]
        ));
        assert_eq!(o.dropped_upto, 0, "nothing lost: any console may resume");
        assert_eq!(o.messages.front().map(|m| m.0), Some(offer));
        // Real messages beyond the room do push out the oldest.
        for _ in 0..OUTBOX + 10 {
            o.push(Frame::State {
                presence: Presence::Available,
            });
        }
        assert_eq!(o.messages.len(), OUTBOX);
        assert!(o.dropped_upto > offer);
    }
}
