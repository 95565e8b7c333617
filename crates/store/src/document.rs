//! Configuration documents: one table per kind, each row a JSON body with a version.

use serde::{de::DeserializeOwned, Serialize};
use sqlx::AssertSqlSafe;
use switchboard_domain::{
    Agent, AwayReason, Disposition, GreetingScript, Integration, QueueConfig, Skill, Timestamp,
};

use crate::{
    store::{with_reader, with_writer},
    Store, StoreError,
};

/// A configuration record kept as a JSON body in a table of its own.
///
/// The table (created by a migration) is named [`Document::KIND`] and has the columns
/// `<KIND>_id, body, version, created_at, updated_at`.
pub trait Document: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The table name, e.g. `queue`: lowercase letters and `_` only.
    const KIND: &'static str;
    /// The document's key within its kind (a queue's id, a skill's name…).
    fn id(&self) -> String;
}

impl Document for QueueConfig {
    const KIND: &'static str = "queue";
    fn id(&self) -> String {
        self.id.to_string()
    }
}

impl Document for Agent {
    const KIND: &'static str = "agent";
    fn id(&self) -> String {
        self.profile.id.to_string()
    }
}

impl Document for Skill {
    const KIND: &'static str = "skill";
    fn id(&self) -> String {
        self.name.to_string()
    }
}

impl Document for GreetingScript {
    const KIND: &'static str = "greeting_script";
    fn id(&self) -> String {
        self.script_id.clone()
    }
}

impl Document for Disposition {
    const KIND: &'static str = "disposition";
    fn id(&self) -> String {
        self.code.clone()
    }
}

impl Document for AwayReason {
    const KIND: &'static str = "away_reason";
    fn id(&self) -> String {
        self.code.to_string()
    }
}

impl Document for Integration {
    const KIND: &'static str = "integration";
    fn id(&self) -> String {
        self.integration_id.clone()
    }
}

/// A stored document with its bookkeeping. Serialises as the document's own fields plus
/// `version`, `created_at` and `updated_at`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Versioned<D> {
    #[serde(flatten)]
    pub doc: D,
    /// 1 on create, +1 on every write: what a caller passes back as `expected_version`.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The SQL of one kind. Table names cannot be bind parameters, so they are spliced in; they
/// come from `Document::KIND`, a constant of the program (checked to be `[a-z_]+`), never
/// from input.
struct Sql {
    list: String,
    get: String,
    insert: String,
    upsert: String,
    update: String,
    delete: String,
    exists: String,
}

fn sql<D: Document>() -> Result<Sql, StoreError> {
    let t = D::KIND;
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(StoreError::Invalid(format!(
            "document kind {t:?} is not a table name"
        )));
    }
    let cols = format!("{t}_id, body, version, created_at, updated_at");
    Ok(Sql {
        list: format!("select {cols} from {t} order by {t}_id"),
        get: format!("select {cols} from {t} where {t}_id = $1"),
        insert: format!(
            "insert into {t} ({cols}) values ($1, $2, 1, $3, $3) \
             on conflict ({t}_id) do nothing \
             returning version, created_at, updated_at"
        ),
        upsert: format!(
            "insert into {t} ({cols}) values ($1, $2, 1, $3, $3) \
             on conflict ({t}_id) do update set \
                 body = excluded.body, version = {t}.version + 1, updated_at = excluded.updated_at \
             returning version, created_at, updated_at"
        ),
        update: format!(
            "update {t} set body = $2, version = version + 1, updated_at = $3 \
             where {t}_id = $1 and version = $4 \
             returning version, created_at, updated_at"
        ),
        delete: format!("delete from {t} where {t}_id = $1 and ($2 is null or version = $2)"),
        exists: format!("select version from {t} where {t}_id = $1"),
    })
}

/// `(id, body, version, created_at, updated_at)`
type DocRow = (String, String, i64, i64, i64);

fn parse<D: Document>(
    (id, body, version, created_at, updated_at): DocRow,
) -> Result<Versioned<D>, StoreError> {
    let doc = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("{} {id:?}: {e}", D::KIND)))?;
    Ok(Versioned {
        doc,
        version,
        created_at: Timestamp::from_millis(created_at),
        updated_at: Timestamp::from_millis(updated_at),
    })
}

