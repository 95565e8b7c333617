//! The Redis backend beside the raw ceiling of the same Redis, in one run:
//! - enqueue→reserve cycles per second (each cycle: a caller's enqueue is appended to the
//!   log, applied, and answered with the reservation), against a trivial `EVAL` doing one
//!   ZADD and one ZPOPMIN, both with the same number of requests in flight;
//! - latency of the cycle at a paced 5,000 contacts/s;
//! - Redis memory of the log and of the snapshot.
//!
//! The center is realistic: 5,000 agents. Each round reserves every one of them (timed);
//! then the callers hang up (untimed) so that the next round finds them free again. The
//! snapshots the backend takes meanwhile (every 10,000 log entries) are part of the figures.
//!
//! `cargo bench -p switchboard-dispatch --bench redis` (Redis at REDIS_URL, default
//! 127.0.0.1:6379; it uses a namespace of its own and deletes it).

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

// The same center as the engine's routing benchmark.
#[path = "../../engine/benches/common.rs"]
mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::*;
use redis::AsyncCommands;
use switchboard_dispatch::{fresh_contact_id, QueueBackend, RedisBackend};
use switchboard_domain::*;
use switchboard_test_support::redis::url;
use tokio::task::JoinSet;

const IN_FLIGHT: usize = 64;

async fn center(agents: usize) -> Arc<RedisBackend> {
    let ns = switchboard_test_support::redis::unique_namespace();
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

/// One reserved enqueue: its latency and the contact.
async fn enqueue(b: Arc<RedisBackend>) -> (Duration, ContactId) {
    let t = Instant::now();
    let now = Timestamp::from_millis(T0);
    let new = NewContact::new(fresh_contact_id(now), queue_id(0), Channel::Voice);
    let id = new.id;
    let events = b.execute(Command::Enqueue(new), now).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::ContactOffered { .. })),
        "every enqueue finds a free agent"
    );
    (t.elapsed(), id)
}

/// `n` enqueues with IN_FLIGHT outstanding; returns cycles/s and the reserved contacts.
async fn cycles(b: &Arc<RedisBackend>, n: usize) -> (f64, Vec<ContactId>) {
    let start = Instant::now();
    let mut set = JoinSet::new();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        set.spawn(enqueue(b.clone()));
        if set.len() >= IN_FLIGHT {
            ids.push(set.join_next().await.unwrap().unwrap().1);
        }
    }
    while let Some(r) = set.join_next().await {
        ids.push(r.unwrap().1);
    }
    (n as f64 / start.elapsed().as_secs_f64(), ids)
}

/// Paced arrivals at `rate`/s for `n` contacts: latencies and the reserved contacts.
async fn paced(b: &Arc<RedisBackend>, rate: f64, n: usize) -> (Vec<Duration>, Vec<ContactId>) {
    let gap = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        tokio::time::sleep_until(start + gap * i as u32).await;
        set.spawn(enqueue(b.clone()));
    }
    let (mut lat, mut ids) = (Vec::with_capacity(n), Vec::with_capacity(n));
    while let Some(r) = set.join_next().await {
        let (took, id) = r.unwrap();
        lat.push(took);
        ids.push(id);
    }
    (lat, ids)
}

/// Frees the agents again (untimed): the callers hang up.
async fn free(b: &Arc<RedisBackend>, ids: Vec<ContactId>) {
    let mut set = JoinSet::new();
    for id in ids {
        let b = b.clone();
        set.spawn(async move {
            b.execute(Command::Abandon { contact: id }, Timestamp::from_millis(T0))
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
}

const CEILING: &str =
    "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]); return redis.call('ZPOPMIN', KEYS[1])";

/// The raw ceiling: `n` trivial EVALs with IN_FLIGHT outstanding on one multiplexed connection.
async fn ceiling(n: usize) -> f64 {
    let client = redis::Client::open(url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = switchboard_test_support::unique_name("bench-ceiling-");
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
    let agents = if quick { 500 } else { 5_000 };
    let rounds = if quick { 1 } else { 6 };
    println!("redis benchmark: {agents} agents, {IN_FLIGHT} requests in flight, {rounds} alternating rounds of {agents}");
    let b = center(agents).await;
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    let (mut cpu_raw, mut cpu_ours) = ((0.0, 0.0), (0.0, 0.0));
    for _ in 0..rounds {
        let c0 = cpu().await;
        raw.push(ceiling(agents).await);
        let c1 = cpu().await;
        let (rate, ids) = cycles(&b, agents).await;
        let c2 = cpu().await;
        ours.push(rate);
        free(&b, ids).await;
        cpu_raw = (cpu_raw.0 + c1.0 - c0.0, cpu_raw.1 + c1.1 - c0.1);
        cpu_ours = (cpu_ours.0 + c2.0 - c1.0, cpu_ours.1 + c2.1 - c1.1);
    }
    let per_op = |s: f64| s / (rounds * agents) as f64 * 1e6;
    println!(
        "CPU per op: raw EVAL: redis {:.1} µs + client {:.1} µs; enqueue->reserve: redis {:.1} µs + instance {:.1} µs",
        per_op(cpu_raw.0),
        per_op(cpu_raw.1),
        per_op(cpu_ours.0),
        per_op(cpu_ours.1)
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
    let paced_rounds = if quick { 1 } else { 5 };
    let mut lat = Vec::new();
    for _ in 0..paced_rounds {
        let (round, ids) = paced(&b, 5_000.0, agents).await;
        lat.extend(round);
        free(&b, ids).await;
    }
    lat.sort_unstable();
    println!(
        "paced 5,000 contacts/s x {}: p50 {}, p99 {}, max {}",
        lat.len(),
        fmt_us(percentile(&lat, 0.5)),
        fmt_us(percentile(&lat, 0.99)),
        fmt_us(*lat.last().unwrap())
    );
    let len = b.log_len().await.unwrap();
    let (log, snapshot) = b.memory_usage().await.unwrap();
    println!(
        "Redis memory: command log {len} entries, {:.2} MiB ({:.0} B/entry); snapshot {:.2} MiB",
        log as f64 / 1048576.0,
        log as f64 / len.max(1) as f64,
        snapshot as f64 / 1048576.0
    );
}
