//! Wiring: the store, the dispatcher (durable in process, or over Redis), event persistence,
//! timers and the HTTP server, started and stopped in the right order.

use std::{future::Future, sync::Arc};

use anyhow::Context;
use switchboard_app::{
    reports::rollup::{self, Rollup},
    App, Tasks,
};
use switchboard_dispatch::{
    run_timers, AnyBackend, Clock, JournalFeed, PresenceOptions, QueueBackend, RedisBackend,
    SystemClock,
};
use switchboard_domain::{Agent, Command, QueueConfig};
use switchboard_gateway::{pbx::HttpSender, socket::SocketLimits, AppState, Secret, Settings};
use switchboard_store::{spawn_event_writer, Role, Store, WriterOptions};
use tokio::{net::TcpListener, sync::broadcast::error::RecvError};

use crate::config::Config;

/// How long each group of background tasks gets to end at a stop.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects to the database and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(config.database_url.expose())
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// The shared dispatcher over Redis, or the in-process one made durable (restored from its
/// snapshot and journal; see [`crate::durable`]) with the feed its journal writer reads.
pub async fn open_dispatcher(
    config: &Config,
    store: &Store,
    clock: &dyn Clock,
) -> anyhow::Result<(AnyBackend, Option<JournalFeed>)> {
    if let Some(url) = &config.redis_url {
        let backend = RedisBackend::connect(url.expose(), &config.redis_namespace)
            .await
            .context("joining the dispatcher over Redis")?;
        return Ok((AnyBackend::Redis(backend), None));
    }
    let (memory, feed, restored) = crate::durable::open(store, clock).await?;
    tracing::info!(
        snapshot_seq = restored.snapshot_seq,
        replayed = restored.replayed,
        contacts = restored.contacts,
        "dispatcher restored"
    );
    Ok((AnyBackend::Memory(memory), Some(feed)))
}

/// Loads queues and agents from the database into the dispatcher.
pub async fn apply_configuration(
    store: &Store,
    dispatcher: &AnyBackend,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    for q in store.list::<QueueConfig>().await? {
        dispatcher
            .execute(Command::UpsertQueue(q.doc), clock.now())
            .await?;
    }
    for a in store.list::<Agent>().await? {
        dispatcher
            .execute(Command::UpsertAgent(a.doc.profile), clock.now())
            .await?;
    }
    Ok(())
}

/// A random secret for creating the first admin.
pub fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(secret_from(bytes))
}

/// 24 random bytes as 32 URL-safe characters that never start with `-` (pasted after a
/// command, it would read as a flag): a leading `-` becomes a letter.
fn secret_from(bytes: [u8; 24]) -> String {
    use base64::Engine as _;
    let mut secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    if secret.starts_with('-') {
        let letter = char::from(b'a' + bytes[1] % 26);
        secret.replace_range(..1, letter.encode_utf8(&mut [0; 4]));
    }
    secret
}

