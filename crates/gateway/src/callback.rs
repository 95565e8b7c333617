//! Callback in place at the HTTP edge: `POST /api/v1/contacts/{contact_id}/callback`
//! ([`create`]) and the HTTP status of each refusal. The use case and its rules are the
//! application's (`switchboard_app::callback`); the hook's `call.callback_requested` and the
//! console's and the floor's `callback_in_place` reach it through the application too.

use axum::{extract::State, http::StatusCode, Extension, Json};
use switchboard_app::{
    callback::{Actor, CallbackError},
    AppError,
};
use switchboard_domain::ContactId;
use switchboard_protocol::contacts::{CallbackPlaced, CallbackRequest};

use crate::{
    auth::RequestedBy,
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        let status = match e {
            CallbackError::Invalid(v) => return ApiError::invalid(&v),
            CallbackError::Dispatch(inner) => return AppError::from(inner).into(),
            CallbackError::UnknownContact(_) => StatusCode::NOT_FOUND,
            CallbackError::NotYourQueue | CallbackError::NotYours => StatusCode::FORBIDDEN,
            CallbackError::NotWaiting { .. }
            | CallbackError::WrongChannel(_)
            | CallbackError::AlreadyCallback => StatusCode::CONFLICT,
        };
        ApiError::new(status, e.code(), e.message())
    }
}

/// `POST /api/v1/contacts/{contact_id}/callback`: 200 with the callback's place.
pub async fn create(
    State(state): State<AppState>,
    Extension(RequestedBy(by)): Extension<RequestedBy>,
    ApiPath(contact_id): ApiPath<String>,
    ApiJson(body): ApiJson<CallbackRequest>,
) -> Result<Json<CallbackPlaced>, ApiError> {
    let contact: ContactId = contact_id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("contact id {contact_id:?} is not valid"),
        )
    })?;
    let by = Actor::Api { username: by };
    let callback = state
        .app
        .request_callback(contact, &body.number, body.due, by)
        .await?;
    Ok(Json(callback.placed()))
}
