//! Who may sign in: users (agents, supervisors, admins), their Argon2id password hashes,
//! sessions behind opaque tokens stored only as SHA-256, the first admin created with a
//! one-time, expiring setup secret, and limits on failed sign-ins (per account and client,
//! growing lockouts: [`LoginLimiter`]).
//!
//! [`Accounts`] is the use case for each: sign in, resolve a session token to its user,
//! sign out, set up the first admin, and administer users while keeping at least one admin;
//! and API keys for services ([`Accounts::create_api_key`], [`Accounts::api_key_caller`]).
//! A password change, a role change, a new agent link, disabling or deleting a user revokes
//! all of that user's sessions and signals [`Accounts::revocations`], which the open sockets
//! of this instance listen to ([`Accounts::until_revoked`]).
//! Which role may call which route is the edge's table; this module only keeps the word.

mod api_keys;
mod limiter;
mod password;
mod token;

use std::{
    fmt,
    net::IpAddr,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use switchboard_domain::{AgentId, Timestamp, ValidationError};
pub use switchboard_protocol::api_keys::Scope;
pub use switchboard_store::{ApiKey, Role, User};
use switchboard_store::{NewUser, Store, StoreError, UserUpdate};

pub use api_keys::{
    issue_api_key, scopes_of, ApiKeyIssued, ApiKeyRequest, KeyCaller, API_KEY_PREFIX,
    LAST_USE_RESOLUTION,
};
pub use limiter::{LimitPolicy, LoginLimiter};
pub use password::{check_password_policy, hash_password, verify_password, PasswordHashing};
pub use token::{new_token, token_hash};

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// How accounts behave.
#[derive(Clone, Debug)]
pub struct AccountSettings {
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Limits on failed sign-ins (and failed setups).
    pub login_limits: LimitPolicy,
    /// While no admin exists, [`Accounts::set_up`] with this secret creates the first.
    pub setup_secret: Option<Secret>,
    /// When the setup secret stops working (`None`: never).
    pub setup_expires_at: Option<Timestamp>,
    pub password_hashing: PasswordHashing,
    /// How often an open socket checks in the store that its session still exists (a
    /// revocation on another instance, an expiry); revocations on this instance close it
    /// at once.
    pub session_recheck: Duration,
}

/// Why an account operation was refused. Each has a stable [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("too many failed attempts; try again in {} s", retry_after.as_millis().div_ceil(1000).max(1))]
    RateLimited { retry_after: Duration },
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("an admin exists; sign in instead")]
    AlreadySetUp,
    #[error("no setup secret is configured")]
    SetupDisabled,
    #[error("wrong setup secret")]
    BadSetupSecret,
    #[error("the setup secret has expired; restart the server for a new one, or run `switchboard create-admin`")]
    SetupExpired,
    #[error("user {0} not found")]
    UserNotFound(i64),
    #[error("API key {0} not found")]
    ApiKeyNotFound(i64),
    /// Taking admin rights from oneself or from the last admin.
    #[error("{0}")]
    LastAdmin(String),
    /// The `If-Match` version is not the stored one.
    #[error("{0}")]
    VersionConflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Ours, not the caller's (no randomness, no thread).
    #[error("{0}")]
    Internal(String),
}

impl AccountError {
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::Invalid(_) => "invalid",
            AccountError::RateLimited { .. } => "rate_limited",
            AccountError::InvalidCredentials => "invalid_credentials",
            AccountError::AlreadySetUp => "already_set_up",
            AccountError::SetupDisabled => "setup_disabled",
            AccountError::BadSetupSecret => "bad_setup_secret",
            AccountError::SetupExpired => "setup_expired",
            AccountError::UserNotFound(_) | AccountError::ApiKeyNotFound(_) => "not_found",
            AccountError::LastAdmin(_) => "last_admin",
            AccountError::VersionConflict(_) => "version_conflict",
            AccountError::Store(_) => "store",
            AccountError::Internal(_) => "internal",
        }
    }
}

impl From<ValidationError> for AccountError {
    fn from(e: ValidationError) -> Self {
        AccountError::Invalid(e)
    }
}

/// A user to create, as an admin (or the setup, or the CLI) gives it. (The API's body is
/// `switchboard_protocol::users::NewUser`; the edge maps it to this.)
#[derive(Debug)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    pub agent_id: Option<AgentId>,
}

/// Fields of a user to change; `None` keeps a field. `agent_id: Some(None)` unlinks.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub agent_id: Option<Option<AgentId>>,
    pub disabled: Option<bool>,
}

/// A session handed out by [`Accounts::sign_in`]: the token is shown this once.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: User,
}

