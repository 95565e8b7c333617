//! Administration of configuration records: one generic set of handlers (list, get, put,
//! delete) serves every kind, with per-kind validation, reference checks, masking and the
//! effect on the running dispatcher (queues and agents take effect without a restart).

use std::future::Future;

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{
    Agent, AwayReason, Command, Disposition, GreetingScript, Integration, QueueConfig, QueueId,
    Skill, SkillName, ValidationError,
};
use switchboard_store::{Document, StoreError, Versioned};

use crate::{
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

/// A configuration record the admin API manages.
pub trait Resource: Document + Clone + Serialize {
    /// The collection's path segment, e.g. `queues`.
    const PATH: &'static str;
    /// Singular, for messages.
    const NAME: &'static str;

    fn check(&self) -> Result<(), ValidationError>;

    /// Checks references to other records (skills, queues).
    fn check_refs(&self, _state: &AppState) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }

    /// Applies a stored record to the running dispatcher.
    fn applied(&self, _state: &AppState) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }

    /// Before deleting: may refuse (a queue with contacts, a skill in use).
    fn removing(_id: &str, _state: &AppState) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }

    /// How the API shows it (integrations hide their secret).
    fn view(v: Versioned<Self>) -> serde_json::Value {
        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null)
    }
}

/// Removes a queue or agent from the running dispatcher; one it never knew is fine.
async fn forget(state: &AppState, command: Command) -> Result<(), ApiError> {
    use switchboard_dispatch::DispatchError::{UnknownAgent, UnknownQueue};
    match state.dispatcher.execute(command, state.clock.now()).await {
        Ok(_) | Err(UnknownQueue(_) | UnknownAgent(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn known_skills(
    state: &AppState,
    skills: impl Iterator<Item = (String, &SkillName)>,
) -> Result<(), ApiError> {
    let catalogue = state.store.list::<Skill>().await?;
    for (field, skill) in skills {
        if !catalogue.iter().any(|s| &s.doc.name == skill) {
            return Err(ApiError::invalid(&ValidationError::new(
                field,
                format!("unknown skill {skill}; create it under /api/v1/skills first"),
            )));
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

    async fn check_refs(&self, state: &AppState) -> Result<(), ApiError> {
        known_skills(
            state,
            self.required_skills
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("required_skills[{i}].skill"), &r.skill)),
        )
        .await
    }

    async fn applied(&self, state: &AppState) -> Result<(), ApiError> {
        state.floor.set_targets([self]);
        state
            .dispatcher
            .execute(Command::UpsertQueue(self.clone()), state.clock.now())
            .await?;
        Ok(())
    }

    async fn removing(id: &str, state: &AppState) -> Result<(), ApiError> {
        let Ok(queue) = QueueId::parse(id) else {
            return Ok(());
        };
        forget(state, Command::RemoveQueue { queue }).await
    }
}

impl Resource for Agent {
    const PATH: &'static str = "agents";
    const NAME: &'static str = "agent";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    async fn check_refs(&self, state: &AppState) -> Result<(), ApiError> {
        known_skills(
            state,
            self.profile
                .skills
                .keys()
                .map(|s| (format!("skills.{s}"), s)),
        )
        .await
    }

    async fn applied(&self, state: &AppState) -> Result<(), ApiError> {
        state
            .dispatcher
            .execute(
                Command::UpsertAgent(self.profile.clone()),
                state.clock.now(),
            )
            .await?;
        Ok(())
    }

    async fn removing(id: &str, state: &AppState) -> Result<(), ApiError> {
        let Ok(agent) = switchboard_domain::AgentId::parse(id) else {
            return Ok(());
        };
        forget(state, Command::RemoveAgent { agent }).await
    }
}

impl Resource for Skill {
    const PATH: &'static str = "skills";
    const NAME: &'static str = "skill";

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }

    async fn removing(id: &str, state: &AppState) -> Result<(), ApiError> {
        let in_queue = state
            .store
            .list::<QueueConfig>()
            .await?
            .into_iter()
            .find(|q| q.doc.required_skills.iter().any(|r| r.skill.as_str() == id));
        let in_agent = state
            .store
            .list::<Agent>()
            .await?
            .into_iter()
            .find(|a| a.doc.profile.skills.keys().any(|s| s.as_str() == id));
        let user = in_queue
            .map(|q| format!("queue {}", q.doc.id))
            .or(in_agent.map(|a| format!("agent {}", a.doc.profile.id)));
        match user {
            Some(user) => Err(ApiError::new(
                StatusCode::CONFLICT,
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

    async fn check_refs(&self, state: &AppState) -> Result<(), ApiError> {
        if let Some(queue) = &self.queue {
            if state
                .store
                .get::<QueueConfig>(queue.as_str())
                .await?
                .is_none()
            {
                return Err(ApiError::invalid(&ValidationError::new(
                    "queue",
                    format!("unknown queue {queue}"),
                )));
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

/// `If-Match: "3"` (or `3`): the version the caller last saw.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_if_match",
                "If-Match must be a version number, e.g. \"3\"",
            )
        })
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn version_conflict(e: StoreError, expected: Option<i64>) -> ApiError {
    match (e, expected) {
        (StoreError::Conflict(msg), Some(_)) => {
            ApiError::new(StatusCode::PRECONDITION_FAILED, "version_conflict", msg)
        }
        (e, _) => e.into(),
    }
}

/// `GET /api/v1/{kind}`
pub async fn list<R: Resource>(
    State(state): State<AppState>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    Ok(Json(
        state
            .store
            .list::<R>()
            .await?
            .into_iter()
            .map(R::view)
            .collect(),
    ))
}

/// `GET /api/v1/{kind}/{id}`
pub async fn get_one<R: Resource>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let v = state
        .store
        .get::<R>(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} {id}", R::NAME)))?;
    let tag = etag(v.version);
    Ok(([(header::ETAG, tag)], Json(R::view(v))).into_response())
}

/// `PUT /api/v1/{kind}/{id}`: create or replace. With `If-Match` the write succeeds only
/// on that version (412 otherwise); without it, the last write wins.
pub async fn put<R: Resource + serde::de::DeserializeOwned>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(doc): ApiJson<R>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    if doc.id() != id {
        return Err(ApiError::invalid(&ValidationError::new(
            "id",
            format!("the path names {id} but the body names {}", doc.id()),
        )));
    }
    doc.check()?;
    doc.check_refs(&state).await?;
    let stored = state
        .store
        .put(&doc, expected, state.clock.now())
        .await
        .map_err(|e| version_conflict(e, expected))?;
    state.consoles.config_changed();
    doc.applied(&state).await?;
    let status = if stored.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let tag = etag(stored.version);
    Ok((status, [(header::ETAG, tag)], Json(R::view(stored))).into_response())
}

/// `DELETE /api/v1/{kind}/{id}`
pub async fn delete<R: Resource>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let expected = if_match(&headers)?;
    let current = state
        .store
        .get::<R>(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} {id}", R::NAME)))?;
    // Check the version before the dispatcher forgets anything.
    if expected.is_some_and(|e| e != current.version) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "version_conflict",
            format!("{} {id} is at version {}", R::NAME, current.version),
        ));
    }
    R::removing(&id, &state).await?;
    if state
        .store
        .delete::<R>(&id, expected)
        .await
        .map_err(|e| version_conflict(e, expected))?
    {
        state.consoles.config_changed();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("{} {id}", R::NAME)))
    }
}
