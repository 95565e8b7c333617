//! The application's refusals and failures: one type, [`AppError`], that every use case
//! returns, each value with a stable machine-readable [`code`](AppError::code) and a
//! [`Class`] the edges map to their own answers (an HTTP status, an error frame) without
//! knowing where the failure came from (the store, the dispatcher, a rule of the use case).

use switchboard_dispatch::DispatchError;
use switchboard_domain::ValidationError;
use switchboard_store::StoreError;

/// What kind of failure, for the edges: the caller's mistake (and which), or ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The request can never succeed as sent (a field's value).
    Invalid,
    /// What it names does not exist.
    NotFound,
    /// Not now: the state of things refuses it (a contact not waiting, a name in use).
    Conflict,
    /// The caller's idea of a record's version is out of date.
    VersionConflict,
    /// A dependency (the database, Redis) does not answer; retrying may help.
    Unavailable,
    /// Ours: a bug or a broken invariant. The edges log it and answer generically.
    Internal,
}

/// A use case's failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// `what` does not exist (e.g. `queue support`).
    #[error("{0} not found")]
    NotFound(String),
    /// Refused by a rule of the use case, with its own stable code.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// A write that named a version the record is no longer at.
    #[error("{0}")]
    VersionConflict(String),
    /// Ours: a broken invariant (what broke is in the message, for the log).
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
}

impl AppError {
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// The kind of failure.
    pub fn class(&self) -> Class {
        match self {
            Self::Invalid(_) => Class::Invalid,
            Self::NotFound(_) => Class::NotFound,
            Self::Refused { .. } => Class::Conflict,
            Self::VersionConflict(_) => Class::VersionConflict,
            Self::Internal(_) => Class::Internal,
            Self::Store(e) => match e {
                StoreError::NotFound => Class::NotFound,
                StoreError::Conflict(_) => Class::Conflict,
                StoreError::Invalid(_) => Class::Invalid,
                other if other.code() == "unavailable" => Class::Unavailable,
                _ => Class::Internal,
            },
            Self::Dispatch(e) => match e {
                DispatchError::Invalid(_) => Class::Invalid,
                DispatchError::UnknownQueue(_)
                | DispatchError::UnknownAgent(_)
                | DispatchError::UnknownContact(_) => Class::NotFound,
                DispatchError::DuplicateContact(_)
                | DispatchError::NotOffered { .. }
                | DispatchError::NoWrapUp { .. }
                | DispatchError::InvalidTransition { .. }
                | DispatchError::AgentOffline(_)
                | DispatchError::AgentBusy(_)
                | DispatchError::InUse(_) => Class::Conflict,
                DispatchError::Backend(_) => Class::Unavailable,
            },
        }
    }

    /// The stable code (`invalid`, `not_found`, `unknown_queue`, `not_waiting`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::NotFound(_) => "not_found",
            Self::Refused { code, .. } => code,
            Self::VersionConflict(_) => "version_conflict",
            Self::Internal(_) => "internal",
            Self::Store(e) => match e {
                StoreError::NotFound => "not_found",
                StoreError::Conflict(_) => "conflict",
                StoreError::Invalid(_) => "invalid",
                other => other.code(),
            },
            Self::Dispatch(e) => e.code(),
        }
    }

    /// The offending field, when the request named a bad value.
    pub fn validation(&self) -> Option<&ValidationError> {
        match self {
            Self::Invalid(v) | Self::Dispatch(DispatchError::Invalid(v)) => Some(v),
            _ => None,
        }
    }

    /// The message for the caller. For [`Class::Unavailable`] and [`Class::Internal`] the
    /// edges show a generic text and log [`Display`](std::fmt::Display) instead.
    pub fn message(&self) -> String {
        match self {
            Self::Store(StoreError::NotFound) => "record not found".into(),
            Self::Store(StoreError::Conflict(m) | StoreError::Invalid(m)) => m.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use switchboard_domain::QueueId;

    use super::*;

    #[test]
    fn each_source_keeps_its_code_and_class() {
        let queue = QueueId::parse("support").unwrap();
        let unknown = AppError::from(DispatchError::UnknownQueue(queue));
        assert_eq!(
            (unknown.class(), unknown.code()),
            (Class::NotFound, "unknown_queue")
        );
        let gone = AppError::from(StoreError::NotFound);
        assert_eq!((gone.class(), gone.code()), (Class::NotFound, "not_found"));
        assert_eq!(gone.message(), "record not found");
        let busy = AppError::refused("in_use", "skill x is used by queue y");
        assert_eq!((busy.class(), busy.code()), (Class::Conflict, "in_use"));
        let bad = AppError::from(ValidationError::new("queue", "empty"));
        assert_eq!(bad.validation().map(|v| v.field.as_str()), Some("queue"));
    }
}
