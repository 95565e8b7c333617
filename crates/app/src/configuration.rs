//! Administration of configuration records: one generic set of use cases (list, get, put,
//! delete) serves every kind ([`Resource`]), with per-kind validation, reference checks,
//! masking and the effect on the running dispatcher (queues and agents take effect without a
//! restart). Writes may name the version the caller last saw (optimistic concurrency): a
//! stale one is [`AppError::VersionConflict`].

use std::future::Future;

use serde::Serialize;
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{
    Agent, AwayReason, Command, Disposition, GreetingScript, Integration, QueueConfig, QueueId,
    Skill, SkillName, ValidationError,
};
use switchboard_store::StoreError;
pub use switchboard_store::{Document, Versioned};

use crate::{App, AppError};

/// A configuration record the admin API manages.
pub trait Resource: Document + Clone + Serialize {
    /// The collection's path segment, e.g. `queues`.
    const PATH: &'static str;
    /// Singular, for messages.
    const NAME: &'static str;

    fn check(&self) -> Result<(), ValidationError>;

    /// Checks references to other records (skills, queues).
    fn check_refs(&self, _app: &App) -> impl Future<Output = Result<(), AppError>> + Send {
        async { Ok(()) }
    }

    /// Applies a stored record to the running dispatcher.
    fn applied(&self, _app: &App) -> impl Future<Output = Result<(), AppError>> + Send {
        async { Ok(()) }
    }

    /// Before deleting: may refuse (a queue with contacts, a skill in use).
    fn removing(_id: &str, _app: &App) -> impl Future<Output = Result<(), AppError>> + Send {
        async { Ok(()) }
    }

    /// How the API shows it (integrations hide their secret).
    fn view(v: Versioned<Self>) -> serde_json::Value {
        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null)
    }
}

/// Removes a queue or agent from the running dispatcher; one it never knew is fine.
async fn forget(app: &App, command: Command) -> Result<(), AppError> {
    use switchboard_dispatch::DispatchError::{UnknownAgent, UnknownQueue};
    match app.dispatcher.execute(command, app.now()).await {
        Ok(_) | Err(UnknownQueue(_) | UnknownAgent(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn known_skills(
    app: &App,
    skills: impl Iterator<Item = (String, &SkillName)>,
) -> Result<(), AppError> {
    let catalogue = app.store.list::<Skill>().await?;
    for (field, skill) in skills {
        if !catalogue.iter().any(|s| &s.doc.name == skill) {
            return Err(ValidationError::new(
                field,
                format!("unknown skill {skill}; create it under /api/v1/skills first"),
            )
            .into());
        }
    }
    Ok(())
}

impl Resource for QueueConfig {
    const PATH: &'static str = "queues";
    const NAME: &'static str = "queue";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    async fn check_refs(&self, app: &App) -> Result<(), AppError> {
        known_skills(
            app,
            self.required_skills
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("required_skills[{i}].skill"), &r.skill)),
        )
        .await
    }

    async fn applied(&self, app: &App) -> Result<(), AppError> {
        app.floor().set_targets([self]);
        app.dispatcher
            .execute(Command::UpsertQueue(self.clone()), app.now())
            .await?;
        Ok(())
    }

    async fn removing(id: &str, app: &App) -> Result<(), AppError> {
        let Ok(queue) = QueueId::parse(id) else {
            return Ok(());
        };
        forget(app, Command::RemoveQueue { queue }).await
    }
}

impl Resource for Agent {
    const PATH: &'static str = "agents";
    const NAME: &'static str = "agent";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    async fn check_refs(&self, app: &App) -> Result<(), AppError> {
        known_skills(
            app,
            self.profile
                .skills
                .keys()
                .map(|s| (format!("skills.{s}"), s)),
        )
        .await
    }

    async fn applied(&self, app: &App) -> Result<(), AppError> {
        app.dispatcher
            .execute(Command::UpsertAgent(self.profile.clone()), app.now())
            .await?;
        Ok(())
    }

    async fn removing(id: &str, app: &App) -> Result<(), AppError> {
        let Ok(agent) = switchboard_domain::AgentId::parse(id) else {
            return Ok(());
        };
        forget(app, Command::RemoveAgent { agent }).await
    }
}

