//! The load generator against the server's app run in this process (no release binary
//! needed): 20 agents take 100 calls, every one of which must be offered; then the idle
//! scenario reads this process's memory with the consoles open. Keeps the tool from rotting.

use std::{collections::HashMap, time::Duration};

use switchboard_loadgen::{
    center, idle,
    offer_latency::{self, LoadSpec},
    server::Storage,
    QUEUE_WRAP_UP,
};
use switchboard_server::{
    app,
    config::{Config, FileConfig, Flags},
};
use switchboard_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_agents_are_offered_every_one_of_a_hundred_calls() {
    let storage = Storage::local().unwrap();
    let db = storage.database_url();
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let center = center::prepare(&store, 20, QUEUE_WRAP_UP).await.unwrap();
    store.close().await;
    assert_eq!(center.tokens.len(), 20);

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

    // 100 calls at 40/s, 0.2 s talk: at most ~8 of the 20 agents busy at once.
    let spec = LoadSpec {
        rate: 40.0,
        warmup: Duration::from_millis(500),
        duration: Duration::from_millis(2500),
        handle: Duration::from_millis(200),
        grace: Duration::from_secs(10),
    };
    let report = offer_latency::run(addr, &center, &spec).await.unwrap();
    assert_eq!(report.sent, 100, "{report:?}");
    assert_eq!(report.hook_ok, 100, "{:?}", report.hook_errors);
    assert_eq!(report.offered, 100, "{report:?}");
    assert_eq!(report.mismatched, 0);
    assert!(
        report.console_errors.is_empty(),
        "{:?}",
        report.console_errors
    );
    assert!(report.clean());
    let latency = report.offer_latency.unwrap();
    assert_eq!(latency.count, 100);
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    assert!(report.achieved_rate > 30.0, "{}", report.achieved_rate);

    let idle = idle::run(
        addr,
        std::process::id(),
        &center.tokens,
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    assert_eq!(idle.connections, 20);
    assert!(idle.after.rss_kib > 0 && idle.after.hwm_kib >= idle.after.rss_kib);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    storage.remove().await.unwrap();
}
