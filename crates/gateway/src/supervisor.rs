//! The supervisor's WebSocket, `GET /api/v1/supervisor/ws`: an adapter over the application's
//! floor read model (`switchboard_app::live::Floor`, fed by the one subscriber to the event
//! stream) — a `snapshot` of every queue and agent, then `delta`s — only what changed, at most
//! once a second — and commands to steer the floor. The conversation ([`serve`]) runs over any
//! `Sink`/`Stream` of messages, so it is tested over channels as well as over real sockets.
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
//!   its place), each answered by the application (`switchboard_app::control`) with `ack`
//!   or `error` (`in_reply_to` your `id`).
//!
//! The same limits as the console's ([`crate::socket`]): 1009 for a message too big, 1008 for
//! too many too fast, an `error` frame for an `id` too long to echo; 1001 when the server stops.
//! When the user's session ends (revoked, signed out, expired) the socket is closed with
//! 1008 (`session revoked`).
//!
//! A wallboard may connect with an API key holding `live:read` instead of a session: it
//! gets the same snapshot and deltas, and every command but `ping` is answered with the
//! error `read_only` (steering the floor is for signed-in supervisors, who are audited by
//! name). Its socket closes with 1008 when the key is revoked or expires.

use std::time::Duration;

use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use switchboard_app::accounts::{Holder, Role, Scope};
use switchboard_protocol::{
    floor::{Frame, Request},
    Stamped,
};

use crate::{
    auth::{self, Bearer},
    error::ApiError,
    socket::{self, Guard, SocketError},
    state::AppState,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    let viewer = match viewer(&state, &token).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    match ws {
        Ok(ws) => {
            let limits = state.settings.socket;
            ws.max_message_size(socket::read_cap(limits))
                .max_frame_size(socket::read_cap(limits))
                .on_upgrade(move |socket| {
                    let sockets = state.sockets.clone();
                    sockets.track(session(state, viewer, socket))
                })
        }
        Err(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "not_a_websocket", e.to_string()).into_response()
        }
    }
}

/// Who watches the floor: a supervisor's or admin's session, or a wallboard's API key
/// holding `live:read` ([`auth::authenticate`]).
async fn viewer(state: &AppState, token: &str) -> Result<Holder, Response> {
    let roles = [Role::Supervisor, Role::Admin];
    Ok(
        match auth::authenticate(state, token, &roles, Some(Scope::LiveRead)).await? {
            Bearer::Key(key) => Holder::Key {
                api_key_id: key.api_key_id,
                key_hash: key.key_hash,
            },
            Bearer::Session(caller) => Holder::Session {
                user_id: caller.user.user_id,
                token_hash: caller.token_hash,
            },
        },
    )
}

async fn session(state: AppState, viewer: Holder, socket: WebSocket) {
    let (mut tx, rx) = socket.split();
    let read_only = matches!(viewer, Holder::Key { .. });
    // The conversation's incoming stream ends when the session or the key is revoked.
    let mut rx = rx.take_until(crate::live::until_revoked(&state, viewer));
    serve(state, read_only, &mut tx, &mut rx).await;
    if rx.is_stopped() {
        let _ = tx.send(crate::live::revoked_close()).await;
    }
}

/// One supervisor's conversation over any socket (a WebSocket's halves, or channels in
/// tests): a `snapshot` of the floor from the app's read model
/// (`switchboard_app::live::Floor`), then a `delta` at most once a second when something
/// changed, and the answers to commands. Ends when the socket closes, it breaks the limits
/// (closed with 1009 or 1008), a send does not complete within 10 s, or the server stops
/// (closed with 1001). A `read_only` viewer (an API key) has every command but `ping`
/// refused with `read_only`.
pub async fn serve<Tx, Rx, E>(state: AppState, read_only: bool, mut tx: Tx, mut rx: Rx)
where
    Tx: Sink<Message> + Unpin,
    Rx: Stream<Item = Result<Message, E>> + Unpin,
    E: SocketError,
{
    let mut guard = Guard::new(state.settings.socket);
    let send_timeout = Duration::from_secs(10);
    let mut seq = 0u64;
    let mut frame = move |f: Frame| {
        seq += 1;
        Message::Text(Stamped::new(seq, f).to_text().into())
    };
    let (mut queues, mut agents) = state.app.floor_view().await;
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
                let (q, a) = state.app.floor_view().await;
                let delta = Frame::delta((&queues, &agents), (&q, &a));
                (queues, agents) = (q, a);
                match delta { Some(delta) => delta, None => continue }
            }
            () = state.sockets.stopping() => {
                let bye = socket::going_away(state.settings.reconnect_after);
                socket::close_and_drain(&mut tx, &mut rx, bye).await;
                return;
            }
            incoming = rx.next() => {
                if let Some(close) = guard.screen(&incoming) {
                    socket::close_and_drain(&mut tx, &mut rx, close).await;
                    return;
                }
                match incoming {
                    Some(Ok(Message::Text(text))) => command(&state, read_only, text.as_str()).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                }
            }
        };
        match tokio::time::timeout(send_timeout, tx.send(frame(outgoing))).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// Parses one text frame and has the application answer it. Parse errors are clipped (they
/// quote the input), and a request whose `id` is too long to echo is refused unanswered.
async fn command(state: &AppState, read_only: bool, text: &str) -> Frame {
    match serde_json::from_str::<Request>(text) {
        Ok(request) if !socket::id_echoable(request.id()) => Frame::bad_message(format!(
            "id too long: at most {} characters of JSON",
            socket::MAX_ECHOED_ID
        )),
        Ok(request) if read_only && !matches!(request, Request::Ping { .. }) => Frame::error(
            request.id().clone(),
            "read_only",
            "a floor watched with an API key is read-only: sign in as a supervisor to steer it",
        ),
        Ok(request) => state.app.floor_request(request).await,
        Err(e) => Frame::bad_message(socket::clip(&e.to_string(), socket::MAX_ERROR_TEXT)),
    }
}
