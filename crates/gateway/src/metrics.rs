//! Prometheus metrics through the Prometheus project's client (`prometheus-client`,
//! OpenMetrics text): HTTP requests and latency by route, the dispatcher's events (offers,
//! accepts, timeouts…), PBX webhook attempts, the report rollup; and, read at scrape time
//! ([`Scrape`]), the queues (waiting, ringing, longest wait, agents by state), the sockets
//! open on this instance, the event log's lag, the database pools, the build and the
//! process (CPU, memory, open files, start time; read from `/proc` where there is one).

use std::{
    borrow::Cow,
    sync::{atomic::AtomicU64, Mutex},
    time::Duration,
};

use axum::http::Method;

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram, info::Info},
    registry::{Registry, Unit},
};
use switchboard_domain::{Event, Timestamp};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

// Borrowed (`&'static`) route templates and method names: a request's label sets are
// built without allocating (see `observe_request`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Cow<'static, str>,
    method: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Cow<'static, str>,
}

/// The methods whose names are labels without a copy.
static METHODS: [Method; 9] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

fn method_label(method: &Method) -> Cow<'static, str> {
    METHODS.iter().find(|m| *m == method).map_or_else(
        || Cow::Owned(method.as_str().to_owned()),
        |m| Cow::Borrowed(m.as_str()),
    )
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgentStateLabels {
    queue: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
    state: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// What is read at scrape time, gathered by the caller.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    pub queues: Vec<QueueNow>,
    /// Agent consoles and supervisor dashboards connected to this instance.
    pub sockets_open: u64,
    /// Events emitted but not yet written to the event log.
    pub event_log_lag: u64,
    pub pools: Vec<switchboard_app::PoolStatus>,
}

/// One queue now.
#[derive(Clone, Debug, Default)]
pub struct QueueNow {
    pub queue: String,
    pub waiting: u32,
    /// Offers ringing at agents.
    pub offered: u32,
    pub longest_wait: Duration,
    /// Agents who serve the queue, by state name.
    pub agents: Vec<(String, u32)>,
}

/// The instance's metrics: a registry whose counters are updated as things happen and
/// whose gauges are set from a [`Scrape`] when rendered.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    /// Dispatcher event name → count (`type` is a keyword, hence a plain label pair;
    /// borrowed, so counting an event allocates nothing).
    events: Family<[(&'static str, &'static str); 1], Counter>,
    webhooks: Family<OutcomeLabels, Counter>,
    rollup_watermark: Gauge,
    rollup_failures: Counter,
    queue_waiting: Family<QueueLabels, Gauge>,
    queue_offered: Family<QueueLabels, Gauge>,
    queue_longest_wait: Family<QueueLabels, FloatGauge>,
    queue_agents: Family<AgentStateLabels, Gauge>,
    sockets_open: Gauge,
    event_log_lag: Gauge,
    pool_connections: Family<PoolLabels, Gauge>,
    process: ProcessGauges,
    /// One scrape at a time: each clears and refills the scrape-time gauges.
    scrape: Mutex<()>,
}

