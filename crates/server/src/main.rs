//! `switchboard`: the contact-center server and its administration commands.

use std::{io::BufRead, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard_app::accounts::{self, PasswordHashing};
use switchboard_dispatch::{Clock, SystemClock};
use switchboard_server::{
    app,
    config::{Config, Flags, LogFormat},
    seed,
};
use switchboard_store::{NewUser, Role};
use tracing_subscriber::EnvFilter;

mod simulate;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Contact-center engine: ACD, agent and supervisor API"
)]
struct Cli {
    /// Settings file (TOML). Default: ./switchboard.toml if present, or SWITCHBOARD_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL (sqlite://file.db or postgres://…); overrides DATABASE_URL.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// `serve`'s flags, accepted without the subcommand too (`serve` is the default).
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// How `serve` listens and joins other instances.
#[derive(Debug, Clone, Default, clap::Args)]
struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long)]
    listen: Option<String>,
    /// Redis URL for running as one of many instances; overrides REDIS_URL.
    #[arg(long)]
    redis_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the server (the default: `switchboard --listen ADDR` is `switchboard serve
    /// --listen ADDR`).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create an admin. The password is read from SWITCHBOARD_ADMIN_PASSWORD, else typed at
    /// the terminal without echo (twice), else one line of stdin when it is not a terminal.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "Administrator")]
        display_name: String,
    },
    /// Create an API key for a service (a PBX bridge, a BI tool, a script) and print it on
    /// stdout, this once: only its hash is kept. Revoke it with
    /// `DELETE /api/v1/api-keys/{api_key_id}`.
    CreateApiKey {
        /// What it is for, e.g. pbx-bridge: letters, digits, '-', '_' or '.'.
        #[arg(long)]
        name: String,
        /// A scope it holds (repeat, or separate with commas): reports:read, live:read,
        /// contacts:write, configuration:read, configuration:write, integrations:read,
        /// integrations:write.
        #[arg(long = "scope", value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Days until it stops working (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Create a small demo center (skills, queues, agents with sign-ins, scripts…). Run it
    /// before `serve`: a server already running must be restarted to route with them.
    SeedDemo,
    /// How many agents a forecast needs (Erlang C; Erlang A with --patience-secs).
    Staffing {
        /// Contacts expected in the interval.
        #[arg(long)]
        calls: f64,
        /// Interval length in seconds.
        #[arg(long, default_value_t = 1800.0)]
        interval_secs: f64,
        /// Average handle time in seconds (talk + hold + wrap-up).
        #[arg(long)]
        aht_secs: f64,
        /// Target answer time in seconds (the 20 in 80/20).
        #[arg(long, default_value_t = 20.0)]
        answer_secs: f64,
        /// Target service level, a fraction (the 0.8 in 80/20).
        #[arg(long, default_value_t = 0.8)]
        service_level: f64,
        #[arg(long)]
        max_occupancy: Option<f64>,
        /// Share of paid time agents are not on the phones (breaks, training…).
        #[arg(long, default_value_t = 0.0)]
        shrinkage: f64,
        /// Mean caller patience in seconds: switches to Erlang A (callers hang up).
        #[arg(long)]
        patience_secs: Option<f64>,
    },
    /// Simulate a center on a virtual clock with the real dispatcher ("what if": more agents,
    /// another strategy, a new skill split) and print the reports.
    Simulate(simulate::SimulateArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut flags = Flags {
        database_url: cli.database_url.clone(),
        ..Flags::default()
    };
    let top = &cli.serve;
    if top.listen.is_some() || top.redis_url.is_some() {
        match &cli.command {
            None | Some(Cmd::Serve(_)) => {}
            Some(_) => anyhow::bail!(
                "--listen and --redis-url are serve's flags; they go with no subcommand or with serve"
            ),
        }
    }
    if let Some(Cmd::Serve(args)) = &cli.command {
        flags.listen = args.listen.clone().or_else(|| top.listen.clone());
        flags.redis_url = args.redis_url.clone().or_else(|| top.redis_url.clone());
    } else if cli.command.is_none() {
        flags.listen = top.listen.clone();
        flags.redis_url = top.redis_url.clone();
    }
    if let Some(Cmd::Simulate(args)) = &cli.command {
        return simulate::run(args);
    }
    if let Some(Cmd::Staffing {
        calls,
        interval_secs,
        aht_secs,
        answer_secs,
        service_level,
        max_occupancy,
        shrinkage,
        patience_secs,
    }) = cli.command
    {
        return staffing(
            calls,
            interval_secs,
            aht_secs,
            answer_secs,
            service_level,
            max_occupancy,
            shrinkage,
            patience_secs,
        );
    }
    let config = Config::load(cli.config.as_deref(), &flags)?;
    init_tracing(config.log_format);
    match cli.command.unwrap_or(Cmd::Serve(ServeArgs::default())) {
        Cmd::Serve(_) => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            app::serve(config, listener, shutdown_signal()).await
        }
        Cmd::Migrate => {
            let store = app::open_store(&config).await?;
            store.close().await;
            eprintln!("database is up to date");
            Ok(())
        }
        Cmd::CreateAdmin {
            username,
            display_name,
        } => {
            let password = match std::env::var("SWITCHBOARD_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => read_password(&username)?,
            };
            let username = username.trim().to_lowercase();
            accounts::check_password_policy(&username, &password)?;
            switchboard_domain::AgentId::parse(&username)
                .map_err(|e| anyhow::anyhow!("username: {}", e.problem))?;
            let store = app::open_store(&config).await?;
            let password_hash = accounts::hash_password(password, PasswordHashing::default())
                .await
                .context("hashing the password")?;
            let user = store
                .create_user(&NewUser {
                    username,
                    display_name,
                    role: Role::Admin,
                    password_hash,
                    agent_id: None,
                })
                .await?;
            store.close().await;
            eprintln!("admin {} created", user.username);
            Ok(())
        }
        Cmd::CreateApiKey {
            name,
            scopes,
            expires_in_days,
        } => {
            let scopes = scopes
                .iter()
                .map(|s| s.trim().parse::<accounts::Scope>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    let all: Vec<&str> = accounts::Scope::ALL.iter().map(|s| s.as_str()).collect();
                    anyhow::anyhow!("{e}; scopes are {}", all.join(", "))
                })?;
            let now = SystemClock.now();
            let expires_at = expires_in_days
                .map(|days| now.plus(std::time::Duration::from_secs(u64::from(days) * 86_400)));
            let store = app::open_store(&config).await?;
            let issued = accounts::issue_api_key(
                &store,
                None,
                accounts::ApiKeyRequest {
                    name,
                    scopes,
                    expires_at,
                },
                now,
            )
            .await;
            store.close().await;
            let issued = issued?;
            eprintln!(
                "API key {} ({}) created with {}; it is shown this once:",
                issued.api_key.name,
                issued.api_key.api_key_id,
                issued.api_key.scopes.join(", ")
            );
            // Alone on stdout, for a script to capture.
            let mut stdout = std::io::stdout().lock();
            std::io::Write::write_all(&mut stdout, format!("{}\n", issued.key).as_bytes())?;
            Ok(())
        }
        Cmd::Staffing { .. } | Cmd::Simulate(_) => {
            unreachable!("handled before the configuration is read")
        }
        Cmd::SeedDemo => {
            let store = app::open_store(&config).await?;
            let seeded = seed::seed_demo(&store, SystemClock.now()).await?;
            store.close().await;
            eprintln!("demo: {} records created", seeded.records);
            for (user, role, password) in &seeded.logins {
                eprintln!(
                    "  sign in as {user:<6} ({}) with password {password}",
                    role.as_str()
                );
            }
            if seeded.logins.is_empty() {
                eprintln!("  (sign-ins existed already; their passwords are unchanged)");
            }
            if seeded.records > 0 {
                // The records went straight to the database: a server already running routes
                // with the queues and agents it loaded at its start.
                eprintln!(
                    "  a server already running on this database does not see them yet: restart it"
                );
            }
            Ok(())
        }
    }
}

