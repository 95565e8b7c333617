//! User administration (admins only): the `/api/v1/users` handlers over
//! `switchboard_app::accounts`.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use switchboard_app::accounts::{NewUserRequest, UserChanges};
use switchboard_protocol::users::{NewUser, UserPatch, UserView};

use crate::{
    auth::{role_of, user_view, Caller},
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
            .map(user_view)
            .collect(),
    ))
}

/// `POST /api/v1/users`
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let request = NewUserRequest {
        username: body.username,
        display_name: body.display_name,
        role: role_of(body.role),
        password: body.password,
        agent_id: body.agent_id,
    };
    let user = state.app.accounts().create_user(request).await?;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}

/// `GET /api/v1/users/{user_id}`
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let user = state.app.accounts().user(id).await?;
    let tag =
        HeaderValue::from_str(&format!("\"{}\"", user.version)).map_err(ApiError::internal)?;
    Ok(([(header::ETAG, tag)], Json(user_view(&user))).into_response())
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
        role: body.role.map(role_of),
        password: body.password,
        agent_id: body.agent_id,
        disabled: body.disabled,
    };
    let user = state
        .app
        .accounts()
        .update_user(&caller.user, id, changes, expected)
        .await?;
    Ok(Json(user_view(&user)))
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
