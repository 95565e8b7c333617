//! Switchboard's simulator: "what if" for supervisors — more agents, another strategy, a new
//! skill split — answered by running the **real** routing engine on a virtual clock.
//!
//! A [`Scenario`] (TOML or built in code) names queues with their routing settings and their
//! traffic (Poisson arrivals at a constant or stepwise rate, a handle-time distribution,
//! wrap-up, caller patience) and groups of agents (skills, answer delay, missed offers,
//! shifts). [`simulate`] runs it as a discrete-event simulation: the simulator's own actions
//! (arrivals, accepts, hang-ups, ends of conversations, shift changes) and the engine's own
//! timers (offer deadlines, wrap-up ends, expansion steps, maximum waits) are taken in time
//! order, each at its instant. Every event the engine emits is folded into
//! `switchboard_stats::Segments`, and the [`Outcome`] holds the same reports the API
//! produces, plus Erlang C / A beside the simulation when the scenario is a single queue.
//!
//! The simulation is pure and deterministic: it reads no clock, does no I/O (the caller reads
//! the scenario file and prints the outcome) and draws every random number from a seeded
//! generator, so the same scenario and seed give the same outcome. It drives
//! `switchboard_engine::Engine` directly (no dispatcher backend, no async runtime), contains
//! no routing policy of its own — every routing decision is the engine's — and knows nothing
//! of HTTP, SQL, Redis or the server's configuration.

mod outcome;
mod rng;
mod run;
mod scenario;

pub use outcome::{Figures, Outcome, QueueReport, RunStats, Theory};
pub use run::START;
pub use scenario::{
    ClockTime, Distribution, GroupSpec, QueueSpec, RateStep, ReportInterval, Scenario,
    ScenarioError, Shift, SingleQueue, MAX_AGENTS, MAX_CALLS,
};

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("scenario: {0}")]
    Scenario(#[from] ScenarioError),
    /// The engine refused a command the simulator relies on (a bug in one or the other).
    #[error("engine: {0}")]
    Engine(String),
    #[error("report: {0}")]
    Report(switchboard_stats::MetricsError),
}

/// Runs `scenario` to the end and reports.
pub fn simulate(scenario: &Scenario) -> Result<Outcome, SimError> {
    let plan = scenario.plan()?;
    let run = run::run(&plan, None)?;
    outcome::outcome(&plan, run)
}

/// Runs `scenario` like [`simulate`], handing every event the engine emits to `sink` as it
/// goes: a realistic event log, e.g. to seed a database for a benchmark of the reports.
pub fn simulate_recording(
    scenario: &Scenario,
    sink: &mut dyn FnMut(&[switchboard_domain::Event]),
) -> Result<Outcome, SimError> {
    let plan = scenario.plan()?;
    let run = run::run(&plan, Some(sink))?;
    outcome::outcome(&plan, run)
}
