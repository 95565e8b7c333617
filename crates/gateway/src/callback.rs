//! Callback in place at the HTTP edge: the hook's `call.callback_requested` ([`from_hook`],
//! which finds the PBX call's contact) and `POST /api/v1/contacts/{contact_id}/callback`
//! ([`create`]), and the HTTP status of each refusal. The use case and its rules are the
//! application's (`switchboard_app::callback`); the console's and the floor's
//! `callback_in_place` call it directly.

use axum::{extract::State, http::StatusCode, Extension, Json};
pub use switchboard_app::callback::{
    is_callback, request_callback, Actor, Callback, CallbackError,
};
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{ContactId, Timestamp};
use switchboard_protocol::{
    contacts::{CallbackPlaced, CallbackRequest},
    hooks::{Done, HookAnswer},
};

use crate::{
    auth::Caller,
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        let status = match e {
            CallbackError::Invalid(v) => return ApiError::invalid(&v),
            CallbackError::Dispatch(inner) => return inner.into(),
            CallbackError::UnknownContact(_) => StatusCode::NOT_FOUND,
            CallbackError::NotYourQueue | CallbackError::NotYours => StatusCode::FORBIDDEN,
            CallbackError::NotWaiting { .. }
            | CallbackError::WrongChannel(_)
            | CallbackError::AlreadyCallback => StatusCode::CONFLICT,
        };
        ApiError::new(status, e.code(), e.message())
    }
}

/// The console's and the floor's `callback_in_place` (`due` as the frame carries it): the
/// use case as of now; each socket turns the outcome into its own `ack` or `error` frame.
///
/// # Errors
/// See [`CallbackError`].
pub async fn from_socket(
    state: &AppState,
    contact: ContactId,
    number: &str,
    due: Option<Timestamp>,
    by: Actor,
) -> Result<Callback, CallbackError> {
    let due = due.map(Timestamp::as_millis);
    request_callback(
        state.dispatcher.as_ref(),
        contact,
        number,
        due,
        by,
        state.clock.now(),
    )
    .await
}

/// The generic hook's `call.callback_requested`. Answered 200 unless the request can never
/// succeed as sent (a bad number or due: 422): `ok` with the callback's place; `ok` with
/// `already_requested` for a callback asked for twice (under another event id); `ignored`
/// with the reason for a call we do not know, one that already ended, or one no longer
/// waiting (ringing at an agent, answered) — then the call goes on as a call.
pub async fn from_hook(
    state: &AppState,
    integration: &str,
    call_id: &str,
    number: &str,
    due: Option<Timestamp>,
) -> Result<HookAnswer, ApiError> {
    let Some(call) = state.store.call(integration, call_id).await? else {
        return Ok(HookAnswer::ignored("unknown call", None));
    };
    let Some(contact) = call.contact_id else {
        return Ok(HookAnswer::ignored("the call already ended", None));
    };
    let by = Actor::Pbx {
        integration: integration.to_owned(),
    };
    let due = due.map(Timestamp::as_millis);
    match request_callback(
        state.dispatcher.as_ref(),
        contact,
        number,
        due,
        by,
        state.clock.now(),
    )
    .await
    {
        Ok(callback) => Ok(HookAnswer::Ok(Done::Callback(callback.placed()))),
        Err(CallbackError::AlreadyCallback) => {
            let position = state
                .dispatcher
                .position(contact, state.clock.now())
                .await?;
            Ok(HookAnswer::Ok(Done::CallbackAlreadyRequested {
                already_requested: true,
                contact_id: contact,
                position: position.as_ref().map(|p| p.position),
                estimated_wait: position.and_then(|p| p.estimated_wait),
            }))
        }
        Err(e @ CallbackError::Invalid(_)) | Err(e @ CallbackError::Dispatch(_)) => Err(e.into()),
        Err(e) => Ok(HookAnswer::Ignored {
            reason: e.message(),
            code: Some(e.code().to_owned()),
            contact_id: Some(contact),
        }),
    }
}

/// `POST /api/v1/contacts/{contact_id}/callback`: 200 with the callback's place.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
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
    let by = Actor::Api {
        username: caller.user.username.clone(),
    };
    let due = body.due.map(Timestamp::as_millis);
    let callback = request_callback(
        state.dispatcher.as_ref(),
        contact,
        &body.number,
        due,
        by,
        state.clock.now(),
    )
    .await?;
    Ok(Json(callback.placed()))
}
