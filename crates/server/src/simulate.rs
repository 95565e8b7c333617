//! `switchboard simulate`: reads a scenario (a TOML file, or the flags of the simple case),
//! runs `switchboard_sim` and prints the outcome as text, JSON or CSV. The simulation itself
//! is pure; this file only reads the file, measures the wall-clock time and prints.

use std::{fmt::Write as _, io::Write as _, path::PathBuf, time::Instant};

use anyhow::{bail, Context};
use clap::Args;
use switchboard_sim::{Outcome, Scenario, SingleQueue};
use switchboard_stats::Report;

/// Flags of `switchboard simulate`.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// A scenario file (TOML; see deploy/simulate/). Instead of the simple-case flags.
    #[arg(long, conflicts_with_all = ["agents", "calls", "arrivals_per_hour", "aht", "patience", "sl_target", "warm_up"])]
    scenario: Option<PathBuf>,
    /// Simple case: agents on the one queue.
    #[arg(long, required_unless_present = "scenario")]
    agents: Option<u32>,
    /// Simple case: calls to simulate.
    #[arg(long, required_unless_present = "scenario")]
    calls: Option<u64>,
    /// Simple case: Poisson arrivals per hour.
    #[arg(long, required_unless_present = "scenario")]
    arrivals_per_hour: Option<f64>,
    /// Simple case: mean handle time in seconds (exponential).
    #[arg(long, required_unless_present = "scenario")]
    aht: Option<f64>,
    /// Simple case: mean caller patience in seconds (exponential); none: nobody hangs up.
    #[arg(long)]
    patience: Option<f64>,
    /// Simple case: service-level target in seconds.
    #[arg(long, default_value_t = 20.0)]
    sl_target: f64,
    /// Simple case: seconds at the start left out of the report.
    #[arg(long, default_value_t = 0.0)]
    warm_up: f64,
    /// Random seed (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// text, json or csv.
    #[arg(long, default_value = "text")]
    format: String,
}

/// Runs the simulation and prints its outcome (printing is this command's purpose).
pub(crate) fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let format = args.format.as_str();
    if !matches!(format, "text" | "json" | "csv") {
        bail!("--format {format:?}: use text, json or csv");
    }
    let mut scenario = scenario(args)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let started = Instant::now();
    let outcome = switchboard_sim::simulate(&scenario)?;
    let elapsed = started.elapsed().as_secs_f64();
    let body = match format {
        "json" => serde_json::to_string_pretty(&outcome)? + "\n",
        "csv" => csv(&outcome),
        _ => text(&outcome),
    };
    std::io::stdout().lock().write_all(body.as_bytes())?;
    eprintln!(
        "simulated {} contacts ({} events) in {elapsed:.2} s: {:.0} contacts per minute",
        outcome.run.contacts,
        outcome.run.events,
        outcome.run.contacts as f64 / elapsed.max(1e-9) * 60.0
    );
    Ok(())
}

fn scenario(args: &SimulateArgs) -> anyhow::Result<Scenario> {
    if let Some(path) = &args.scenario {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Scenario::from_toml(&text).with_context(|| format!("in {}", path.display()));
    }
    let (Some(agents), Some(calls), Some(arrivals_per_hour), Some(aht)) =
        (args.agents, args.calls, args.arrivals_per_hour, args.aht)
    else {
        bail!("give --scenario FILE, or --agents, --calls, --arrivals-per-hour and --aht");
    };
    let mut s = Scenario::single_queue(SingleQueue {
        agents,
        calls,
        arrivals_per_hour,
        aht,
        patience: args.patience,
        sl_target: args.sl_target,
        seed: 1,
    });
    s.warm_up = args.warm_up;
    Ok(s)
}

fn clock(o: &Outcome, t: switchboard_domain::Timestamp) -> String {
    let secs = (t.as_millis() - o.start.as_millis()).max(0) / 1000;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1} %", v * 100.0))
}

fn secs(ms: Option<f64>) -> String {
    ms.map_or("-".into(), |ms| format!("{:.1} s", ms / 1000.0))
}

