//! The deliverer: due deliveries out of the outbox, through a [`Sender`], with retries (see
//! the parent module).

use std::{future::Future, sync::Arc, time::Duration};

use switchboard_domain::{Integration, ValidationError};
use switchboard_store::WebhookAttempt;
pub use switchboard_store::WebhookDelivery;
use tokio::sync::Notify;

use super::backoff;
use crate::{App, AppError};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 6;
/// How long a worker holds a claimed delivery before another may take it.
const LEASE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(500);
const BATCH: u32 = 32;

/// One webhook to send: POST `body` to `url`, signed with `secret`.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The delivery's id (the receiver de-duplicates by it).
    pub id: String,
    pub url: String,
    pub body: String,
    /// The integration's shared secret, to sign with.
    pub secret: String,
}

/// Why one attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendFailure {
    pub error: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Retrying cannot help (e.g. the receiver refused the request as sent).
    pub final_: bool,
}

/// How deliveries leave: the edge's HTTP client. `Ok` is the receiver's (2xx) status.
pub trait Sender: Send + Sync + 'static {
    fn send(&self, delivery: Delivery) -> impl Future<Output = Result<u16, SendFailure>> + Send;
}

/// Told each attempt's outcome: `delivered`, `retry` or `failed`.
pub type Observe = Arc<dyn Fn(&'static str) + Send + Sync>;

/// The deliverer: sends due deliveries, each claimed so that one instance sends it. Wakes
/// when the planner queued one (`wake`), else polls twice a second.
pub async fn deliver<S: Sender>(app: App, sender: Arc<S>, wake: Arc<Notify>, observe: Observe) {
    loop {
        let now = app.now();
        let mut full = false;
        match app.store.due_webhooks(now, BATCH).await {
            Ok(due) => {
                full = due.len() == BATCH as usize;
                for d in due {
                    match app.store.claim_webhook(&d.id, now, LEASE).await {
                        Ok(true) => {
                            tokio::spawn(attempt(app.clone(), sender.clone(), d, observe.clone()));
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "could not claim a PBX webhook"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read due PBX webhooks"),
        }
        if !full {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

async fn attempt<S: Sender>(app: App, sender: Arc<S>, d: WebhookDelivery, observe: Observe) {
    let secret = match app.store.get::<Integration>(&d.integration_id).await {
        Ok(Some(i)) => Some(i.doc.secret),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the integration of a PBX webhook");
            return; // the lease runs out and the delivery is tried again
        }
    };
    let result = match secret {
        Some(secret) => {
            sender
                .send(Delivery {
                    id: d.id.clone(),
                    url: d.url.clone(),
                    body: d.body.clone(),
                    secret,
                })
                .await
        }
        None => Err(SendFailure {
            error: "the integration was deleted".to_owned(),
            status: None,
            final_: true,
        }),
    };
    let now = app.now();
    let attempts = d.attempts + 1;
    let outcome = match &result {
        Ok(status) => WebhookAttempt::Delivered { status: *status },
        Err(f) if f.final_ || attempts >= MAX_ATTEMPTS => WebhookAttempt::GaveUp {
            error: &f.error,
            status: f.status,
        },
        Err(f) => WebhookAttempt::Retry {
            at: now.plus(backoff(attempts)),
            error: &f.error,
            status: f.status,
        },
    };
    let label = match outcome {
        WebhookAttempt::Delivered { .. } => "delivered",
        WebhookAttempt::Retry { .. } => "retry",
        WebhookAttempt::GaveUp { error, .. } => {
            tracing::error!(
                delivery = %d.id,
                integration = %d.integration_id,
                attempts,
                error,
                "gave up a PBX webhook"
            );
            "failed"
        }
    };
    observe(label);
    if let Err(e) = app.store.record_webhook_attempt(&d.id, now, outcome).await {
        tracing::warn!(error = %e, delivery = %d.id, "could not record a PBX webhook attempt");
    }
}

impl App {
    /// The latest outbound webhooks of an integration and how they went, newest first:
    /// `status` `pending`, `delivered` or `failed` (or all), 1 to 1,000 of them.
    ///
    /// # Errors
    /// [`AppError::Invalid`] for a bad status or limit, [`AppError::NotFound`] for an unknown
    /// integration; a store failure.
    pub async fn webhook_deliveries(
        &self,
        integration: &str,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        if status.is_some_and(|s| !matches!(s, "pending" | "delivered" | "failed")) {
            return Err(
                ValidationError::new("status", "must be pending, delivered or failed").into(),
            );
        }
        if !(1..=1000).contains(&limit) {
            return Err(ValidationError::new("limit", "must be 1 to 1000").into());
        }
        if self.store.get::<Integration>(integration).await?.is_none() {
            return Err(AppError::not_found("integration"));
        }
        Ok(self.store.webhooks(integration, status, limit).await?)
    }
}
