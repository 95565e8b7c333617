//! Sign-in: Argon2id password hashes, opaque session tokens (stored only as SHA-256
//! hashes), roles checked on every route, and a limit on sign-in attempts.

use std::{collections::HashMap, net::SocketAddr, sync::Mutex, time::Duration};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Extension, Json,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchboard_domain::{AgentId, Timestamp};
use switchboard_store::{NewUser, Role, User};

use crate::{
    error::{ApiError, ApiJson},
    state::{AppState, PasswordHashing},
};

/// Who is calling, once their token checked out.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    /// The hash of the token used (for logout).
    pub token_hash: String,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize)]
pub struct UserView {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agent_id: Option<AgentId>,
    pub disabled: bool,
    pub version: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.user_id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            agent_id: u.agent_id.clone(),
            disabled: u.disabled,
            version: u.version,
        }
    }
}

// ----- passwords and tokens ---------------------------------------------------------------

fn argon2(cost: PasswordHashing) -> Result<Argon2<'static>, ApiError> {
    let params =
        Params::new(cost.memory_kib, cost.iterations, 1, None).map_err(ApiError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return Err(ApiError::invalid(
            &switchboard_domain::ValidationError::new("password", "must be 10 to 256 characters"),
        ));
    }
    Ok(())
}

/// Hashes a password off the async threads (it takes tens of milliseconds by design).
pub async fn hash_password(password: String, cost: PasswordHashing) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(ApiError::internal)?;
        let salt = SaltString::encode_b64(&salt).map_err(ApiError::internal)?;
        Ok(argon2(cost)?
            .hash_password(password.as_bytes(), &salt)
            .map_err(ApiError::internal)?
            .to_string())
    })
    .await
    .map_err(ApiError::internal)?
}

/// Verifies against a stored hash (its own parameters apply).
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A fresh session token: 32 random bytes, URL-safe base64.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a token: its SHA-256, hex. A leaked table reveals no usable token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

// ----- the middleware that checks tokens and roles ----------------------------------------

/// Rejects the request unless it carries a valid session token of one of `roles`; on success
/// the [`Caller`] is available to the handler as an extension.
pub async fn require(
    State(state): State<AppState>,
    roles: &'static [Role],
    mut req: Request,
    next: Next,
) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200);
    let Some(token) = token else {
        return ApiError::unauthorized().into_response();
    };
    let hash = token_hash(token);
    let user = match state.store.session_user(&hash, state.clock.now()).await {
        Ok(Some(user)) => user,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !roles.contains(&user.role) {
        return ApiError::forbidden().into_response();
    }
    tracing::Span::current().record("user", user.username.as_str());
    req.extensions_mut().insert(Caller {
        user,
        token_hash: hash,
    });
    next.run(req).await
}

// ----- sign-in attempts -------------------------------------------------------------------

/// A fixed-window limit on sign-in attempts, per username and per client address, so that
/// neither one account nor one machine can guess passwords quickly.
#[derive(Debug)]
pub struct LoginLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Timestamp, u32)>>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for each key; `Err(retry_after)` if any is over the limit.
    pub fn attempt(&self, keys: &[String], now: Timestamp) -> Result<(), Duration> {
        let minute = Duration::from_secs(60);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.since(*start) < minute);
        }
        let mut wait = None;
        for key in keys {
            let entry = windows.entry(key.clone()).or_insert((now, 0));
            if now.since(entry.0) >= minute {
                *entry = (now, 0);
            }
            entry.1 += 1;
            if entry.1 > self.per_minute {
                let left = minute.saturating_sub(now.since(entry.0));
                wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
            }
        }
        wait.map_or(Ok(()), Err)
    }
}

// ----- handlers ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: UserView,
}

