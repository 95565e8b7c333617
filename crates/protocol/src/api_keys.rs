//! API keys (service accounts) for PBX bridges, BI tools and scripts: `/api/v1/api-keys` —
//! the scopes a key may hold, the key to create, the key as shown (never its secret or
//! hash), and the one answer that carries the secret, once.
//!
//! A key is sent like a session token (`Authorization: Bearer sbk_…`) and is accepted on
//! every route whose scope it holds (and, with `live:read`, on the supervisor's floor socket
//! read-only: a wallboard); user and key administration, `auth/me`, `auth/logout` and the
//! agent console stay for signed-in people.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use switchboard_domain::Timestamp;

/// What a key may do. Each route that keys may call names the one scope it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// Historical reports, the event log and the staffing calculators.
    #[serde(rename = "reports:read")]
    ReportsRead,
    /// Queues and contacts now: queue snapshots, a waiting contact's position, the floor
    /// socket read-only.
    #[serde(rename = "live:read")]
    LiveRead,
    /// Create contacts (chats, e-mails, tickets), turn a waiting contact into a callback,
    /// record survey answers.
    #[serde(rename = "contacts:write")]
    ContactsWrite,
    /// Read queues, agents, skills, greeting scripts, dispositions and reason codes.
    #[serde(rename = "configuration:read")]
    ConfigurationRead,
    /// Create, replace and delete those.
    #[serde(rename = "configuration:write")]
    ConfigurationWrite,
    /// Read PBX integrations (their secrets included) and their webhook deliveries.
    #[serde(rename = "integrations:read")]
    IntegrationsRead,
    /// Create, replace and delete PBX integrations.
    #[serde(rename = "integrations:write")]
    IntegrationsWrite,
    /// Read customer records: list, search by name or identity, get one.
    #[serde(rename = "customers:read")]
    CustomersRead,
    /// Create and change customer records, their identities, and merge duplicates.
    #[serde(rename = "customers:write")]
    CustomersWrite,
}

impl Scope {
    /// Every scope, in a stable order.
    pub const ALL: [Scope; 9] = [
        Scope::ReportsRead,
        Scope::LiveRead,
        Scope::ContactsWrite,
        Scope::ConfigurationRead,
        Scope::ConfigurationWrite,
        Scope::IntegrationsRead,
        Scope::IntegrationsWrite,
        Scope::CustomersRead,
        Scope::CustomersWrite,
    ];

    /// As the API and the database write it: `reports:read`…
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReportsRead => "reports:read",
            Scope::LiveRead => "live:read",
            Scope::ContactsWrite => "contacts:write",
            Scope::ConfigurationRead => "configuration:read",
            Scope::ConfigurationWrite => "configuration:write",
            Scope::IntegrationsRead => "integrations:read",
            Scope::IntegrationsWrite => "integrations:write",
            Scope::CustomersRead => "customers:read",
            Scope::CustomersWrite => "customers:write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScope(pub String);

impl fmt::Display for UnknownScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a scope", self.0)
    }
}

impl std::error::Error for UnknownScope {}

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// `POST /api/v1/api-keys`: a key to create. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What it is for, e.g. `pbx-bridge` or `bi-nightly`: 1 to 64 letters, digits, `-`,
    /// `_` or `.`, unique among the keys not revoked.
    pub name: String,
    /// At least one.
    pub scopes: Vec<Scope>,
    /// When it stops working, ms since the epoch (later than now); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// An API key as the API shows it: everything but its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub api_key_id: i64,
    pub name: String,
    /// The key's first characters (`sbk_` and 8 more), to recognise it in a config file.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// The username of the admin who created it; `null` once that user is deleted.
    #[serde(deserialize_with = "crate::nullable")]
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    #[serde(deserialize_with = "crate::nullable")]
    pub expires_at: Option<Timestamp>,
    /// When a request last used it, to the minute; `null`: never used.
    #[serde(deserialize_with = "crate::nullable")]
    pub last_used_at: Option<Timestamp>,
    /// `null` while it works.
    #[serde(deserialize_with = "crate::nullable")]
    pub revoked_at: Option<Timestamp>,
}

/// The answer to `POST /api/v1/api-keys` (201): the key itself, shown this once (only its
/// SHA-256 is kept), and the key as listed from now on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    /// `sbk_` and 43 URL-safe base64 characters; send it as `Authorization: Bearer <key>`.
    pub key: String,
    pub api_key: ApiKeyView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_names() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{}\"", scope.as_str())
            );
        }
        assert_eq!(
            "reports:write".parse::<Scope>(),
            Err(UnknownScope("reports:write".into()))
        );
    }
}
