//! What every handler shares.

use std::{fmt, sync::Arc, time::Duration};

use switchboard_app::accounts::{AccountSettings, Accounts};
pub use switchboard_app::accounts::{PasswordHashing, Secret};

use switchboard_dispatch::{AnyBackend, Clock, ConsoleRegistry};
use switchboard_store::Store;

use crate::metrics::Metrics;

/// Settings of the HTTP edge.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The company name greetings use.
    pub company_name: String,
    /// How long a sign-in lasts (a shift, by default).
    pub session_ttl: Duration,
    /// Sign-in attempts per username (and per client address) per minute.
    pub login_attempts_per_minute: u32,
    /// While no admin exists, `POST /api/v1/auth/setup` with this secret creates the first.
    pub setup_secret: Option<Secret>,
    pub password_hashing: PasswordHashing,
    /// Largest request body accepted.
    pub body_limit: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            company_name: "Switchboard".into(),
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts_per_minute: 10,
            setup_secret: None,
            password_hashing: PasswordHashing::default(),
            body_limit: 256 * 1024,
        }
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub dispatcher: Arc<AnyBackend>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// Sign-in, sessions and users.
    pub accounts: Arc<Accounts>,
    /// Events waiting to be written to the event log (for /metrics and /readyz).
    pub event_log_lag: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// The agents' consoles' read model (fed by the app's one event subscriber,
    /// `switchboard_app::live`; see [`AppState::read_models`]).
    pub consoles: Arc<switchboard_app::live::Consoles>,
    /// The supervisors' floor read model (fed by the same subscriber).
    pub floor: Arc<switchboard_app::live::Floor>,
    /// Which agents have a console open on which instance (in process unless replaced by
    /// the dispatcher's shared one; see `presence`).
    pub presence: Arc<ConsoleRegistry>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.kind())
            .field("dispatcher", &self.dispatcher.kind())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        store: Store,
        dispatcher: Arc<AnyBackend>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        let accounts = Arc::new(Accounts::new(
            store.clone(),
            AccountSettings {
                session_ttl: settings.session_ttl,
                login_attempts_per_minute: settings.login_attempts_per_minute,
                setup_secret: settings.setup_secret.clone(),
                password_hashing: settings.password_hashing,
            },
        ));
        let consoles = Arc::new(switchboard_app::live::Consoles::new(
            settings.company_name.clone(),
        ));
        Self {
            store,
            dispatcher,
            clock,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            accounts,
            event_log_lag: Arc::new(|| 0),
            consoles,
            floor: Arc::default(),
            presence: Arc::default(),
        }
    }

    /// The read models the app's event subscriber feeds and the sockets read.
    pub fn read_models(&self) -> switchboard_app::live::ReadModels {
        switchboard_app::live::ReadModels {
            consoles: self.consoles.clone(),
            floor: self.floor.clone(),
        }
    }

    /// What the app's event subscriber reads from.
    pub fn read_sources(&self) -> switchboard_app::live::Sources {
        switchboard_app::live::Sources {
            store: self.store.clone(),
            dispatcher: self.dispatcher.clone(),
            clock: self.clock.clone(),
        }
    }

    /// The app's one event subscriber over this state's read models: run it (or spawn it with
    /// `switchboard_app::live::spawn`) once per process.
    pub fn follow_events(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        switchboard_app::live::follow(self.read_models(), self.read_sources())
    }
}
