//! API keys (service accounts): known by the hash of their secret, with their scopes as
//! words, who created them, and when they expire, were last used and were revoked.

use std::fmt;

use switchboard_domain::Timestamp;

use crate::{
    error::on_constraint,
    store::{with_reader, with_writer},
    Store, StoreError,
};

/// A key to record. `key_hash` is whatever the caller's hasher produced; the store never
/// sees the secret. `scopes` are the scopes' names, which the store keeps without knowing
/// them.
#[derive(Clone)]
pub struct NewApiKey {
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("name", &self.name)
            .field("key_hash", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("scopes", &self.scopes)
            .field("created_by", &self.created_by)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A stored key (without its hash), with its creator's username while that user exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub api_key_id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_by: Option<i64>,
    pub created_by_username: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    api_key_id: i64,
    name: String,
    prefix: String,
    scopes: String,
    created_by: Option<i64>,
    created_by_username: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> Self {
        ApiKey {
            api_key_id: r.api_key_id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
            created_by: r.created_by,
            created_by_username: r.created_by_username,
            created_at: Timestamp::from_millis(r.created_at),
            expires_at: r.expires_at.map(Timestamp::from_millis),
            last_used_at: r.last_used_at.map(Timestamp::from_millis),
            revoked_at: r.revoked_at.map(Timestamp::from_millis),
        }
    }
}

/// The columns of [`ApiKeyRow`] over `api_key k left join app_user u`, for `concat!`.
macro_rules! key_select {
    () => {
        "select k.api_key_id, k.name, k.prefix, k.scopes, k.created_by, \
             u.username as created_by_username, k.created_at, k.expires_at, k.last_used_at, \
             k.revoked_at \
         from api_key k left join app_user u on u.app_user_id = k.created_by "
    };
}

impl Store {
    /// Records a key. [`StoreError::Conflict`] if a key that still works has that name,
    /// [`StoreError::NotFound`] if `created_by` names no user.
    pub async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError> {
        let id: i64 = with_writer!(self, |pool| {
            sqlx::query_scalar(
                "insert into api_key (name, key_hash, prefix, scopes, created_by, created_at, \
                     expires_at) \
                 values ($1, $2, $3, $4, $5, $6, $7) \
                 returning api_key_id",
            )
            .bind(&new.name)
            .bind(&new.key_hash)
            .bind(&new.prefix)
            .bind(new.scopes.join(" "))
            .bind(new.created_by)
            .bind(new.created_at.as_millis())
            .bind(new.expires_at.map(Timestamp::as_millis))
            .fetch_one(pool)
            .await
            .map_err(on_constraint("an API key of that name exists"))?
        });
        self.api_key(id).await?.ok_or(StoreError::NotFound)
    }

    /// One key, revoked or not.
    pub async fn api_key(&self, api_key_id: i64) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(key_select!(), "where k.api_key_id = $1"))
                .bind(api_key_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(ApiKey::from))
    }

    /// Every key, revoked ones included, by id (creation order).
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<ApiKeyRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(key_select!(), "order by k.api_key_id"))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(ApiKey::from).collect())
    }

    /// The key whose secret hashes to `key_hash`, if it works at `now` (not revoked, not
    /// expired).
    pub async fn api_key_by_hash(
        &self,
        key_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                key_select!(),
                "where k.key_hash = $1 and k.revoked_at is null \
                     and (k.expires_at is null or k.expires_at > $2)"
            ))
            .bind(key_hash)
            .bind(now.as_millis())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(ApiKey::from))
    }

    /// Revokes a key at `now`; a key revoked before keeps its first time. `false` if there
    /// is no such key.
    pub async fn revoke_api_key(
        &self,
        api_key_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let found = with_writer!(self, |pool| {
            sqlx::query(
                "update api_key set revoked_at = coalesce(revoked_at, $2) where api_key_id = $1",
            )
            .bind(api_key_id)
            .bind(now.as_millis())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(found > 0)
    }

    /// Records that the key was used at `now` (never moving the time back).
    pub async fn touch_api_key(&self, api_key_id: i64, now: Timestamp) -> Result<(), StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "update api_key set last_used_at = $2 \
                 where api_key_id = $1 and (last_used_at is null or last_used_at < $2)",
            )
            .bind(api_key_id)
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
