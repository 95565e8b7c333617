//! Sign-in and user administration: `/api/v1/auth/*` (`login`, `me`, `setup`) and
//! `/api/v1/users` — the requests as clients send them and the user as the API shows it
//! (never a password or its hash).

use serde::{Deserialize, Deserializer, Serialize};
use switchboard_domain::{AgentId, Timestamp};

/// What a user may do, as the API names it (`switchboard_store::Role` serialises the same
/// way; the gateway maps one to the other).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

/// A user as the API shows it: the answer of `GET /api/v1/auth/me`, of the user routes, and
/// inside [`LoginResponse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The agent this user signs in as; `null` for a user who is no agent.
    #[serde(deserialize_with = "crate::nullable")]
    pub agent_id: Option<AgentId>,
    pub disabled: bool,
    /// For `If-Match` (also the `ETag` of `GET /api/v1/users/{user_id}`).
    pub version: i64,
}

/// `POST /api/v1/auth/login`. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The answer to `POST /api/v1/auth/login`: the session token (shown this once), when it
/// expires, and who signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: UserView,
}

/// `POST /api/v1/auth/setup`: the first admin, with the one-time setup secret. Unknown
/// fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub setup_secret: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
}

/// `POST /api/v1/users`: a user to create. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    /// The agent this user signs in as (for role `agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

/// `PATCH /api/v1/users/{user_id}`: the fields to change; absent fields stay, and
/// `agent_id: null` unlinks the agent (`Some(None)`). Unknown fields are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_id: Option<Option<AgentId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// A field that is present, `null` or not (`Some(None)` for `null`; a missing field is `None`
/// by `default`).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
