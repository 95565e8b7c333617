//! For the operator's tools: liveness, readiness and Prometheus metrics.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database (and Redis, when used) answer. 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let r = state.app.readiness().await;
    let body = json!({
        "status": if r.ready() { "ready" } else { "not_ready" },
        "database": { "kind": r.database.0, "ok": r.database.1 },
        "dispatcher": { "kind": r.dispatcher.0, "ok": r.dispatcher.1 },
    });
    let status = if r.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let depths: Vec<_> = state
        .app
        .queue_depths()
        .await
        .into_iter()
        .map(|d| (d.queue.to_string(), d.waiting, d.offered))
        .collect();
    let body = state.metrics.render(&depths, (state.event_log_lag)());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
