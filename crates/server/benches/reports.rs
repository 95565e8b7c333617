//! Historical reports over a month: answered from the interval aggregates, and from the raw
//! event log, side by side in one run, on SQLite and PostgreSQL.
//!
//! A simulated month (two queues, ~830 contacts an hour around the clock, 600,000 contacts;
//! a customer for nine contacts in ten, a survey answer for one in ten) is written to a
//! fresh SQLite file and a fresh PostgreSQL database, rolled up, and then asked for:
//! the month, the month by day, a week, a week for one agent (aggregates) and the same week
//! folded from the raw log (the raw path refuses more than 2 million events, so a month
//! of this center cannot be folded raw at all).
//!
//! `cargo bench -p switchboard-server --bench reports -- --days 30`
//! (`--postgres URL` of a database to create the scratch database from; default the local
//! one; `--days` defaults to 2 under `cargo test`).

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::Value;
use switchboard_app::reports::rollup;
use switchboard_app::{App, Settings as AppSettings};
use switchboard_dispatch::{AnyBackend, Clock, MemoryBackend};
use switchboard_domain::{ContactId, Event, EventKind, Timestamp};
use switchboard_gateway::{router, AppState, Settings};
use switchboard_sim::{simulate_recording, Scenario};
use switchboard_store::{Role, Store};
use switchboard_test_support::{
    center,
    database::{postgres_admin_url, TestDatabase},
    time::HOUR,
};
use tower::ServiceExt;

fn scenario(days: u32) -> Scenario {
    Scenario::from_toml(&format!(
        r#"
seed = 11
hours = {hours}

[[queues]]
id = "sales"
strategy = "longest_idle"
required_skills = [{{ skill = "sales" }}]
wrap_up = 15
max_wait = {{ after = 180, exit = "overflow", queue = "support" }}
handle_time = {{ distribution = "lognormal", mean = 240, sd = 150 }}
patience = {{ distribution = "exponential", mean = 150 }}
arrivals_per_hour = 500

[[queues]]
id = "support"
strategy = "longest_idle"
required_skills = [{{ skill = "support" }}]
wrap_up = 30
handle_time = {{ distribution = "exponential", mean = 330 }}
patience = {{ distribution = "exponential", mean = 240 }}
arrivals_per_hour = 330

[[groups]]
name = "sales"
agents = 40
skills = {{ sales = 8, support = 2 }}
answer_delay = 2

[[groups]]
name = "support"
agents = 36
skills = {{ support = 8 }}
answer_delay = 3
miss_rate = 0.02
"#,
        hours = days * 24
    ))
    .expect("a valid scenario")
}

struct Fixed(Timestamp);

