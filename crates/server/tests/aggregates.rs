//! Historical reports from the interval aggregates, through the HTTP API, on SQLite and on
//! PostgreSQL: a simulated day (the engine itself, two queues, shifts, overflows,
//! abandons, wrap-ups) with customers and survey answers, rolled up part way, must give the
//! very reports that folding the whole raw log gives — for every filter, interval, setting
//! and as CSV — and two instances rolling up at once must not count anything twice.

mod support;

use std::{collections::BTreeMap, sync::Arc};

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
use switchboard_domain::{CenterClock, ContactId, Event, EventKind, Timestamp};
use switchboard_gateway::{reports::to_csv, router, AppState, Settings};
use switchboard_protocol::reports::Dated;
use switchboard_sim::{simulate_recording, Scenario};
use switchboard_stats::{
    Filter, IntervalLength, Intervals, MetricsConfig, Query, Report, ReportInputs, Segments,
    ServiceLevelFormula, SurveyAnswer, SurveyScale, TimeRange,
};
use switchboard_store::{Role, Store};
use switchboard_test_support::{center, unique_name};
use tower::ServiceExt;

const HOUR: i64 = 3_600_000;

struct Fixed(Timestamp);

impl Clock for Fixed {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The simulated day, with a customer for most contacts (so that repeats happen) and
/// survey answers for some.
struct Day {
    events: Vec<Event>,
    customers: BTreeMap<ContactId, String>,
    surveys: Vec<SurveyAnswer>,
    start: Timestamp,
}

fn day() -> Day {
    let text = include_str!("../../../deploy/simulate/two-queues.toml");
    let scenario = Scenario::from_toml(text).expect("the example scenario");
    let mut events = Vec::new();
    let outcome = simulate_recording(&scenario, &mut |batch: &[Event]| {
        events.extend_from_slice(batch)
    })
    .expect("simulates");
    let mut customers = BTreeMap::new();
    let mut surveys = Vec::new();
    let mut i = 0usize;
    for e in &events {
        if let EventKind::ContactQueued { contact, .. } = &e.kind {
            if customers.contains_key(contact) {
                continue;
            }
            i += 1;
            if i % 7 != 0 {
                customers.insert(*contact, format!("cust-{}", i % 240));
            }
            if i % 4 == 0 {
                surveys.push(SurveyAnswer {
                    contact: *contact,
                    score: (i % 5) as u8 + 1,
                    scale: SurveyScale::Csat5,
                });
            }
            if i % 6 == 1 {
                surveys.push(SurveyAnswer {
                    contact: *contact,
                    score: (i % 11) as u8,
                    scale: SurveyScale::Nps10,
                });
            }
        }
    }
    assert!(events.len() > 5_000, "a busy day: {} events", events.len());
    Day {
        events,
        customers,
        surveys,
        start: outcome.start,
    }
}

async fn seed(store: &Store, day: &Day) {
    for chunk in day.events.chunks(2_000) {
        store.append_events(chunk).await.unwrap();
    }
    for (contact, customer) in &day.customers {
        store
            .set_contact_customer(*contact, customer, day.start)
            .await
            .unwrap();
    }
    for s in &day.surveys {
        let scale = match s.scale {
            SurveyScale::Csat5 => "csat5",
            SurveyScale::Nps10 => "nps10",
        };
        store
            .add_survey_answer(s.contact, scale, s.score, day.start)
            .await
            .unwrap();
    }
}

struct Api {
    app: Router,
    token: String,
}

impl Api {
    async fn new(store: &Store, now: Timestamp) -> Api {
        let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
        let app = App::new(
            store.clone(),
            dispatcher,
            Arc::new(Fixed(now)),
            AppSettings::default(),
        );
        let state = AppState::new(app, Settings::default());
        let supervisor = center::staff(&unique_name("sup-"), Role::Supervisor);
        let token = center::user_signed_in(store, &supervisor)
            .await
            .unwrap()
            .token;
        Api {
            app: router(state),
            token,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        (
            status,
            res.into_body().collect().await.unwrap().to_bytes().to_vec(),
        )
    }
}

/// The queries compared: filters × intervals × settings.
fn cases(start: Timestamp) -> Vec<(String, Query, Option<Intervals>)> {
    let day = TimeRange::new(start, Timestamp::from_millis(start.as_millis() + 24 * HOUR)).unwrap();
    let morning = TimeRange::new(
        Timestamp::from_millis(start.as_millis() + 9 * HOUR),
        Timestamp::from_millis(start.as_millis() + 15 * HOUR + HOUR / 4),
    )
    .unwrap();
    let mut out = Vec::new();
    let filters: Vec<(&str, Filter)> = vec![
        ("", Filter::default()),
        (
            "&queue=sales",
            Filter {
                queue: Some("sales".parse().unwrap()),
                ..Filter::default()
            },
        ),
        (
            "&queue=support",
            Filter {
                queue: Some("support".parse().unwrap()),
                ..Filter::default()
            },
        ),
        (
            "&agent=sales-3",
            Filter {
                agent: Some("sales-3".parse().unwrap()),
                ..Filter::default()
            },
        ),
        (
            "&channel=voice",
            Filter {
                channel: Some(switchboard_domain::Channel::Voice),
                ..Filter::default()
            },
        ),
    ];
    let intervals = [
        ("", None),
        (
            "&interval=15m",
            Some(Intervals {
                length: IntervalLength::Minutes15,
                clock: CenterClock::UTC,
            }),
        ),
        (
            "&interval=60m&utc_offset_minutes=60",
            Some(Intervals {
                length: IntervalLength::Minutes60,
                clock: CenterClock::Offset(60),
            }),
        ),
        (
            "&interval=day&utc_offset_minutes=-45",
            Some(Intervals {
                length: IntervalLength::Day,
                clock: CenterClock::Offset(-45),
            }),
        ),
        (
            "&interval=60m&time_zone=America/St_Johns",
            Some(Intervals {
                length: IntervalLength::Minutes60,
                clock: "America/St_Johns".parse().unwrap(),
            }),
        ),
        (
            "&interval=day&time_zone=Europe/Berlin",
            Some(Intervals {
                length: IntervalLength::Day,
                clock: "Europe/Berlin".parse().unwrap(),
            }),
        ),
    ];
    for (f_param, filter) in &filters {
        for (i_param, spec) in &intervals {
            for (range, formula, f_name) in [
                (day, ServiceLevelFormula::AnsweredPlusAbandonedAfterT, ""),
                (
                    morning,
                    ServiceLevelFormula::AnsweredOnly,
                    "&sl_formula=answered_only&sl_target_secs=30&short_abandon_secs=10",
                ),
            ] {
                let config = if f_name.is_empty() {
                    MetricsConfig::default()
                } else {
                    MetricsConfig {
                        service_level_formula: formula,
                        service_level_target: std::time::Duration::from_secs(30),
                        short_abandon: std::time::Duration::from_secs(10),
                        ..MetricsConfig::default()
                    }
                };
                let path = format!(
                    "/api/v1/reports?from={}&to={}{f_param}{i_param}{f_name}",
                    range.start.as_millis(),
                    range.end.as_millis()
                );
                let query = Query {
                    filter: filter.clone(),
                    range,
                    config,
                };
                out.push((path, query, *spec));
            }
        }
    }
    out
}

/// Every case's API answer equals the raw fold of the whole log.
async fn compare(api: &Api, day: &Day, now: Timestamp, expect_cells: bool) {
    let raw = Segments::from_events(&day.events);
    let inputs = ReportInputs {
        customers: &day.customers,
        surveys: &day.surveys,
    };
    for (path, query, spec) in cases(day.start) {
        let expected = match spec {
            None => vec![raw.report(&query, &inputs, now).unwrap()],
            Some(spec) => raw.intervals(&query, spec, &inputs, now).unwrap(),
        };
        let (status, body) = api.get(&path).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["source"], "aggregates", "{path}");
        if expect_cells {
            assert!(body["cells_read"].as_u64().unwrap() > 0, "{path}");
        }
        // Each report also carries its range as RFC 3339 on the report's clock.
        let clock = spec.map_or(CenterClock::UTC, |s| s.clock);
        let dated: Vec<Dated<&Report>> = expected
            .iter()
            .map(|report| Dated {
                start_time: clock.rfc3339(report.range.start),
                end_time: clock.rfc3339(report.range.end),
                report,
            })
            .collect();
        // Both through the same text → value parse (serde_json's float parsing may be one
        // ulp off, the same way for the same text).
        let want: Value = serde_json::from_str(&serde_json::to_string(&dated).unwrap()).unwrap();
        let mut differences = Vec::new();
        diff(&body["reports"], &want, "reports".into(), &mut differences);
        assert!(differences.is_empty(), "{path}: {}", differences.join("\n"));
        if spec.is_none() {
            assert!(
                expected[0].offered > 0 || query.filter.agent.is_some(),
                "{path}"
            );
        }
        let (status, csv) = api.get(&format!("{path}&format=csv")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            to_csv(&expected, clock),
            "{path}"
        );
    }
}

/// Where two JSON values differ (at most 20 places), for a readable failure.
fn diff(got: &Value, want: &Value, at: String, out: &mut Vec<String>) {
    if out.len() >= 20 || got == want {
        return;
    }
    match (got, want) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a
                .keys()
                .chain(b.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                let null = Value::Null;
                diff(
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    format!("{at}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(x, y, format!("{at}[{i}]"), out);
            }
        }
        _ => out.push(format!("{at}: got {got}, want {want}")),
    }
}

/// Where a rollup at `now` gets to: the last quarter hour that ended a minute before.
fn rollup_mark(now: Timestamp) -> Timestamp {
    Timestamp::from_millis((now.as_millis() - 60_000).div_euclid(HOUR / 4) * (HOUR / 4))
}

async fn aggregated_reports_equal_the_raw_log(store: Store) {
    let mut day = day();
    seed(&store, &day).await;
    let at = |h: i64| Timestamp::from_millis(day.start.as_millis() + h * HOUR);

    // Nothing rolled up yet: everything is the tail.
    let api = Api::new(&store, at(30)).await;
    rollup::roll_up(&store, day.start).await.unwrap();
    compare(&api, &day, at(30), false).await;

    // Rolled up to 11:00 while the floor was busy: cells, carried contacts and a long tail.
    let rolled = rollup::roll_up(&store, at(11)).await.unwrap();
    assert!(rolled.steps > 0);
    assert_eq!(rolled.through, rollup_mark(at(11)));
    compare(&api, &day, at(30), true).await;

    // Two instances rolling up the rest at once: the lock lets one step run at a time.
    let (a, b) = tokio::join!(
        rollup::roll_up(&store, at(29)),
        rollup::roll_up(&store, at(29))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.steps + b.steps > 0);
    assert_eq!(
        (a.through, b.through),
        (rollup_mark(at(29)), rollup_mark(at(29)))
    );
    let again = rollup::roll_up(&store, at(29)).await.unwrap();
    assert_eq!(again.steps, 0, "nothing left");
    compare(&api, &day, at(30), true).await;

    // Answers given (or changed) after their contacts were counted: first from the tail,
    // then rolled into the cells.
    let late = at(29);
    for n in [0usize, 5, 9] {
        let answer = &mut day.surveys[n];
        let scale = match answer.scale {
            SurveyScale::Csat5 => "csat5",
            SurveyScale::Nps10 => "nps10",
        };
        answer.score = if answer.scale == SurveyScale::Csat5 {
            1
        } else {
            10
        };
        store
            .add_survey_answer(answer.contact, scale, answer.score, late)
            .await
            .unwrap();
    }
    compare(&api, &day, at(30), true).await;
    assert!(rollup::roll_up(&store, at(30)).await.unwrap().steps > 0);
    compare(&api, &day, at(30), true).await;

    // A range that is not on 15-minute boundaries is folded from the raw log.
    let (status, body) = api
        .get(&format!(
            "/api/v1/reports?from={}&to={}",
            day.start.as_millis() + 1,
            at(24).as_millis()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["source"], "events");
    // Over 93 days only from the aggregates: a long range off the grid is refused clearly,
    // a long range on it is answered.
    let long = day.start.as_millis() + 100 * 24 * HOUR;
    let (status, body) = api
        .get(&format!(
            "/api/v1/reports?from={}&to={long}",
            day.start.as_millis() + 1
        ))
        .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{body}"
    );
    let (status, body) = api
        .get(&format!(
            "/api/v1/reports?from={}&to={long}&interval=day",
            day.start.as_millis()
        ))
        .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reports"].as_array().unwrap().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_reports_equal_the_raw_log_on_sqlite() {
    let db = support::TestDatabase::sqlite();
    let store = db.store().await;
    aggregated_reports_equal_the_raw_log(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_reports_equal_the_raw_log_on_postgres() {
    let db = support::TestDatabase::postgres().await;
    let store = db.store().await;
    aggregated_reports_equal_the_raw_log(store.clone()).await;
    store.close().await;
}
