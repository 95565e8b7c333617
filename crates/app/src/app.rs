//! [`App`]: the application's handle, what every edge holds. It owns the ports the use cases
//! run on — the store, the dispatcher, the clock, the registry of open consoles — and the read
//! models the event subscriber keeps. The use cases are its methods, one module each
//! (`intake`, `calls`, `control`, `configuration`, `presence`, …), so an edge calls
//! `app.intake(…)` and never reaches the store or the dispatcher itself.

use std::{fmt, sync::Arc, time::Duration};

use switchboard_dispatch::{AnyBackend, Clock, ConsoleRegistry, QueueBackend};
use switchboard_domain::{CenterClock, Timestamp};
use switchboard_store::Store;

use crate::{
    accounts::{AccountSettings, Accounts, LimitPolicy, PasswordHashing, Secret},
    identity::CountryCode,
    live::{Consoles, Floor, ReadModels, Sources},
};

/// How the application behaves: what the center is called and how sign-in works.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The company name greetings use.
    pub company_name: String,
    /// How long a sign-in lasts (a shift, by default).
    pub session_ttl: Duration,
    /// Limits on failed sign-ins, per (username, client) and per client.
    pub login_limits: LimitPolicy,
    /// While no admin exists, setting up with this secret creates the first.
    pub setup_secret: Option<Secret>,
    /// How long after the start the setup secret works (`None`: until an admin exists).
    pub setup_ttl: Option<Duration>,
    pub password_hashing: PasswordHashing,
    /// The center's clock: whose midnight starts "today" on consoles and the floor, and
    /// which reports follow unless asked otherwise.
    pub center_clock: CenterClock,
    /// How often an open socket checks that its session still exists.
    pub session_recheck: Duration,
    /// The country calling code of national phone numbers (`0171 …`) in customer
    /// identities; `None`: only international ones (`+49 …`, `0049 …`) are taken.
    pub default_country_code: Option<CountryCode>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            company_name: "Switchboard".into(),
            session_ttl: Duration::from_secs(12 * 3600),
            login_limits: LimitPolicy::default(),
            setup_secret: None,
            setup_ttl: Some(Duration::from_secs(3600)),
            password_hashing: PasswordHashing::default(),
            center_clock: CenterClock::UTC,
            session_recheck: Duration::from_secs(60),
            default_country_code: None,
        }
    }
}

/// The application: cheap to clone, shared by every request and socket.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Store,
    pub(crate) dispatcher: Arc<AnyBackend>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Which agents have a console open on which instance.
    pub(crate) presence: Arc<ConsoleRegistry>,
    accounts: Arc<Accounts>,
    /// See [`Settings::default_country_code`].
    pub(crate) default_country_code: Option<CountryCode>,
    consoles: Arc<Consoles>,
    floor: Arc<Floor>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store.kind())
            .field("dispatcher", &self.dispatcher.kind())
            .finish_non_exhaustive()
    }
}

/// Whether each dependency answers (for readiness probes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// `sqlite` or `postgres`, and whether it answered.
    pub database: (&'static str, bool),
    /// `memory` or `redis`, and whether it answered.
    pub dispatcher: (&'static str, bool),
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.1 && self.dispatcher.1
    }
}

impl App {
    /// The application over these ports, with an in-process console registry (see
    /// [`App::with_console_registry`] for a shared one).
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
                login_limits: settings.login_limits,
                setup_secret: settings.setup_secret,
                setup_expires_at: settings.setup_ttl.map(|ttl| clock.now().plus(ttl)),
                password_hashing: settings.password_hashing,
                session_recheck: settings.session_recheck,
            },
        ));
        Self {
            store,
            dispatcher,
            clock,
            presence: Arc::new(ConsoleRegistry::in_process()),
            accounts,
            default_country_code: settings.default_country_code,
            consoles: Arc::new(
                Consoles::new(settings.company_name).with_center_clock(settings.center_clock),
            ),
            floor: Arc::new(Floor::new(settings.center_clock)),
        }
    }

    /// Counts open consoles in `registry` (shared through Redis with the dispatcher when
    /// several instances run).
    #[must_use]
    pub fn with_console_registry(mut self, registry: ConsoleRegistry) -> Self {
        self.presence = Arc::new(registry);
        self
    }

    /// The application's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The center's clock (see [`Settings::center_clock`]).
    pub fn center_clock(&self) -> CenterClock {
        self.floor.center()
    }

    /// Sign-in, sessions and users.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    /// The agents' consoles' read model.
    pub fn consoles(&self) -> &Arc<Consoles> {
        &self.consoles
    }

    /// The supervisors' floor read model.
    pub fn floor(&self) -> &Arc<Floor> {
        &self.floor
    }

    /// The read models the event subscriber feeds.
    pub fn read_models(&self) -> ReadModels {
        ReadModels {
            consoles: self.consoles.clone(),
            floor: self.floor.clone(),
        }
    }

    /// What the event subscriber reads from.
    pub fn read_sources(&self) -> Sources {
        Sources {
            store: self.store.clone(),
            dispatcher: self.dispatcher.clone(),
            clock: self.clock.clone(),
        }
    }

    /// The one event subscriber over this application's read models: spawn it once per
    /// process (`crate::live::spawn` does, into a task group).
    pub fn follow_events(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        crate::live::follow(self.read_models(), self.read_sources())
    }

    /// Resolves when `holder`'s session or API key has ended (see
    /// [`Accounts::until_revoked`]): a socket races its conversation against this and
    /// closes when it resolves.
    pub async fn until_revoked(&self, holder: &crate::accounts::Holder) {
        self.accounts.until_revoked(holder, || self.now()).await;
    }

    /// The database's connection pools now (for metrics).
    pub fn database_pools(&self) -> Vec<crate::PoolStatus> {
        self.store.pool_status()
    }

    /// Asks the database and the dispatcher for one round trip each; failures are logged.
    pub async fn readiness(&self) -> Readiness {
        let database = self.store.ping().await;
        if let Err(e) = &database {
            tracing::warn!(error = %e, "readiness: database");
        }
        let dispatcher = self.dispatcher.ping().await;
        if let Err(e) = &dispatcher {
            tracing::warn!(error = %e, "readiness: dispatcher");
        }
        Readiness {
            database: (self.store.kind(), database.is_ok()),
            dispatcher: (self.dispatcher.kind(), dispatcher.is_ok()),
        }
    }
}
