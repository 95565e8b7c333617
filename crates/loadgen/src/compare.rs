//! `compare`: the same measurements against two builds of the server ("before" and "after"),
//! interleaved in one run so that both sides see the same machine. Each round runs every
//! experiment once per side, back to back; the side that goes first alternates from round to
//! round (A B, B A, A B, …) so that neither always gets the quieter slot. The experiments:
//! each revision's own routing benchmark (its `--bench` output parsed), offer latency and
//! intake against its release `switchboard` binary. The table gives each side's median over
//! the rounds and the ratio after ÷ before, with the spread of the per-round ratios.

use std::{fmt::Write as _, path::PathBuf, time::Duration};

use anyhow::{bail, Context};

use crate::{server::Storage, Figures, Outcome, Scenario};

/// One side of the comparison.
#[derive(Debug, Clone)]
pub struct Revision {
    /// `before` / `after`, or a commit.
    pub label: String,
    /// Its release `switchboard` binary.
    pub server: PathBuf,
    /// Its routing benchmark executable (`cargo bench --no-run`), if measured.
    pub routing: Option<PathBuf>,
}

/// Where the server scenarios run.
#[derive(Debug, Clone)]
pub enum Place {
    /// A temp SQLite file and the in-process dispatcher (the embedded defaults).
    InProcess,
    /// A fresh PostgreSQL database (created on the server of this URL) and Redis namespace.
    Shared {
        database_url: String,
        redis_url: String,
    },
}

impl Place {
    fn label(&self) -> &'static str {
        match self {
            Place::InProcess => "in-process",
            Place::Shared { .. } => "redis+postgres",
        }
    }

    async fn storage(&self) -> anyhow::Result<Storage> {
        match self {
            Place::InProcess => Storage::local(),
            Place::Shared {
                database_url,
                redis_url,
            } => Storage::shared(database_url, redis_url).await,
        }
    }
}

/// What to measure, how many times.
#[derive(Debug, Clone)]
pub struct CompareSpec {
    pub rounds: usize,
    /// Server scenarios (offer latency, intake), each run at every place.
    pub scenarios: Vec<Scenario>,
    pub places: Vec<Place>,
}

/// One measured figure of one experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    /// Whether a larger value is better (throughput) or worse (latency).
    pub higher_is_better: bool,
}

fn figure(name: impl Into<String>, value: f64, higher_is_better: bool) -> Figure {
    Figure {
        name: name.into(),
        value,
        higher_is_better,
    }
}

/// The figures of every round, per side, in the order they were first seen.
#[derive(Debug, Default)]
pub struct Results {
    pub labels: [String; 2],
    /// (figure name, higher is better, values of side 0 by round, values of side 1 by round).
    rows: Vec<Row>,
    /// Runs that failed or were not clean: (round, side, experiment, what).
    pub failures: Vec<(usize, String, String, String)>,
}

#[derive(Debug)]
struct Row {
    name: String,
    higher_is_better: bool,
    values: [Vec<Option<f64>>; 2],
}

impl Results {
    pub fn new(before: &str, after: &str) -> Results {
        Results {
            labels: [before.to_owned(), after.to_owned()],
            ..Results::default()
        }
    }

    /// Records `figures` of `side` (0 before, 1 after) in `round`.
    pub fn record(&mut self, round: usize, side: usize, figures: &[Figure]) {
        for f in figures {
            let i = match self.rows.iter().position(|r| r.name == f.name) {
                Some(i) => i,
                None => {
                    self.rows.push(Row {
                        name: f.name.clone(),
                        higher_is_better: f.higher_is_better,
                        values: [Vec::new(), Vec::new()],
                    });
                    self.rows.len() - 1
                }
            };
            let values = &mut self.rows[i].values[side];
            if values.len() <= round {
                values.resize(round + 1, None);
            }
            values[round] = Some(f.value);
        }
    }