/// What was just revoked on this instance ([`Accounts::revocations`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Every session of this user.
    User(i64),
    /// This API key.
    Key(i64),
}

/// Who holds an open socket, whose end [`Accounts::until_revoked`] waits for: a user's
/// session, or an API key.
#[derive(Clone, Debug)]
pub enum Holder {
    Session { user_id: i64, token_hash: String },
    Key { api_key_id: i64, key_hash: String },
}

impl Holder {
    fn is(&self, revoked: Revoked) -> bool {
        match (self, revoked) {
            (Holder::Session { user_id, .. }, Revoked::User(id)) => *user_id == id,
            (Holder::Key { api_key_id, .. }, Revoked::Key(id)) => *api_key_id == id,
            _ => false,
        }
    }
}

/// A session token that checked out.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    /// The token's stored hash (to sign out with).
    pub token_hash: String,
}

/// The accounts use cases over the store.
#[derive(Debug)]
pub struct Accounts {
    store: Store,
    settings: AccountSettings,
    /// Failed sign-ins, per (username, client) and per client.
    limiter: LoginLimiter,
    /// Failed setups, per client.
    setup_limiter: LoginLimiter,
    /// The setup secret has created an admin (it works once).
    setup_used: AtomicBool,
    /// The users whose sessions, and the API keys, just revoked.
    revoked: tokio::sync::broadcast::Sender<Revoked>,
}

