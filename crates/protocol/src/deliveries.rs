//! The outbound PBX webhooks as the API lists them:
//! `GET /api/v1/integrations/{id}/deliveries` (its query string and its answer).

use serde::{Deserialize, Serialize};
use switchboard_domain::Timestamp;

/// The query string of `GET /api/v1/integrations/{id}/deliveries`. Unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed` (checked by the application, which names the field
    /// when it is none of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// 1–1000, default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The answer: the latest deliveries, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deliveries {
    pub items: Vec<WebhookDelivery>,
}

/// One webhook and how its delivery went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// Also the body's `event_id` and the `x-switchboard-event-id` header.
    pub id: String,
    /// The body's `type`: `call.ring`, `call.connect`, `call.cancel` or `call.dial`.
    pub kind: String,
    /// `pending`, `delivered` or `failed` (gave up after the last attempt).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    #[serde(deserialize_with = "crate::nullable")]
    pub last_error: Option<String>,
    /// The HTTP status of the last answer, `null` when there was none (timeout, no
    /// connection) or no attempt yet.
    #[serde(deserialize_with = "crate::nullable")]
    pub last_status: Option<i64>,
    pub created_at: Timestamp,
    #[serde(deserialize_with = "crate::nullable")]
    pub delivered_at: Option<Timestamp>,
    /// The body as sent (a [`crate::pbx::Webhook`]), as JSON; `null` if the stored text is
    /// not JSON.
    pub body: serde_json::Value,
}
