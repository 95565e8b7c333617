//! What events do not carry: calls by the PBX's call id, the answers to hook deliveries
//! already processed, the customer each contact belongs to, and survey answers.

use switchboard_domain::{ContactId, Timestamp};

use crate::{
    store::{with_reader, with_writer},
    StoreError,
};

/// What the ACD knows of a PBX call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// The contact it became; `None` if it was only ever reported ended.
    pub contact_id: Option<ContactId>,
    pub ended_at: Option<Timestamp>,
}

fn contact(raw: Option<String>) -> Result<Option<ContactId>, StoreError> {
    raw.map(|s| {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("call.contact_id {s:?}")))
    })
    .transpose()
}

impl crate::Store {
    pub async fn call(
        &self,
        integration: &str,
        call_id: &str,
    ) -> Result<Option<CallRecord>, StoreError> {
        let row: Option<(Option<String>, Option<i64>)> = with_reader!(self, |pool| {
            sqlx::query_as("select contact_id, ended_at from phone_call where integration_id = $1 and call_id = $2")
                .bind(integration)
                .bind(call_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(c, e)| {
            Ok(CallRecord {
                contact_id: contact(c)?,
                ended_at: e.map(Timestamp::from_millis),
            })
        })
        .transpose()
    }

    /// Records that `call_id` became `contact`, unless the call is known already. Returns the
    /// record as it stands afterwards: when two deliveries race, both see the same contact.
    pub async fn claim_call(
        &self,
        integration: &str,
        call_id: &str,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<CallRecord, StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "insert into phone_call (integration_id, call_id, contact_id, created_at) values ($1, $2, $3, $4) \
                 on conflict (integration_id, call_id) do nothing",
            )
            .bind(integration)
            .bind(call_id)
            .bind(contact.to_string())
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        self.call(integration, call_id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Marks the call ended (creating the record if the hang-up came first).
    pub async fn end_call(
        &self,
        integration: &str,
        call_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "insert into phone_call (integration_id, call_id, contact_id, created_at, ended_at) values ($1, $2, null, $3, $3) \
                 on conflict (integration_id, call_id) do update set ended_at = coalesce(phone_call.ended_at, excluded.ended_at)",
            )
            .bind(integration)
            .bind(call_id)
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The answer already given to this delivery, if any.
    pub async fn hook_response(
        &self,
        integration: &str,
        event_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(with_reader!(self, |pool| {
            sqlx::query_scalar(
                "select response from hook_event where integration_id = $1 and event_id = $2",
            )
            .bind(integration)
            .bind(event_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Keeps the answer to a delivery (the first one wins if two race).
    pub async fn save_hook_response(
        &self,
        integration: &str,
        event_id: &str,
        response: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "insert into hook_event (integration_id, event_id, response, received_at) values ($1, $2, $3, $4) \
                 on conflict (integration_id, event_id) do nothing",
            )
            .bind(integration)
            .bind(event_id)
            .bind(response)
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// A survey answer as stored: contact, scale name (`csat5`, `nps10`), score.
pub type StoredSurveyAnswer = (ContactId, String, u8);

impl crate::Store {
    /// Remembers which customer a contact belongs to (the first reference given wins).
    pub async fn set_contact_customer(
        &self,
        contact: ContactId,
        customer: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "insert into contact_customer (contact_id, customer_ref, created_at) values ($1, $2, $3) \
                 on conflict (contact_id) do nothing",
            )
            .bind(contact.to_string())
            .bind(customer)
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Customer references of the contacts created in `[from, to)`.
    pub async fn contact_customers_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<std::collections::BTreeMap<ContactId, String>, StoreError> {
        let rows: Vec<(String, String)> = with_reader!(self, |pool| {
            sqlx::query_as("select contact_id, customer_ref from contact_customer where created_at >= $1 and created_at < $2")
                .bind(from.as_millis())
                .bind(to.as_millis())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(c, r)| {
                Ok((
                    c.parse().map_err(|_| {
                        StoreError::Corrupt(format!("contact_customer.contact_id {c:?}"))
                    })?,
                    r,
                ))
            })
            .collect()
    }

    /// Records a survey answer (a new one for the same contact and scale replaces it).
    pub async fn add_survey_answer(
        &self,
        contact: ContactId,
        scale: &str,
        score: u8,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "insert into survey_answer (contact_id, scale, score, answered_at) values ($1, $2, $3, $4) \
                 on conflict (contact_id, scale) do update set score = excluded.score, answered_at = excluded.answered_at",
            )
            .bind(contact.to_string())
            .bind(scale)
            .bind(i32::from(score))
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Survey answers given in `[from, to)`.
    pub async fn survey_answers_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredSurveyAnswer>, StoreError> {
        let rows: Vec<(String, String, i32)> = with_reader!(self, |pool| {
            sqlx::query_as("select contact_id, scale, score from survey_answer where answered_at >= $1 and answered_at < $2 order by contact_id, scale")
                .bind(from.as_millis())
                .bind(to.as_millis())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(c, scale, score)| {
                let contact = c
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("survey_answer.contact_id {c:?}")))?;
                let score = u8::try_from(score)
                    .map_err(|_| StoreError::Corrupt(format!("survey_answer.score {score}")))?;
                Ok((contact, scale, score))
            })
            .collect()
    }
}