struct ProcessGauges {
    cpu_seconds: Counter<f64, AtomicU64>,
    resident_memory: Gauge,
    open_fds: Gauge,
    start_time: FloatGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "switchboard_http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "switchboard_http_request_duration",
            "HTTP latency by route",
            Unit::Seconds,
            latency.clone(),
        );
        let events = Family::<[(&'static str, &'static str); 1], Counter>::default();
        registry.register(
            "switchboard_dispatcher_events",
            "Dispatcher events by type (offers, accepts, timeouts…)",
            events.clone(),
        );
        let webhooks = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "switchboard_pbx_webhook_attempts",
            "Outbound PBX webhook attempts by outcome (delivered, retry, failed = gave up)",
            webhooks.clone(),
        );
        let rollup_watermark = Gauge::default();
        registry.register_with_unit(
            "switchboard_report_rollup_watermark",
            "Historical reports are rolled up to this instant (Unix seconds; 0 before this instance's first rollup). Alert when it falls more than a few quarter hours behind",
            Unit::Seconds,
            rollup_watermark.clone(),
        );
        let rollup_failures = Counter::default();
        registry.register(
            "switchboard_report_rollup_failures",
            "Rollups of the report aggregates that failed (see the log)",
            rollup_failures.clone(),
        );
        let queue_waiting = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "switchboard_queue_waiting",
            "Contacts waiting per queue",
            queue_waiting.clone(),
        );
        let queue_offered = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "switchboard_queue_offered",
            "Offers ringing per queue",
            queue_offered.clone(),
        );
        let queue_longest_wait = Family::<QueueLabels, FloatGauge>::default();
        registry.register_with_unit(
            "switchboard_queue_longest_wait",
            "The longest wait of a contact waiting now, per queue",
            Unit::Seconds,
            queue_longest_wait.clone(),
        );
        let queue_agents = Family::<AgentStateLabels, Gauge>::default();
        registry.register(
            "switchboard_queue_agents",
            "Agents who serve a queue, by state (available, busy, away…)",
            queue_agents.clone(),
        );
        let sockets_open = Gauge::default();
        registry.register(
            "switchboard_consoles_connected",
            "Agent consoles and supervisor dashboards connected to this instance",
            sockets_open.clone(),
        );
        let event_log_lag = Gauge::default();
        registry.register(
            "switchboard_event_log_lag",
            "Events emitted but not yet written to the event log",
            event_log_lag.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "switchboard_database_connections",
            "Database connections by pool (read, write on SQLite; shared on PostgreSQL) and state (idle, in_use)",
            pool_connections.clone(),
        );
        registry.register(
            "switchboard_build",
            "The running build",
            Info::new(vec![(
                "version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )]),
        );
        let process = ProcessGauges {
            cpu_seconds: Counter::default(),
            resident_memory: Gauge::default(),
            open_fds: Gauge::default(),
            start_time: FloatGauge::default(),
        };
        registry.register_with_unit(
            "process_cpu",
            "User and system CPU time spent",
            Unit::Seconds,
            process.cpu_seconds.clone(),
        );
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            process.resident_memory.clone(),
        );
        registry.register(
            "process_open_fds",
            "Open file descriptors",
            process.open_fds.clone(),
        );
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Unit::Seconds,
            process.start_time.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            events,
            webhooks,
            rollup_watermark,
            rollup_failures,
            queue_waiting,
            queue_offered,
            queue_longest_wait,
            queue_agents,
            sockets_open,
            event_log_lag,
            pool_connections,
            process,
            scrape: Mutex::new(()),
        }
    }

    /// A request answered: `route` is its template (borrowed for the router's own, so
    /// nothing is allocated per request once a label set exists).
    pub fn observe_request(
        &self,
        route: Cow<'static, str>,
        method: &Method,
        status: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method: method_label(method),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    pub fn observe_event(&self, e: &Event) {
        self.events.get_or_create(&[("type", e.kind.name())]).inc();
    }

    /// A rollup of the report aggregates: where it got to, or `None` if it failed.
    pub fn observe_rollup(&self, through: Option<Timestamp>) {
        match through {
            Some(t) => {
                self.rollup_watermark.set(t.as_millis() / 1000);
            }
            None => {
                self.rollup_failures.inc();
            }
        }
    }

    pub fn observe_webhook(&self, outcome: &'static str) {
        self.webhooks
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Renders everything, with the gauges set from `now`.
    pub fn render(&self, now: &Scrape) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        for family in [&self.queue_waiting, &self.queue_offered] {
            family.clear();
        }
        self.queue_longest_wait.clear();
        self.queue_agents.clear();
        self.pool_connections.clear();
        for q in &now.queues {
            let labels = QueueLabels {
                queue: q.queue.clone(),
            };
            self.queue_waiting
                .get_or_create(&labels)
                .set(i64::from(q.waiting));
            self.queue_offered
                .get_or_create(&labels)
                .set(i64::from(q.offered));
            self.queue_longest_wait
                .get_or_create(&labels)
                .set(q.longest_wait.as_secs_f64());
            for (state, n) in &q.agents {
                self.queue_agents
                    .get_or_create(&AgentStateLabels {
                        queue: q.queue.clone(),
                        state: state.clone(),
                    })
                    .set(i64::from(*n));
            }
        }
        for p in &now.pools {
            for (state, n) in [("idle", p.idle), ("in_use", p.size.saturating_sub(p.idle))] {
                self.pool_connections
                    .get_or_create(&PoolLabels {
                        pool: p.role.to_owned(),
                        state: state.to_owned(),
                    })
                    .set(i64::from(n));
            }
        }
        self.sockets_open
            .set(i64::try_from(now.sockets_open).unwrap_or(i64::MAX));
        self.event_log_lag
            .set(i64::try_from(now.event_log_lag).unwrap_or(i64::MAX));
        if let Some(p) = process::read() {
            let counted = self.process.cpu_seconds.get();
            if p.cpu_seconds > counted {
                self.process.cpu_seconds.inc_by(p.cpu_seconds - counted);
            }
            self.process.resident_memory.set(p.resident_bytes);
            self.process.open_fds.set(p.open_fds);
            self.process.start_time.set(p.start_time_secs);
        }
        let mut out = String::new();
        // Writing into a String does not fail; a failure would be an encoder bug, and the
        // scrape would show what was written before it.
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics");
        }
        out
    }
}