impl Accounts {
    pub fn new(store: Store, settings: AccountSettings) -> Self {
        let limiter = LoginLimiter::new(settings.login_limits);
        let setup_limiter = LoginLimiter::new(settings.login_limits);
        Self {
            store,
            settings,
            limiter,
            setup_limiter,
            setup_used: AtomicBool::new(false),
            revoked: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// The users whose sessions, and the API keys, revoked from now on (on this instance).
    /// A receiver that lags has missed some: it should check its credential in the store.
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<Revoked> {
        self.revoked.subscribe()
    }

    /// Ends every session of user `id` and tells this instance's sockets.
    async fn revoke_sessions(&self, id: i64, why: &'static str) -> Result<(), AccountError> {
        let removed = self.store.delete_sessions_of_user(id).await?;
        // Nobody listening is fine.
        let _ = self.revoked.send(Revoked::User(id));
        tracing::info!(
            user_id = id,
            sessions = removed,
            reason = why,
            "sessions revoked"
        );
        Ok(())
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    /// Signs `username` in from `client` (when known): a new session, or why not.
    /// Only failures count, per (username, client) and per client ([`LoginLimiter`]); a
    /// pair or client that is locked out is refused before any password is verified, and a
    /// success forgets that pair's failures.
    ///
    /// # Errors
    /// `RateLimited`, `InvalidCredentials` (wrong password, unknown or disabled user — one
    /// answer for all three, in the same time), or a store failure.
    pub async fn sign_in(
        &self,
        username: &str,
        password: String,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<SignedIn, AccountError> {
        let username = username.trim().to_lowercase();
        // What the limiter keys on: bounded (usernames are at most 64 characters anyway).
        let account = bounded(&username);
        self.limiter
            .check(account, client, now)
            .map_err(|retry_after| AccountError::RateLimited { retry_after })?;
        let user = self.store.user_by_username(&username).await?;
        // Verify even for an unknown user, so timing does not reveal which usernames exist.
        let hash = match &user {
            Some(u) => u.password_hash.clone(),
            None => dummy_hash(self.settings.password_hashing).await?,
        };
        let ok = verify_password(password, hash).await;
        let user = match user {
            Some(u) if ok && !u.disabled => u,
            _ => {
                // What the client typed, escaped (`?`: no raw newline or terminal escape can
                // forge a log line) and bounded.
                let lockout = self.limiter.failed(account, client, now);
                tracing::info!(username = ?account, client = ?client, lockout_ms = lockout.as_millis() as u64, "sign-in refused");
                return Err(AccountError::InvalidCredentials);
            }
        };
        self.limiter.succeeded(account, client);
        let token = new_token()?;
        let expires_at = now.plus(self.settings.session_ttl);
        self.store
            .create_session(&token_hash(&token), user.user_id, now, expires_at)
            .await?;
        tracing::info!(username = ?user.username, role = user.role.as_str(), "signed in");
        Ok(SignedIn {
            token,
            expires_at,
            user,
        })
    }

    /// The live session of `token`, if any.
    ///
    /// # Errors
    /// A store failure.
    pub async fn session(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, AccountError> {
        let hash = token_hash(token);
        Ok(self
            .store
            .session_user(&hash, now)
            .await?
            .map(|user| Session {
                user,
                token_hash: hash,
            }))
    }

    /// Ends the session whose token hashes to `token_hash`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn sign_out(&self, token_hash: &str) -> Result<(), AccountError> {
        self.store.delete_session(token_hash).await?;
        Ok(())
    }

    /// Creates the first admin with the one-time setup secret, from `client` (when known) at
    /// `now`. The secret works once (a concurrent second use finds the admin the first
    /// created: the store creates it only while no admin exists, atomically), until
    /// `setup_expires_at`; failed attempts are limited per client like failed sign-ins.
    ///
    /// # Errors
    /// `AlreadySetUp`, `SetupDisabled`, `SetupExpired`, `RateLimited`, `BadSetupSecret`,
    /// or those of [`create_user`](Self::create_user).
    pub async fn set_up(
        &self,
        secret: &str,
        username: String,
        display_name: String,
        password: String,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<User, AccountError> {
        if self.setup_used.load(Ordering::SeqCst)
            || self.store.count_users_with_role(Role::Admin).await? > 0
        {
            return Err(AccountError::AlreadySetUp);
        }
        let Some(expected) = &self.settings.setup_secret else {
            return Err(AccountError::SetupDisabled);
        };
        if self.settings.setup_expires_at.is_some_and(|end| now >= end) {
            return Err(AccountError::SetupExpired);
        }
        self.setup_limiter
            .check("setup", client, now)
            .map_err(|retry_after| AccountError::RateLimited { retry_after })?;
        if !constant_time_eq(expected.expose().as_bytes(), secret.as_bytes()) {
            let lockout = self.setup_limiter.failed("setup", client, now);
            tracing::warn!(client = ?client, lockout_ms = lockout.as_millis() as u64, "setup refused: wrong secret");
            return Err(AccountError::BadSetupSecret);
        }
        let new = validated_user(
            self.settings.password_hashing,
            NewUserRequest {
                username,
                display_name,
                role: Role::Admin,
                password,
                agent_id: None,
            },
        )
        .await?;
        let user = self
            .store
            .create_first_admin(&new)
            .await?
            .ok_or(AccountError::AlreadySetUp)?;
        self.setup_used.store(true, Ordering::SeqCst);
        tracing::info!(username = ?user.username, "first admin created with the setup secret");
        Ok(user)
    }

    /// Validates and creates a user.
    ///
    /// # Errors
    /// `Invalid` (username, display name, password policy), or the store's (a taken
    /// username is its `Conflict`).
    pub async fn create_user(&self, req: NewUserRequest) -> Result<User, AccountError> {
        create_user(&self.store, self.settings.password_hashing, req).await
    }

    /// Every user.
    ///
    /// # Errors
    /// A store failure.
    pub async fn users(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.store.list_users().await?)
    }

    /// One user.
    ///
    /// # Errors
    /// `UserNotFound`, or a store failure.
    pub async fn user(&self, id: i64) -> Result<User, AccountError> {
        self.store
            .user(id)
            .await?
            .ok_or(AccountError::UserNotFound(id))
    }

    /// Changes user `id` on behalf of `by`, if its version is still `expected` (when given).
    ///
    /// # Errors
    /// `UserNotFound`, `Invalid`, `LastAdmin` (demoting or disabling oneself or the last
    /// admin), `VersionConflict`, or a store failure.
    pub async fn update_user(
        &self,
        by: &User,
        id: i64,
        changes: UserChanges,
        expected: Option<i64>,
    ) -> Result<User, AccountError> {
        let current = self.user(id).await?;
        if let Some(name) = &changes.display_name {
            check_display_name(name)?;
        }
        let demotes_admin = current.role == Role::Admin
            && (changes.role.is_some_and(|r| r != Role::Admin) || changes.disabled == Some(true));
        if demotes_admin {
            self.keep_an_admin(by, id, "demote or disable").await?;
        }
        let password_hash = match changes.password {
            Some(p) => {
                check_password_policy(&current.username, &p)?;
                Some(hash_password(p, self.settings.password_hashing).await?)
            }
            None => None,
        };
        // What ends the user's sessions: whatever changes who they are or what they may do.
        let revoke = if password_hash.is_some() {
            Some("password changed")
        } else if changes.role.is_some_and(|r| r != current.role) {
            Some("role changed")
        } else if changes.disabled == Some(true) && !current.disabled {
            Some("disabled")
        } else if changes
            .agent_id
            .as_ref()
            .is_some_and(|a| *a != current.agent_id)
        {
            Some("agent link changed")
        } else {
            None
        };
        let update = UserUpdate {
            display_name: changes.display_name.map(|n| n.trim().to_owned()),
            role: changes.role,
            password_hash,
            agent_id: changes.agent_id,
            disabled: changes.disabled,
        };
        let user = self
            .store
            .update_user(id, &update, expected)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(msg) if expected.is_some() => {
                    AccountError::VersionConflict(msg)
                }
                e => e.into(),
            })?;
        if let Some(why) = revoke {
            self.revoke_sessions(id, why).await?;
        }
        Ok(user)
    }

    /// Deletes user `id` on behalf of `by`.
    ///
    /// # Errors
    /// `UserNotFound`, `LastAdmin`, or a store failure.
    pub async fn delete_user(&self, by: &User, id: i64) -> Result<(), AccountError> {
        let user = self.user(id).await?;
        if user.role == Role::Admin {
            self.keep_an_admin(by, id, "delete").await?;
        }
        self.store.delete_user(id).await?;
        // The sessions went with the row (cascade); the sockets are told.
        self.revoke_sessions(id, "deleted").await?;
        Ok(())
    }

    /// Refuses to take admin rights from the caller themselves or from the last admin, so
    /// the center can always be administered.
    async fn keep_an_admin(&self, by: &User, id: i64, action: &str) -> Result<(), AccountError> {
        if by.user_id == id {
            return Err(AccountError::LastAdmin(format!(
                "you cannot {action} yourself"
            )));
        }
        if self.store.count_users_with_role(Role::Admin).await? <= 1 {
            return Err(AccountError::LastAdmin(format!(
                "cannot {action} the last admin"
            )));
        }
        Ok(())
    }

    /// Resolves when `holder`'s credential has ended: at once when this instance revokes the
    /// user's sessions or the key, else when a periodic check (every `session_recheck`, the
    /// first right away) no longer finds it working in the store at `now()` — revoked by
    /// another instance, signed out, expired. A store that does not answer ends nothing.
    pub async fn until_revoked(&self, holder: &Holder, now: impl Fn() -> Timestamp) {
        let mut revoked = self.revocations();
        let mut recheck = tokio::time::interval(self.settings().session_recheck);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let check = tokio::select! {
                received = revoked.recv() => match received {
                    Ok(what) if holder.is(what) => return,
                    Ok(_) => false,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await;
                        false
                    }
                },
                _ = recheck.tick() => true,
            };
            if check {
                let gone = match holder {
                    Holder::Session { token_hash, .. } => {
                        matches!(self.store.session_user(token_hash, now()).await, Ok(None))
                    }
                    Holder::Key { key_hash, .. } => {
                        matches!(self.store.api_key_by_hash(key_hash, now()).await, Ok(None))
                    }
                };
                if gone {
                    return;
                }
            }
        }
    }

