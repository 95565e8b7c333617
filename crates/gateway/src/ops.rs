//! For the operator's tools: liveness, readiness and Prometheus metrics.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use switchboard_protocol::ops::{Dependency, Health, Readiness};

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Health> {
    Json(Health::default())
}

/// `GET /readyz`: the database (and Redis, when used) answer. 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let r = state.app.readiness().await;
    let dependency = |(kind, ok): (&str, bool)| Dependency {
        kind: kind.to_owned(),
        ok,
    };
    let body = Readiness::of(dependency(r.database), dependency(r.dispatcher));
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