/// Runs the server on `listener` until `shutdown` completes, then stops accepting, finishes
/// in-flight requests, flushes the journal and the event log and (in-process) saves a last
/// snapshot of the dispatcher's state.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let store = open_store(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (dispatcher, journal) = open_dispatcher(&config, &store, clock.as_ref()).await?;
    let dispatcher = Arc::new(dispatcher);
    // In process, the journal writer stores every step with its events before the step is
    // acknowledged or published; over Redis, the event writer logs the events as they come.
    let journal_task = journal.map(|feed| crate::durable::spawn_writer(store.clone(), feed));
    // Background work is owned in groups stopped in order at the end: first what follows
    // the event stream or serves the consoles, then the timers.
    let background = Tasks::new("background");
    background.spawn_until_stopped(
        "snapshots",
        crate::durable::run_snapshots(
            store.clone(),
            dispatcher.clone(),
            clock.clone(),
            crate::durable::SnapshotPolicy::default(),
        ),
    );
    let log_events = journal_task.is_none();

    // Every event goes to the metrics, and (over Redis) to the event log.
    let (writer, writer_task) = spawn_event_writer(store.clone(), WriterOptions::default());
    // Consoles still open at a stop hold the state, hence this probe: it must not keep the
    // event log's writer open (it drains once every sender is gone), so the stop takes it.
    let lag_writer = Arc::new(std::sync::Mutex::new(Some(writer.clone())));
    let lag_probe = lag_writer.clone();
    let mut events = dispatcher.subscribe();
    let (stop_forward, mut forward_stopped) = tokio::sync::oneshot::channel::<()>();

    let mut setup_secret = config.setup_secret.clone();
    if store.count_users_with_role(Role::Admin).await? == 0 && setup_secret.is_none() {
        let secret = random_secret()?;
        // Printed once, to the console, not to the log.
        eprintln!(
            "\n  No admin yet. Create one within this run with the one-time setup secret:\n\n    curl -X POST http://{}/api/v1/auth/setup -H 'content-type: application/json' \\\n      -d '{{\"setup_secret\":\"{secret}\",\"username\":\"admin\",\"display_name\":\"Admin\",\"password\":\"<10+ characters>\"}}'\n\n  (or stop the server and run `switchboard create-admin`)\n",
            config.listen
        );
        tracing::warn!(
            "no admin yet: the one-time setup secret and how to use it were printed to stderr"
        );
        setup_secret = Some(Secret::new(secret));
    }
    let settings = switchboard_app::Settings {
        company_name: config.company_name.clone(),
        center_clock: config.center_clock,
        default_country_code: config.default_country_code,
        session_ttl: config.session_ttl,
        login_limits: config.login_limits,
        setup_secret,
        setup_ttl: config.setup_ttl,
        ..switchboard_app::Settings::default()
    };
    // Open consoles per instance: shared through Redis with the dispatcher, else local.
    let app = App::new(store.clone(), dispatcher.clone(), clock.clone(), settings)
        .with_console_registry(dispatcher.console_registry(PresenceOptions::default())?);
    let mut state = AppState::new(
        app.clone(),
        Settings {
            body_limit: config.body_limit,
            socket: SocketLimits {
                max_message: config.ws_max_message,
                per_second: config.ws_messages_per_second,
                burst: config.ws_message_burst,
            },
            request_timeout: config.request_timeout,
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            drain_timeout: config.drain_timeout,
            trusted_proxies: config.trusted_proxies.clone(),
            ..Settings::default()
        },
    );
    let journal_probe = dispatcher.clone();
    state.event_log_lag = Arc::new(move || {
        let writer = lag_probe.lock().unwrap_or_else(|p| p.into_inner());
        let journal = match journal_probe.as_ref() {
            AnyBackend::Memory(m) => m.journal_pending(),
            AnyBackend::Redis(_) => 0,
        };
        writer.as_ref().map_or(0, |w| w.lag()) + journal
    });
    background.spawn_until_stopped("presence", switchboard_app::presence::run(app.clone()));
    let metrics = state.metrics.clone();
    // The read side: one subscriber (today's log replayed once, then the live events) feeds
    // the consoles' and the floor's read models.
    switchboard_app::live::spawn(&background, app.read_models(), app.read_sources());
    // Outbound webhooks to the PBX: one task plans them from events, one delivers them
    // through the edge's signed HTTP(S) client.
    let sender = HttpSender::new(config.pbx_ca_file.as_deref())?;
    let wake = Arc::new(tokio::sync::Notify::new());
    background.spawn_until_stopped(
        "pbx_plan",
        switchboard_app::pbx::plan(app.clone(), wake.clone()),
    );
    background.spawn_until_stopped(
        "pbx_deliver",
        switchboard_app::pbx::deliver(app.clone(), Arc::new(sender), wake, {
            let metrics = state.metrics.clone();
            Arc::new(move |outcome| metrics.observe_webhook(outcome))
        }),
    );
    // Historical reports' interval aggregates, rolled up as intervals close.
    let rollup = Rollup {
        store: store.clone(),
        clock: clock.clone(),
        pending_events: state.event_log_lag.clone(),
        observe: {
            let metrics = state.metrics.clone();
            Box::new(move |through| metrics.observe_rollup(through))
        },
    };
    background.spawn("rollup", |stop| rollup::run(rollup, stop));
    let forward = tokio::spawn(async move {
        loop {
            tokio::select! {
                received = events.recv() => match received {
                    Ok(e) => {
                        metrics.observe_event(&e);
                        if log_events {
                            writer.send(vec![e]);
                        }
                    }
                    Err(RecvError::Lagged(n)) => tracing::error!(missed = n, "event log fell behind; events lost"),
                    Err(RecvError::Closed) => break,
                },
                _ = &mut forward_stopped => {
                    while let Ok(e) = events.try_recv() {
                        metrics.observe_event(&e);
                        if log_events {
                            writer.send(vec![e]);
                        }
                    }
                    break;
                }
            }
        }
        writer.close();
    });

    apply_configuration(&store, &dispatcher, clock.as_ref()).await?;
    let timers = Tasks::new("timers");
    let timed = dispatcher.clone();
    timers.spawn("timers", |stop| async move {
        run_timers(timed, SystemClock, stop.cancelled_owned()).await;
    });

    // Expired sign-ins are refused anyway; this only keeps the table small.
    {
        let (accounts, clock) = (app.accounts().clone(), clock.clone());
        background.spawn_until_stopped("session_sweeper", async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                match accounts.remove_expired_sessions(clock.now()).await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "removing expired sessions failed"),
                }
            }
        });
    }
    tracing::info!(
        address = %listener.local_addr()?,
        database = store.kind(),
        dispatcher = dispatcher.kind(),
        startup_ms = started.elapsed().as_millis() as u64,
        "switchboard is ready"
    );
    // At `shutdown`: stop accepting, close sockets with 1001, let requests in flight finish,
    // for at most the drain timeout.
    switchboard_gateway::serve(listener, state, shutdown)
        .await
        .context("serving HTTP")?;

    tracing::info!("stopping: consoles, timers, event log, dispatcher state");
    background.stop(STOP_GRACE).await;
    app.leave().await;
    lag_writer.lock().unwrap_or_else(|p| p.into_inner()).take();
    timers.stop(STOP_GRACE).await;
    // Nothing more enters the journal; the writer stores what it was handed, then ends.
    if let AnyBackend::Memory(memory) = dispatcher.as_ref() {
        memory.close_journal();
    }
    if let Some(task) = journal_task {
        match task.await {
            Ok(steps) => tracing::info!(steps, "journal flushed"),
            Err(e) => tracing::error!(error = %e, "journal writer crashed"),
        }
    }
    let _ = stop_forward.send(());
    let _ = forward.await;
    match writer_task.await {
        Ok(Ok(written)) => tracing::info!(written, "event log flushed"),
        Ok(Err(e)) => tracing::error!(error = %e, "event log flush failed"),
        Err(e) => tracing::error!(error = %e, "event log writer crashed"),
    }
    if let AnyBackend::Memory(memory) = dispatcher.as_ref() {
        crate::durable::save_final(&store, memory, clock.as_ref()).await?;
    }
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_demo_passwords_never_start_with_a_dash() {
        // One draw in 64 started with `-` before.
        for _ in 0..10_000 {
            let secret = random_secret().unwrap();
            assert!(!secret.starts_with('-'), "{secret}");
            assert_eq!(secret.len(), 32);
        }
        let dashed = secret_from([0xf8; 24]);
        assert!(!dashed.starts_with('-') && dashed.len() == 32, "{dashed}");
    }
}
