//! Errors at the HTTP edge: every failure becomes `{code, message, details}`
//! ([`ErrorBody`], the protocol's) with a stable, machine-readable `code`. Bad input is a
//! 4xx; a 5xx body never reveals the cause (it is logged instead).

use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Path, Request},
    http::request::Parts,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::de::DeserializeOwned;
use switchboard_app::{accounts::AccountError, AppError, Class};
use switchboard_domain::ValidationError;
pub use switchboard_protocol::errors::{ErrorBody, ErrorDetails};

/// An error to answer with.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<ErrorDetails>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: ErrorDetails) -> Self {
        self.details = Some(details);
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in first (Authorization: Bearer <token>)",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role may not do this",
        )
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", what.into()),
        )
    }

    /// 422 with the offending field, as `details.field`.
    pub fn invalid(e: &ValidationError) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()).with_details(
            ErrorDetails::Invalid {
                field: e.field.clone(),
                problem: e.problem.clone(),
            },
        )
    }

    /// A failure that is ours, not the caller's: logged in full, answered generically.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "a dependency is unavailable; try again",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
            details: self.details,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::invalid(&e)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match e.class() {
            Class::Invalid => match e.validation() {
                Some(v) => return Self::invalid(v),
                None => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Class::NotFound => StatusCode::NOT_FOUND,
            Class::Conflict => StatusCode::CONFLICT,
            Class::VersionConflict => StatusCode::PRECONDITION_FAILED,
            Class::Unavailable => return Self::unavailable(e),
            Class::Internal => return Self::internal(e),
        };
        Self::new(status, e.code(), e.message())
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let status = match e {
            AccountError::Invalid(v) => return Self::invalid(&v),
            AccountError::Store(e) => return AppError::from(e).into(),
            AccountError::Internal(cause) => return Self::internal(cause),
            AccountError::RateLimited { retry_after } => {
                let secs = whole_secs(retry_after);
                return Self::new(StatusCode::TOO_MANY_REQUESTS, e.code(), e.to_string())
                    .with_details(ErrorDetails::RetryAfter {
                        retry_after_secs: secs,
                    });
            }
            AccountError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AccountError::SetupDisabled | AccountError::BadSetupSecret => StatusCode::FORBIDDEN,
            AccountError::UserNotFound(_) | AccountError::ApiKeyNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            AccountError::AlreadySetUp | AccountError::LastAdmin(_) => StatusCode::CONFLICT,
            AccountError::SetupExpired => StatusCode::GONE,
            AccountError::VersionConflict(_) => StatusCode::PRECONDITION_FAILED,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

/// A wait in whole seconds, rounded up (a `Retry-After` of 1 for 1.9 s would be too early),
/// at least 1.
pub fn whole_secs(d: std::time::Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

/// `Json<T>` whose rejections are our JSON errors: 415 without a JSON content type, 400 for
/// malformed JSON, 422 for JSON of the wrong shape or values (with the serde message).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.body_text())
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
            }
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
    }
}

/// `Path<T>` whose rejections are our JSON errors (400 `bad_request`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Self(v))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))
    }
}
