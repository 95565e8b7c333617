//! The in-process dispatcher's state across restarts: one row, overwritten on every save.

use switchboard_domain::Timestamp;

use crate::{store::with_pool, Store, StoreError};

impl Store {
    /// Stores the engine snapshot (JSON, opaque to the store), replacing the previous one.
    pub async fn save_engine_snapshot(&self, json: &str, now: Timestamp) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "insert into engine_snapshot (engine_snapshot_id, body, saved_at) \
                 values (1, $1, $2) \
                 on conflict (engine_snapshot_id) do update \
                     set body = excluded.body, saved_at = excluded.saved_at",
            )
            .bind(json)
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The last snapshot saved, if any.
    pub async fn load_engine_snapshot(&self) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_scalar("select body from engine_snapshot where engine_snapshot_id = 1")
                .fetch_optional(pool)
                .await?
        }))
    }
}
