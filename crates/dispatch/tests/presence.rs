//! The console registry: in process, and shared over a real Redis by several "instances"
//! (registries with their own ids in one namespace). Needs Redis (REDIS_URL, default
//! 127.0.0.1:6379); fails when it is unreachable. Each test uses its own namespace and
//! deletes its keys.

use std::time::Duration;

use switchboard_dispatch::{ConsoleRegistry, PresenceOptions};
use switchboard_domain::AgentId;
use switchboard_test_support::redis::{url as redis_url, RedisNamespace};

fn agent(name: &str) -> AgentId {
    AgentId::parse(name).unwrap()
}

/// An instance named `id` in `ns` whose heartbeat lives `expire_ms`.
async fn instance(ns: &RedisNamespace, id: &str, expire_ms: u64) -> ConsoleRegistry {
    let options = PresenceOptions {
        heartbeat_every: Duration::from_millis(expire_ms / 3),
        expire_after: Duration::from_millis(expire_ms),
    };
    ConsoleRegistry::connect(ns.url(), ns.name(), id, options)
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is required: {e}", ns.url()))
}

#[tokio::test]
async fn in_process_the_local_count_is_the_truth() {
    let r = ConsoleRegistry::in_process();
    let (ann, bob) = (agent("ann"), agent("bob"));
    assert!(!r.is_shared());
    r.opened(&ann).await.unwrap();
    r.opened(&ann).await.unwrap();
    r.opened(&bob).await.unwrap();
    assert!(!r.closed(&ann).await.unwrap(), "ann has a second console");
    assert!(r.has_console(&ann).await.unwrap());
    assert!(r.closed(&ann).await.unwrap(), "ann's last console");
    assert!(!r.has_console(&ann).await.unwrap());
    // A close without an open (cannot happen, but must not underflow or panic).
    assert!(r.closed(&ann).await.unwrap());
    r.heartbeat().await.unwrap();
    assert!(r.sweep().await.unwrap().is_empty(), "nobody else to sweep");
    assert_eq!(r.leave().await.unwrap(), vec![bob.clone()]);
    assert!(
        !r.closed(&bob).await.unwrap(),
        "after leaving, closes change nothing"
    );
}

#[tokio::test]
async fn a_console_on_another_live_instance_keeps_the_agent() {
    let ns = RedisNamespace::create().await;
    let a = instance(&ns, "a", 10_000).await;
    let b = instance(&ns, "b", 10_000).await;
    assert_eq!((a.instance(), b.instance()), (Some("a"), Some("b")));
    let ann = agent("ann");
    a.opened(&ann).await.unwrap();
    b.opened(&ann).await.unwrap();
    b.opened(&ann).await.unwrap();
    assert!(!b.closed(&ann).await.unwrap(), "one more on b");
    assert!(!b.closed(&ann).await.unwrap(), "still open on a");
    assert!(b.has_console(&ann).await.unwrap(), "b sees a's console");
    assert!(!b.has_local_console(&ann).await);
    assert!(a.closed(&ann).await.unwrap(), "the last one anywhere");
    assert!(!a.has_console(&ann).await.unwrap());
    assert!(!b.has_console(&ann).await.unwrap());
    // Nobody died: sweeps find nothing.
    assert!(a.sweep().await.unwrap().is_empty());
    assert!(b.sweep().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_dead_instances_agents_are_swept_once_unless_connected_elsewhere() {
    let ns = RedisNamespace::create().await;
    let dead = instance(&ns, "dead", 300).await;
    let b = instance(&ns, "b", 10_000).await;
    let c = instance(&ns, "c", 10_000).await;
    let (ann, bob, cid) = (agent("ann"), agent("bob"), agent("cid"));
    dead.opened(&ann).await.unwrap();
    dead.opened(&bob).await.unwrap();
    dead.opened(&cid).await.unwrap();
    b.opened(&bob).await.unwrap();
    assert!(b.has_console(&ann).await.unwrap(), "dead is still alive");
    assert!(b.sweep().await.unwrap().is_empty(), "nobody expired yet");

    // `dead` stops heartbeating (as if SIGKILLed); its heartbeat expires.
    drop(dead);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !b.has_console(&ann).await.unwrap(),
        "a dead instance's consoles do not count, swept or not"
    );
    // Two survivors sweep at once: the dead instance's agents go to exactly one of them.
    let (on_b, on_c) = tokio::join!(b.sweep(), c.sweep());
    let mut found: Vec<String> = on_b
        .unwrap()
        .into_iter()
        .chain(on_c.unwrap())
        .map(|a| a.to_string())
        .collect();
    found.sort();
    assert_eq!(found, ["ann", "cid"], "bob still has a console on b");
    assert!(b.sweep().await.unwrap().is_empty(), "swept once");
    assert!(c.sweep().await.unwrap().is_empty(), "swept once");
    let keys = ns.keys().await;
    assert!(
        !keys.iter().any(|k| k.ends_with(":dead")),
        "the dead instance's entries are gone: {keys:?}"
    );
}

#[tokio::test]
async fn an_instance_taken_for_dead_publishes_its_consoles_again() {
    let ns = RedisNamespace::create().await;
    let slow = instance(&ns, "slow", 300).await;
    let b = instance(&ns, "b", 10_000).await;
    let ann = agent("ann");
    slow.opened(&ann).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.sweep().await.unwrap(), vec![ann.clone()]);
    assert!(!b.has_console(&ann).await.unwrap());
    // The stalled instance wakes up: its next heartbeat puts ann's console back.
    slow.heartbeat().await.unwrap();
    assert!(b.has_console(&ann).await.unwrap());
    assert!(slow.closed(&ann).await.unwrap(), "and it counts as usual");
    assert!(!b.has_console(&ann).await.unwrap());
}

#[tokio::test]
async fn leaving_cleanly_removes_the_instances_entries() {
    let ns = RedisNamespace::create().await;
    let a = instance(&ns, "a", 10_000).await;
    let b = instance(&ns, "b", 10_000).await;
    let (ann, bob) = (agent("ann"), agent("bob"));
    a.opened(&ann).await.unwrap();
    a.opened(&bob).await.unwrap();
    b.opened(&ann).await.unwrap();
    assert_eq!(a.leave().await.unwrap(), vec![bob.clone()], "ann is on b");
    assert!(!b.has_console(&bob).await.unwrap());
    assert!(b.has_console(&ann).await.unwrap());
    // A session ending after the stop publishes nothing and sets nobody away again.
    a.opened(&bob).await.unwrap();
    assert!(!a.closed(&ann).await.unwrap());
    assert!(!b.has_console(&bob).await.unwrap());
    assert_eq!(b.leave().await.unwrap(), vec![ann]);
    assert_eq!(ns.keys().await, Vec::<String>::new(), "nothing left behind");
}

#[tokio::test]
async fn bad_settings_and_an_unreachable_redis_are_errors() {
    let ok = PresenceOptions::default();
    let e = ConsoleRegistry::connect(&redis_url(), "bad namespace", "a", ok)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid", "{e}");
    let e = ConsoleRegistry::connect(&redis_url(), "ns", "a:b", ok)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid", "{e}");
    let too_short = PresenceOptions {
        heartbeat_every: Duration::from_secs(2),
        expire_after: Duration::from_secs(1),
    };
    let e = ConsoleRegistry::connect(&redis_url(), "ns", "a", too_short)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid", "{e}");
    let e = ConsoleRegistry::connect("redis://127.0.0.1:1", "ns", "a", ok)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "backend", "{e}");
}
