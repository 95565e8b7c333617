use thiserror::Error;

/// Why a store operation failed. [`StoreError::code`] gives a stable machine-readable name
/// for the HTTP edge; the `Display` text is for logs.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row the operation is about does not exist.
    #[error("not found")]
    NotFound,
    /// A unique name is taken, or the version the caller read is no longer the stored one.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input cannot be stored (e.g. an event id beyond `i64::MAX`, a bad URL).
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value (a JSON body, a role, an agent id) no longer parses: written by an
    /// older version, or by hand.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// `not_found`, `conflict`, `invalid`, `unavailable` (the database cannot be reached or
    /// the pool is exhausted: worth a retry), `database`, `migrate` or `corrupt`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound => "not_found",
            StoreError::Conflict(_) => "conflict",
            StoreError::Invalid(_) => "invalid",
            StoreError::Database(e) if is_unavailable(e) => "unavailable",
            StoreError::Database(_) => "database",
            StoreError::Migrate(_) => "migrate",
            StoreError::Corrupt(_) => "corrupt",
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    )
}

/// Maps a unique-key violation to [`StoreError::Conflict`] with `what` as the message, and
/// a foreign-key violation to [`StoreError::NotFound`].
pub(crate) fn on_constraint(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(StoreError::NotFound.code(), "not_found");
        assert_eq!(StoreError::Conflict("x".into()).code(), "conflict");
        assert_eq!(StoreError::Invalid("x".into()).code(), "invalid");
        assert_eq!(StoreError::Corrupt("x".into()).code(), "corrupt");
        assert_eq!(
            StoreError::Database(sqlx::Error::PoolTimedOut).code(),
            "unavailable"
        );
        assert_eq!(
            StoreError::Database(sqlx::Error::RowNotFound).code(),
            "database"
        );
    }
}
