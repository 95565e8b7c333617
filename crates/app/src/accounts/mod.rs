//! Who may sign in: users (agents, supervisors, admins), their Argon2id password hashes,
//! sessions behind opaque tokens stored only as SHA-256, the first admin created with a
//! one-time setup secret, and a limit on sign-in attempts.
//!
//! [`Accounts`] is the use case for each: sign in, resolve a session token to its user,
//! sign out, set up the first admin, and administer users while keeping at least one admin.
//! Which role may call which route is the edge's table; this module only keeps the word.

mod limiter;
mod password;
mod token;

use std::{fmt, net::IpAddr, time::Duration};

use switchboard_domain::{AgentId, Timestamp, ValidationError};
use switchboard_store::{NewUser, Store, StoreError, UserUpdate};
pub use switchboard_store::{Role, User};

pub use limiter::LoginLimiter;
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
    /// Sign-in attempts per username (and per client address) per minute.
    pub login_attempts_per_minute: u32,
    /// While no admin exists, [`Accounts::set_up`] with this secret creates the first.
    pub setup_secret: Option<Secret>,
    pub password_hashing: PasswordHashing,
}

/// Why an account operation was refused. Each has a stable [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("too many sign-in attempts; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("an admin exists; sign in instead")]
    AlreadySetUp,
    #[error("no setup secret is configured")]
    SetupDisabled,
    #[error("wrong setup secret")]
    BadSetupSecret,
    #[error("user {0} not found")]
    UserNotFound(i64),
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
            AccountError::UserNotFound(_) => "not_found",
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
    limiter: LoginLimiter,
}

impl Accounts {
    pub fn new(store: Store, settings: AccountSettings) -> Self {
        let limiter = LoginLimiter::new(settings.login_attempts_per_minute);
        Self {
            store,
            settings,
            limiter,
        }
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    /// Signs `username` in from `client` (when known): a new session, or why not.
    /// Attempts count per username and per client address, successes included.
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
        let mut keys = vec![format!("user:{username}")];
        if let Some(ip) = client {
            keys.push(format!("ip:{ip}"));
        }
        self.limiter
            .attempt(&keys, now)
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
                tracing::info!(username = ?bounded(&username), "sign-in refused");
                return Err(AccountError::InvalidCredentials);
            }
        };
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

    /// Creates the first admin with the one-time setup secret; closed for good once an
    /// admin exists.
    ///
    /// # Errors
    /// `AlreadySetUp`, `SetupDisabled`, `BadSetupSecret`, or those of
    /// [`create_user`](Self::create_user).
    pub async fn set_up(
        &self,
        secret: &str,
        username: String,
        display_name: String,
        password: String,
    ) -> Result<User, AccountError> {
        if self.store.count_users_with_role(Role::Admin).await? > 0 {
            return Err(AccountError::AlreadySetUp);
        }
        let Some(expected) = &self.settings.setup_secret else {
            return Err(AccountError::SetupDisabled);
        };
        if !constant_time_eq(expected.expose().as_bytes(), secret.as_bytes()) {
            return Err(AccountError::BadSetupSecret);
        }
        self.create_user(NewUserRequest {
            username,
            display_name,
            role: Role::Admin,
            password,
            agent_id: None,
        })
        .await
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
        let update = UserUpdate {
            display_name: changes.display_name.map(|n| n.trim().to_owned()),
            role: changes.role,
            password_hash,
            agent_id: changes.agent_id,
            disabled: changes.disabled,
        };
        self.store
            .update_user(id, &update, expected)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(msg) if expected.is_some() => {
                    AccountError::VersionConflict(msg)
                }
                e => e.into(),
            })
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
    let username = req.username.trim().to_lowercase();
    AgentId::parse(&username).map_err(|mut e| {
        e.field = "username".into();
        AccountError::Invalid(e)
    })?;
    let display_name = req.display_name.trim().to_owned();
    check_display_name(&display_name)?;
    check_password_policy(&username, &req.password)?;
    let password_hash = hash_password(req.password, cost).await?;
    Ok(store
        .create_user(&NewUser {
            username,
            display_name,
            role: req.role,
            password_hash,
            agent_id: req.agent_id,
        })
        .await?)
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
