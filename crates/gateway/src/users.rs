//! User administration (admins only).

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde::Deserialize;
use switchboard_domain::{AgentId, ValidationError};
use switchboard_store::{Role, StoreError, UserUpdate};

use crate::{
    auth::{self, Caller, NewUserRequest, UserView},
    documents::if_match,
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

/// `GET /api/v1/users`
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_users()
            .await?
            .iter()
            .map(UserView::from)
            .collect(),
    ))
}

/// `POST /api/v1/users`
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = auth::create_user(&state, body).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// `GET /api/v1/users/{user_id}`
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let tag =
        HeaderValue::from_str(&format!("\"{}\"", user.version)).map_err(ApiError::internal)?;
    Ok(([(header::ETAG, tag)], Json(UserView::from(&user))).into_response())
}

/// Fields to change; absent fields stay. `agent_id: null` unlinks the agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    #[serde(default, deserialize_with = "some_option")]
    pub agent_id: Option<Option<AgentId>>,
    pub disabled: Option<bool>,
}

/// Distinguishes a missing field (`None`) from an explicit `null` (`Some(None)`).
fn some_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/users/{user_id}`
pub async fn patch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    let expected = if_match(&headers)?;
    let current = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    if let Some(name) = &body.display_name {
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid(&ValidationError::new(
                "display_name",
                "must be 1 to 100 characters",
            )));
        }
    }
    let demotes_admin = current.role == Role::Admin
        && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
    if demotes_admin {
        keep_an_admin(&state, &caller, id, "demote or disable").await?;
    }
    let password_hash = match body.password {
        Some(p) => {
            auth::check_password_policy(&p)?;
            Some(auth::hash_password(p, state.settings.password_hashing).await?)
        }
        None => None,
    };
    let update = UserUpdate {
        display_name: body.display_name.map(|n| n.trim().to_owned()),
        role: body.role,
        password_hash,
        agent_id: body.agent_id,
        disabled: body.disabled,
    };
    let user = state
        .store
        .update_user(id, &update, expected)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(msg) if expected.is_some() => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "version_conflict", msg)
            }
            e => e.into(),
        })?;
    Ok(Json(UserView::from(&user)))
}

/// `DELETE /api/v1/users/{user_id}`
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    if user.role == Role::Admin {
        keep_an_admin(&state, &caller, id, "delete").await?;
    }
    state.store.delete_user(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses to take away admin rights from the caller themselves or from the last admin, so
/// the center can always be administered.
async fn keep_an_admin(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: &str,
) -> Result<(), ApiError> {
    if caller.user.user_id == id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_admin",
            format!("you cannot {action} yourself"),
        ));
    }
    if state.store.count_users_with_role(Role::Admin).await? <= 1 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_admin",
            format!("cannot {action} the last admin"),
        ));
    }
    Ok(())
}