/// `POST /api/v1/auth/login`
pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = state.clock.now();
    let username = body.username.trim().to_lowercase();
    let mut keys = vec![format!("user:{username}")];
    if let Some(Extension(ConnectInfo(addr))) = peer {
        keys.push(format!("ip:{}", addr.ip()));
    }
    if let Err(wait) = state.limiter.attempt(&keys, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many sign-in attempts; try again in {} s",
                wait.as_secs().max(1)
            ),
        )
        .with_details(serde_json::json!({ "retry_after_secs": wait.as_secs().max(1) })));
    }
    let user = state.store.user_by_username(&username).await?;
    // Verify even for an unknown user, so timing does not reveal which usernames exist.
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash(state.settings.password_hashing).await?,
    };
    let ok = verify_password(body.password, hash).await;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            tracing::info!(username = %username, "sign-in refused");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong username or password",
            ));
        }
    };
    let token = new_token()?;
    let expires_at = now.plus(state.settings.session_ttl);
    state
        .store
        .create_session(&token_hash(&token), user.user_id, now, expires_at)
        .await?;
    tracing::info!(username = %user.username, role = user.role.as_str(), "signed in");
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user: UserView::from(&user),
    }))
}

/// A hash (of a random password, at the configured cost) to verify against when the username
/// is unknown, made once.
async fn dummy_hash(cost: PasswordHashing) -> Result<String, ApiError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async { hash_password(new_token()?, cost).await })
        .await
        .cloned()
}

/// `POST /api/v1/auth/logout`
pub async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_session(&caller.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`
pub async fn me(Extension(caller): Extension<Caller>) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub setup_secret: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
}

/// `POST /api/v1/auth/setup`: creates the first admin, with the one-time setup secret the
/// server printed at its first start (or that the operator configured). Closed for good
/// once an admin exists.
pub async fn setup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SetupRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    if state.store.count_users_with_role(Role::Admin).await? > 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_set_up",
            "an admin exists; sign in instead",
        ));
    }
    let Some(secret) = &state.settings.setup_secret else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "setup_disabled",
            "no setup secret is configured",
        ));
    };
    if !constant_time_eq(secret.expose().as_bytes(), body.setup_secret.as_bytes()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_setup_secret",
            "wrong setup secret",
        ));
    }
    let user = create_user(
        &state,
        NewUserRequest {
            username: body.username,
            display_name: body.display_name,
            role: Role::Admin,
            password: body.password,
            agent_id: None,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A user to create, as the API receives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    #[serde(default)]
    pub agent_id: Option<AgentId>,
}

/// Validates and creates a user (shared by setup, the users API and the CLI).
pub async fn create_user(state: &AppState, req: NewUserRequest) -> Result<User, ApiError> {
    let username = req.username.trim().to_lowercase();
    switchboard_domain::AgentId::parse(&username).map_err(|mut e| {
        e.field = "username".into();
        ApiError::invalid(&e)
    })?;
    let display_name = req.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(ApiError::invalid(
            &switchboard_domain::ValidationError::new(
                "display_name",
                "must be 1 to 100 characters",
            ),
        ));
    }
    check_password_policy(&req.password)?;
    let password_hash = hash_password(req.password, state.settings.password_hashing).await?;
    Ok(state
        .store
        .create_user(&NewUser {
            username,
            display_name,
            role: req.role,
            password_hash,
            agent_id: req.agent_id,
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn the_limiter_counts_per_key_and_forgets_after_a_minute() {
        let l = LoginLimiter::new(2);
        let t = Timestamp::from_millis(0);
        let k = vec!["user:ann".to_owned()];
        assert!(l.attempt(&k, t).is_ok());
        assert!(l.attempt(&k, t).is_ok());
        assert!(l.attempt(&k, t).is_err());
        assert!(l.attempt(&["user:bob".to_owned()], t).is_ok());
        assert!(l.attempt(&k, t.plus(Duration::from_secs(60))).is_ok());
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let cost = PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        };
        let h = hash_password("correct horse battery".into(), cost)
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), h).await);
        assert!(!verify_password("x".into(), dummy_hash(cost).await.unwrap()).await);
    }
}
