//! Outbound webhook deliveries to the PBX: queued once (whichever instance inserts first),
//! claimed by one worker at a time with a lease, retried with backoff, and kept with their
//! outcome so that failures are visible.

use switchboard_domain::{ContactId, Timestamp};

use crate::{
    store::{with_reader, with_writer},
    StoreError,
};

/// One instruction to a PBX and where its delivery stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub integration_id: String,
    /// `call.ring`, `call.connect` or `call.cancel`.
    pub kind: String,
    pub url: String,
    /// The JSON body sent, as sent.
    pub body: String,
    /// `pending`, `delivered` or `failed` (gave up after the last retry).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
);

macro_rules! columns {
    () => {
        "id, integration_id, kind, url, body, status, attempts, next_attempt_at, \
         last_error, last_status, created_at, delivered_at"
    };
}

fn delivery(r: Row) -> WebhookDelivery {
    WebhookDelivery {
        id: r.0,
        integration_id: r.1,
        kind: r.2,
        url: r.3,
        body: r.4,
        status: r.5,
        attempts: r.6,
        next_attempt_at: r.7,
        last_error: r.8,
        last_status: r.9,
        created_at: r.10,
        delivered_at: r.11,
    }
}

/// A delivery to queue.
#[derive(Clone, Debug)]
pub struct NewWebhook<'a> {
    pub id: &'a str,
    pub integration_id: &'a str,
    pub kind: &'a str,
    pub url: &'a str,
    pub body: &'a str,
}

impl crate::Store {
    /// Queues a delivery, due now. `false` if a delivery with this id exists already (another
    /// instance queued it): nothing changes.
    pub async fn queue_webhook(
        &self,
        new: &NewWebhook<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = with_writer!(self, |pool| {
            sqlx::query(
                "insert into webhook_delivery (id, integration_id, kind, url, body, status, next_attempt_at, created_at) \
                 values ($1, $2, $3, $4, $5, 'pending', $6, $6) on conflict (id) do nothing",
            )
            .bind(new.id)
            .bind(new.integration_id)
            .bind(new.kind)
            .bind(new.url)
            .bind(new.body)
            .bind(now.as_millis())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Pending deliveries due at `now` and not held by a worker, oldest first.
    pub async fn due_webhooks(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows: Vec<Row> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                columns!(),
                " from webhook_delivery where status = 'pending' \
                 and next_attempt_at <= $1 and locked_until <= $1 order by created_at, id limit $2"
            ))
            .bind(now.as_millis())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(delivery).collect())
    }

    /// Takes a due delivery for `lease`; `false` if another worker has it.
    pub async fn claim_webhook(
        &self,
        id: &str,
        now: Timestamp,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let done = with_writer!(self, |pool| {
            sqlx::query(
                "update webhook_delivery set locked_until = $1 \
                 where id = $2 and status = 'pending' and locked_until <= $3",
            )
            .bind(now.plus(lease).as_millis())
            .bind(id)
            .bind(now.as_millis())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records one attempt: delivered (`retry_at` unused), to retry at `retry_at`, or given up
    /// (`retry_at` = `None` and not delivered).
    pub async fn record_webhook_attempt(
        &self,
        id: &str,
        now: Timestamp,
        outcome: WebhookAttempt<'_>,
    ) -> Result<(), StoreError> {
        let (status, next, error, code, delivered) = match outcome {
            WebhookAttempt::Delivered { status } => {
                ("delivered", now, None, Some(status), Some(now.as_millis()))
            }
            WebhookAttempt::Retry { at, error, status } => {
                ("pending", at, Some(error), status, None)
            }
            WebhookAttempt::GaveUp { error, status } => ("failed", now, Some(error), status, None),
        };
        with_writer!(self, |pool| {
            sqlx::query(
                "update webhook_delivery set status = $1, attempts = attempts + 1, next_attempt_at = $2, \
                 locked_until = 0, last_error = $3, last_status = $4, delivered_at = $5 where id = $6",
            )
            .bind(status)
            .bind(next.as_millis())
            .bind(error)
            .bind(code.map(i64::from))
            .bind(delivered)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The latest deliveries of an integration, newest first; only `status` if given.
    pub async fn webhooks(
        &self,
        integration: &str,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows: Vec<Row> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                columns!(),
                " from webhook_delivery where integration_id = $1 \
                 and (cast($2 as text) is null or status = cast($2 as text)) order by created_at desc, id desc limit $3"
            ))
            .bind(integration)
            .bind(status)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(delivery).collect())
    }

    /// The PBX call (integration, call id) a contact came from, if it came from one.
    pub async fn call_of_contact(
        &self,
        contact: ContactId,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(with_reader!(self, |pool| {
            sqlx::query_as(
                "select integration_id, call_id from phone_call where contact_id = $1 limit 1",
            )
            .bind(contact.to_string())
            .fetch_optional(pool)
            .await?
        }))
    }
}

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug)]
pub enum WebhookAttempt<'a> {
    Delivered {
        status: u16,
    },
    Retry {
        at: Timestamp,
        error: &'a str,
        status: Option<u16>,
    },
    GaveUp {
        error: &'a str,
        status: Option<u16>,
    },
}