    /// The Markdown table: each side's median over the rounds, the ratio of the medians
    /// (after ÷ before), the lowest and highest per-round ratio, and each side's values by
    /// round.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let [a, b] = &self.labels;
        let _ = writeln!(
            s,
            "| figure | {a} (median) | {b} (median) | {b} ÷ {a} | per-round ratios (min – max) | {a} by round | {b} by round |"
        );
        let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- |");
        for r in &self.rows {
            let ma = median(&r.values[0]);
            let mb = median(&r.values[1]);
            let ratio = match (ma, mb) {
                (Some(x), Some(y)) if x != 0.0 => format!("**{:.2}**", y / x),
                _ => "—".into(),
            };
            let per_round: Vec<f64> = r.values[0]
                .iter()
                .zip(&r.values[1])
                .filter_map(|(x, y)| match (x, y) {
                    (Some(x), Some(y)) if *x != 0.0 => Some(y / x),
                    _ => None,
                })
                .collect();
            let spread = match (
                per_round.iter().copied().reduce(f64::min),
                per_round.iter().copied().reduce(f64::max),
            ) {
                (Some(lo), Some(hi)) => format!("{lo:.2} – {hi:.2}"),
                _ => "—".into(),
            };
            let _ = writeln!(
                s,
                "| {} ({}) | {} | {} | {ratio} | {spread} | {} | {} |",
                r.name,
                if r.higher_is_better {
                    "higher is better"
                } else {
                    "lower is better"
                },
                number(ma),
                number(mb),
                by_round(&r.values[0]),
                by_round(&r.values[1]),
            );
        }
        if !self.failures.is_empty() {
            let _ = writeln!(s);
            for (round, side, experiment, what) in &self.failures {
                let _ = writeln!(s, "- round {}, {side}, {experiment}: {what}", round + 1);
            }
        }
        s
    }
}

