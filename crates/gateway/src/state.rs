//! What every handler shares: the application ([`switchboard_app::App`]) and the edge's own
//! settings and metrics.

use std::{fmt, sync::Arc, time::Duration};

pub use switchboard_app::accounts::{PasswordHashing, Secret};
use switchboard_app::App;

use crate::{
    client::TrustedProxies,
    metrics::Metrics,
    socket::{SocketLimits, Sockets},
};

/// Settings of the HTTP edge (the application's are `switchboard_app::Settings`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Largest request body accepted.
    pub body_limit: usize,
    /// What a WebSocket client may send: largest message, messages per second and burst.
    pub socket: SocketLimits,
    /// Longest a request may take, its body included (answered 408); WebSockets are exempt.
    pub request_timeout: Duration,
    /// Longest a request's head may take to arrive, from its first byte.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit idle.
    pub idle_timeout: Duration,
    /// How long a stop waits for requests in flight and sockets to close.
    pub drain_timeout: Duration,
    /// The reconnect hint sockets get when the server stops.
    pub reconnect_after: Duration,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` is believed (see [`crate::client`]).
    pub trusted_proxies: TrustedProxies,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit: 256 * 1024,
            socket: SocketLimits::default(),
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
            reconnect_after: Duration::from_secs(1),
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
    /// The open WebSockets, closed with 1001 at a stop.
    pub sockets: Sockets,
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
            sockets: Sockets::default(),
            event_log_lag: Arc::new(|| 0),
        }
    }
}
