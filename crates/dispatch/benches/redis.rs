//! The Redis backend beside the raw ceiling of the same Redis, in one run:
//! - enqueue→reserve cycles per second (each cycle: a caller's enqueue is appended to the
//!   log, applied, and answered with the reservation), against a trivial `EVAL` doing one
//!   ZADD and one ZPOPMIN, both with the same number of requests in flight;
//! - latency of the cycle at a paced 5,000 contacts/s;
//! - Redis memory of the log per 10,000 contacts.
//!
//! `cargo bench -p switchboard-dispatch --bench redis` (Redis at REDIS_URL, default
//! 127.0.0.1:6379; it uses a namespace of its own and deletes it).

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::*;
use redis::AsyncCommands;
use switchboard_dispatch::{QueueBackend, RedisBackend};
use switchboard_domain::*;
use tokio::task::JoinSet;

const IN_FLIGHT: usize = 64;

fn url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Enough free agents that every enqueue in a round is reserved at once.
async fn center(agents: usize) -> Arc<RedisBackend> {
    let ns = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let b = Arc::new(RedisBackend::ephemeral(&url(), &ns).await.expect("Redis"));
    let now = Timestamp::from_millis(T0);
    let mut q = QueueConfig::new(queue_id(0));
    q.offer_timeout = Duration::from_secs(3600);
    b.execute(Command::UpsertQueue(q), now).await.unwrap();
    let mut set = JoinSet::new();
    for k in 0..agents {
        let b = b.clone();
        set.spawn(async move {
            b.execute(Command::UpsertAgent(AgentProfile::new(agent_id(k))), now)
                .await
                .unwrap();
            b.execute(
                Command::SetPresence {
                    agent: agent_id(k),
                    presence: Presence::Available,
                },
                now,
            )
            .await
            .unwrap();
        });
        if set.len() >= IN_FLIGHT {
            set.join_next().await;
        }
    }
    while set.join_next().await.is_some() {}
    b
}

/// `n` enqueues with IN_FLIGHT outstanding; returns cycles/s and checks each was reserved.
async fn cycles(b: &Arc<RedisBackend>, n: usize) -> f64 {
    let start = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..n {
        let b = b.clone();
        set.spawn(async move {
            let new = NewContact::new(ContactId::new(), queue_id(0), Channel::Voice);
            let events = b
                .execute(Command::Enqueue(new), Timestamp::from_millis(T0))
                .await
                .unwrap();
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::ContactOffered { .. })),
                "reserved"
            );
        });
        if set.len() >= IN_FLIGHT {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

const CEILING: &str =
    "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]); return redis.call('ZPOPMIN', KEYS[1])";

/// The raw ceiling: `n` trivial EVALs with IN_FLIGHT outstanding on one multiplexed connection.
async fn ceiling(n: usize) -> f64 {
    let client = redis::Client::open(url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("bench-ceiling-{}", uuid::Uuid::new_v4().simple());
    let script = Arc::new(redis::Script::new(CEILING));
    let start = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        let (mut conn, script, key) = (conn.clone(), script.clone(), key.clone());
        set.spawn(async move {
            let _: redis::Value = script
                .key(&key)
                .arg(i)
                .arg(i)
                .invoke_async(&mut conn)
                .await
                .unwrap();
        });
        if set.len() >= IN_FLIGHT {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let mut c = conn.clone();
    let _: () = c.del(&key).await.unwrap();
    rate
}

/// Paced arrivals at `rate`/s for `n` contacts; latency from submit to the reservation.
async fn paced(b: &Arc<RedisBackend>, rate: f64, n: usize) -> Vec<Duration> {
    let gap = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        tokio::time::sleep_until(start + gap * i as u32).await;
        let b = b.clone();
        set.spawn(async move {
            let t = Instant::now();
            let new = NewContact::new(ContactId::new(), queue_id(0), Channel::Voice);
            let events = b
                .execute(Command::Enqueue(new), Timestamp::from_millis(T0))
                .await
                .unwrap();
            assert!(events
                .iter()
                .any(|e| matches!(e.kind, EventKind::ContactOffered { .. })));
            t.elapsed()
        });
    }
    let mut lat = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        lat.push(r.unwrap());
    }
    lat.sort_unstable();
    lat
}

async fn log_memory(b: &Arc<RedisBackend>) -> (u64, u64) {
    let client = redis::Client::open(url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let len = b.log_len().await.unwrap();
    let key = format!("{b:?}");
    // The Debug form names the log key: RedisBackend { log: "…", … }.
    let key = key.split('"').nth(1).unwrap_or_default().to_owned();
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    (len, bytes)
}

/// CPU seconds used so far by the Redis server and by this process.
async fn cpu() -> (f64, f64) {
    let client = redis::Client::open(url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(&mut conn)
        .await
        .unwrap();
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let redis = field("used_cpu_sys") + field("used_cpu_user");
    // utime and stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100/s here).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (redis, (ticks(11) + ticks(12)) / 100.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (rounds, per_round) = if quick { (1, 500) } else { (3, 10_000) };
    println!("redis benchmark: {IN_FLIGHT} requests in flight, {rounds} alternating rounds of {per_round}");
    let b = center(rounds * per_round * 2 + 30_000).await;
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    let (mut cpu_raw, mut cpu_ours) = ((0.0, 0.0), (0.0, 0.0));
    for _ in 0..rounds {
        let c0 = cpu().await;
        raw.push(ceiling(per_round).await);
        let c1 = cpu().await;
        ours.push(cycles(&b, per_round).await);
        let c2 = cpu().await;
        cpu_raw.0 += c1.0 - c0.0;
        cpu_raw.1 += c1.1 - c0.1;
        cpu_ours.0 += c2.0 - c1.0;
        cpu_ours.1 += c2.1 - c1.1;
    }
    let per_op = |s: f64| s / (rounds * per_round) as f64 * 1e6;
    println!(
        "CPU per op: raw EVAL: redis {:.1} µs + client {:.1} µs; enqueue->reserve: redis {:.1} µs + instance {:.1} µs",
        per_op(cpu_raw.0), per_op(cpu_raw.1), per_op(cpu_ours.0), per_op(cpu_ours.1)
    );
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (o, r) = (median(&mut ours), median(&mut raw));
    println!(
        "enqueue->reserve: {o:.0} cycles/s; raw EVAL (ZADD+ZPOPMIN) ceiling: {r:.0}/s; ratio {:.2}",
        o / r
    );
    let n = if quick { 500 } else { 25_000 };
    let lat = paced(&b, 5_000.0, n).await;
    println!(
        "paced 5,000 contacts/s x {n}: p50 {}, p99 {}, max {}",
        fmt_us(percentile(&lat, 0.5)),
        fmt_us(percentile(&lat, 0.99)),
        fmt_us(*lat.last().unwrap())
    );
    let (len, bytes) = log_memory(&b).await;
    println!("command log: {len} entries, {:.1} MiB in Redis = {:.0} B/entry ({:.2} MiB per 10,000 contacts, one entry each)",
        bytes as f64 / 1048576.0, bytes as f64 / len as f64, bytes as f64 / len as f64 * 10_000.0 / 1048576.0);
}