impl Store {
    /// Every document of a kind, ordered by id (bytewise).
    pub async fn list<D: Document>(&self) -> Result<Vec<Versioned<D>>, StoreError> {
        let sql = sql::<D>()?;
        let rows: Vec<DocRow> = with_reader!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql.list))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(parse).collect()
    }

    pub async fn get<D: Document>(&self, id: &str) -> Result<Option<Versioned<D>>, StoreError> {
        let sql = sql::<D>()?;
        let row: Option<DocRow> = with_reader!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql.get))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(parse).transpose()
    }

    /// Stores `doc` under `doc.id()`:
    ///
    /// * `expected_version` `Some(0)`: create; [`StoreError::Conflict`] if it exists;
    /// * `Some(v)`: replace version `v`; [`StoreError::Conflict`] if the stored version is
    ///   another or the document does not exist;
    /// * `None`: create, or replace whatever is stored (last write wins).
    ///
    /// Returns what is stored now: version 1 on create, +1 on every replace. The body is
    /// checked to read back as a `D` before it is written, so a stored body always parses.
    pub async fn put<D: Document>(
        &self,
        doc: &D,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Versioned<D>, StoreError> {
        let sql = sql::<D>()?;
        let id = doc.id();
        let body = serde_json::to_string(doc)
            .map_err(|e| StoreError::Invalid(format!("{} {id:?}: {e}", D::KIND)))?;
        let stored: D = serde_json::from_str(&body).map_err(|e| {
            StoreError::Invalid(format!("{} {id:?} does not read back: {e}", D::KIND))
        })?;
        let now = now.as_millis();
        let row: Option<(i64, i64, i64)> = match expected_version {
            None => with_writer!(self, |pool| {
                sqlx::query_as(AssertSqlSafe(sql.upsert))
                    .bind(&id)
                    .bind(&body)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }),
            Some(0) => with_writer!(self, |pool| {
                sqlx::query_as(AssertSqlSafe(sql.insert))
                    .bind(&id)
                    .bind(&body)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }),
            Some(expected) => with_writer!(self, |pool| {
                sqlx::query_as(AssertSqlSafe(sql.update))
                    .bind(&id)
                    .bind(&body)
                    .bind(now)
                    .bind(expected)
                    .fetch_optional(pool)
                    .await?
            }),
        };
        let (version, created_at, updated_at) = match row {
            Some(row) => row,
            None => {
                let kind = D::KIND;
                let current = self.current_version(sql.exists, &id).await?;
                return Err(StoreError::Conflict(match (current, expected_version) {
                    (Some(v), Some(0)) => format!("{kind} {id:?} already exists (version {v})"),
                    (Some(v), Some(e)) => format!("{kind} {id:?} is at version {v}, not {e}"),
                    (None, Some(e)) => {
                        format!("{kind} {id:?} does not exist (expected version {e})")
                    }
                    (_, None) => format!("{kind} {id:?} changed meanwhile"),
                }));
            }
        };
        Ok(Versioned {
            doc: stored,
            version,
            created_at: Timestamp::from_millis(created_at),
            updated_at: Timestamp::from_millis(updated_at),
        })
    }

    /// Deletes a document; with `expected_version`, only if that is the stored version
    /// ([`StoreError::Conflict`] otherwise). `false` if there was no such document.
    pub async fn delete<D: Document>(
        &self,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        let sql = sql::<D>()?;
        let deleted = with_writer!(self, |pool| {
            sqlx::query(AssertSqlSafe(sql.delete))
                .bind(id)
                .bind(expected_version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted > 0 {
            return Ok(true);
        }
        match (
            expected_version,
            self.current_version(sql.exists, id).await?,
        ) {
            (Some(e), Some(v)) => Err(StoreError::Conflict(format!(
                "{} {id:?} is at version {v}, not {e}",
                D::KIND
            ))),
            _ => Ok(false),
        }
    }

    async fn current_version(
        &self,
        exists_sql: String,
        id: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(with_reader!(self, |pool| {
            sqlx::query_scalar(AssertSqlSafe(exists_sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }
}
