//! The server under load: its throw-away storage (a temp SQLite file, or a fresh PostgreSQL
//! database and Redis namespace created for the run and removed after), the `switchboard`
//! binary started as a child process on 127.0.0.1, and its memory read from `/proc`.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context};
use sqlx::Connection as _;
use tokio::process::{Child, Command};

use crate::http::Connection;

/// Where a run keeps its data.
#[derive(Debug)]
pub enum Storage {
    /// A SQLite file in a temp directory; the in-process dispatcher.
    Local { dir: PathBuf },
    /// A PostgreSQL database made for the run, and a Redis namespace of its own.
    Shared {
        admin_url: String,
        database: String,
        database_url: String,
        redis_url: String,
        namespace: String,
    },
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

impl Storage {
    pub fn local() -> anyhow::Result<Storage> {
        let dir = std::env::temp_dir().join(format!("switchboard-loadgen-{}", unique()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Storage::Local { dir })
    }

    /// Creates database `switchboard_loadgen_<random>` on the server of `admin_url`.
    pub async fn shared(admin_url: &str, redis_url: &str) -> anyhow::Result<Storage> {
        let database = format!("switchboard_loadgen_{}", unique());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .context("connecting to PostgreSQL")?;
        // The name is ours: a fixed prefix and hex digits.
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {database}")))
            .execute(&mut admin)
            .await
            .context("creating the run's database")?;
        admin.close().await?;
        // Check Redis now rather than after seeding thousands of agents.
        let client = redis::Client::open(redis_url).context("the Redis URL")?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .context("connecting to Redis")?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(Storage::Shared {
            admin_url: admin_url.to_owned(),
            database_url: with_database(admin_url, &database)?,
            database,
            redis_url: redis_url.to_owned(),
            namespace: format!("loadgen-{}", unique()),
        })
    }

    pub fn database_url(&self) -> String {
        match self {
            Storage::Local { dir } => format!("sqlite://{}", dir.join("switchboard.db").display()),
            Storage::Shared { database_url, .. } => database_url.clone(),
        }
    }

    /// `"in-process"` or `"redis+postgres"`.
    pub fn label(&self) -> &'static str {
        match self {
            Storage::Local { .. } => "in-process",
            Storage::Shared { .. } => "redis+postgres",
        }
    }

    /// The server's environment for this storage.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("SWITCHBOARD_DATABASE_URL".into(), self.database_url())];
        if let Storage::Shared {
            redis_url,
            namespace,
            ..
        } = self
        {
            env.push(("SWITCHBOARD_REDIS_URL".into(), redis_url.clone()));
            env.push(("SWITCHBOARD_REDIS_NAMESPACE".into(), namespace.clone()));
        }
        env
    }

    /// Removes everything the run created (call after the server stopped).
    pub async fn remove(self) -> anyhow::Result<()> {
        match self {
            Storage::Local { dir } => {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
            }
            Storage::Shared {
                admin_url,
                database,
                redis_url,
                namespace,
                ..
            } => {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {database} with (force)"
                )))
                .execute(&mut admin)
                .await
                .context("dropping the run's database")?;
                admin.close().await?;
                let client = redis::Client::open(redis_url.as_str())?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("switchboard:{{{namespace}}}:*"))
                    .query_async(&mut conn)
                    .await?;
                if !keys.is_empty() {
                    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
                }
                Ok(())
            }
        }
    }
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let rest = base
        .split_once("://")
        .map(|(_, r)| r)
        .context("a PostgreSQL URL needs a scheme")?;
    let base = match rest.find('/') {
        Some(i) => &base[..base.len() - rest.len() + i],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    })
}

/// Runs `binary migrate` with `env`: the server under test creates its own schema, so a
/// center can be prepared for a binary of another revision than this tool (whose store only
/// writes rows the two schemas share).
pub async fn migrate(binary: &Path, env: &[(String, String)]) -> anyhow::Result<()> {
    if !binary.is_file() {
        bail!(
            "no server binary at {} (build it: cargo build --release -p switchboard-server)",
            binary.display()
        );
    }
    let out = Command::new(binary)
        .arg("migrate")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("SWITCHBOARD_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {} migrate", binary.display()))?;
    if !out.status.success() {
        bail!(
            "{} migrate failed ({}): {}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A `switchboard serve` child process on 127.0.0.1.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `binary serve` on a free local port with `env`, its log in `log`, and waits
    /// until `/readyz` answers 200.
    pub async fn start(
        binary: &Path,
        env: &[(String, String)],
        log: PathBuf,
    ) -> anyhow::Result<ServerProcess> {
        if !binary.is_file() {
            bail!(
                "no server binary at {} (build it: cargo build --release -p switchboard-server)",
                binary.display()
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_file = std::fs::File::create(&log)?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // No admin is needed; a fixed setup secret keeps the first-run banner quiet.
            .env("SWITCHBOARD_SETUP_SECRET", uuid::Uuid::new_v4().to_string())
            .env("SWITCHBOARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        for _ in 0..600 {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited ({status}) before it was ready; its log: {}",
                    log.display()
                );
            }
            if let Ok(mut c) = Connection::open(addr).await {
                if let Ok(a) = c.request("GET", "/readyz", &[], b"").await {
                    if a.status == 200 {
                        return Ok(ServerProcess { child, addr, log });
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the server was not ready within 30 s; its log: {}",
            log.display()
        )
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops it like an operator would (SIGTERM, graceful), killing it after 30 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!(
                        "the server stopped with {status}; its log: {}",
                        self.log.display()
                    );
                }
                Ok(())
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the server did not stop within 30 s of SIGTERM; killed")
            }
        }
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// VmRSS: resident now, KiB.
    pub rss_kib: u64,
    /// VmHWM: the resident peak so far, KiB.
    pub hwm_kib: u64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_memory(&status)
}

fn parse_memory(status: &str) -> anyhow::Result<Memory> {
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/<pid>/status"))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("bad {line:?}"))
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// CPU time a process used so far (user + system), seconds, from `/proc/<pid>/stat`.
pub fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat).map(|ticks| ticks as f64 / CLOCK_TICKS_PER_SEC)
}

/// `sysconf(_SC_CLK_TCK)`, which is 100 on every Linux architecture this runs on.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

fn parse_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    let rest = stat.rsplit_once(')').context("bad /proc/<pid>/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
    let field = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .context("bad /proc/<pid>/stat")
    };
    Ok(field(11)? + field(12)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_cpu_ticks() {
        let stat = "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_cpu_ticks(stat).unwrap(), 300);
        assert!(parse_cpu_ticks("42 (x) S").is_err());
    }

    use super::*;

    #[test]
    fn replaces_the_database_of_a_postgres_url() {
        assert_eq!(
            with_database("postgres://root@127.0.0.1:5432/test", "x").unwrap(),
            "postgres://root@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:1", "x").unwrap(),
            "postgres://h:1/x"
        );
        assert!(with_database("nonsense", "x").is_err());
    }

    #[test]
    fn reads_rss_and_its_peak() {
        let m = parse_memory("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n").unwrap();
        assert_eq!((m.rss_kib, m.hwm_kib), (1024, 2048));
        assert!(parse_memory("Name:\tx\n").is_err());
    }
}
