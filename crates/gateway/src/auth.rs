//! Sign-in at the HTTP edge: the bearer middleware that checks, on every route, a session's
//! role or an API key's scope, and the `/api/v1/auth/*` handlers. The accounts themselves — password hashes, sessions,
//! the sign-in limit, the first admin — are the application's
//! (`switchboard_app::accounts`); the bodies are the protocol's (`switchboard_protocol::users`).

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Extension, Json,
};
pub use switchboard_app::accounts::{
    check_password_policy, hash_password, new_token, token_hash, verify_password, KeyCaller,
    NewUserRequest, Role, User,
};
use switchboard_app::accounts::{AccountError, API_KEY_PREFIX};
use switchboard_protocol::api_keys::Scope;
use switchboard_protocol::users::{
    LoginRequest, LoginResponse, Role as WireRole, SetupRequest, UserView,
};

use crate::{
    client::ClientAddr,
    error::{ApiError, ApiJson},
    state::AppState,
};

/// Who is calling, once their token checked out.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    /// The hash of the token used (for logout).
    pub token_hash: String,
}

/// A user as the API shows it (never the password hash).
pub fn user_view(u: &User) -> UserView {
    UserView {
        user_id: u.user_id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: wire_role(u.role),
        agent_id: u.agent_id.clone(),
        disabled: u.disabled,
        version: u.version,
    }
}

/// A role as the API names it.
fn wire_role(r: Role) -> WireRole {
    match r {
        Role::Agent => WireRole::Agent,
        Role::Supervisor => WireRole::Supervisor,
        Role::Admin => WireRole::Admin,
    }
}

/// A role the API named, as the accounts keep it.
pub fn role_of(r: WireRole) -> Role {
    match r {
        WireRole::Agent => Role::Agent,
        WireRole::Supervisor => Role::Supervisor,
        WireRole::Admin => Role::Admin,
    }
}

// ----- the middleware that checks tokens and roles ----------------------------------------

/// Who made a request, for the record: the user's username, or `key:<name>` for an API
/// key. Every route behind [`require`] has it as an extension.
#[derive(Clone, Debug)]
pub struct RequestedBy(pub String);

/// Rejects the request unless it carries a valid session token of one of `roles`, or an API
/// key (`sbk_…`) that holds `scope` — routes without a scope are for signed-in people only.
/// On success the handler finds [`RequestedBy`] and, for a session, the [`Caller`] (or,
/// for a key, its [`KeyCaller`]) as extensions.
///
/// A key without the scope is answered 403 `insufficient_scope`; a key on a route without
/// one, 403 `session_required`.
pub async fn require(
    State(state): State<AppState>,
    roles: &'static [Role],
    scope: Option<Scope>,
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
    match authenticate(&state, token, roles, scope).await {
        Ok(Bearer::Key(key)) => {
            let by = format!("key:{}", key.name);
            tracing::Span::current().record("user", by.as_str());
            req.extensions_mut().insert(RequestedBy(by));
            req.extensions_mut().insert(key);
        }
        Ok(Bearer::Session(caller)) => {
            tracing::Span::current().record("user", caller.user.username.as_str());
            req.extensions_mut()
                .insert(RequestedBy(caller.user.username.clone()));
            req.extensions_mut().insert(caller);
        }
        Err(refused) => return refused,
    }
    next.run(req).await
}

/// What a bearer token turned out to be.
#[derive(Debug)]
pub enum Bearer {
    Session(Caller),
    Key(KeyCaller),
}

/// Checks a bearer token for a route (or socket) open to `roles` and, when `scope` is given,
/// to API keys holding it: an `sbk_` key that works must hold `scope` (403
/// `insufficient_scope`; 403 `session_required` where there is none); anything else must be a
/// live session of one of `roles` (401, 403 `forbidden`). The refusal is a ready response.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    roles: &[Role],
    scope: Option<Scope>,
) -> Result<Bearer, Response> {
    let now = state.app.now();
    if token.starts_with(API_KEY_PREFIX) {
        match state.app.accounts().api_key_caller(token, now).await {
            Ok(Some(key)) => {
                let Some(scope) = scope else {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "session_required",
                        "this route is for signed-in users; API keys cannot call it",
                    )
                    .into_response());
                };
                if !key.scopes.contains(&scope) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "insufficient_scope",
                        format!("this API key does not hold the scope {scope}"),
                    )
                    .into_response());
                }
                return Ok(Bearer::Key(key));
            }
            // Not a key: a session token may start the same way (1 in 64⁴).
            Ok(None) => {}
            Err(e) => return Err(ApiError::from(e).into_response()),
        }
    }
    match state.app.accounts().session(token, now).await {
        Ok(Some(session)) if roles.contains(&session.user.role) => Ok(Bearer::Session(Caller {
            user: session.user,
            token_hash: session.token_hash,
        })),
        Ok(Some(_)) => Err(ApiError::forbidden().into_response()),
        Ok(None) => Err(ApiError::unauthorized().into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

// ----- handlers ---------------------------------------------------------------------------

/// An account error as a response; a 429 also says `Retry-After` (whole seconds).
fn refused(e: AccountError) -> Response {
    let retry_after = match &e {
        AccountError::RateLimited { retry_after } => Some(crate::error::whole_secs(*retry_after)),
        _ => None,
    };
    let mut response = ApiError::from(e).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The client the limits key on (see [`crate::client`]).
fn client_of(client: Option<Extension<ClientAddr>>) -> Option<std::net::IpAddr> {
    client.and_then(|Extension(ClientAddr(ip))| ip)
}

/// `POST /api/v1/auth/login`: failures are limited per (username, client) and per client,
/// with growing lockouts answered 429 `rate_limited` with `Retry-After`.
pub async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, Response> {
    let signed_in = state
        .app
        .accounts()
        .sign_in(
            &body.username,
            body.password,
            client_of(client),
            state.app.now(),
        )
        .await
        .map_err(refused)?;
    Ok(Json(LoginResponse {
        token: signed_in.token,
        expires_at: signed_in.expires_at,
        user: user_view(&signed_in.user),
    }))
}

/// `POST /api/v1/auth/logout`
pub async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, ApiError> {
    state.app.accounts().sign_out(&caller.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`
pub async fn me(Extension(caller): Extension<Caller>) -> Json<UserView> {
    Json(user_view(&caller.user))
}

/// `POST /api/v1/auth/setup`: creates the first admin, with the one-time setup secret the
/// server printed at its first start (or that the operator configured). Closed for good
/// once an admin exists; the secret expires (410 `setup_expired`); wrong secrets are
/// limited per client like failed sign-ins (429 with `Retry-After`).
pub async fn setup(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    ApiJson(body): ApiJson<SetupRequest>,
) -> Result<(StatusCode, Json<UserView>), Response> {
    let user = state
        .app
        .accounts()
        .set_up(
            &body.setup_secret,
            body.username,
            body.display_name,
            body.password,
            client_of(client),
            state.app.now(),
        )
        .await
        .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}