/// The new admin's password: typed at the terminal without echo (and again, to confirm),
/// or, when stdin is not a terminal (a script, a pipe), its first line.
fn read_password(username: &str) -> anyhow::Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("password for {username}: ");
        let first = rpassword::read_password().context("reading the password")?;
        eprint!("again: ");
        let again = rpassword::read_password().context("reading the password")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        eprintln!("password for {username} (one line of stdin):");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Prints the staffing for a forecast (the CLI's output is its purpose).
#[allow(clippy::too_many_arguments)]
fn staffing(
    calls: f64,
    interval_secs: f64,
    aht_secs: f64,
    answer_secs: f64,
    service_level: f64,
    max_occupancy: Option<f64>,
    shrinkage: f64,
    patience_secs: Option<f64>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match patience_secs {
        None => {
            let input = switchboard_stats::ErlangCInput {
                arrivals: calls,
                interval_secs,
                aht_secs,
                target_answer_secs: answer_secs,
                target_service_level: service_level,
                max_occupancy,
                shrinkage,
            };
            let s = switchboard_stats::erlang_c_staffing(&input)?;
            let m = s.metrics;
            writeln!(out, "Erlang C: {calls} contacts in {interval_secs} s, AHT {aht_secs} s, target {:.0}% in {answer_secs} s", service_level * 100.0)?;
            writeln!(out, "  traffic          {:.2} Erlangs", m.traffic_erlangs)?;
            writeln!(out, "  agents needed    {}", s.agents)?;
            writeln!(
                out,
                "  to schedule      {} (shrinkage {:.0}%)",
                s.scheduled_agents,
                shrinkage * 100.0
            )?;
            writeln!(out, "  service level    {:.1}%", m.service_level * 100.0)?;
            writeln!(out, "  ASA              {:.1} s", m.asa_secs)?;
            writeln!(out, "  occupancy        {:.1}%", m.occupancy * 100.0)?;
            writeln!(
                out,
                "  P(wait)          {:.1}%",
                m.probability_of_waiting * 100.0
            )?;
        }
        Some(patience) => {
            let input = switchboard_stats::ErlangAInput {
                arrivals: calls,
                interval_secs,
                aht_secs,
                patience_secs: patience,
                target_answer_secs: answer_secs,
                target_service_level: service_level,
                max_abandonment: None,
                shrinkage,
            };
            let s = switchboard_stats::erlang_a_staffing(&input)?;
            let m = s.metrics;
            writeln!(out, "Erlang A: {calls} contacts in {interval_secs} s, AHT {aht_secs} s, patience {patience} s, target {:.0}% in {answer_secs} s", service_level * 100.0)?;
            writeln!(out, "  agents needed    {}", s.agents)?;
            writeln!(
                out,
                "  to schedule      {} (shrinkage {:.0}%)",
                s.scheduled_agents,
                shrinkage * 100.0
            )?;
            writeln!(
                out,
                "  service level    {:.1}% of all callers",
                m.service_level * 100.0
            )?;
            writeln!(
                out,
                "  abandonment      {:.1}%",
                m.probability_of_abandonment * 100.0
            )?;
            writeln!(out, "  ASA (answered)   {:.1} s", m.asa_secs)?;
            writeln!(out, "  occupancy        {:.1}%", m.occupancy * 100.0)?;
        }
    }
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested");
}
