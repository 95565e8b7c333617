//! The supervisor's WebSocket, `GET /api/v1/supervisor/ws`: a `snapshot` of every queue and
//! agent, then `delta`s — only what changed, at most once a second — and commands to steer the
//! floor.
//!
//! - Per queue: waiting, ringing, longest wait, agents by state, and today's offered,
//!   answered, abandoned, service level (its formula named), ASA, handled, AHT and
//!   agent-reported FCR — kept by `switchboard_stats::LiveQueueStats`, updated per event,
//!   never recomputed — and "agents needed now": Erlang C with the queue's service-level
//!   target on the arrival rate and AHT of the last 30 minutes.
//! - Per agent: state, how long they have been in it, and their current contacts (each
//!   ringing, in conversation, on hold or in wrap-up, with its queue).
//! - Commands (`set_agent_state` — force a state or log out —, `move_contact` to a queue or
//!   agent, `set_urgency`, `callback_in_place` — a waiting call becomes a callback that keeps
//!   its place, `crate::callback`), each answered by `ack` or `error` (`in_reply_to` your `id`).

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::Duration,
};

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{
    Agent, AgentId, Command, ContactState, Event, QueueConfig, QueueId, Timestamp, TransferTarget,
};
use switchboard_protocol::{
    contacts::Stage,
    floor::{AgentContact, AgentView, Frame, QueueView, Request, TodayFigures},
    Stamped,
};
use switchboard_stats::{LiveQueueStats, MetricsConfig, TimeRange};
use switchboard_store::Role;
use tokio::sync::broadcast;

use crate::{auth::token_hash, error::ApiError, state::AppState};

const DAY_MS: i64 = 24 * 3_600_000;

/// Today's counters per queue, fed by the dispatcher's events.
#[derive(Debug, Default)]
pub struct Floor {
    today: Mutex<HashMap<QueueId, LiveQueueStats>>,
    /// Each queue's service-level target (`T`) as configured: today's figures count with the
    /// target in force when the day began (a change applies from the next day).
    targets: Mutex<HashMap<QueueId, Duration>>,
}

fn today(now: Timestamp) -> TimeRange {
    let start = now.as_millis().div_euclid(DAY_MS) * DAY_MS;
    TimeRange {
        start: Timestamp::from_millis(start),
        end: Timestamp::from_millis(start + DAY_MS),
    }
}

impl Floor {
    fn apply(&self, e: &Event, now: Timestamp) {
        let queues = queues_of(e);
        if queues.is_empty() {
            return;
        }
        let targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        let config = |queue: &QueueId| MetricsConfig {
            service_level_target: targets
                .get(queue)
                .copied()
                .unwrap_or(MetricsConfig::default().service_level_target),
            ..MetricsConfig::default()
        };
        let mut today_stats = self.today.lock().unwrap_or_else(|p| p.into_inner());
        let range = today(now);
        for queue in queues {
            let stats = today_stats
                .entry(queue.clone())
                .or_insert_with(|| LiveQueueStats::new(queue.clone(), range, config(&queue)));
            if stats.range() != range {
                stats.roll_over_with(range, config(stats.queue()));
            }
            stats.apply(e);
        }
    }

    /// Remembers the queues' service-level targets (read at start and as the floor is viewed).
    pub(crate) fn set_targets<'a>(&self, queues: impl IntoIterator<Item = &'a QueueConfig>) {
        let mut targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        for q in queues {
            targets.insert(q.id.clone(), q.service_level.threshold);
        }
    }

    /// Today's figures of a queue, and the agents it needs now: Erlang C with the queue's
    /// service-level target on the arrival rate and AHT of the last 30 minutes.
    fn figures(&self, queue: &QueueConfig, now: Timestamp) -> TodayFigures {
        let today_stats = self.today.lock().unwrap_or_else(|p| p.into_inner());
        match today_stats.get(&queue.id) {
            Some(s) => {
                let sl = s.service_level();
                let target = &queue.service_level;
                let need = s
                    .agents_needed_now(now, target.threshold.as_secs_f64(), target.percent / 100.0)
                    .ok();
                TodayFigures {
                    offered: s.offered(),
                    answered: s.answered(),
                    abandoned: s.abandoned(),
                    service_level: sl.ratio.value,
                    service_level_formula: Some(sl.formula_name.to_owned()),
                    service_level_target_s: s.config().service_level_target.as_secs_f64(),
                    asa_ms: s.asa_ms(),
                    handled: s.completed(),
                    aht_ms: s.aht_ms(),
                    fcr_reported: s.fcr_reported().value,
                    arrivals_per_hour: need.map(|n| (n.arrivals_per_hour * 10.0).round() / 10.0),
                    agents_needed_now: need.and_then(|n| n.agents),
                }
            }
            None => TodayFigures::none_yet(queue.service_level.threshold.as_secs_f64()),
        }
    }
}

