//! What every Redis-backed part of the dispatcher shares: the instance's reconnecting
//! connection and the check on a tenant's key namespace.

use std::time::Duration;

use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    Client,
};

use crate::DispatchError;

/// A tenant's name goes into every key: letters, digits, `-`, `_`, `.` only.
pub(crate) fn check_namespace(namespace: &str) -> Result<(), DispatchError> {
    if namespace.is_empty()
        || !namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(switchboard_domain::ValidationError::new(
            "namespace",
            "must be letters, digits, - _ . only",
        )
        .into());
    }
    Ok(())
}

/// The shared, reconnecting connection of an instance (5 s response timeout).
pub(crate) async fn manager(client: &Client) -> Result<ConnectionManager, DispatchError> {
    ConnectionManager::new_with_config(
        client.clone(),
        ConnectionManagerConfig::new().set_response_timeout(Some(Duration::from_secs(5))),
    )
    .await
    .map_err(backend)
}

/// [`manager`] for a URL.
pub(crate) async fn connection_manager(url: &str) -> Result<ConnectionManager, DispatchError> {
    manager(&Client::open(url).map_err(backend)?).await
}

pub(crate) fn backend(e: impl std::fmt::Display) -> DispatchError {
    DispatchError::Backend(e.to_string())
}
