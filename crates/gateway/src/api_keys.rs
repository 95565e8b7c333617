//! API key administration (signed-in admins only; a key cannot make or see keys): the
//! `/api/v1/api-keys` handlers over `switchboard_app::accounts`.

use axum::{extract::State, http::StatusCode, Extension, Json};
use switchboard_app::accounts::{scopes_of, ApiKey, ApiKeyRequest};
use switchboard_protocol::api_keys::{ApiKeyCreated, ApiKeyView, NewApiKey};

use crate::{
    auth::Caller,
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

/// A key as the API shows it (never its secret or hash).
fn key_view(k: &ApiKey) -> ApiKeyView {
    ApiKeyView {
        api_key_id: k.api_key_id,
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        scopes: scopes_of(k),
        created_by: k.created_by_username.clone(),
        created_at: k.created_at,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}

/// `GET /api/v1/api-keys`: every key, revoked ones included.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let keys = state.app.accounts().api_keys().await?;
    Ok(Json(keys.iter().map(key_view).collect()))
}

/// `POST /api/v1/api-keys`: 201 with the key, shown this once.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let request = ApiKeyRequest {
        name: body.name,
        scopes: body.scopes,
        expires_at: body.expires_at,
    };
    let issued = state
        .app
        .accounts()
        .create_api_key(&caller.user, request, state.app.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            key: issued.key,
            api_key: key_view(&issued.api_key),
        }),
    ))
}

/// `GET /api/v1/api-keys/{api_key_id}`
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApiKeyView>, ApiError> {
    Ok(Json(key_view(&state.app.accounts().api_key(id).await?)))
}

/// `DELETE /api/v1/api-keys/{api_key_id}`: revokes the key (its row stays, listed with
/// `revoked_at`); revoking it again changes nothing. 200 with the key as it now stands.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let key = state
        .app
        .accounts()
        .revoke_api_key(&caller.user, id, state.app.now())
        .await?;
    Ok(Json(key_view(&key)))
}
