//! API keys (service accounts): created by an admin with a name, scopes and an optional
//! expiry; the secret (`sbk_` and 256 random bits) is handed out once and kept only as its
//! SHA-256; a key is revoked, never edited (revoking signals [`Accounts::revocations`], so
//! a wallboard's socket on this instance closes at once). [`Accounts::api_key_caller`]
//! checks a bearer key and notes its last use, at most once a minute per key.

use std::time::Duration;

use switchboard_domain::{Timestamp, ValidationError};
use switchboard_protocol::api_keys::Scope;
use switchboard_store::{ApiKey, NewApiKey, Store};

use super::{new_token, token_hash, AccountError, Accounts, Revoked, User};

/// What every key starts with, so that a leaked one is recognisable (secret scanners) and
/// told apart from a session token.
pub const API_KEY_PREFIX: &str = "sbk_";

/// How many characters of a key are kept in clear to recognise it: the prefix and 8 more.
const SHOWN: usize = API_KEY_PREFIX.len() + 8;

/// How stale a key's `last_used_at` may get before a request writes it again.
pub const LAST_USE_RESOLUTION: Duration = Duration::from_secs(60);

/// A key to create, as an admin asks for it.
#[derive(Debug)]
pub struct ApiKeyRequest {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<Timestamp>,
}

/// A key just created: the secret (shown this once) and the key as stored.
#[derive(Debug)]
pub struct ApiKeyIssued {
    pub key: String,
    pub api_key: ApiKey,
}

/// A bearer key that checked out: which key, and what it may do.
#[derive(Clone, Debug)]
pub struct KeyCaller {
    pub api_key_id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The key's stored hash (to watch it for revocation).
    pub key_hash: String,
}

/// The scopes a stored key holds. A word this version does not know (written by a newer
/// one during a rolling upgrade) grants nothing here.
pub fn scopes_of(key: &ApiKey) -> Vec<Scope> {
    key.scopes.iter().filter_map(|s| s.parse().ok()).collect()
}

impl Accounts {
    /// Creates a key on behalf of admin `by` at `now` ([`issue_api_key`]).
    ///
    /// # Errors
    /// As [`issue_api_key`].
    pub async fn create_api_key(
        &self,
        by: &User,
        req: ApiKeyRequest,
        now: Timestamp,
    ) -> Result<ApiKeyIssued, AccountError> {
        issue_api_key(&self.store, Some(by), req, now).await
    }

    /// Every key, revoked ones included.
    ///
    /// # Errors
    /// A store failure.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, AccountError> {
        Ok(self.store.list_api_keys().await?)
    }

    /// One key.
    ///
    /// # Errors
    /// `ApiKeyNotFound`, or a store failure.
    pub async fn api_key(&self, id: i64) -> Result<ApiKey, AccountError> {
        self.store
            .api_key(id)
            .await?
            .ok_or(AccountError::ApiKeyNotFound(id))
    }

    /// Revokes key `id` at `now` (again: nothing changes), on behalf of `by`. Requests
    /// with it are refused from then on, on every instance.
    ///
    /// # Errors
    /// `ApiKeyNotFound`, or a store failure.
    pub async fn revoke_api_key(
        &self,
        by: &User,
        id: i64,
        now: Timestamp,
    ) -> Result<ApiKey, AccountError> {
        if !self.store.revoke_api_key(id, now).await? {
            return Err(AccountError::ApiKeyNotFound(id));
        }
        // Its open sockets on this instance close at once (nobody listening is fine).
        let _ = self.revoked.send(Revoked::Key(id));
        tracing::info!(api_key_id = id, by = ?by.username, "API key revoked");
        self.api_key(id).await
    }

    /// The key `key` (as sent: `sbk_…`), if it works at `now`; its last use is written when
    /// the stored one is [`LAST_USE_RESOLUTION`] old or more (a failed write is logged, not
    /// the caller's problem).
    ///
    /// # Errors
    /// A store failure reading the key.
    pub async fn api_key_caller(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<KeyCaller>, AccountError> {
        let key_hash = token_hash(key);
        let Some(found) = self.store.api_key_by_hash(&key_hash, now).await? else {
            return Ok(None);
        };
        let stale = found
            .last_used_at
            .is_none_or(|last| now.since(last) >= LAST_USE_RESOLUTION);
        if stale {
            if let Err(e) = self.store.touch_api_key(found.api_key_id, now).await {
                tracing::warn!(api_key_id = found.api_key_id, error = %e, "could not record an API key's last use");
            }
        }
        Ok(Some(KeyCaller {
            api_key_id: found.api_key_id,
            scopes: scopes_of(&found),
            name: found.name,
            key_hash,
        }))
    }
}

/// Creates a key in `store` at `now`, on behalf of admin `by` (`None`: the command line,
/// which has no running [`Accounts`]).
///
/// # Errors
/// `Invalid` (the name, no scope, an expiry not after `now`), the store's `Conflict`
/// (a working key has that name), or a store failure.
pub async fn issue_api_key(
    store: &Store,
    by: Option<&User>,
    req: ApiKeyRequest,
    now: Timestamp,
) -> Result<ApiKeyIssued, AccountError> {
    let name = req.name.trim().to_owned();
    check_key_name(&name)?;
    let mut scopes = req.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(invalid("scopes", "name at least one scope"));
    }
    if req.expires_at.is_some_and(|end| end <= now) {
        return Err(invalid("expires_at", "must be later than now"));
    }
    let key = format!("{API_KEY_PREFIX}{}", new_token()?);
    let api_key = store
        .create_api_key(&NewApiKey {
            name,
            key_hash: token_hash(&key),
            prefix: key[..SHOWN].to_owned(),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_by: by.map(|u| u.user_id),
            created_at: now,
            expires_at: req.expires_at,
        })
        .await?;
    tracing::info!(
        api_key_id = api_key.api_key_id,
        name = ?api_key.name,
        scopes = ?api_key.scopes,
        by = ?by.map(|u| u.username.as_str()),
        "API key created"
    );
    Ok(ApiKeyIssued { key, api_key })
}

fn invalid(field: &str, problem: &str) -> AccountError {
    AccountError::Invalid(ValidationError::new(field, problem))
}

/// 1 to 64 ASCII letters, digits, `-`, `_` or `.`: a name that reads well in a log line.
fn check_key_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "name",
            "must be 1 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_short_plain_words() {
        for good in ["pbx-bridge", "bi.nightly", "A_1"] {
            assert!(check_key_name(good).is_ok(), "{good}");
        }
        for bad in ["", "has space", "new\nline", "ünï", &"x".repeat(65)] {
            assert!(check_key_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_scope_words_grant_nothing() {
        let key = ApiKey {
            api_key_id: 1,
            name: "k".into(),
            prefix: "sbk_12345678".into(),
            scopes: vec!["reports:read".into(), "tickets:write".into()],
            created_by: None,
            created_by_username: None,
            created_at: Timestamp::from_millis(0),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(scopes_of(&key), vec![Scope::ReportsRead]);
    }
}