    /// Removes sessions that expired before `now` (they are refused anyway; this keeps the
    /// table small). Returns how many.
    ///
    /// # Errors
    /// A store failure.
    pub async fn remove_expired_sessions(&self, now: Timestamp) -> Result<u64, AccountError> {
        Ok(self.store.delete_expired_sessions(now).await?)
    }
}

/// Validates and creates a user in `store` (also for the command line, which has no
/// running [`Accounts`]).
///
/// # Errors
/// As [`Accounts::create_user`].
pub async fn create_user(
    store: &Store,
    cost: PasswordHashing,
    req: NewUserRequest,
) -> Result<User, AccountError> {
    Ok(store.create_user(&validated_user(cost, req).await?).await?)
}

/// `req` checked (username, display name, password policy) and its password hashed.
async fn validated_user(
    cost: PasswordHashing,
    req: NewUserRequest,
) -> Result<NewUser, AccountError> {
    let username = req.username.trim().to_lowercase();
    AgentId::parse(&username).map_err(|mut e| {
        e.field = "username".into();
        AccountError::Invalid(e)
    })?;
    let display_name = req.display_name.trim().to_owned();
    check_display_name(&display_name)?;
    check_password_policy(&username, &req.password)?;
    let password_hash = hash_password(req.password, cost).await?;
    Ok(NewUser {
        username,
        display_name,
        role: req.role,
        password_hash,
        agent_id: req.agent_id,
    })
}

fn check_display_name(name: &str) -> Result<(), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountError::Invalid(ValidationError::new(
            "display_name",
            "must be 1 to 100 characters",
        )));
    }
    Ok(())
}

/// A hash (of a random password, at the configured cost) to verify against when the
/// username is unknown, made once.
async fn dummy_hash(cost: PasswordHashing) -> Result<String, AccountError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async { hash_password(new_token()?, cost).await })
        .await
        .cloned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// At most 64 characters of client-supplied text, for the log.
fn bounded(text: &str) -> &str {
    text.char_indices()
        .nth(64)
        .map_or(text, |(end, _)| &text[..end])
}
