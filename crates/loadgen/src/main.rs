//! `switchboard-loadgen`: starts the release server on 127.0.0.1 over fresh storage and
//! measures offer latency under sustained calls, the memory of idle consoles, or intake; or
//! compares two builds of the server on these, interleaved (`compare`).

use std::{path::PathBuf, time::Duration};

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use switchboard_loadgen::{
    compare::{self, CompareSpec, Place, Revision},
    intake::{Door, IntakeSpec},
    offer_latency::LoadSpec,
    report,
    server::Storage,
    Scenario,
};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DoorArg {
    Rest,
    Hook,
}

impl From<DoorArg> for Door {
    fn from(d: DoorArg) -> Door {
        match d {
            DoorArg::Rest => Door::Rest,
            DoorArg::Hook => Door::Hook,
        }
    }
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
    /// Intake: C clients send contacts one after another (each as soon as the previous is
    /// acknowledged) into a queue nobody is logged in to; contacts/s and acknowledgement
    /// latency.
    Intake {
        /// rest: `POST /api/v1/contacts` as a supervisor; hook: signed `call.arrived`.
        #[arg(long, value_enum, default_value_t = DoorArg::Rest)]
        door: DoorArg,
        /// Concurrent clients (requests in flight).
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Contacts counted (after the warm-up).
        #[arg(long, default_value_t = 5000)]
        contacts: usize,
        /// Contacts sent first and not counted.
        #[arg(long, default_value_t = 200)]
        warmup: usize,
        /// Seconds after which the run stops even if not every contact was sent.
        #[arg(long, default_value_t = 120.0)]
        limit: f64,
    },
    /// Runs the routing benchmark, offer latency and intake against two builds ("before" and
    /// "after"), interleaved in rounds, and prints medians and ratios. `--mode` chooses where
    /// the server scenarios run. See crates/loadgen/compare.sh, which builds both revisions.
    Compare {
        #[arg(long)]
        before_server: PathBuf,
        #[arg(long)]
        after_server: PathBuf,
        /// The routing benchmark executables (`cargo bench --no-run`); left out if not given.
        #[arg(long)]
        before_routing: Option<PathBuf>,
        #[arg(long)]
        after_routing: Option<PathBuf>,
        #[arg(long, default_value = "before")]
        before_label: String,
        #[arg(long, default_value = "after")]
        after_label: String,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Agents for offer latency (0: no offer-latency runs).
        #[arg(long, default_value_t = 1000)]
        offer_agents: usize,
        #[arg(long, default_value_t = 200.0)]
        offer_rate: f64,
        /// Seconds measured per offer-latency run (after its warm-up).
        #[arg(long, default_value_t = 20.0)]
        offer_duration: f64,
        /// Intake doors, comma-separated (none: no intake runs).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [DoorArg::Rest, DoorArg::Hook])]
        intake_doors: Vec<DoorArg>,
        /// Intake client counts, comma-separated: each is a run per door.
        #[arg(long, value_delimiter = ',', default_values_t = [1usize, 32])]
        intake_clients: Vec<usize>,
        #[arg(long, default_value_t = 2000)]
        intake_contacts: usize,
        #[arg(long, default_value_t = 200)]
        intake_warmup: usize,
        /// Seconds after which an intake run stops.
        #[arg(long, default_value_t = 60.0)]
        intake_limit: f64,
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

fn offer_latency(
    agents: usize,
    rate: f64,
    duration: f64,
    warmup: Option<f64>,
    talk: Option<f64>,
) -> anyhow::Result<Scenario> {
    if agents == 0 || !(rate > 0.0 && rate.is_finite()) {
        bail!("--agents and --rate must be positive");
    }
    let talk = seconds("talk", talk.unwrap_or(0.75 * agents as f64 / rate))?;
    let warmup = seconds(
        "warmup",
        warmup.unwrap_or((2.0 * talk.as_secs_f64()).max(10.0)),
    )?;
    Ok(Scenario::OfferLatency {
        agents,
        load: LoadSpec {
            rate,
            warmup,
            duration: seconds("duration", duration)?,
            handle: talk,
            grace: Duration::from_secs(10),
        },
    })
}

fn intake(
    door: DoorArg,
    clients: usize,
    contacts: usize,
    warmup: usize,
    limit: f64,
) -> anyhow::Result<Scenario> {
    if clients == 0 || contacts == 0 {
        bail!("--clients and --contacts must be positive");
    }
    Ok(Scenario::Intake {
        // One agent who never connects: the queue has members, nobody takes the contacts.
        agents: 1,
        spec: IntakeSpec {
            door: door.into(),
            clients,
            contacts,
            warmup,
            limit: seconds("limit", limit)?,
        },
    })
}

fn scenario(cmd: &Cmd) -> anyhow::Result<Scenario> {
    Ok(match *cmd {
        Cmd::OfferLatency {
            agents,
            rate,
            duration,
            warmup,
            talk,
        } => offer_latency(agents, rate, duration, warmup, talk)?,
        Cmd::Intake {
            door,
            clients,
            contacts,
            warmup,
            limit,
        } => intake(door, clients, contacts, warmup, limit)?,
        Cmd::Compare { .. } => bail!("compare runs several scenarios"),
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
    let shared = matches!(cli.mode, Mode::Redis | Mode::Both);
    if shared && (cli.redis_url.is_none() || cli.database_url.is_none()) {
        bail!("--mode redis and --mode both need --redis-url and --database-url");
    }
    println!("machine: {}", machine());
    if let Cmd::Compare { .. } = cli.scenario {
        return run_compare(&cli).await;
    }
    let scenario = scenario(&cli.scenario)?;
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

fn machine() -> String {
    format!(
        "{} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

#[allow(clippy::print_stdout)] // the report is this tool's output
async fn run_compare(cli: &Cli) -> anyhow::Result<()> {
    let Cmd::Compare {
        before_server,
        after_server,
        before_routing,
        after_routing,
        before_label,
        after_label,
        rounds,
        offer_agents,
        offer_rate,
        offer_duration,
        intake_doors,
        intake_clients,
        intake_contacts,
        intake_warmup,
        intake_limit,
    } = &cli.scenario
    else {
        bail!("not a comparison");
    };
    let mut scenarios = Vec::new();
    if *offer_agents > 0 {
        scenarios.push(offer_latency(
            *offer_agents,
            *offer_rate,
            *offer_duration,
            None,
            None,
        )?);
    }
    for door in intake_doors {
        for clients in intake_clients {
            scenarios.push(intake(
                *door,
                *clients,
                *intake_contacts,
                *intake_warmup,
                *intake_limit,
            )?);
        }
    }
    let mut places = Vec::new();
    if matches!(cli.mode, Mode::InProcess | Mode::Both) {
        places.push(Place::InProcess);
    }
    if let (true, Some(redis), Some(database)) = (
        matches!(cli.mode, Mode::Redis | Mode::Both),
        &cli.redis_url,
        &cli.database_url,
    ) {
        places.push(Place::Shared {
            database_url: database.clone(),
            redis_url: redis.clone(),
        });
    }
    let revisions = [
        Revision {
            label: before_label.clone(),
            server: before_server.clone(),
            routing: before_routing.clone(),
        },
        Revision {
            label: after_label.clone(),
            server: after_server.clone(),
            routing: after_routing.clone(),
        },
    ];
    let spec = CompareSpec {
        rounds: *rounds,
        scenarios,
        places,
    };
    let started = std::time::Instant::now();
    let results = compare::run(&revisions, &spec, |line| println!("{line}")).await?;
    println!(
        "\nfinished in {:.0} s; machine: {}\n",
        started.elapsed().as_secs_f64(),
        machine()
    );
    println!("{}", results.table());
    Ok(())
}