/// The queues an event concerns (both sides of an overflow or transfer), for the live
/// counters, which keep only what is about their own queue.
fn queues_of(e: &Event) -> Vec<QueueId> {
    use switchboard_domain::EventKind::*;
    match &e.kind {
        ContactQueued { queue, .. }
        | ContactExited { queue, .. }
        | OfferAccepted { queue, .. }
        | ContactCompleted { queue, .. }
        | ContactAbandoned { queue, .. } => vec![queue.clone()],
        ContactOverflowed {
            from_queue,
            to_queue,
            ..
        } => vec![from_queue.clone(), to_queue.clone()],
        ContactTransferred {
            from_queue,
            to: TransferTarget::Queue(to),
            ..
        } => vec![from_queue.clone(), to.clone()],
        ContactTransferred { from_queue, .. } => vec![from_queue.clone()],
        _ => Vec::new(),
    }
}

/// Keeps today's counters up to date.
pub async fn run(state: AppState) {
    let mut events = state.dispatcher.subscribe();
    // Today so far, from the shared event log: an instance started at noon still shows the
    // whole day.
    let now = state.clock.now();
    match state.store.list::<QueueConfig>().await {
        Ok(queues) => state.floor.set_targets(queues.iter().map(|q| &q.doc)),
        Err(e) => tracing::warn!(error = %e, "could not read the queues' service-level targets"),
    }
    let replayed = crate::today::replay(&state, |e| state.floor.apply(e, now)).await;
    loop {
        match events.recv().await {
            Ok(e) if replayed.contains(e.id) => {}
            Ok(e) => state.floor.apply(&e, state.clock.now()),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(missed = n, "supervisor figures fell behind")
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ConnectParams {
    pub token: Option<String>,
}

/// `GET /api/v1/supervisor/ws`
pub async fn connect(
    State(state): State<AppState>,
    query: Result<Query<ConnectParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or(query.ok().and_then(|Query(p)| p.token));
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
    if !matches!(user.role, Role::Supervisor | Role::Admin) {
        return ApiError::forbidden().into_response();
    }
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| session(state, socket)),
        Err(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "not_a_websocket", e.to_string()).into_response()
        }
    }
}

/// The floor now: queue id → figures, agent id → state.
async fn view(
    state: &AppState,
    since: &mut HashMap<AgentId, (String, Timestamp)>,
) -> (BTreeMap<QueueId, QueueView>, BTreeMap<AgentId, AgentView>) {
    let now = state.clock.now();
    let mut queues = BTreeMap::new();
    let configs = state.store.list::<QueueConfig>().await.unwrap_or_default();
    // Written through another instance: picked up here.
    state.floor.set_targets(configs.iter().map(|q| &q.doc));
    for q in configs {
        if let Ok(Some(s)) = state.dispatcher.queue_snapshot(&q.doc.id, now).await {
            queues.insert(
                q.doc.id.clone(),
                QueueView {
                    waiting: s.waiting,
                    offered_now: s.offered,
                    longest_wait_ms: s.longest_wait.as_millis() as u64,
                    agents: s.agents,
                    today: state.floor.figures(&q.doc, now),
                },
            );
        }
    }
    let mut agents = BTreeMap::new();
    for a in state.store.list::<Agent>().await.unwrap_or_default() {
        let id = a.doc.profile.id.clone();
        let status = state
            .dispatcher
            .agent_status(&a.doc.profile.id)
            .await
            .ok()
            .flatten();
        let name = status.as_ref().map_or("unknown", |s| s.name()).to_owned();
        let entry = since.entry(id.clone()).or_insert((name.clone(), now));
        if entry.0 != name {
            *entry = (name, now);
        }
        let since_state = entry.1;
        let contacts = current_contacts(state, &a.doc.profile.id).await;
        agents.insert(
            id,
            AgentView {
                status,
                since: since_state,
                contacts,
            },
        );
    }
    (queues, agents)
}

