//! Prometheus metrics, in the text exposition format: HTTP latency by route, and the
//! dispatcher's counters (offers, accepts, timeouts…) taken from its event stream. Queue
//! depths and the event-log lag are read at scrape time.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex, time::Duration};

use switchboard_domain::Event;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, method, status) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// route → latency.
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// Dispatcher event name → count.
    events: Mutex<BTreeMap<&'static str, u64>>,
    /// Outbound PBX webhook attempts by outcome (`delivered`, `retry`, `failed`).
    webhooks: Mutex<BTreeMap<&'static str, u64>>,
    /// The report aggregates' watermark (ms since the epoch) after this instance's last
    /// rollup, 0 before the first one.
    rollup_through: std::sync::atomic::AtomicI64,
    /// Rollups that failed.
    rollup_failures: std::sync::atomic::AtomicU64,
}

impl Metrics {
    pub fn observe_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = latency.entry(route.to_owned()).or_default();
        let secs = took.as_secs_f64();
        for (i, &le) in BUCKETS.iter().enumerate() {
            if secs <= le {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn observe_event(&self, e: &Event) {
        *self
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(e.kind.name())
            .or_default() += 1;
    }

    /// A rollup of the report aggregates: where it got to, or `None` if it failed.
    pub fn observe_rollup(&self, through: Option<switchboard_domain::Timestamp>) {
        use std::sync::atomic::Ordering::Relaxed;
        match through {
            Some(t) => self.rollup_through.store(t.as_millis(), Relaxed),
            None => {
                self.rollup_failures.fetch_add(1, Relaxed);
            }
        }
    }

    pub fn observe_webhook(&self, outcome: &'static str) {
        *self
            .webhooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(outcome)
            .or_default() += 1;
    }

    /// Renders everything, with the gauges read at scrape time.
    pub fn render(&self, queue_depths: &[(String, u32, u32)], event_log_lag: u64) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP switchboard_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE switchboard_http_requests_total counter\n");
        for ((route, method, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "switchboard_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP switchboard_http_request_duration_seconds HTTP latency by route.\n");
        out.push_str("# TYPE switchboard_http_request_duration_seconds histogram\n");
        for (route, h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "switchboard_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "switchboard_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "switchboard_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "switchboard_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP switchboard_dispatcher_events_total Dispatcher events by type (offers, accepts, timeouts…).\n");
        out.push_str("# TYPE switchboard_dispatcher_events_total counter\n");
        for (name, n) in self.events.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "switchboard_dispatcher_events_total{{type=\"{name}\"}} {n}"
            );
        }
        out.push_str("# HELP switchboard_queue_waiting Contacts waiting per queue.\n");
        out.push_str("# TYPE switchboard_queue_waiting gauge\n");
        for (queue, waiting, _) in queue_depths {
            let _ = writeln!(
                out,
                "switchboard_queue_waiting{{queue=\"{queue}\"}} {waiting}"
            );
        }
        out.push_str("# HELP switchboard_queue_offered Offers ringing per queue.\n");
        out.push_str("# TYPE switchboard_queue_offered gauge\n");
        for (queue, _, offered) in queue_depths {
            let _ = writeln!(
                out,
                "switchboard_queue_offered{{queue=\"{queue}\"}} {offered}"
            );
        }
        out.push_str("# HELP switchboard_pbx_webhook_attempts_total Outbound PBX webhook attempts by outcome (delivered, retry, failed = gave up).\n");
        out.push_str("# TYPE switchboard_pbx_webhook_attempts_total counter\n");
        for (outcome, n) in self
            .webhooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "switchboard_pbx_webhook_attempts_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP switchboard_event_log_lag Events emitted but not yet written to the event log.\n");
        out.push_str("# TYPE switchboard_event_log_lag gauge\n");
        let _ = writeln!(out, "switchboard_event_log_lag {event_log_lag}");
        use std::sync::atomic::Ordering::Relaxed;
        out.push_str("# HELP switchboard_report_rollup_watermark_seconds Historical reports are rolled up to this instant (Unix seconds; 0 before this instance's first rollup). Alert when it falls more than a few quarter hours behind.\n");
        out.push_str("# TYPE switchboard_report_rollup_watermark_seconds gauge\n");
        let _ = writeln!(
            out,
            "switchboard_report_rollup_watermark_seconds {}",
            self.rollup_through.load(Relaxed) / 1000
        );
        out.push_str("# HELP switchboard_report_rollup_failures_total Rollups of the report aggregates that failed (see the log).\n");
        out.push_str("# TYPE switchboard_report_rollup_failures_total counter\n");
        let _ = writeln!(
            out,
            "switchboard_report_rollup_failures_total {}",
            self.rollup_failures.load(Relaxed)
        );
        out
    }
}
