//! Administration of configuration records at the HTTP edge: one generic set of handlers
//! (list, get, put, delete) serves every kind (`switchboard_app::configuration::Resource`),
//! with the version as the ETag and `If-Match` for optimistic concurrency. What a record
//! must be, what it refers to and what it changes in the running dispatcher are the
//! application's.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
pub use switchboard_app::configuration::Resource;

use crate::{
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

/// `If-Match: "3"` (or `3`): the version the caller last saw.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_if_match",
                "If-Match must be a version number, e.g. \"3\"",
            )
        })
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// `GET /api/v1/{kind}`
pub async fn list<R: Resource>(
    State(state): State<AppState>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    Ok(Json(state.app.list_records::<R>().await?))
}

/// `GET /api/v1/{kind}/{id}`
pub async fn get_one<R: Resource>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let shown = state.app.record::<R>(&id).await?;
    Ok(([(header::ETAG, etag(shown.version))], Json(shown.body)).into_response())
}

/// `PUT /api/v1/{kind}/{id}`: create (201) or replace (200). With `If-Match` the write
/// succeeds only on that version (412 otherwise); without it, the last write wins.
pub async fn put<R: Resource + serde::de::DeserializeOwned>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(doc): ApiJson<R>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let shown = state.app.put_record(&id, doc, expected).await?;
    let status = if shown.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [(header::ETAG, etag(shown.version))],
        Json(shown.body),
    )
        .into_response())
}

/// `DELETE /api/v1/{kind}/{id}`
pub async fn delete<R: Resource>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let expected = if_match(&headers)?;
    state.app.delete_record::<R>(&id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
