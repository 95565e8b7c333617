//! For the operator's tools: liveness, readiness and Prometheus metrics.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use switchboard_protocol::ops::{Dependency, Health, Readiness};

use crate::{
    metrics::{QueueNow, Scrape, CONTENT_TYPE},
    state::AppState,
};

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

/// `GET /metrics`: OpenMetrics text, the scrape-time figures read now (the floor's queues
/// as supervisors see them).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (queues, _agents) = state.app.floor_view().await;
    let now = Scrape {
        queues: queues
            .into_iter()
            .map(|(queue, q)| QueueNow {
                queue: queue.to_string(),
                waiting: q.waiting,
                offered: q.offered_now,
                longest_wait: Duration::from_millis(q.longest_wait_ms),
                agents: q.agents.into_iter().collect(),
            })
            .collect(),
        sockets_open: state.sockets.count() as u64,
        event_log_lag: (state.event_log_lag)(),
        pools: state.app.database_pools(),
    };
    let body = state.metrics.render(&now);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}
