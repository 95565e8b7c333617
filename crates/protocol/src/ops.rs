//! The operator's probes: `GET /healthz` (the process is up) and `GET /readyz` (its
//! database and dispatcher answer).

use serde::{Deserialize, Serialize};

/// `GET /healthz`: always `{"status": "ok"}` while the process answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: HealthStatus,
}

/// The only status a live process reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    #[default]
    Ok,
}

/// `GET /readyz`: 200 with `ready` when both dependencies answer, 503 with `not_ready`
/// otherwise; each dependency's kind and whether it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub database: Dependency,
    pub dispatcher: Dependency,
}

impl Readiness {
    /// The answer for these two dependencies: `ready` when both are ok.
    pub fn of(database: Dependency, dispatcher: Dependency) -> Self {
        let status = if database.ok && dispatcher.ok {
            ReadinessStatus::Ready
        } else {
            ReadinessStatus::NotReady
        };
        Self {
            status,
            database,
            dispatcher,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    Ready,
    NotReady,
}

/// One dependency checked by `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dependency {
    /// `sqlite` or `postgres` for the database, `memory` or `redis` for the dispatcher.
    pub kind: String,
    /// Whether it answered.
    pub ok: bool,
}