/// This process's figures from Linux's `/proc`.
mod process {
    /// Linux reports CPU times in `/proc` in ticks of `USER_HZ`, 100 a second on every
    /// architecture it runs on (whatever the kernel's own tick).
    const USER_HZ: f64 = 100.0;

    pub(super) struct Figures {
        pub(super) cpu_seconds: f64,
        pub(super) resident_bytes: i64,
        pub(super) open_fds: i64,
        pub(super) start_time_secs: f64,
    }

    /// `None` where there is no `/proc` (not Linux).
    pub(super) fn read() -> Option<Figures> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command name (which may hold spaces, in parentheses).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        // Counting from the state (field 3 of proc(5)): utime 14, stime 15, starttime 22.
        let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
        let cpu_seconds = (field(14)? + field(15)?) / USER_HZ;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let resident_kib: i64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
        let boot_time: f64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        Some(Figures {
            cpu_seconds,
            resident_bytes: resident_kib * 1024,
            open_fds,
            start_time_secs: boot_time + field(22)? / USER_HZ,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_counters_total_and_carries_the_scrape() {
        let m = Metrics::new();
        m.observe_request(
            Cow::Borrowed("/api/v1/queues"),
            &Method::GET,
            200,
            Duration::from_millis(3),
        );
        m.observe_request(
            Cow::Owned("/api/v1/queues".into()),
            &Method::from_bytes(b"PURGE").unwrap(),
            404,
            Duration::from_millis(1),
        );
        m.observe_webhook("retry");
        m.observe_rollup(None);
        let text = m.render(&Scrape {
            queues: vec![QueueNow {
                queue: "sales".into(),
                waiting: 3,
                offered: 1,
                longest_wait: Duration::from_millis(42_500),
                agents: vec![("available".into(), 2), ("busy".into(), 5)],
            }],
            sockets_open: 7,
            event_log_lag: 0,
            pools: vec![switchboard_app::PoolStatus {
                role: "shared",
                size: 5,
                idle: 3,
            }],
        });
        for line in [
            "switchboard_http_requests_total{route=\"/api/v1/queues\",method=\"GET\",status=\"200\"} 1",
            "switchboard_http_requests_total{route=\"/api/v1/queues\",method=\"PURGE\",status=\"404\"} 1",
            "switchboard_http_request_duration_seconds_count{route=\"/api/v1/queues\"} 2",
            "switchboard_pbx_webhook_attempts_total{outcome=\"retry\"} 1",
            "switchboard_report_rollup_failures_total 1",
            "switchboard_report_rollup_watermark_seconds 0",
            "switchboard_queue_waiting{queue=\"sales\"} 3",
            "switchboard_queue_offered{queue=\"sales\"} 1",
            "switchboard_queue_longest_wait_seconds{queue=\"sales\"} 42.5",
            "switchboard_queue_agents{queue=\"sales\",state=\"busy\"} 5",
            "switchboard_consoles_connected 7",
            "switchboard_event_log_lag 0",
            "switchboard_database_connections{pool=\"shared\",state=\"in_use\"} 2",
            "switchboard_build_info{version=\"",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        if cfg!(target_os = "linux") {
            assert!(text.contains("process_resident_memory_bytes "), "{text}");
            assert!(text.contains("process_cpu_seconds_total "), "{text}");
        }
        // A queue gone since the last scrape is gone from the text.
        let text = m.render(&Scrape::default());
        assert!(!text.contains("queue=\"sales\"} 3"), "{text}");
    }
}
