//! The server under load: its throw-away storage (a temp SQLite file, or a fresh PostgreSQL
//! database and Redis namespace created for the run and removed after, from
//! `switchboard_test_support`), the `switchboard` binary started as a child process on
//! 127.0.0.1, and its memory read from `/proc`.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context};
use switchboard_test_support::{database::TestDatabase, redis::RedisNamespace};
use tokio::process::{Child, Command};

use crate::http::Connection;

/// Where a run keeps its data: a throw-away database (and, shared, a Redis namespace) from
/// `switchboard_test_support`, removed after the run.
#[derive(Debug)]
pub struct Storage {
    database: TestDatabase,
    /// With PostgreSQL: the namespace of the Redis dispatcher.
    redis: Option<RedisNamespace>,
}

impl Storage {
    /// A SQLite file in a temp directory; the in-process dispatcher.
    pub fn local() -> anyhow::Result<Storage> {
        Ok(Storage {
            database: TestDatabase::try_sqlite()?,
            redis: None,
        })
    }

    /// A database of the run's own on the PostgreSQL server of `admin_url`, and a Redis
    /// namespace of its own.
    pub async fn shared(admin_url: &str, redis_url: &str) -> anyhow::Result<Storage> {
        // Check Redis first rather than after seeding thousands of agents.
        let redis = RedisNamespace::try_create(redis_url)
            .await
            .context("connecting to Redis")?;
        let database = TestDatabase::try_postgres(admin_url)
            .await
            .context("creating the run's database")?;
        Ok(Storage {
            database,
            redis: Some(redis),
        })
    }

    pub fn database_url(&self) -> String {
        self.database.url().to_owned()
    }

    /// `"in-process"` or `"redis+postgres"`.
    pub fn label(&self) -> &'static str {
        match self.redis {
            None => "in-process",
            Some(_) => "redis+postgres",
        }
    }

    /// The server's environment for this storage.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("SWITCHBOARD_DATABASE_URL".into(), self.database_url())];
        if let Some(redis) = &self.redis {
            env.push(("SWITCHBOARD_REDIS_URL".into(), redis.url().to_owned()));
            env.push((
                "SWITCHBOARD_REDIS_NAMESPACE".into(),
                redis.name().to_owned(),
            ));
        }
        env
    }

    /// Removes everything the run created (call after the server stopped).
    pub async fn remove(self) -> anyhow::Result<()> {
        let database = self.database.remove().await;
        let redis = match self.redis {
            Some(redis) => redis.remove().await,
            None => Ok(()),
        };
        database?;
        Ok(redis?)
    }
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
    fn reads_rss_and_its_peak() {
        let m = parse_memory("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n").unwrap();
        assert_eq!((m.rss_kib, m.hwm_kib), (1024, 2048));
        assert!(parse_memory("Name:\tx\n").is_err());
    }
}
