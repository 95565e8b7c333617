//! Outbound webhooks to the PBX at the HTTP edge: the signed HTTP client the application's
//! deliverer sends through ([`HttpSender`], a `switchboard_app::pbx::Sender`) and
//! `GET /api/v1/integrations/{id}/deliveries`. What is sent, when and how often it is retried
//! is the application's (`switchboard_app::pbx`).
//!
//! Each POST is signed like the inbound hooks: HMAC-SHA256 over `"{timestamp}.{body}"` with
//! the integration's secret, headers `x-switchboard-timestamp`, `x-switchboard-signature` and
//! `x-switchboard-event-id` (the delivery's id, for the receiver's de-duplication). A 2xx
//! answer is success; other 4xx answers (but 408/425/429) are final; timeouts (5 s),
//! connection failures and 5xx are retried.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
use switchboard_app::pbx::{Delivery, SendFailure, Sender};
use switchboard_domain::Timestamp;
use switchboard_protocol::deliveries::{Deliveries, DeliveriesQuery, WebhookDelivery};

use crate::{
    error::{ApiError, ApiPath},
    hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER},
    state::AppState,
};

pub const EVENT_ID_HEADER: &str = "x-switchboard-event-id";
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PBX webhooks' HTTP client: one connection pool for every delivery.
#[derive(Clone, Debug)]
pub struct HttpSender {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpSender {
    fn default() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl Sender for HttpSender {
    async fn send(&self, d: Delivery) -> Result<u16, SendFailure> {
        let fail = |error: String, status, final_| SendFailure {
            error,
            status,
            final_,
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|t| t.as_secs() as i64)
            .unwrap_or_default();
        let request = hyper::Request::post(&d.url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                sign(&d.secret, timestamp, d.body.as_bytes()),
            )
            .header(EVENT_ID_HEADER, &d.id)
            .body(Full::new(Bytes::from(d.body)))
            .map_err(|e| fail(format!("bad request: {e}"), None, true))?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request)).await {
            Err(_) => Err(fail("timed out after 5 s".to_owned(), None, false)),
            Ok(Err(e)) => Err(fail(format!("{e}"), None, false)),
            Ok(Ok(response)) => {
                let status = response.status();
                let code = status.as_u16();
                if status.is_success() {
                    Ok(code)
                } else {
                    let retryable = status.is_server_error() || matches!(code, 408 | 425 | 429);
                    Err(fail(
                        format!("the PBX answered {status}"),
                        Some(code),
                        !retryable,
                    ))
                }
            }
        }
    }
}

/// `GET /api/v1/integrations/{id}/deliveries`: the latest outbound webhooks and how they
/// went, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    ApiPath(integration): ApiPath<String>,
    query: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Deliveries>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let rows = state
        .app
        .webhook_deliveries(&integration, q.status.as_deref(), q.limit.unwrap_or(100))
        .await?;
    let items = rows
        .into_iter()
        .map(|d| WebhookDelivery {
            id: d.id,
            kind: d.kind,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: Timestamp::from_millis(d.next_attempt_at),
            last_error: d.last_error,
            last_status: d.last_status,
            created_at: Timestamp::from_millis(d.created_at),
            delivered_at: d.delivered_at.map(Timestamp::from_millis),
            body: serde_json::from_str(&d.body).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Json(Deliveries { items }))
}
