//! `switchboard-loadgen`: starts the release server on 127.0.0.1 over fresh storage and
//! measures offer latency under sustained calls, or the memory of idle consoles.

use std::{path::PathBuf, time::Duration};

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use switchboard_loadgen::{offer_latency::LoadSpec, report, server::Storage, Scenario};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-loadgen",
    about = "Load tests a switchboard server it starts on 127.0.0.1 (and stops, and cleans up)"
)]
struct Cli {
    /// The server binary.
    #[arg(long, default_value = "target/release/switchboard")]
    server: PathBuf,
    /// in-process: a temp SQLite file and the in-process dispatcher; redis: Redis and a fresh
    /// PostgreSQL database; both: one after the other, reported side by side.
    #[arg(long, value_enum, default_value_t = Mode::InProcess)]
    mode: Mode,
    /// Redis for `--mode redis|both` (a namespace of its own is used and removed).
    #[arg(long)]
    redis_url: Option<String>,
    /// PostgreSQL for `--mode redis|both`: a database is created on this server for the run
    /// and dropped after (the URL's own database is only used to connect).
    #[arg(long)]
    database_url: Option<String>,
    #[command(subcommand)]
    scenario: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    InProcess,
    Redis,
    Both,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Hook POST → offer frame latency with N available agents and R calls/s.
    OfferLatency {
        #[arg(long, default_value_t = 5000)]
        agents: usize,
        /// Calls per second, sustained.
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        /// Seconds measured (after the warm-up).
        #[arg(long, default_value_t = 60.0)]
        duration: f64,
        /// Seconds of calls before the measurement (default: twice the talk time, ≥ 10 s).
        #[arg(long)]
        warmup: Option<f64>,
        /// Talk time per call in seconds (default: for 75 % occupancy, 0.75 × agents / rate).
        #[arg(long)]
        talk: Option<f64>,
    },
    /// Resident memory of the server with N idle agent consoles.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Seconds to hold all consoles open before reading the memory.
        #[arg(long, default_value_t = 6.0)]
        settle: f64,
    },
}

fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    if !(s.is_finite() && s >= 0.0) {
        bail!("--{name} must be a number of seconds ≥ 0");
    }
    Ok(Duration::from_secs_f64(s))
}

fn scenario(cmd: &Cmd) -> anyhow::Result<Scenario> {
    Ok(match *cmd {
        Cmd::OfferLatency {
            agents,
            rate,
            duration,
            warmup,
            talk,
        } => {
            if agents == 0 || !(rate > 0.0 && rate.is_finite()) {
                bail!("--agents and --rate must be positive");
            }
            let talk = seconds("talk", talk.unwrap_or(0.75 * agents as f64 / rate))?;
            let warmup = seconds(
                "warmup",
                warmup.unwrap_or((2.0 * talk.as_secs_f64()).max(10.0)),
            )?;
            Scenario::OfferLatency {
                agents,
                load: LoadSpec {
                    rate,
                    warmup,
                    duration: seconds("duration", duration)?,
                    handle: talk,
                    grace: Duration::from_secs(10),
                },
            }
        }
        Cmd::Idle { agents, settle } => {
            if agents == 0 {
                bail!("--agents must be positive");
            }
            Scenario::Idle {
                agents,
                settle: seconds("settle", settle)?,
            }
        }
    })
}

#[allow(clippy::print_stdout)] // the report is this tool's output
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let scenario = scenario(&cli.scenario)?;
    let shared = matches!(cli.mode, Mode::Redis | Mode::Both);
    if shared && (cli.redis_url.is_none() || cli.database_url.is_none()) {
        bail!("--mode redis and --mode both need --redis-url and --database-url");
    }
    println!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut outcomes = Vec::new();
    if matches!(cli.mode, Mode::InProcess | Mode::Both) {
        let outcome = switchboard_loadgen::run(&cli.server, Storage::local()?, &scenario).await?;
        println!("{}", report::describe(&outcome));
        outcomes.push(outcome);
    }
    if let (true, Some(redis), Some(database)) = (shared, &cli.redis_url, &cli.database_url) {
        let storage = Storage::shared(database, redis).await?;
        let outcome = switchboard_loadgen::run(&cli.server, storage, &scenario).await?;
        println!("{}", report::describe(&outcome));
        outcomes.push(outcome);
    }
    println!("{}", report::side_by_side(&outcomes));
    Ok(())
}
