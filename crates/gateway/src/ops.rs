//! For the operator's tools: liveness, readiness and Prometheus metrics.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::json;
use switchboard_dispatch::QueueBackend;
use switchboard_domain::QueueConfig;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database (and Redis, when used) answer. 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.store.ping().await;
    let dispatcher = state.dispatcher.ping().await;
    let body = json!({
        "status": if database.is_ok() && dispatcher.is_ok() { "ready" } else { "not_ready" },
        "database": { "kind": state.store.kind(), "ok": database.is_ok() },
        "dispatcher": { "kind": state.dispatcher.kind(), "ok": dispatcher.is_ok() },
    });
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database");
    }
    if let Err(e) = &dispatcher {
        tracing::warn!(error = %e, "readiness: dispatcher");
    }
    let status = if database.is_ok() && dispatcher.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let now = state.clock.now();
    let mut depths = Vec::new();
    if let Ok(queues) = state.store.list::<QueueConfig>().await {
        for q in queues {
            if let Ok(Some(s)) = state.dispatcher.queue_snapshot(&q.doc.id, now).await {
                depths.push((q.doc.id.to_string(), s.waiting, s.offered));
            }
        }
    }
    let body = state.metrics.render(&depths, (state.event_log_lag)());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