/// What the agent is working on: each contact ringing at them, in conversation, on hold or
/// in wrap-up, with its queue.
async fn current_contacts(state: &AppState, agent: &AgentId) -> Vec<AgentContact> {
    let mut out = Vec::new();
    for contact in state
        .dispatcher
        .agent_contacts(agent)
        .await
        .unwrap_or_default()
    {
        let contact_state = state.dispatcher.contact(contact).await.ok().flatten();
        let (name, queue) = match &contact_state {
            // Transferred away: the agent only has its wrap-up left.
            Some(
                s @ (ContactState::Offered { agent: holder, .. }
                | ContactState::Assigned { agent: holder, .. }
                | ContactState::Held { agent: holder, .. }
                | ContactState::WrapUp { agent: holder, .. }),
            ) if holder == agent => (Stage::from(s), Some(s.queue().clone())),
            _ => (Stage::WrapUp, None),
        };
        out.push(AgentContact {
            contact_id: contact,
            state: name,
            queue,
        });
    }
    out
}

async fn session(state: AppState, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    let mut seq = 0u64;
    let mut frame = move |f: Frame| {
        seq += 1;
        Message::Text(Stamped::new(seq, f).to_text().into())
    };
    let mut since = HashMap::new();
    let (mut queues, mut agents) = view(&state, &mut since).await;
    if tx
        .send(frame(Frame::Snapshot {
            queues: queues.clone(),
            agents: agents.clone(),
        }))
        .await
        .is_err()
    {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let outgoing = tokio::select! {
            _ = tick.tick() => {
                let (q, a) = view(&state, &mut since).await;
                let delta = Frame::delta((&queues, &agents), (&q, &a));
                (queues, agents) = (q, a);
                match delta { Some(delta) => delta, None => continue }
            }
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => command(&state, text.as_str()).await,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
        };
        match tokio::time::timeout(Duration::from_secs(10), tx.send(frame(outgoing))).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

async fn command(state: &AppState, text: &str) -> Frame {
    let request: Request = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return Frame::bad_message(e.to_string()),
    };
    let (id, command) = match request {
        Request::Ping { id } => return Frame::Pong { in_reply_to: id },
        Request::SetAgentState {
            id,
            agent,
            presence,
        } => (id, Command::SetPresence { agent, presence }),
        Request::MoveContact { id, contact_id, to } => (
            id,
            Command::Transfer {
                contact: contact_id,
                to,
            },
        ),
        Request::SetUrgency {
            id,
            contact_id,
            urgency,
        } => (
            id,
            Command::SetUrgency {
                contact: contact_id,
                urgency,
            },
        ),
        // One use case behind every door (`crate::callback`).
        Request::CallbackInPlace {
            id,
            contact_id,
            number,
            due,
        } => {
            let by = crate::callback::Actor::Supervisor;
            let due = due.map(Timestamp::as_millis);
            return match crate::callback::request_callback(state, contact_id, &number, due, by)
                .await
            {
                Ok(_) => Frame::Ack { in_reply_to: id },
                Err(e) => Frame::error(id, e.code(), e.to_string()),
            };
        }
    };
    match state.dispatcher.execute(command, state.clock.now()).await {
        Ok(_) => Frame::Ack { in_reply_to: id },
        Err(e) => Frame::error(id, e.code(), e.to_string()),
    }
}
