//! Users (agents, supervisors, administrators) and their sessions.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Timestamp};

use crate::{
    error::on_constraint,
    store::{wall_clock, with_reader, with_writer},
    Store, StoreError,
};

/// What a user may do. The policy (who may do what) is the gateway's; the store only keeps
/// the word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(Role::Agent),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            other => Err(StoreError::Invalid(format!(
                "role must be agent, supervisor or admin (got {other:?})"
            ))),
        }
    }
}

/// A user to create. `password_hash` is whatever the gateway's hasher produced (PHC string);
/// the store never sees a password.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    /// The agent this user signs in as, for role `agent`.
    pub agent_id: Option<AgentId>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("agent_id", &self.agent_id)
            .finish()
    }
}

/// A stored user. `Debug` never prints the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub agent_id: Option<AgentId>,
    /// A disabled user keeps their row but has no valid session.
    pub disabled: bool,
    /// 1 on create, +1 on every update.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("agent_id", &self.agent_id)
            .field("disabled", &self.disabled)
            .field("version", &self.version)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A partial update: `None` leaves a field as it is. `agent_id: Some(None)` unlinks the
/// agent.
#[derive(Clone, Default)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub agent_id: Option<Option<AgentId>>,
    pub disabled: Option<bool>,
}

impl fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserUpdate")
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("agent_id", &self.agent_id)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// A user row as the database returns it, before its text columns are parsed.
#[derive(sqlx::FromRow)]
struct UserRow {
    app_user_id: i64,
    username: String,
    display_name: String,
    role: String,
    password_hash: String,
    agent_id: Option<String>,
    disabled: bool,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let role = r.role.parse().map_err(|_| {
            StoreError::Corrupt(format!("user {}: role {:?}", r.app_user_id, r.role))
        })?;
        let agent_id = r
            .agent_id
            .map(|a| AgentId::parse(&a))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("user {}: {e}", r.app_user_id)))?;
        Ok(User {
            user_id: r.app_user_id,
            username: r.username,
            display_name: r.display_name,
            role,
            password_hash: r.password_hash,
            agent_id,
            disabled: r.disabled,
            version: r.version,
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
        })
    }
}

/// The columns of [`UserRow`], in a literal for `concat!`.
macro_rules! user_columns {
    () => {
        "app_user_id, username, display_name, role, password_hash, agent_id, disabled, \
         version, created_at, updated_at"
    };
}

