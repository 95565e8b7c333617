//! Read views of the live center and its history, as the REST API and the operator's tools
//! show them: a queue's snapshot, a waiting contact's place in line, a page of the event log,
//! every queue's depth (for the metrics), and surveys recorded against contacts.

use switchboard_dispatch::QueueBackend;
pub use switchboard_dispatch::QueueSnapshot;
use switchboard_domain::{ContactId, Event, QueueConfig, QueueId, ValidationError};
use switchboard_protocol::contacts::Position;
pub use switchboard_store::EventFilter;

use crate::{App, AppError};

/// How deep one queue is now, for the metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: QueueId,
    pub waiting: u32,
    pub offered: u32,
}

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

    /// Every configured queue's depth now (queues the dispatcher cannot show are left out).
    pub async fn queue_depths(&self) -> Vec<QueueDepth> {
        let now = self.now();
        let mut depths = Vec::new();
        if let Ok(queues) = self.store.list::<QueueConfig>().await {
            for q in queues {
                if let Ok(Some(s)) = self.dispatcher.queue_snapshot(&q.doc.id, now).await {
                    depths.push(QueueDepth {
                        queue: q.doc.id,
                        waiting: s.waiting,
                        offered: s.offered,
                    });
                }
            }
        }
        depths
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