/// The median of the present values (the mean of the middle two for an even count).
pub fn median(values: &[Option<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A figure with a precision that suits its size.
fn number(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.abs() >= 1000.0 => {
            // Thousands separated by commas.
            let digits = format!("{:.0}", v.abs());
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            if v < 0.0 {
                format!("-{out}")
            } else {
                out
            }
        }
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn by_round(values: &[Option<f64>]) -> String {
    values
        .iter()
        .map(|v| number(*v))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The figures of a routing benchmark's output: for each of its scenarios (`backlog`, `free
/// agents`), decisions per second and the p99 per deciding command in µs.
pub fn parse_routing(output: &str) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for line in output.lines() {
        let Some((scenario, rest)) = line.split_once(": ") else {
            continue;
        };
        let Some(rate) = rest
            .split_once(" decisions/s")
            .and_then(|(before, _)| before.rsplit_once("= "))
            .map(|(_, n)| n.trim())
        else {
            continue;
        };
        let name = scenario
            .split_once(" (")
            .map_or(scenario, |(n, _)| n)
            .trim();
        let rate: f64 = rate
            .parse()
            .with_context(|| format!("decisions/s in {line:?}"))?;
        figures.push(figure(format!("routing, {name}: decisions/s"), rate, true));
        if let Some(p99) = rest
            .split_once("p99 ")
            .and_then(|(_, r)| r.split_once(" µs"))
            .map(|(n, _)| n.trim())
        {
            let p99: f64 = p99.parse().with_context(|| format!("p99 in {line:?}"))?;
            figures.push(figure(
                format!("routing, {name}: p99 per decision, µs"),
                p99,
                false,
            ));
        }
    }
    if figures.is_empty() {
        bail!("no \"… = N decisions/s\" line in the routing benchmark's output");
    }
    Ok(figures)
}

/// Runs a routing benchmark executable (`--bench`: the full run) and parses its output.
pub async fn routing(executable: &std::path::Path) -> anyhow::Result<Vec<Figure>> {
    let out = tokio::process::Command::new(executable)
        .arg("--bench")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {}", executable.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            executable.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_routing(&String::from_utf8_lossy(&out.stdout))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The headline figures of a server scenario, or why it does not count.
pub fn server_figures(place: &str, o: &Outcome) -> Result<Vec<Figure>, String> {
    let cores = o.server_cpu_secs / o.wall_secs.max(1e-9);
    match &o.figures {
        Figures::OfferLatency(r) => {
            if !r.clean() {
                return Err(format!(
                    "not clean: sent {}, hook ok {}, offered {}, errors {:?} {:?}",
                    r.sent,
                    r.hook_ok,
                    r.offered,
                    r.hook_errors.iter().take(3).collect::<Vec<_>>(),
                    r.console_errors.iter().take(3).collect::<Vec<_>>()
                ));
            }
            let (Some(offer), Some(hook)) = (r.offer_latency, r.hook_latency) else {
                return Err("no latencies".into());
            };
            let what = format!("{place}, hook → offer");
            Ok(vec![
                figure(format!("{what} p50, ms"), ms(offer.p50), false),
                figure(format!("{what} p99, ms"), ms(offer.p99), false),
                figure(format!("{place}, hook answer p99, ms"), ms(hook.p99), false),
                figure(
                    format!("{place}, server CPU during offer latency, cores"),
                    cores,
                    false,
                ),
            ])
        }
        Figures::Intake(r) => {
            if !r.clean() {
                return Err(format!(
                    "not clean: sent {}, acknowledged {}, distinct ids {}, cut short {}, errors {:?}",
                    r.sent,
                    r.acknowledged,
                    r.distinct_ids,
                    r.cut_short,
                    r.errors.iter().take(3).collect::<Vec<_>>()
                ));
            }
            let Some(latency) = r.latency else {
                return Err("no latencies".into());
            };
            let what = format!("{place}, intake {} × {}", r.door.name(), r.clients);
            let cpu_per_contact = o.server_cpu_secs * 1e6 / r.total_sent.max(1) as f64;
            Ok(vec![
                figure(format!("{what}: contacts/s"), r.rate, true),
                figure(format!("{what}: ack p50, ms"), ms(latency.p50), false),
                figure(format!("{what}: ack p99, ms"), ms(latency.p99), false),
                figure(
                    format!("{what}: server CPU per contact, µs"),
                    cpu_per_contact,
                    false,
                ),
            ])
        }
        Figures::Idle(r) => Ok(vec![figure(
            format!("{place}, idle consoles: KiB per connection"),
            r.per_connection_bytes() / 1024.0,
            false,
        )]),
    }
}

fn scenario_name(s: &Scenario) -> String {
    match s {
        Scenario::OfferLatency { agents, load } => {
            format!("offer latency ({agents} agents, {:.0}/s)", load.rate)
        }
        Scenario::Idle { agents, .. } => format!("idle ({agents} consoles)"),
        Scenario::Intake { spec, .. } => {
            format!("intake ({} × {} clients)", spec.door.name(), spec.clients)
        }
    }
}

/// Runs every experiment of `spec` on both revisions, interleaved; `progress` is told each
/// result as it comes.
pub async fn run(
    revisions: &[Revision; 2],
    spec: &CompareSpec,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<Results> {
    if spec.rounds == 0 {
        bail!("at least one round");
    }
    let mut results = Results::new(&revisions[0].label, &revisions[1].label);
    for round in 0..spec.rounds {
        // A B in even rounds, B A in odd ones.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        progress(&format!(
            "round {} of {}: {} first",
            round + 1,
            spec.rounds,
            revisions[order[0]].label
        ));
        for side in order {
            if let Some(bench) = &revisions[side].routing {
                let label = &revisions[side].label;
                match routing(bench).await {
                    Ok(figures) => {
                        progress(&format!("  {label} routing: {}", brief(&figures)));
                        results.record(round, side, &figures);
                    }
                    Err(e) => {
                        progress(&format!("  {label} routing FAILED: {e:#}"));
                        results.failures.push((
                            round,
                            label.clone(),
                            "routing".into(),
                            format!("{e:#}"),
                        ));
                    }
                }
            }
        }
        for place in &spec.places {
            for scenario in &spec.scenarios {
                for side in order {
                    let label = &revisions[side].label;
                    let experiment = format!("{}, {}", place.label(), scenario_name(scenario));
                    let outcome = match place.storage().await {
                        Ok(storage) => crate::run(&revisions[side].server, storage, scenario).await,
                        Err(e) => Err(e),
                    };
                    match outcome
                        .map_err(|e| format!("{e:#}"))
                        .and_then(|o| server_figures(place.label(), &o))
                    {
                        Ok(figures) => {
                            progress(&format!("  {label} {experiment}: {}", brief(&figures)));
                            results.record(round, side, &figures);
                        }
                        Err(e) => {
                            progress(&format!("  {label} {experiment} FAILED: {e}"));
                            results.failures.push((round, label.clone(), experiment, e));
                        }
                    }
                }
            }
        }
    }
    Ok(results)
}

fn brief(figures: &[Figure]) -> String {
    figures
        .iter()
        .map(|f| {
            let short = f.name.rsplit_once(": ").map_or(f.name.as_str(), |(_, n)| n);
            let short = short.rsplit_once(", ").map_or(short, |(_, n)| n);
            format!("{short} {}", number(Some(f.value)))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH_OUTPUT: &str = "routing benchmark: 1000 agents, 50 skills, 20 queues, one thread
  (backlog run: 199985 offers to freed agents, 200000 arrivals queued)
backlog (agent frees -> best contact; arrival -> queued): 399985 decisions in 0.700 s (excluding set-up) = 571407 decisions/s; per deciding command p50 1.3 µs, p99 3.8 µs, max 400.1 µs
free agents (arrival -> best agent): 200000 decisions in 0.800 s (including accept+complete) = 250000 decisions/s; per deciding command p50 1.2 µs, p99 6.8 µs, max 3600.0 µs
memory: 1,000 agents (5 skills each) 626.7 KiB; 10,000 queued contacts 3269.3 KiB (334 B each); 20 queues 22.9 KiB
";

    #[test]
    fn reads_the_routing_benchmarks_figures() {
        let f = parse_routing(BENCH_OUTPUT).unwrap();
        assert_eq!(
            f,
            vec![
                figure("routing, backlog: decisions/s", 571_407.0, true),
                figure("routing, backlog: p99 per decision, µs", 3.8, false),
                figure("routing, free agents: decisions/s", 250_000.0, true),
                figure("routing, free agents: p99 per decision, µs", 6.8, false),
            ]
        );
        assert!(parse_routing("nothing here\n").is_err());
        assert!(parse_routing("x: = many decisions/s\n").is_err());
    }

    #[test]
    fn medians_of_odd_and_even_counts_skip_missing_rounds() {
        assert_eq!(median(&[Some(3.0), Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median(&[Some(4.0), None, Some(1.0)]), Some(2.5));
        assert_eq!(median(&[None]), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_table_gives_medians_and_the_ratio_after_over_before() {
        let mut r = Results::new("before", "after");
        for (round, (a, b)) in [(100.0, 90.0), (120.0, 60.0), (80.0, 96.0)]
            .into_iter()
            .enumerate()
        {
            r.record(round, 0, &[figure("x/s", a, true)]);
            r.record(round, 1, &[figure("x/s", b, true)]);
        }
        r.record(0, 1, &[figure("only after", 1.0, false)]);
        let t = r.table();
        let row = t.lines().find(|l| l.starts_with("| x/s")).unwrap();
        // Medians 100 and 90; ratios by round 0.9, 0.5, 1.2.
        assert_eq!(
            row,
            "| x/s (higher is better) | 100 | 90.0 | **0.90** | 0.50 – 1.20 | 100 · 120 · 80.0 | 90.0 · 60.0 · 96.0 |"
        );
        let only = t.lines().find(|l| l.starts_with("| only after")).unwrap();
        assert!(only.contains("| — | 1.00 | — | — |"), "{only}");
    }

    #[test]
    fn numbers_get_separators_and_sensible_decimals() {
        assert_eq!(number(Some(571_407.4)), "571,407");
        assert_eq!(number(Some(1_000.0)), "1,000");
        assert_eq!(number(Some(250.4)), "250");
        assert_eq!(number(Some(12.34)), "12.3");
        assert_eq!(number(Some(0.456)), "0.46");
        assert_eq!(number(None), "—");
    }
}
