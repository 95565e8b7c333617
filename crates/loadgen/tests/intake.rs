//! The intake scenario against the server's app run in this process: contacts through REST
//! and through signed hooks are each acknowledged once with a contact id of their own, and
//! they are really queued; a client the server refuses is reported, not counted as taken in.

use std::{collections::HashMap, time::Duration};

use serde_json::Value;
use switchboard_loadgen::{
    center,
    http::Connection,
    intake::{self, Door, IntakeSpec},
    server::Storage,
    QUEUE_WRAP_UP,
};
use switchboard_server::{
    app,
    config::{Config, FileConfig, Flags},
};
use switchboard_store::Store;

fn spec(door: Door, clients: usize, contacts: usize) -> IntakeSpec {
    IntakeSpec {
        door,
        clients,
        contacts,
        warmup: 5,
        limit: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_through_rest_and_hooks_are_each_acknowledged_once_and_queued() {
    let storage = Storage::local().unwrap();
    let db = storage.database_url();
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let mut center = center::prepare(&store, 1, QUEUE_WRAP_UP).await.unwrap();
    store.close().await;

    let env: HashMap<String, String> = [
        ("DATABASE_URL".to_string(), db.clone()),
        (
            "SWITCHBOARD_SETUP_SECRET".to_string(),
            "a-setup-secret-for-tests".to_string(),
        ),
    ]
    .into();
    let config = Config::layered(FileConfig::default(), &env, &Flags::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(config, listener, async {
        let _ = stopped.await;
    }));
    // The server is up once it answers.
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(mut c) = Connection::open(addr).await {
            if c.request("GET", "/readyz", &[], b"")
                .await
                .is_ok_and(|a| a.status == 200)
            {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the server did not become ready");

    let rest = intake::run(addr, &center, &spec(Door::Rest, 4, 60))
        .await
        .unwrap();
    assert_eq!(
        (
            rest.sent,
            rest.total_sent,
            rest.acknowledged,
            rest.distinct_ids
        ),
        (60, 65, 60, 60),
        "{rest:?}"
    );
    assert!(rest.clean(), "{rest:?}");
    assert!(rest.rate > 0.0);
    let latency = rest.latency.unwrap();
    assert_eq!(latency.count, 60);
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);

    let hooks = intake::run(addr, &center, &spec(Door::Hook, 3, 40))
        .await
        .unwrap();
    assert_eq!(
        (hooks.sent, hooks.acknowledged, hooks.distinct_ids),
        (40, 40, 40),
        "{hooks:?}"
    );
    assert!(hooks.clean(), "{hooks:?}");

    // Nobody is logged in: every contact of both runs (warm-ups included) waits in the queue.
    let mut c = Connection::open(addr).await.unwrap();
    let auth = format!("Bearer {}", center.supervisor_token);
    let answer = c
        .request(
            "GET",
            &format!("/api/v1/queues/{}/snapshot", center::QUEUE),
            &[("authorization", auth.as_str())],
            b"",
        )
        .await
        .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let stats: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(stats["waiting"], 110, "{stats}");

    // A supervisor whose session the server does not know: every request is refused, and the
    // report says so instead of counting them.
    center.supervisor_token = "not-a-session".into();
    let refused = intake::run(addr, &center, &spec(Door::Rest, 2, 10))
        .await
        .unwrap();
    assert_eq!((refused.sent, refused.acknowledged), (10, 0), "{refused:?}");
    assert_eq!(refused.errors.len(), 10);
    assert!(
        refused.errors[0].contains("rest answered 401"),
        "{refused:?}"
    );
    assert!(!refused.clean());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    storage.remove().await.unwrap();
}
