//! User administration (admins only): the `/api/v1/users` handlers over
//! `switchboard_app::accounts`.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde::Deserialize;
use switchboard_app::accounts::{NewUserRequest, Role, UserChanges};
use switchboard_domain::AgentId;

use crate::{
    auth::{Caller, UserView},
    documents::if_match,
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

/// `GET /api/v1/users`
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(
        state
            .app
            .accounts()
            .users()
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
    let user = state.app.accounts().create_user(body).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// `GET /api/v1/users/{user_id}`
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let user = state.app.accounts().user(id).await?;
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
    let changes = UserChanges {
        display_name: body.display_name,
        role: body.role,
        password: body.password,
        agent_id: body.agent_id,
        disabled: body.disabled,
    };
    let user = state
        .app
        .accounts()
        .update_user(&caller.user, id, changes, expected)
        .await?;
    Ok(Json(UserView::from(&user)))
}

/// `DELETE /api/v1/users/{user_id}`
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.app.accounts().delete_user(&caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
