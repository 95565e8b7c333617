//! What every handler shares: the application ([`switchboard_app::App`]) and the edge's own
//! settings and metrics.

use std::{fmt, sync::Arc};

pub use switchboard_app::accounts::{PasswordHashing, Secret};
use switchboard_app::App;

use crate::{client::TrustedProxies, metrics::Metrics};

/// Settings of the HTTP edge (the application's are `switchboard_app::Settings`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` is believed (see [`crate::client`]).
    pub trusted_proxies: TrustedProxies,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit: 256 * 1024,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The use cases and read models.
    pub app: App,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// Events waiting to be written to the event log (for /metrics and /readyz).
    pub event_log_lag: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("app", &self.app)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(app: App, settings: Settings) -> Self {
        Self {
            app,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            event_log_lag: Arc::new(|| 0),
        }
    }
}
