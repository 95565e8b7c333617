//! Read views of the live center and its history, as the REST API and the operator's tools
//! show them: a queue's snapshot, a waiting contact's place in line, a page of the event log,
//! and surveys recorded against contacts.

use switchboard_dispatch::QueueBackend;
pub use switchboard_dispatch::QueueSnapshot;
use switchboard_domain::{ContactId, Event, QueueId, ValidationError};
use switchboard_protocol::contacts::Position;
pub use switchboard_store::EventFilter;

use crate::{App, AppError};

impl App {
    /// The queue now: waiting, ringing, longest wait, agents by state.
    ///
    /// # Errors
    /// A dispatcher failure.
    pub async fn queue_snapshot(&self, queue: &QueueId) -> Result<Option<QueueSnapshot>, AppError> {
        Ok(self.dispatcher.queue_snapshot(queue, self.now()).await?)
    }

    /// Where a waiting contact stands, and its estimated wait (what the IVR announces); none
    /// when it is not waiting.
    ///
    /// # Errors
    /// A dispatcher failure.
    pub async fn position(&self, contact: ContactId) -> Result<Option<Position>, AppError> {
        Ok(self
            .dispatcher
            .position(contact, self.now())
            .await?
            .map(|p| Position {
                queue: p.queue,
                position: p.position,
                waiting: p.waiting,
                estimated_wait: p.estimated_wait,
            }))
    }

    /// A page of the event log.
    ///
    /// # Errors
    /// A store failure.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, AppError> {
        Ok(self.store.events(filter).await?)
    }

    /// A post-contact survey answer (CSAT 1–5 or NPS 0–10), for the reports.
    ///
    /// # Errors
    /// A score outside its scale; a store failure.
    pub async fn record_survey(
        &self,
        answer: switchboard_stats::SurveyAnswer,
    ) -> Result<(), AppError> {
        answer
            .validate()
            .map_err(|e| ValidationError::new("score", e.to_string()))?;
        let scale = serde_json::to_value(answer.scale)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.store
            .add_survey_answer(answer.contact, &scale, answer.score, self.now())
            .await?;
        Ok(())
    }
}
