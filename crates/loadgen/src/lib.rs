//! Switchboard's load generator: it prepares a center of N agents straight in a fresh
//! database, starts the real `switchboard` binary on 127.0.0.1 over that database (SQLite and
//! the in-process dispatcher, or PostgreSQL and Redis), drives it through its public edges
//! only — agent console WebSockets and signed telephony hooks — and reports what a PBX and an
//! agent would see: offer latency under sustained calls, the memory idle consoles cost, and
//! how fast contacts are taken in (intake). `compare` runs these, and the routing benchmark,
//! against two builds of the server, interleaved. Every run stops by itself and removes what
//! it created.
//!
//! It must not know the server's insides: it talks HTTP and WebSocket, and uses the store only
//! to write the records an administrator and sign-ins would have written.

pub mod agent;
pub mod center;
pub mod compare;
pub mod http;
pub mod idle;
pub mod intake;
pub mod offer_latency;
pub mod report;
pub mod server;
pub mod stats;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use switchboard_store::Store;

use crate::{
    idle::IdleReport,
    intake::{IntakeReport, IntakeSpec},
    offer_latency::{LatencyReport, LoadSpec},
    server::{ServerProcess, Storage},
};

/// What to run.
#[derive(Debug, Clone)]
pub enum Scenario {
    OfferLatency {
        agents: usize,
        load: LoadSpec,
    },
    Idle {
        agents: usize,
        settle: Duration,
    },
    /// Contacts into a queue nobody is logged in to; `agents` only exist (no console).
    Intake {
        agents: usize,
        spec: IntakeSpec,
    },
}

impl Scenario {
    fn agents(&self) -> usize {
        match self {
            Scenario::OfferLatency { agents, .. }
            | Scenario::Idle { agents, .. }
            | Scenario::Intake { agents, .. } => *agents,
        }
    }
}

/// The queue's own wrap-up limit; the simulated agents finish wrap-up at once anyway.
pub const QUEUE_WRAP_UP: Duration = Duration::from_secs(5);

/// What a scenario measured, with the server's conditions.
#[derive(Debug)]
pub struct Outcome {
    pub mode: &'static str,
    pub figures: Figures,
    /// The server's CPU time (user + system) during the scenario, seconds, and its wall time.
    pub server_cpu_secs: f64,
    pub wall_secs: f64,
    pub server_peak_kib: u64,
    pub prepare_time: Duration,
}

#[derive(Debug)]
pub enum Figures {
    OfferLatency(Box<LatencyReport>),
    Idle(IdleReport),
    Intake(IntakeReport),
}

/// Prepares `storage`, runs `binary` on it, runs the scenario, stops the server and removes
/// the storage (also when something failed).
pub async fn run(
    binary: &std::path::Path,
    storage: Storage,
    scenario: &Scenario,
) -> anyhow::Result<Outcome> {
    let log_dir = std::env::temp_dir();
    let log: PathBuf = log_dir.join(format!(
        "switchboard-loadgen-{}-{}.log",
        storage.label(),
        std::process::id()
    ));
    let result = run_on(binary, &storage, scenario, log).await;
    let removed = storage.remove().await;
    let outcome = result?;
    removed.context("removing the run's database")?;
    Ok(outcome)
}

async fn run_on(
    binary: &std::path::Path,
    storage: &Storage,
    scenario: &Scenario,
    log: PathBuf,
) -> anyhow::Result<Outcome> {
    let preparing = std::time::Instant::now();
    server::migrate(binary, &storage.env())
        .await
        .context("migrating the database with the server under test")?;
    let store = Store::connect(&storage.database_url()).await?;
    let center = center::prepare(&store, scenario.agents(), QUEUE_WRAP_UP)
        .await
        .context("preparing the center")?;
    store.close().await;
    let prepare_time = preparing.elapsed();

    let server = ServerProcess::start(binary, &storage.env(), log).await?;
    let pid = server.pid().context("the server has no pid")?;
    let cpu_before = server::cpu_secs(pid)?;
    let started = std::time::Instant::now();
    let figures = match scenario {
        Scenario::OfferLatency { load, .. } => offer_latency::run(server.addr, &center, load)
            .await
            .map(|r| Figures::OfferLatency(Box::new(r))),
        Scenario::Idle { settle, .. } => idle::run(server.addr, pid, &center.tokens, *settle)
            .await
            .map(Figures::Idle),
        Scenario::Intake { spec, .. } => intake::run(server.addr, &center, spec)
            .await
            .map(Figures::Intake),
    };
    let wall_secs = started.elapsed().as_secs_f64();
    let cpu_after = server::cpu_secs(pid);
    let peak = server::memory(pid).map(|m| m.hwm_kib);
    let stopped = server.stop().await;
    let figures = figures?;
    stopped?;
    Ok(Outcome {
        mode: storage.label(),
        figures,
        server_cpu_secs: cpu_after? - cpu_before,
        wall_secs,
        server_peak_kib: peak?,
        prepare_time,
    })
}
