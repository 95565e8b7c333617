//! The figures of a run as text: one block per mode, and the main figures side by side.

use std::fmt::Write as _;

use crate::{stats::ms, Figures, Outcome};

/// The targets of the "Speed" issue.
const P99_TARGET_IN_PROCESS_MS: f64 = 50.0;
const P99_TARGET_SHARED_MS: f64 = 100.0;
const IDLE_TARGET_MIB: f64 = 500.0;

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A full account of one outcome.
pub fn describe(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "== {} ==", o.mode);
    let _ = writeln!(
        s,
        "prepared the center in {:.1} s; server CPU {:.1} s over {:.1} s ({:.2} cores); server peak RSS {}",
        o.prepare_time.as_secs_f64(),
        o.server_cpu_secs,
        o.wall_secs,
        o.server_cpu_secs / o.wall_secs.max(1e-9),
        mib(o.server_peak_kib)
    );
    match &o.figures {
        Figures::OfferLatency(r) => {
            let _ = writeln!(
                s,
                "agents {} (connected in {:.1} s), target {:.0} calls/s, talk time {:.1} s (expected occupancy {:.0} %)",
                r.agents,
                r.connect_time.as_secs_f64(),
                r.target_rate,
                r.handle.as_secs_f64(),
                100.0 * r.target_rate * r.handle.as_secs_f64() / r.agents.max(1) as f64
            );
            let _ = writeln!(
                s,
                "calls sent {} · hook answered ok {} · offered {} · offered to another contact {} · offered again {}",
                r.sent, r.hook_ok, r.offered, r.mismatched, r.reoffered
            );
            let verdict = if r.rate_kept() { "kept" } else { "NOT KEPT" };
            let _ = writeln!(
                s,
                "achieved rate {:.1} calls/s ({verdict}); send lag behind schedule {}",
                r.achieved_rate,
                r.send_lag.map_or("-".into(), |l| l.to_string())
            );
            let _ = writeln!(
                s,
                "offer latency (hook POST → offer frame): {}",
                r.offer_latency
                    .map_or("no offers".into(), |l| l.to_string())
            );
            let _ = writeln!(
                s,
                "hook response latency: {}",
                r.hook_latency
                    .map_or("no answers".into(), |l| l.to_string())
            );
            let _ = writeln!(
                s,
                "errors: hooks {}, consoles {}",
                r.hook_errors.len(),
                r.console_errors.len()
            );
            for e in r.hook_errors.iter().take(5) {
                let _ = writeln!(s, "  hook: {e}");
            }
            for (agent, e) in r.console_errors.iter().take(5) {
                let _ = writeln!(s, "  console {agent}: {e}");
            }
            if !r.clean() {
                let _ = writeln!(
                    s,
                    "NOT CLEAN: some calls were not answered or offered, or errors occurred"
                );
            }
        }
        Figures::Intake(r) => {
            let _ = writeln!(
                s,
                "intake through {} with {} clients: {} counted contacts sent ({} with the warm-up), {} acknowledged ({} distinct ids){}",
                r.door.name(),
                r.clients,
                r.sent,
                r.total_sent,
                r.acknowledged,
                r.distinct_ids,
                if r.cut_short { ", CUT SHORT by the time limit" } else { "" }
            );
            let _ = writeln!(
                s,
                "{:.1} contacts/s; acknowledgement latency: {}; server CPU per contact {:.0} µs",
                r.rate,
                r.latency.map_or("no answers".into(), |l| l.to_string()),
                o.server_cpu_secs * 1e6 / r.total_sent.max(1) as f64
            );
            let _ = writeln!(s, "errors: {}", r.errors.len());
            for e in r.errors.iter().take(5) {
                let _ = writeln!(s, "  {e}");
            }
            if !r.clean() {
                let _ = writeln!(
                    s,
                    "NOT CLEAN: some contacts were not acknowledged, or errors occurred"
                );
            }
        }
        Figures::Idle(r) => {
            let _ = writeln!(
                s,
                "idle consoles {} (connected in {:.1} s)",
                r.connections,
                r.connect_time.as_secs_f64()
            );
            let _ = writeln!(
                s,
                "before: VmRSS {} VmHWM {} · all connected: VmRSS {} VmHWM {} · {:.1} KiB per connection",
                mib(r.before.rss_kib),
                mib(r.before.hwm_kib),
                mib(r.after.rss_kib),
                mib(r.after.hwm_kib),
                r.per_connection_bytes() / 1024.0
            );
        }
    }
    s
}

/// The headline figures of every outcome in a Markdown table, with the targets.
pub fn side_by_side(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| mode | figure | value | target |");
    let _ = writeln!(s, "| --- | --- | --- | --- |");
    for o in outcomes {
        match &o.figures {
            Figures::OfferLatency(r) => {
                let target = if o.mode == "in-process" {
                    P99_TARGET_IN_PROCESS_MS
                } else {
                    P99_TARGET_SHARED_MS
                };
                if let Some(l) = r.offer_latency {
                    let _ = writeln!(
                        s,
                        "| {} | offer latency p50 / p90 / p99 / max | {} / {} / {} / {} | p99 ≤ {target} ms |",
                        o.mode,
                        ms(l.p50),
                        ms(l.p90),
                        ms(l.p99),
                        ms(l.max)
                    );
                }
                if let Some(l) = r.hook_latency {
                    let _ = writeln!(
                        s,
                        "| {} | hook response p50 / p99 / max | {} / {} / {} | |",
                        o.mode,
                        ms(l.p50),
                        ms(l.p99),
                        ms(l.max)
                    );
                }
                let _ = writeln!(
                    s,
                    "| {} | calls sent / offered · achieved rate | {} / {} · {:.1}/s ({}) | {:.0}/s |",
                    o.mode,
                    r.sent,
                    r.offered,
                    r.achieved_rate,
                    if r.rate_kept() { "kept" } else { "NOT kept" },
                    r.target_rate
                );
                let _ = writeln!(
                    s,
                    "| {} | server CPU · peak RSS | {:.2} cores · {} | |",
                    o.mode,
                    o.server_cpu_secs / o.wall_secs.max(1e-9),
                    mib(o.server_peak_kib)
                );
            }
            Figures::Intake(r) => {
                if let Some(l) = r.latency {
                    let _ = writeln!(
                        s,
                        "| {} | intake {} × {} clients: contacts/s · ack p50 / p99 / max | {:.1}/s · {} / {} / {} | |",
                        o.mode,
                        r.door.name(),
                        r.clients,
                        r.rate,
                        ms(l.p50),
                        ms(l.p99),
                        ms(l.max)
                    );
                }
            }
            Figures::Idle(r) => {
                let _ = writeln!(
                    s,
                    "| {} | VmRSS before → with {} idle consoles (VmHWM) | {} → {} ({}) · {:.1} KiB each | ≤ {IDLE_TARGET_MIB} MiB |",
                    o.mode,
                    r.connections,
                    mib(r.before.rss_kib),
                    mib(r.after.rss_kib),
                    mib(r.after.hwm_kib),
                    r.per_connection_bytes() / 1024.0
                );
            }
        }
    }
    s
}
