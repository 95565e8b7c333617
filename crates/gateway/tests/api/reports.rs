//! The supervisor's figures: reports from the event log (JSON and CSV, service level, surveys,
//! agent time, callback promises) and the staffing calculators.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use switchboard_dispatch::SystemClock;
use switchboard_store::Role;

use crate::support::Api;

#[tokio::test]
async fn staffing_calculators() {
    let api = Api::new().await;
    let supervisor = api.token(Role::Supervisor).await;
    let forecast = json!({"arrivals": 100, "interval_secs": 1800, "aht_secs": 180, "target_answer_secs": 20, "target_service_level": 0.8});
    let (s, c) = api
        .call(
            Method::POST,
            "/api/v1/staffing/erlang-c",
            Some(&supervisor),
            Some(forecast.clone()),
        )
        .await;
    assert_eq!((s, c["agents"].as_u64()), (StatusCode::OK, Some(14)), "{c}");
    assert!((c["metrics"]["service_level"].as_f64().unwrap() - 0.888).abs() < 0.002);
    let mut patient = forecast.clone();
    patient["patience_secs"] = json!(120);
    let (s, a) = api
        .call(
            Method::POST,
            "/api/v1/staffing/erlang-a",
            Some(&supervisor),
            Some(patient),
        )
        .await;
    assert_eq!((s, a["agents"].as_u64()), (StatusCode::OK, Some(12)), "{a}");
    let mut bad = forecast;
    bad["aht_secs"] = json!(-3);
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/staffing/erlang-c",
            Some(&supervisor),
            Some(bad),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str(), e["details"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid"),
            Some("aht_secs")
        ),
        "{e}"
    );
}

