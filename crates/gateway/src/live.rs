//! Read views of the live center and its history at the HTTP edge: queue snapshots, a
//! contact's place in line, and the event log (`switchboard_app::views` answers them); and
//! what the live sockets share: the end of a revoked session ([`until_revoked`]) and the
//! close frame that says so ([`revoked_close`]).

use std::{future::Future, pin::Pin};

use axum::extract::ws::{close_code, CloseFrame, Message};

use axum::{
    extract::{Query, State},
    http::StatusCode,
    Json,
};
use switchboard_app::{
    accounts::Holder,
    views::{EventFilter, QueueSnapshot},
};
use switchboard_domain::{parse_instant, AgentId, ContactId, QueueId, Timestamp};
use switchboard_protocol::{
    contacts::Position,
    events::{EventPage, EventQuery, LoggedEvent},
};

use crate::{
    error::{ApiError, ApiPath},
    state::AppState,
};

/// Resolves when `holder`'s session or API key has ended
/// (`switchboard_app::App::until_revoked`); boxed, so a socket's stream can `take_until` it.
pub fn until_revoked(state: &AppState, holder: Holder) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    let app = state.app.clone();
    Box::pin(async move { app.until_revoked(&holder).await })
}

/// The close frame of a socket whose session (or API key) has ended: 1008 (policy),
/// `session revoked`.
pub fn revoked_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: close_code::POLICY,
        reason: "session revoked".into(),
    }))
}

fn parse<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, ApiError> {
    raw.parse::<T>().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{what} {raw:?} is not valid"),
        )
    })
}

/// `GET /api/v1/queues/{queue_id}/snapshot`
pub async fn queue_snapshot(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<QueueSnapshot>, ApiError> {
    let queue: QueueId = parse("queue id", &id)?;
    state
        .app
        .queue_snapshot(&queue)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("queue {id}")))
}

/// `GET /api/v1/contacts/{contact_id}/position`: where a waiting contact stands, and the
/// estimated wait (what the IVR announces). 404 when it is not waiting.
pub async fn position(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Position>, ApiError> {
    let contact: ContactId = parse("contact id", &id)?;
    state
        .app
        .position(contact)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("waiting contact {id}")))
}

/// `GET /api/v1/events`
pub async fn events(
    State(state): State<AppState>,
    query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "limit must be 1 to 1000",
        ));
    }
    let filter = EventFilter {
        after: q.after,
        from: q.from.as_deref().map(|t| instant("from", t)).transpose()?,
        to: q.to.as_deref().map(|t| instant("to", t)).transpose()?,
        contact: q
            .contact
            .as_deref()
            .map(|c| parse::<ContactId>("contact", c))
            .transpose()?,
        agent: q
            .agent
            .as_deref()
            .map(|a| parse::<AgentId>("agent", a))
            .transpose()?,
        queue: q
            .queue
            .as_deref()
            .map(|x| parse::<QueueId>("queue", x))
            .transpose()?,
        kind: q.kind,
        limit,
    };
    let events = state.app.events(&filter).await?;
    let next_after = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    let clock = state.app.center_clock();
    let events = events
        .into_iter()
        .map(|event| LoggedEvent {
            time: clock.rfc3339(event.at),
            event,
        })
        .collect();
    Ok(Json(EventPage { events, next_after }))
}

/// A time of the query string: milliseconds since the epoch or RFC 3339; 400 otherwise.
fn instant(name: &str, value: &str) -> Result<Timestamp, ApiError> {
    parse_instant(value).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{name}: {}", e.problem),
        )
    })
}
