//! Simulated contacts per minute of wall-clock time on one core, for a realistic center:
//! 100 agents in three skill groups, two queues (longest idle, best skill with expansion),
//! log-normal and exponential handle times, wrap-up, exponential patience, occupancy ≈ 0.85,
//! 1,000,000 contacts — the whole `simulate` call, reports included. Also the peak resident
//! memory of the process (Linux).
//!
//! `cargo bench -p switchboard-sim --bench simulate [-- CONTACTS]`

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use switchboard_sim::{simulate, Scenario};

const CENTER: &str = r#"
    seed = 1
    warm_up = 3600
    [[queues]]
    id = "sales"
    strategy = "longest_idle"
    required_skills = [{ skill = "sales" }]
    wrap_up = 10
    arrivals_per_hour = 700
    handle_time = { distribution = "lognormal", mean = 240, sd = 160 }
    patience = { distribution = "exponential", mean = 180 }
    [[queues]]
    id = "support"
    strategy = "best_skill"
    required_skills = [{ skill = "support", min_level = 5 }]
    expansion = [{ after = 30, min_level = 1 }]
    wrap_up = 20
    arrivals_per_hour = 420
    handle_time = { distribution = "exponential", mean = 300 }
    patience = { distribution = "exponential", mean = 180 }
    [[groups]]
    name = "generalist"
    agents = 30
    skills = { sales = 6, support = 6 }
    answer_delay = 1
    [[groups]]
    name = "sales"
    agents = 40
    skills = { sales = 8, support = 2 }
    answer_delay = 1
    [[groups]]
    name = "support"
    agents = 30
    skills = { support = 9 }
    answer_delay = 1
"#;

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time this process has used (user + system), from /proc (Linux; 10 ms ticks): on a
/// shared machine the wall clock also counts the time other processes held the core.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime and stime are 12 and 13.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let contacts: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut scenario = Scenario::from_toml(&format!("calls = {contacts}\n{CENTER}"))
        .expect("the benchmark scenario is valid");
    println!("simulate: 100 agents, 2 queues, {contacts} contacts, occupancy ≈ 0.85");
    let mut rates = Vec::new();
    for round in 1..=3 {
        scenario.seed = round;
        let (started, cpu_before) = (Instant::now(), cpu_secs());
        let outcome = simulate(&scenario).expect("the simulation runs");
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_secs()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let per_min = outcome.run.contacts as f64 / secs * 60.0;
        rates.push(per_min);
        println!(
            "  round {round}: {:.2} s wall ({}), {:.0} contacts/min, {:.0} events/s; SL {:.1} %, abandon {:.1} %, {} stale",
            secs,
            cpu.map_or("CPU time unknown".into(), |c| format!(
                "{c:.2} s CPU: {:.0} contacts per CPU-minute",
                outcome.run.contacts as f64 / c * 60.0
            )),
            per_min,
            outcome.run.events as f64 / secs,
            outcome.overall.service_level.ratio.value.unwrap_or(0.0) * 100.0,
            outcome.overall.abandon_rate.value.unwrap_or(0.0) * 100.0,
            outcome.run.stale_commands,
        );
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "  median: {:.0} contacts/min (target ≥ 1,000,000)",
        rates[1]
    );
    if let Some(mib) = peak_rss_mib() {
        println!("  peak resident memory: {mib:.0} MiB");
    }
}