impl Clock for Fixed {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// A survey answer to seed: contact, scale, score.
type Answer = (ContactId, &'static str, u8);

/// Customers (nine contacts in ten, 40,000 of them) and survey answers (one in ten).
fn extras(events: &[Event]) -> (Vec<(ContactId, String)>, Vec<Answer>) {
    let (mut customers, mut surveys) = (Vec::new(), Vec::new());
    let mut n = 0usize;
    let mut seen = std::collections::HashSet::new();
    for e in events {
        if let EventKind::ContactQueued { contact, .. } = &e.kind {
            if !seen.insert(*contact) {
                continue;
            }
            n += 1;
            if n % 10 != 0 {
                customers.push((*contact, format!("cust-{}", (n * 7919) % 40_000)));
            }
            if n % 10 == 3 {
                surveys.push((*contact, "csat5", (n % 5) as u8 + 1));
            }
        }
    }
    (customers, surveys)
}

async fn seed(store: &Store, events: &[Event], start: Timestamp) -> Duration {
    let began = Instant::now();
    for chunk in events.chunks(5_000) {
        store.append_events(chunk).await.unwrap();
    }
    let (customers, surveys) = extras(events);
    for (contact, customer) in &customers {
        store
            .set_contact_customer(*contact, customer, start)
            .await
            .unwrap();
    }
    for (contact, scale, score) in &surveys {
        store
            .add_survey_answer(*contact, scale, *score, start)
            .await
            .unwrap();
    }
    began.elapsed()
}

async fn api(store: &Store, now: Timestamp) -> (Router, String) {
    let app = App::new(
        store.clone(),
        Arc::new(AnyBackend::Memory(MemoryBackend::new())),
        Arc::new(Fixed(now)),
        AppSettings::default(),
    );
    let state = AppState::new(app, Settings::default());
    let bench = center::staff("bench", Role::Supervisor);
    let token = center::user_signed_in(store, &bench).await.unwrap().token;
    (router(state), token)
}

/// The median of `runs` requests, and the last body.
async fn timed(app: &Router, token: &str, path: &str, runs: usize) -> (Duration, Value) {
    let mut times = Vec::new();
    let mut body = Value::Null;
    for _ in 0..runs {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let began = Instant::now();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        times.push(began.elapsed());
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&bytes)
        );
        body = serde_json::from_slice(&bytes).unwrap();
    }
    times.sort();
    (times[times.len() / 2], body)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn run(name: &str, store: &Store, events: &[Event], start: Timestamp, days: i64) {
    let seeding = seed(store, events, start).await;
    let end = Timestamp::from_millis(start.as_millis() + days * 24 * HOUR);
    let now = Timestamp::from_millis(end.as_millis() + 2 * HOUR);
    let began = Instant::now();
    let steps = rollup::roll_up(store, now).await.unwrap().steps;
    let rolling = began.elapsed();
    let (app, token) = api(store, now).await;
    let (s, e) = (start.as_millis(), end.as_millis());
    let week_end = (s + 7 * 24 * HOUR).min(e);
    let runs = 5;
    let queries = [
        ("month, whole", format!("from={s}&to={e}")),
        ("month, by day", format!("from={s}&to={e}&interval=day")),
        ("month, one agent", format!("from={s}&to={e}&agent=sales-7")),
        ("week, whole", format!("from={s}&to={week_end}")),
    ];
    println!(
        "\n{name}: seeded in {:.1} s; rolled up in {:.1} s ({steps} steps)",
        seeding.as_secs_f64(),
        rolling.as_secs_f64()
    );
    let mut offered_week = 0;
    for (label, q) in &queries {
        let (t, body) = timed(&app, &token, &format!("/api/v1/reports?{q}"), runs).await;
        assert_eq!(body["source"], "aggregates");
        let offered: u64 = body["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["offered"].as_u64().unwrap())
            .sum();
        if label.starts_with("week") {
            offered_week = offered;
        }
        println!(
            "  aggregates  {label:<18} {:>10}  ({} cells, {offered} offered)",
            ms(t),
            body["cells_read"]
        );
    }
    // The raw path: a range off the 15-minute grid by one millisecond.
    let (t, body) = timed(
        &app,
        &token,
        &format!("/api/v1/reports?from={}&to={week_end}", s + 1),
        runs.min(3),
    )
    .await;
    assert_eq!(body["source"], "events");
    println!(
        "  raw events  {:<18} {:>10}  ({} events, {} offered vs {offered_week})",
        "week, whole",
        ms(t),
        body["events_read"],
        body["reports"][0]["offered"]
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = !args.iter().any(|a| a == "--bench");
    let days: u32 = arg("--days")
        .map(|d| d.parse().expect("--days N"))
        .unwrap_or(if quick { 2 } else { 30 });
    let admin = arg("--postgres").unwrap_or_else(postgres_admin_url);

    let began = Instant::now();
    let mut events = Vec::new();
    let outcome = simulate_recording(&scenario(days), &mut |batch: &[Event]| {
        events.extend_from_slice(batch)
    })
    .expect("simulates");
    println!(
        "simulated {days} days: {} contacts, {} events in {:.1} s",
        outcome.run.contacts,
        events.len(),
        began.elapsed().as_secs_f64()
    );

    let db = TestDatabase::sqlite();
    let sqlite = db.store().await;
    run("SQLite", &sqlite, &events, outcome.start, i64::from(days)).await;
    sqlite.close().await;
    db.remove().await.unwrap();

    let db = TestDatabase::try_postgres(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
    let pg = db.store().await;
    run("PostgreSQL", &pg, &events, outcome.start, i64::from(days)).await;
    pg.close().await;
    db.remove().await.unwrap();
}
