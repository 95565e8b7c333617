//! One dispatcher instance over Redis, driven by JSON lines: a tool for operators poking at a
//! shared dispatcher, and the "real OS process" of the multi-instance tests.
//!
//! Usage: `switchboard-dispatch-node NAMESPACE` with `REDIS_URL` set (default
//! `redis://127.0.0.1:6379`). Each stdin line is a `Command` as JSON; each is executed at the
//! wall-clock instant it is read and answered on stdout with one JSON line:
//! `{"ok":[events…]}` or `{"error":{"code":…,"message":…}}`. Timers of the whole namespace
//! are fired by this process too, as by every instance.

use std::{io::Write, sync::Arc};

use switchboard_dispatch::{run_timers, Clock, QueueBackend, RedisBackend, SystemClock};
use switchboard_domain::Command;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let Some(namespace) = std::env::args().nth(1) else {
        eprintln!("usage: switchboard-dispatch-node NAMESPACE  (REDIS_URL from the environment)");
        return std::process::ExitCode::from(2);
    };
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let backend = match RedisBackend::connect(&url, &namespace).await {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("cannot join the dispatcher at {url}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tokio::spawn(run_timers(
        backend.clone(),
        SystemClock,
        std::future::pending(),
    ));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = std::io::stdout();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Command>(&line) {
            Ok(command) => match backend.execute(command, SystemClock.now()).await {
                Ok(events) => serde_json::json!({ "ok": events }),
                Err(e) => {
                    serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } })
                }
            },
            Err(e) => {
                serde_json::json!({ "error": { "code": "bad_json", "message": e.to_string() } })
            }
        };
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}