#[tokio::test]
async fn reports_from_the_event_log_as_json_and_csv() {
    use switchboard_dispatch::{Clock, Engine};
    use switchboard_domain::*;
    let api = Api::new().await;
    let supervisor = api.token(Role::Supervisor).await;
    // A short day in the event log: one call answered after 8 s and handled, one abandoned
    // after 40 s, one short abandon.
    let t0 = SystemClock.now().plus(Duration::from_secs(0));
    let t = |s: i64| Timestamp::from_millis(t0.as_millis() - 3_600_000 + s * 1000);
    let mut e = Engine::new();
    let mut log = Vec::new();
    let q = QueueId::parse("sales").unwrap();
    let ann = AgentId::parse("ann").unwrap();
    let mut run = |cmd, at| log.extend(e.apply(cmd, at).unwrap());
    let mut queue = QueueConfig::new(q.clone());
    queue.wrap_up = Duration::from_secs(10);
    run(Command::UpsertQueue(queue), t(0));
    run(Command::UpsertAgent(AgentProfile::new(ann.clone())), t(0));
    let (c1, c2, c3) = (
        switchboard_dispatch::fresh_contact_id(t(0)),
        switchboard_dispatch::fresh_contact_id(t(0)),
        switchboard_dispatch::fresh_contact_id(t(0)),
    );
    run(
        Command::Enqueue(NewContact::new(c1, q.clone(), Channel::Voice)),
        t(0),
    );
    run(
        Command::SetPresence {
            agent: ann.clone(),
            presence: Presence::Available,
        },
        t(8),
    );
    run(
        Command::Accept {
            contact: c1,
            agent: ann.clone(),
        },
        t(8),
    );
    run(
        Command::Enqueue(NewContact::new(c2, q.clone(), Channel::Voice)),
        t(10),
    );
    run(
        Command::Enqueue(NewContact::new(c3, q.clone(), Channel::Voice)),
        t(11),
    );
    run(Command::Abandon { contact: c3 }, t(13));
    run(Command::Complete { contact: c1 }, t(100));
    run(
        Command::FinishWrapUp {
            contact: c1,
            agent: ann.clone(),
            wrap_up: WrapUp {
                disposition: Some("resolved".into()),
                resolved: Some(true),
            },
        },
        t(105),
    );
    run(Command::Abandon { contact: c2 }, t(50));
    api.store.append_events(&log).await.unwrap();
    api.store
        .set_contact_customer(c1, "CRM-7", t(0))
        .await
        .unwrap();
    for (scale, score) in [("csat5", 5), ("nps10", 10)] {
        let (s, e) = api
            .call(
                Method::POST,
                "/api/v1/surveys",
                Some(&supervisor),
                Some(json!({"contact_id": c1, "scale": scale, "score": score})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    }
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/surveys",
            Some(&supervisor),
            Some(json!({"contact_id": c1, "scale": "csat5", "score": 9})),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("score"))
    );

    let (from, to) = (t(-1).as_millis(), t(3600).as_millis());
    let (s, body) = api
        .call(
            Method::GET,
            &format!("/api/v1/reports?from={from}&to={to}&queue=sales"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r = &body["reports"][0];
    assert_eq!(
        (
            r["offered"].as_u64(),
            r["answered"].as_u64(),
            r["abandoned"].as_u64(),
            r["short_abandoned"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1)),
        "{r}"
    );
    // SL 80/20: answered within 20 s / (answered + abandoned after 20 s) = 1 / 2.
    assert_eq!(
        r["service_level"]["ratio"]["value"].as_f64(),
        Some(0.5),
        "{r}"
    );
    assert_eq!(r["asa_ms"].as_f64(), Some(8_000.0));
    assert_eq!(
        (
            r["csat"]["responses"].as_u64(),
            r["nps"]["responses"].as_u64()
        ),
        (Some(1), Some(1)),
        "{r}"
    );
    // Resolved on the first contact, with no repeat yet; final only once the window passed.
    assert_eq!(
        (
            r["fcr_true"]["ratio"]["numerator"].as_u64(),
            r["fcr_true"]["final"].as_bool()
        ),
        (Some(1), Some(false)),
        "{r}"
    );
    let (s, csv) = api
        .call(
            Method::GET,
            &format!("/api/v1/reports?from={from}&to={to}&interval=60m&format=csv"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = csv.as_str().unwrap().to_owned();
    assert!(
        csv.starts_with("start,end,offered,answered,abandoned"),
        "{csv}"
    );
    let offered: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(offered, 3, "the intervals add up: {csv}");
    for bad in [
        "from=10&to=5",
        "from=0&to=99999999999",
        "from=1&to=2&interval=7m",
        "from=1&to=2&format=pdf",
        "to=5",
    ] {
        let (s, e) = api
            .call(
                Method::GET,
                &format!("/api/v1/reports?{bad}"),
                Some(&supervisor),
                None,
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{bad}: {e}"
        );
    }
}

#[tokio::test]
async fn reports_show_agent_time_and_callback_promises() {
    use switchboard_dispatch::{Clock, Engine};
    use switchboard_domain::*;
    let api = Api::new().await;
    let supervisor = api.token(Role::Supervisor).await;
    let t0 = SystemClock.now();
    let t = |s: i64| Timestamp::from_millis(t0.as_millis() - 3_600_000 + s * 1000);
    let mut e = Engine::new();
    let mut log = Vec::new();
    let q = QueueId::parse("sales").unwrap();
    let ann = AgentId::parse("ann").unwrap();
    let mut run = |cmd, at| log.extend(e.apply(cmd, at).unwrap());
    run(Command::UpsertQueue(QueueConfig::new(q.clone())), t(0));
    run(Command::UpsertAgent(AgentProfile::new(ann.clone())), t(0));
    let presence = |presence| Command::SetPresence {
        agent: ann.clone(),
        presence,
    };
    run(presence(Presence::Available), t(0));
    // Logged in twice: counted once.
    run(presence(Presence::Available), t(5));
    let (c1, c2) = (
        switchboard_dispatch::fresh_contact_id(t(0)),
        switchboard_dispatch::fresh_contact_id(t(0)),
    );
    run(
        Command::Enqueue(NewContact::new(c1, q.clone(), Channel::Voice)),
        t(10),
    );
    let accept = |contact| Command::Accept {
        contact,
        agent: ann.clone(),
    };
    let finish = |contact| Command::FinishWrapUp {
        contact,
        agent: ann.clone(),
        wrap_up: WrapUp::default(),
    };
    run(accept(c1), t(12));
    run(
        Command::Enqueue(NewContact::new(c2, q.clone(), Channel::Voice)),
        t(20),
    );
    // c2 waits while Ann talks; the caller asks for a callback at 25 s.
    run(
        Command::CallbackInPlace {
            contact: c2,
            number: "+4930123".into(),
            due: None,
        },
        t(25),
    );
    run(Command::Complete { contact: c1 }, t(72));
    run(finish(c1), t(80));
    run(accept(c2), t(85));
    run(Command::Complete { contact: c2 }, t(90));
    run(finish(c2), t(95));
    run(
        presence(Presence::Away {
            reason: ReasonCode::parse("lunch").unwrap(),
        }),
        t(100),
    );
    run(presence(Presence::Offline), t(200));
    api.store.append_events(&log).await.unwrap();

    let (from, to) = (t(-1).as_millis(), t(3600).as_millis());
    let get = |query: String| {
        let (api, token) = (&api, &supervisor);
        async move {
            let (s, body) = api
                .call(
                    Method::GET,
                    &format!("/api/v1/reports?from={from}&to={to}{query}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            body
        }
    };
    let body = get(String::new()).await;
    let r = &body["reports"][0];
    let ann_time = &r["agent_time"]["agents"]["ann"];
    // Staffed 0..200 s (available 0..100, lunch 100..200); handling 12..80 and 85..95.
    assert_eq!(ann_time["staffed_ms"], 200_000, "{r}");
    assert_eq!(ann_time["away_by_reason"]["lunch"], 100_000, "{r}");
    assert_eq!(ann_time["handling_ms"], 78_000, "{r}");
    assert_eq!(ann_time["occupancy"].as_f64(), Some(0.39), "{r}");
    assert_eq!(ann_time["utilisation"].as_f64(), Some(0.78), "{r}");
    assert_eq!(r["agent_time"]["total"]["staffed_ms"], 200_000, "{r}");
    // Answered 60 s after the request: on time within the default hour.
    assert_eq!(
        (
            r["callbacks"]["requested"].as_u64(),
            r["callbacks"]["kept_on_time"].as_u64(),
            r["callbacks"]["omission_rate"]["value"].as_f64()
        ),
        (Some(1), Some(1), Some(0.0)),
        "{r}"
    );
    // With a 30 s promise it was kept late.
    let body = get("&callback_due_secs=30".into()).await;
    let cb = &body["reports"][0]["callbacks"];
    assert_eq!(
        (
            cb["kept_late"].as_u64(),
            cb["omission_rate"]["value"].as_f64()
        ),
        (Some(1), Some(1.0)),
        "{cb}"
    );
    // A queue filter has no agent time (logged-in time belongs to no queue).
    let body = get("&queue=sales".into()).await;
    assert!(body["reports"][0]["agent_time"].is_null(), "{body}");
    // CSV: the totals' columns.
    let csv = get("&format=csv".into()).await;
    let csv = csv.as_str().unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (
            col("staffed_s"),
            col("handling_s"),
            col("occupancy"),
            col("utilisation")
        ),
        ("200.0", "78.0", "0.3900", "0.7800"),
        "{csv}"
    );
    assert_eq!(
        (col("callbacks_requested"), col("callback_omission_rate")),
        ("1", "0.0000"),
        "{csv}"
    );
}

/// The API of a center in Europe/Berlin.
async fn in_berlin() -> Api {
    let settings = switchboard_app::Settings {
        center_clock: "Europe/Berlin".parse().unwrap(),
        ..switchboard_app::Settings::default()
    };
    Api::with(settings, switchboard_gateway::Settings::default()).await
}

/// Reports follow a local clock: days of 23 hours on the spring change in Europe/Berlin,
/// RFC 3339 in and out, and the center's zone when the query names none.
#[tokio::test]
async fn reports_follow_the_center_time_zone_across_daylight_saving() {
    use switchboard_dispatch::Engine;
    use switchboard_domain::*;
    let api = in_berlin().await;
    let supervisor = api.token(Role::Supervisor).await;
    let at = |s: &str| parse_instant(s).unwrap();
    let mut e = Engine::new();
    let mut log = Vec::new();
    let q = QueueId::parse("sales").unwrap();
    let mut run = |cmd, at| log.extend(e.apply(cmd, at).unwrap());
    run(
        Command::UpsertQueue(QueueConfig::new(q.clone())),
        at("2026-03-28T00:00:00Z"),
    );
    // 01:30 on the 29th in Berlin (before the change), 00:30 on the 30th in Berlin (already
    // the 29th in UTC), and 23:30 on the 29th in Berlin.
    for t in [
        "2026-03-29T01:30:00+01:00",
        "2026-03-30T00:30:00+02:00",
        "2026-03-29T23:30:00+02:00",
    ] {
        let c = switchboard_dispatch::fresh_contact_id(at(t));
        run(
            Command::Enqueue(NewContact::new(c, q.clone(), Channel::Chat)),
            at(t),
        );
        run(
            Command::Abandon { contact: c },
            at(t).plus(Duration::from_secs(60)),
        );
    }
    api.store.append_events(&log).await.unwrap();
    let get = |query: &'static str| {
        let api = &api;
        let supervisor = &supervisor;
        async move {
            api.call(
                Method::GET,
                &format!("/api/v1/reports?{query}"),
                Some(supervisor),
                None,
            )
            .await
        }
    };
    let days = "from=2026-03-28T00:00:00%2B01:00&to=2026-03-31T00:00:00%2B02:00&interval=day";
    // No zone named: the center's.
    let (s, body) = get(days).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["time_zone"], "Europe/Berlin");
    let reports = body["reports"].as_array().unwrap();
    let shown: Vec<(&str, &str, u64, u64)> = reports
        .iter()
        .map(|r| {
            (
                r["start_time"].as_str().unwrap(),
                r["end_time"].as_str().unwrap(),
                (r["range"]["end"].as_i64().unwrap() - r["range"]["start"].as_i64().unwrap())
                    as u64
                    / 3_600_000,
                r["offered"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "2026-03-28T00:00:00.000+01:00",
                "2026-03-29T00:00:00.000+01:00",
                24,
                0
            ),
            (
                "2026-03-29T00:00:00.000+01:00",
                "2026-03-30T00:00:00.000+02:00",
                23,
                2
            ),
            (
                "2026-03-30T00:00:00.000+02:00",
                "2026-03-31T00:00:00.000+02:00",
                24,
                1
            ),
        ],
        "{body}"
    );
    // The same days in UTC put the 00:30 call on the 29th.
    let (s, body) =
        get("from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z&interval=day&time_zone=UTC").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let offered: Vec<u64> = body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offered"].as_u64().unwrap())
        .collect();
    assert_eq!(offered, vec![0, 3, 0], "{body}");
    assert_eq!(
        body["reports"][1]["start_time"],
        "2026-03-29T00:00:00.000+00:00"
    );
    // Bad times and zones are refused, naming the parameter.
    for (query, word) in [
        ("from=yesterday&to=2026-03-31T00:00:00Z", "from"),
        (
            "from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z&interval=day&time_zone=Mars/Olympus",
            "time zone",
        ),
        (
            "from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z&time_zone=UTC&utc_offset_minutes=60",
            "not both",
        ),
    ] {
        let (s, e) = get(query).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{query}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains(word),
            "{query}: {e}"
        );
    }
}

/// Times are taken as RFC 3339 wherever a request carries one, and the event log writes each
/// event's time out in the center's zone beside its milliseconds, across the spring change.
#[tokio::test]
async fn times_go_in_as_rfc_3339_and_events_come_out_with_theirs() {
    use switchboard_domain::*;
    let api = in_berlin().await;
    let admin = api.token(Role::Admin).await;
    let (status, created) = api
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "bi", "scopes": ["reports:read"], "expires_at": "2999-01-01T00:00:00+01:00"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["api_key"]["expires_at"], 32_472_140_400_000_i64);

    let event = |id: u64, rfc3339: &str| Event {
        id: EventId(id),
        at: parse_instant(rfc3339).unwrap(),
        kind: EventKind::ContactRefused {
            contact: ContactId::from_uuid(uuid::Uuid::from_u128(id.into())),
            queue: QueueId::parse("sales").unwrap(),
            reason: ExitReason::NoAgents,
        },
    };
    api.store
        .append_events(&[
            event(1, "2026-03-29T00:30:00Z"),
            event(2, "2026-03-29T01:30:00Z"),
        ])
        .await
        .unwrap();
    let (status, page) = api
        .call(
            Method::GET,
            "/api/v1/events?from=2026-03-29T00:00:00%2B01:00",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let times: Vec<(i64, &str)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["at"].as_i64().unwrap(), e["time"].as_str().unwrap()))
        .collect();
    assert_eq!(
        times,
        [
            (1_774_744_200_000, "2026-03-29T01:30:00.000+01:00"),
            (1_774_747_800_000, "2026-03-29T03:30:00.000+02:00"),
        ]
    );
}