/// A line of the text report: its label and how to read it from a report.
type Row = (&'static str, fn(&Report) -> String);

/// The report figures a supervisor reads first, one scope per column.
fn text(o: &Outcome) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Simulation (seed {}): {} contacts, {} events, report from {} to {} (virtual clock), drained at {}",
        o.seed,
        o.run.contacts,
        o.run.events,
        clock(o, o.range.start),
        clock(o, o.range.end),
        clock(o, o.start.plus(std::time::Duration::from_secs(o.run.simulated_secs))),
    );
    let mut scopes: Vec<(&str, &Report)> = vec![("all", &o.overall)];
    scopes.extend(o.queues.iter().map(|q| (q.queue.as_str(), &q.report)));
    let rows: [Row; 16] = [
        ("offered", |r| r.offered.to_string()),
        ("answered", |r| r.answered.to_string()),
        ("abandoned", |r| r.abandoned.to_string()),
        ("short abandons", |r| r.short_abandoned.to_string()),
        ("timed out", |r| r.timed_out.to_string()),
        ("overflowed out", |r| r.overflowed.to_string()),
        ("still waiting", |r| r.waiting.to_string()),
        ("abandon rate", |r| pct(r.abandon_rate.value)),
        ("service level", |r| pct(r.service_level.ratio.value)),
        ("ASA", |r| secs(r.asa_ms)),
        ("mean wait", |r| secs(r.mean_wait_ms)),
        ("wait p90", |r| secs(r.wait_p90_ms.map(|v| v as f64))),
        ("max wait", |r| secs(r.max_wait_ms.map(|v| v as f64))),
        ("AHT", |r| secs(r.handle_time.aht_ms)),
        ("talk", |r| secs(r.handle_time.mean_talk_ms)),
        ("wrap-up", |r| secs(r.handle_time.mean_wrap_up_ms)),
    ];
    let _ = write!(out, "\n{:<16}", "");
    for (name, _) in &scopes {
        let _ = write!(out, "{name:>14}");
    }
    out.push('\n');
    for (label, f) in rows {
        let _ = write!(out, "{label:<16}");
        for (_, r) in &scopes {
            let _ = write!(out, "{:>14}", f(r));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "(service level: {}, T = {} s; short abandons: under 5 s)",
        o.overall.service_level.formula_name,
        o.overall.service_level.target_ms / 1000
    );
    match &o.theory {
        Ok(t) => {
            let _ = writeln!(
                out,
                "\nTheory ({}: {} agents, {:.2} Erlangs, AHT {:.1} s) vs simulation, over all arrivals:",
                t.model.replace('_', " "),
                t.agents,
                t.offered_erlangs,
                t.aht_secs
            );
            let _ = writeln!(out, "{:<28}{:>12}{:>12}", "", "predicted", "simulated");
            let _ = writeln!(
                out,
                "{:<28}{:>12}{:>12}",
                "answered within T",
                pct(Some(t.predicted.service_level)),
                pct(Some(t.simulated.service_level))
            );
            let _ = writeln!(
                out,
                "{:<28}{:>12}{:>12}",
                "ASA (answered)",
                secs(t.predicted.asa_secs.map(|s| s * 1000.0)),
                secs(t.simulated.asa_secs.map(|s| s * 1000.0))
            );
            let _ = writeln!(
                out,
                "{:<28}{:>12}{:>12}",
                "abandoned (short included)",
                pct(Some(t.predicted.abandonment)),
                pct(Some(t.simulated.abandonment))
            );
            for c in &t.caveats {
                let _ = writeln!(out, "  note: {c}");
            }
        }
        Err(why) => {
            let _ = writeln!(out, "\nNo theory shown: {why}.");
        }
    }
    if !o.intervals.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<10}{:>9}{:>9}{:>10}{:>10}{:>10}",
            "interval", "offered", "answered", "abandoned", "SL", "ASA"
        );
        for r in &o.intervals {
            let _ = writeln!(
                out,
                "{:<10}{:>9}{:>9}{:>10}{:>10}{:>10}",
                &clock(o, r.range.start)[..5],
                r.offered,
                r.answered,
                r.abandoned,
                pct(r.service_level.ratio.value),
                secs(r.asa_ms)
            );
        }
    }
    out
}

/// The API's CSV columns with a leading `scope`: `all`, a queue, or `interval` (all queues).
fn csv(o: &Outcome) -> String {
    let mut out = String::new();
    let mut add = |scope: &str, reports: &[Report]| {
        let body =
            switchboard_gateway::reports::to_csv(reports, switchboard_domain::CenterClock::UTC);
        let mut lines = body.lines();
        if out.is_empty() {
            if let Some(header) = lines.next() {
                let _ = writeln!(out, "scope,{header}");
            }
        } else {
            lines.next();
        }
        for line in lines {
            let _ = writeln!(out, "{scope},{line}");
        }
    };
    add("all", std::slice::from_ref(&o.overall));
    for q in &o.queues {
        add(q.queue.as_str(), std::slice::from_ref(&q.report));
    }
    if !o.intervals.is_empty() {
        add("interval", &o.intervals);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(toml: &str) -> Outcome {
        switchboard_sim::simulate(&Scenario::from_toml(toml).unwrap()).unwrap()
    }

    const ONE_QUEUE: &str = r#"
        calls = 2000
        warm_up = 600
        [[queues]]
        id = "q"
        required_skills = [{ skill = "q" }]
        arrivals_per_hour = 200
        handle_time = { distribution = "exponential", mean = 180 }
        [[groups]]
        name = "a"
        agents = 14
        skills = { q = 5 }
    "#;

    #[test]
    fn text_shows_the_report_and_theory_side_by_side() {
        let text = text(&outcome(ONE_QUEUE));
        assert!(text.contains("offered"), "{text}");
        assert!(
            text.contains("Theory (erlang c: 14 agents, 10.00 Erlangs"),
            "{text}"
        );
        assert!(text.contains("answered within T"), "{text}");
    }

    #[test]
    fn csv_has_one_header_and_a_line_per_scope_and_interval() {
        let example = include_str!("../../../deploy/simulate/two-queues.toml");
        let o = outcome(example);
        let csv = csv(&o);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("scope,start,end,offered"));
        assert_eq!(lines.len(), 1 + 1 + 2 + o.intervals.len());
        assert!(lines[2].starts_with("sales,") && lines[3].starts_with("support,"));
        let text = text(&o);
        assert!(text.contains("No theory shown"), "{text}");
        assert!(text.contains("interval"), "{text}");
    }

    #[test]
    fn the_simple_flags_make_a_single_queue_scenario() {
        let args = SimulateArgs {
            scenario: None,
            agents: Some(14),
            calls: Some(100),
            arrivals_per_hour: Some(200.0),
            aht: Some(180.0),
            patience: Some(120.0),
            sl_target: 15.0,
            warm_up: 60.0,
            seed: None,
            format: "text".into(),
        };
        let s = scenario(&args).unwrap();
        assert_eq!(s.calls, Some(100));
        assert_eq!(s.sl_target, 15.0);
        assert_eq!(s.warm_up, 60.0);
        assert_eq!(s.groups[0].agents, 14);
        let missing = SimulateArgs { aht: None, ..args };
        assert!(scenario(&missing).is_err());
    }
}
