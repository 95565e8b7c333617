//! In-process routing: decisions per second and per-decision latency with 1,000 agents, 50
//! skills and 20 queues, and heap memory per 10,000 queued contacts and per 1,000 agents.
//!
//! `cargo bench -p switchboard-engine --bench routing`

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use switchboard_domain::*;
use switchboard_engine::Engine;

/// Counts heap bytes (stats_alloc: a counting wrapper of the system allocator, so this file
/// needs no `unsafe` of its own), for the memory figures.
#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

fn live_bytes(region: &Region<'_, std::alloc::System>) -> isize {
    let c = region.change();
    (c.bytes_allocated as isize - c.bytes_deallocated as isize) + c.bytes_reallocated
}

const AGENTS: usize = 1_000;

fn center(rng: &mut Rng, now: Timestamp) -> Engine {
    let mut e = Engine::new();
    for q in queues() {
        e.apply(Command::UpsertQueue(q), now).unwrap();
    }
    for p in agents(AGENTS, rng) {
        let id = p.id.clone();
        e.apply(Command::UpsertAgent(p), now).unwrap();
        e.apply(
            Command::SetPresence {
                agent: id,
                presence: Presence::Available,
            },
            now,
        )
        .unwrap();
    }
    e
}

fn offers(events: &[Event]) -> impl Iterator<Item = (ContactId, AgentId)> + '_ {
    events.iter().filter_map(|e| match &e.kind {
        EventKind::ContactOffered { contact, agent, .. } => Some((*contact, agent.clone())),
        _ => None,
    })
}

/// Steady state with a backlog: every agent busy, ~2,000 contacts waiting. Each round an
/// agent completes (a decision: the best waiting contact it may take), accepts its next offer,
/// and a new contact arrives (a decision: the best free agent — usually none, so it queues).
/// Returns (decisions, elapsed, per-decision latencies of the commands that made an offer).
fn run(rounds: usize, seed: u64) -> (usize, Duration, Vec<Duration>) {
    let mut rng = Rng::new(seed);
    let mut now = Timestamp::from_millis(T0);
    let mut e = center(&mut rng, now);
    let mut assigned: Vec<ContactId> = Vec::new();
    // Fill: every agent gets a call, then a backlog builds.
    for _ in 0..(AGENTS * 3) {
        let ev = e.apply(Command::Enqueue(contact(&mut rng)), now).unwrap();
        let offered: Vec<_> = offers(&ev).collect();
        for (c, a) in offered {
            e.apply(
                Command::Accept {
                    contact: c,
                    agent: a,
                },
                now,
            )
            .unwrap();
            assigned.push(c);
        }
    }
    let mut lat = Vec::with_capacity(rounds * 2);
    let mut decisions = 0usize;
    let mut offered_count = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        now = now.plus(Duration::from_millis(5));
        // A random busy contact completes; the agent takes the best waiting contact.
        let i = rng.below(assigned.len());
        let done = assigned.swap_remove(i);
        let t = Instant::now();
        let ev = e.apply(Command::Complete { contact: done }, now).unwrap();
        let took = t.elapsed();
        let offered: Vec<_> = offers(&ev).collect();
        for (c, a) in offered {
            lat.push(took);
            decisions += 1;
            offered_count += 1;
            e.apply(
                Command::Accept {
                    contact: c,
                    agent: a,
                },
                now,
            )
            .unwrap();
            assigned.push(c);
        }
        // A new arrival.
        let t = Instant::now();
        let ev = e.apply(Command::Enqueue(contact(&mut rng)), now).unwrap();
        let took = t.elapsed();
        decisions += 1; // queued: the decision that no free agent fits
        lat.push(took);
        let offered: Vec<_> = offers(&ev).collect();
        for (c, a) in offered {
            e.apply(
                Command::Accept {
                    contact: c,
                    agent: a,
                },
                now,
            )
            .unwrap();
            assigned.push(c);
        }
    }
    let elapsed = start.elapsed();
    println!(
        "  (backlog run: {offered_count} offers to freed agents, {} arrivals queued)",
        decisions - offered_count
    );
    (decisions, elapsed, lat)
}

/// Free agents, contacts arriving one at a time: each arrival picks an agent, which then
/// finishes at once (offer, accept, complete). Decisions = offers.
fn run_free_agents(rounds: usize, seed: u64) -> (usize, Duration, Vec<Duration>) {
    let mut rng = Rng::new(seed);
    let mut now = Timestamp::from_millis(T0);
    let mut e = center(&mut rng, now);
    let mut lat = Vec::with_capacity(rounds);
    let mut decisions = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        now = now.plus(Duration::from_millis(1));
        let new = contact(&mut rng);
        let id = new.id;
        let t = Instant::now();
        let ev = e.apply(Command::Enqueue(new), now).unwrap();
        lat.push(t.elapsed());
        decisions += 1;
        let offered = offers(&ev).next();
        match offered {
            Some((c, a)) => {
                e.apply(
                    Command::Accept {
                        contact: c,
                        agent: a,
                    },
                    now,
                )
                .unwrap();
                e.apply(Command::Complete { contact: c }, now).unwrap();
            }
            // No free agent has that skill combination: the caller hangs up, keeping the
            // state steady.
            None => {
                e.apply(Command::Abandon { contact: id }, now).unwrap();
            }
        }
    }
    (decisions, start.elapsed(), lat)
}

fn report(
    name: &str,
    (decisions, elapsed, mut lat): (usize, Duration, Vec<Duration>),
    total_elapsed_includes: &str,
) {
    lat.sort_unstable();
    println!(
        "{name}: {decisions} decisions in {:.3} s ({total_elapsed_includes}) = {:.0} decisions/s; per deciding command p50 {}, p99 {}, max {}",
        elapsed.as_secs_f64(),
        decisions as f64 / elapsed.as_secs_f64(),
        fmt_us(percentile(&lat, 0.50)),
        fmt_us(percentile(&lat, 0.99)),
        fmt_us(*lat.last().unwrap()),
    );
}

fn memory() {
    let now = Timestamp::from_millis(T0);
    let mut rng = Rng::new(7);
    let profiles = agents(AGENTS, &mut rng);
    let contacts: Vec<_> = (0..10_000).map(|_| contact(&mut rng)).collect();
    let region = Region::new(GLOBAL);
    let before = live_bytes(&region);
    let mut e = Engine::new();
    for q in queues() {
        e.apply(Command::UpsertQueue(q), now).unwrap();
    }
    let with_queues = live_bytes(&region);
    for p in profiles {
        e.apply(Command::UpsertAgent(p), now).unwrap();
    }
    let with_agents = live_bytes(&region);
    for c in contacts {
        e.apply(Command::Enqueue(c), now).unwrap();
    }
    let with_contacts = live_bytes(&region);
    println!(
        "memory: 1,000 agents (5 skills each) {:.1} KiB; 10,000 queued contacts {:.1} KiB ({} B each); 20 queues {:.1} KiB",
        (with_agents - with_queues) as f64 / 1024.0,
        (with_contacts - with_agents) as f64 / 1024.0,
        (with_contacts - with_agents) / 10_000,
        (with_queues - before) as f64 / 1024.0,
    );
    drop(e);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs us with no flag: keep it quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 2_000 } else { 200_000 };
    println!("routing benchmark: {AGENTS} agents, {SKILLS} skills, {QUEUES} queues, one thread");
    report(
        "backlog (agent frees -> best contact; arrival -> queued)",
        run(rounds, 1),
        "excluding set-up",
    );
    report(
        "free agents (arrival -> best agent)",
        run_free_agents(rounds, 2),
        "including accept+complete",
    );
    memory();
}
