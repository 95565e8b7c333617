//! The agent console's WebSocket, `GET /api/v1/agent/ws`: an adapter. It signs the agent in,
//! frames what the application's read model (`switchboard_app::live::Consoles`, fed by the
//! one subscriber to the event stream) holds for them, and turns what the console sends into
//! requests the application answers (`switchboard_app::control`).
//!
//! Versioned JSON messages, each with a sequence number per agent (`seq`):
//! - server → agent: `hello` (profile, state, the contacts in hand), `offer` (the contact, its
//!   data, the queue's greeting rendered for this agent and customer, the accept deadline),
//!   `offer_withdrawn` (rejected, missed, withdrawn — with why), `assigned`, `ended` (wrap-up
//!   starts), `completed`, `state` (presence), `stats` (every 5 s: handled today, average
//!   handle time, occupancy today — handling over logged-in time, over the whole day of the center's time zone
//!   from the event log —, contacts waiting in the queues the engine has the agent serve and
//!   the longest wait), `ack`, `error`, `pong`;
//! - agent → server: `set_state`, `accept`, `reject`, `hold`, `resume`, `end`, `transfer`,
//!   `wrap_up`, `ping`; an optional `id` is echoed as `in_reply_to`.
//!
//! Every message for an agent is kept in a bounded outbox, so a console that reconnects with
//! `?resume_from=<last seq seen>` gets exactly what it missed; if that is no longer in the
//! outbox (or it reconnects to another instance) it gets a fresh `hello`. Malformed, unknown
//! or out-of-turn messages get an `error` frame and the connection stays up. When an agent's
//! last connection on any live instance closes they are set away (`disconnected`, see
//! `switchboard_app::presence`): their offers are withdrawn at once and go to other agents. A console
//! that cannot keep up (its socket's send buffer full for 10 s) is disconnected rather than
//! slowing anyone else. A message over the size limit closes the socket with 1009, too many
//! messages too fast with 1008 (see [`crate::socket`]); a request `id` too long to echo gets an
//! `error` frame instead of an answer. When the server stops, consoles are closed with 1001 and
//! a reconnect hint. When the user's session ends — revoked by a password, role or agent
//! link change, disabling or deleting the user, or signed out or expired — the socket is
//! closed with 1008 (`session revoked`). The conversation itself ([`serve`]) runs over any `Sink`/`Stream` of
//! messages, so it is tested over channels as well as over real sockets.

use std::time::Duration;

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use switchboard_app::accounts::Holder;
use switchboard_domain::AgentId;
use switchboard_protocol::console::{Frame, Request};

use crate::{
    error::ApiError,
    socket::{self, Guard, SocketError},
    state::AppState,
};

/// Bytes read from a console's socket at a time (larger messages still arrive whole).
const CONSOLE_READ_BUFFER: usize = 4 * 1024;
/// How long one send may take before the console counts as stuck.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a console gets the agent's own figures.
const STATS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    let signed_in = match state.app.accounts().session(&token, state.app.now()).await {
        Ok(Some(session)) => session,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(agent) = signed_in.user.agent_id.clone() else {
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
    let limits = state.settings.socket;
    ws.read_buffer_size(CONSOLE_READ_BUFFER)
        .max_message_size(socket::read_cap(limits))
        .max_frame_size(socket::read_cap(limits))
        .on_upgrade(move |socket| {
            let sockets = state.sockets.clone();
            sockets.track(session(
                state,
                agent,
                params.resume_from,
                (signed_in.user.user_id, signed_in.token_hash),
                socket,
            ))
        })
}

async fn session(
    state: AppState,
    agent: AgentId,
    resume_from: Option<u64>,
    (user_id, token_hash): (i64, String),
    socket: WebSocket,
) {
    let (mut tx, rx) = socket.split();
    // The conversation's incoming stream ends when the session is revoked.
    let holder = Holder::Session {
        user_id,
        token_hash,
    };
    let mut rx = rx.take_until(crate::live::until_revoked(&state, holder));
    serve(state, agent, resume_from, &mut tx, &mut rx).await;
    if rx.is_stopped() {
        let _ = tx.send(crate::live::revoked_close()).await;
    }
}

/// One console's conversation over any socket (a WebSocket's halves, or channels in tests):
/// the agent's frames from the app's read model (`switchboard_app::live::Consoles`) — all
/// after `resume_from` if the outbox still holds them, else a fresh `hello` first — their
/// figures every 5 s, and the answers to what the console sends. Ends when the console
/// closes, its stream ends or fails, it breaks the limits (closed with 1009 or 1008), a send
/// does not complete within 10 s, or the server stops (closed with 1001).
pub async fn serve<Tx, Rx, E>(
    state: AppState,
    agent: AgentId,
    resume_from: Option<u64>,
    mut tx: Tx,
    mut rx: Rx,
) where
    Tx: Sink<Message> + Unpin,
    Rx: Stream<Item = Result<Message, E>> + Unpin,
    E: SocketError,
{
    let app = &state.app;
    let mut guard = Guard::new(state.settings.socket);
    let mut stopping = false;
    let consoles = app.consoles().clone();
    let wake = consoles.wake(&agent);
    app.console_opened(&agent).await;
    // Resume if everything after `resume_from` is still in the outbox; else a fresh hello.
    let mut sent = match resume_from {
        Some(seen) if consoles.can_resume(&agent, seen) => seen,
        _ => {
            let hello = app.console_hello(&agent).await;
            consoles.push(&agent, hello) - 1
        }
    };
    let mut stats_tick = tokio::time::interval(STATS_EVERY);
    stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Everything queued after `sent`.
        let pending = consoles.after(&agent, sent);
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
                let figures = app.console_figures(&agent).await;
                consoles.push(&agent, figures);
            }
            () = state.sockets.stopping() => {
                stopping = true;
                let bye = socket::going_away(state.settings.reconnect_after);
                socket::close_and_drain(&mut tx, &mut rx, bye).await;
                break;
            }
            incoming = rx.next() => {
                if let Some(close) = guard.screen(&incoming) {
                    socket::close_and_drain(&mut tx, &mut rx, close).await;
                    break;
                }
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let reply = handle(app, &agent, text.as_str()).await;
                        consoles.push(&agent, reply);
                    }
                    Some(Ok(Message::Binary(_))) => {
                        consoles.push(&agent, Frame::bad_message("send JSON text frames"));
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        }
    }
    // At a stop the instance leaves as a whole (`App::leave`). Otherwise: their last console
    // anywhere? Then nobody can answer offers: set away, which withdraws them for other agents.
    if !stopping {
        app.console_closed(&agent).await;
    }
}

/// Parses one text frame and has the application answer it. Parse errors are clipped (they
/// quote the input), and a request whose `id` is too long to echo is refused unanswered.
async fn handle(app: &switchboard_app::App, agent: &AgentId, text: &str) -> Frame {
    match serde_json::from_str::<Request>(text) {
        Ok(request) if !socket::id_echoable(request.id()) => Frame::bad_message(format!(
            "id too long: at most {} characters of JSON",
            socket::MAX_ECHOED_ID
        )),
        Ok(request) => app.agent_request(agent, request).await,
        Err(e) => Frame::bad_message(socket::clip(&e.to_string(), socket::MAX_ERROR_TEXT)),
    }
}