impl Store {
    /// Creates a user (version 1, enabled). [`StoreError::Conflict`] if the username is taken
    /// (usernames are compared exactly: normalise case before calling if you want otherwise).
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let now = wall_clock().as_millis();
        let row: UserRow = with_writer!(self, |pool| {
            sqlx::query_as(concat!(
                "insert into app_user (username, display_name, role, password_hash, agent_id, \
                     disabled, version, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, false, 1, $6, $6) \
                 returning ",
                user_columns!()
            ))
            .bind(&new.username)
            .bind(&new.display_name)
            .bind(new.role.as_str())
            .bind(&new.password_hash)
            .bind(new.agent_id.as_ref().map(AgentId::as_str))
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(on_constraint("username is taken"))?
        });
        row.try_into()
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                user_columns!(),
                " from app_user where username = $1"
            ))
            .bind(username)
            .fetch_optional(pool)
            .await?
        });
        row.map(User::try_from).transpose()
    }

    pub async fn user(&self, user_id: i64) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                user_columns!(),
                " from app_user where app_user_id = $1"
            ))
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(User::try_from).transpose()
    }

    /// Every user, by id (creation order).
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                user_columns!(),
                " from app_user order by app_user_id"
            ))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(User::try_from).collect()
    }

    /// Applies `update` in one statement and returns the new row (version + 1).
    /// With `expected_version`, the update happens only if the stored version is that one
    /// ([`StoreError::Conflict`] otherwise); without, the last write wins.
    /// [`StoreError::NotFound`] if there is no such user.
    pub async fn update_user(
        &self,
        user_id: i64,
        update: &UserUpdate,
        expected_version: Option<i64>,
    ) -> Result<User, StoreError> {
        let now = wall_clock().as_millis();
        let (set_agent, agent_id) = match &update.agent_id {
            Some(a) => (true, a.as_ref().map(AgentId::as_str)),
            None => (false, None),
        };
        let row: Option<UserRow> = with_writer!(self, |pool| {
            sqlx::query_as(concat!(
                "update app_user set \
                     display_name = coalesce($2, display_name), \
                     role = coalesce($3, role), \
                     password_hash = coalesce($4, password_hash), \
                     agent_id = case when $5 then $6 else agent_id end, \
                     disabled = coalesce($7, disabled), \
                     version = version + 1, \
                     updated_at = $8 \
                 where app_user_id = $1 and ($9 is null or version = $9) \
                 returning ",
                user_columns!()
            ))
            .bind(user_id)
            .bind(update.display_name.as_deref())
            .bind(update.role.map(Role::as_str))
            .bind(update.password_hash.as_deref())
            .bind(set_agent)
            .bind(agent_id)
            .bind(update.disabled)
            .bind(now)
            .bind(expected_version)
            .fetch_optional(pool)
            .await?
        });
        match row {
            Some(row) => row.try_into(),
            None => match self.user(user_id).await? {
                Some(current) => Err(StoreError::Conflict(format!(
                    "user {user_id} is at version {}, not {}",
                    current.version,
                    expected_version.unwrap_or_default()
                ))),
                None => Err(StoreError::NotFound),
            },
        }
    }

    /// Deletes a user and (by cascade) their sessions. `false` if there was no such user.
    pub async fn delete_user(&self, user_id: i64) -> Result<bool, StoreError> {
        let deleted = with_writer!(self, |pool| {
            sqlx::query("delete from app_user where app_user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// How many *enabled* users have `role`: a disabled administrator cannot sign in, so
    /// does not count when the gateway protects the last one.
    pub async fn count_users_with_role(&self, role: Role) -> Result<i64, StoreError> {
        Ok(with_reader!(self, |pool| {
            sqlx::query_scalar("select count(*) from app_user where role = $1 and not disabled")
                .bind(role.as_str())
                .fetch_one(pool)
                .await?
        }))
    }

    /// Records a session. [`StoreError::NotFound`] if the user does not exist,
    /// [`StoreError::Conflict`] if the token hash is already in use.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        with_writer!(self, |pool| {
            sqlx::query(
                "insert into session (token_hash, app_user_id, created_at, expires_at) \
                 values ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(now.as_millis())
            .bind(expires_at.as_millis())
            .execute(pool)
            .await
            .map_err(on_constraint("session token already in use"))?;
        });
        Ok(())
    }

    /// The user behind a session: `None` if the session is unknown, has expired
    /// (`expires_at <= now`) or its user is disabled.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = with_reader!(self, |pool| {
            sqlx::query_as(
                "select u.app_user_id, u.username, u.display_name, u.role, u.password_hash, \
                     u.agent_id, u.disabled, u.version, u.created_at, u.updated_at \
                 from session s join app_user u on u.app_user_id = s.app_user_id \
                 where s.token_hash = $1 and s.expires_at > $2 and not u.disabled",
            )
            .bind(token_hash)
            .bind(now.as_millis())
            .fetch_optional(pool)
            .await?
        });
        row.map(User::try_from).transpose()
    }

    /// Ends a session (sign-out). `false` if there was none.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let deleted = with_writer!(self, |pool| {
            sqlx::query("delete from session where token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Ends every session of user `user_id` (a password, role or status change); returns
    /// how many.
    pub async fn delete_sessions_of_user(&self, user_id: i64) -> Result<u64, StoreError> {
        Ok(with_writer!(self, |pool| {
            sqlx::query("delete from session where app_user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Creates `new` as an admin only while no enabled admin exists, atomically: of two
    /// concurrent calls (on any instance) one creates it and the other gets `None`.
    /// [`StoreError::Conflict`] if the username is taken.
    pub async fn create_first_admin(&self, new: &NewUser) -> Result<Option<User>, StoreError> {
        const INSERT: &str = concat!(
            "insert into app_user (username, display_name, role, password_hash, agent_id, \
                 disabled, version, created_at, updated_at) \
             select $1, $2, 'admin', $3, $4, false, 1, $5, $5 \
             where not exists (select 1 from app_user where role = 'admin' and not disabled) \
             returning ",
            user_columns!()
        );
        let now = wall_clock().as_millis();
        let row: Option<UserRow> = match &self.pool {
            // One writer connection: statements run one after another, and this one reads
            // and inserts in one go.
            crate::store::Pool::Sqlite { write, .. } => sqlx::query_as(INSERT)
                .bind(&new.username)
                .bind(&new.display_name)
                .bind(&new.password_hash)
                .bind(new.agent_id.as_ref().map(AgentId::as_str))
                .bind(now)
                .fetch_optional(write)
                .await
                .map_err(on_constraint("username is taken"))?,
            // Under read committed two such inserts would not see each other: the table
            // lock (which conflicts with itself, not with readers) puts them in line.
            crate::store::Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("lock table app_user in share row exclusive mode")
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query_as(INSERT)
                    .bind(&new.username)
                    .bind(&new.display_name)
                    .bind(&new.password_hash)
                    .bind(new.agent_id.as_ref().map(AgentId::as_str))
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(on_constraint("username is taken"))?;
                tx.commit().await?;
                row
            }
        };
        row.map(User::try_from).transpose()
    }

    /// Removes the sessions expired at `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(with_writer!(self, |pool| {
            sqlx::query("delete from session where expires_at <= $1")
                .bind(now.as_millis())
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Agent, Role::Supervisor, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
        }
        assert_eq!("root".parse::<Role>().unwrap_err().code(), "invalid");
    }

    #[test]
    fn debug_never_prints_password_hashes() {
        let update = UserUpdate {
            password_hash: Some("$argon2id$secret".into()),
            ..UserUpdate::default()
        };
        assert!(!format!("{update:?}").contains("secret"));
        let new = NewUser {
            username: "ann".into(),
            display_name: "Ann".into(),
            role: Role::Agent,
            password_hash: "$argon2id$secret".into(),
            agent_id: None,
        };
        assert!(!format!("{new:?}").contains("secret"));
    }
}