impl Resource for Skill {
    const PATH: &'static str = "skills";
    const NAME: &'static str = "skill";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    async fn removing(id: &str, app: &App) -> Result<(), AppError> {
        let in_queue = app
            .store
            .list::<QueueConfig>()
            .await?
            .into_iter()
            .find(|q| q.doc.required_skills.iter().any(|r| r.skill.as_str() == id));
        let in_agent = app
            .store
            .list::<Agent>()
            .await?
            .into_iter()
            .find(|a| a.doc.profile.skills.keys().any(|s| s.as_str() == id));
        let user = in_queue
            .map(|q| format!("queue {}", q.doc.id))
            .or(in_agent.map(|a| format!("agent {}", a.doc.profile.id)));
        match user {
            Some(user) => Err(AppError::refused(
                "in_use",
                format!("skill {id} is used by {user}"),
            )),
            None => Ok(()),
        }
    }
}

impl Resource for GreetingScript {
    const PATH: &'static str = "scripts";
    const NAME: &'static str = "greeting script";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    async fn check_refs(&self, app: &App) -> Result<(), AppError> {
        if let Some(queue) = &self.queue {
            if app
                .store
                .get::<QueueConfig>(queue.as_str())
                .await?
                .is_none()
            {
                return Err(ValidationError::new("queue", format!("unknown queue {queue}")).into());
            }
        }
        Ok(())
    }
}

impl Resource for Disposition {
    const PATH: &'static str = "dispositions";
    const NAME: &'static str = "disposition";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Resource for AwayReason {
    const PATH: &'static str = "reason-codes";
    const NAME: &'static str = "reason code";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Resource for Integration {
    const PATH: &'static str = "integrations";
    const NAME: &'static str = "integration";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    fn view(mut v: Versioned<Self>) -> serde_json::Value {
        v.doc.secret = "********".into();
        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null)
    }
}

/// A record as the API shows it, with its version (the ETag).
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub version: i64,
    pub body: serde_json::Value,
}

fn version_conflict(e: StoreError, expected: Option<i64>) -> AppError {
    match (e, expected) {
        (StoreError::Conflict(msg), Some(_)) => AppError::VersionConflict(msg),
        (e, _) => e.into(),
    }
}

impl App {
    /// Every record of a kind, as the API shows them.
    ///
    /// # Errors
    /// A store failure.
    pub async fn list_records<R: Resource>(&self) -> Result<Vec<serde_json::Value>, AppError> {
        Ok(self
            .store
            .list::<R>()
            .await?
            .into_iter()
            .map(R::view)
            .collect())
    }

    /// One record, as the API shows it.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; a store failure.
    pub async fn record<R: Resource>(&self, id: &str) -> Result<Shown, AppError> {
        let v = self
            .store
            .get::<R>(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("{} {id}", R::NAME)))?;
        Ok(Shown {
            version: v.version,
            body: R::view(v),
        })
    }

    /// Creates or replaces the record `id` (the body must name the same id), checked and
    /// applied to the running dispatcher. With `expected` the write succeeds only on that
    /// version; without it, the last write wins. Version 1 means it was created.
    ///
    /// # Errors
    /// [`AppError::Invalid`], [`AppError::VersionConflict`]; a store or dispatcher failure.
    pub async fn put_record<R: Resource>(
        &self,
        id: &str,
        doc: R,
        expected: Option<i64>,
    ) -> Result<Shown, AppError> {
        if doc.id() != id {
            return Err(ValidationError::new(
                "id",
                format!("the path names {id} but the body names {}", doc.id()),
            )
            .into());
        }
        doc.check()?;
        doc.check_refs(self).await?;
        let stored = self
            .store
            .put(&doc, expected, self.now())
            .await
            .map_err(|e| version_conflict(e, expected))?;
        self.consoles().config_changed();
        doc.applied(self).await?;
        Ok(Shown {
            version: stored.version,
            body: R::view(stored),
        })
    }

    /// Deletes the record `id` (at version `expected`, if given), after the dispatcher let
    /// go of it.
    ///
    /// # Errors
    /// [`AppError::NotFound`], [`AppError::VersionConflict`], `in_use` (a skill a queue or
    /// agent uses); a store or dispatcher failure.
    pub async fn delete_record<R: Resource>(
        &self,
        id: &str,
        expected: Option<i64>,
    ) -> Result<(), AppError> {
        let current = self
            .store
            .get::<R>(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("{} {id}", R::NAME)))?;
        // Check the version before the dispatcher forgets anything.
        if expected.is_some_and(|e| e != current.version) {
            return Err(AppError::VersionConflict(format!(
                "{} {id} is at version {}",
                R::NAME,
                current.version
            )));
        }
        R::removing(id, self).await?;
        if self
            .store
            .delete::<R>(id, expected)
            .await
            .map_err(|e| version_conflict(e, expected))?
        {
            self.consoles().config_changed();
            Ok(())
        } else {
            Err(AppError::not_found(format!("{} {id}", R::NAME)))
        }
    }
}
