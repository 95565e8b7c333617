//! Agent presence across instances, over two real `switchboard serve` processes sharing one
//! PostgreSQL database and one Redis namespace: an agent with consoles on both instances stays
//! available when one closes, and the agents of an instance killed with SIGKILL are set away
//! (`disconnected`) by the survivor within seconds, so their ringing calls move at once
//! instead of waiting for the offer timeout.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{
    count, create_admin, create_user, event_log_until, hook, login, put, types, RedisNamespace,
    Server, ServerOptions, Socket, TestDatabase,
};

const SECRET: &str = "pbx-secret-0123456789abcdef";

/// Long enough that no call in these tests is rescued by its offer timing out.
const OFFER_TIMEOUT_SECS: u64 = 60;

/// Two instances over one database and namespace (field order is drop order: processes
/// first), with queue `support` (offers ring 60 s), agents ann and bob, and the PBX
/// integration, configured on A.
struct Pair {
    a: Server,
    b: Server,
    admin: String,
    _db: TestDatabase,
    _redis: RedisNamespace,
}

async fn pair() -> Pair {
    let db = TestDatabase::postgres().await;
    let redis = RedisNamespace::create().await;
    let options = ServerOptions {
        database_url: db.url().to_owned(),
        redis: Some((redis.url().to_owned(), redis.name().to_owned())),
        setup_secret: None,
    };
    create_admin(&options, "admin");
    let a = Server::start("A", &options).await;
    let b = Server::start("B", &options).await;
    let admin = login(a.addr, "admin").await;
    let at = a.addr;
    put(
        at,
        &admin,
        "/api/v1/skills/support",
        json!({"name": "support"}),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/queues/support",
        json!({"id": "support", "required_skills": [{"skill": "support"}], "offer_timeout": OFFER_TIMEOUT_SECS}),
    )
    .await;
    for (id, number) in [("ann", "1001"), ("bob", "1002")] {
        put(
            at,
            &admin,
            &format!("/api/v1/agents/{id}"),
            json!({"id": id, "display_name": id, "number": number, "skills": {"support": 5}}),
        )
        .await;
        create_user(at, &admin, id, "agent").await;
    }
    put(
        at,
        &admin,
        "/api/v1/integrations/pbx",
        json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET}),
    )
    .await;
    Pair {
        a,
        b,
        admin,
        _db: db,
        _redis: redis,
    }
}

/// An agent console, signed in and connected on `server`.
async fn console(server: &Server, agent: &str) -> Socket {
    let token = login(server.addr, agent).await;
    let mut ws = Socket::console(server.addr, &token, &format!("{agent}@{}", server.name)).await;
    ws.expect("hello", |v| v["type"] == "hello").await;
    ws
}

/// A call arrives through `to`'s hook endpoint; its contact id.
async fn call_arrives(to: &Server, call_id: &str) -> Value {
    let arrived = hook(
        to.addr,
        "pbx",
        SECRET,
        json!({"event_id": format!("arrive-{call_id}"), "type": "call.arrived", "call_id": call_id, "queue": "support"}),
    )
    .await;
    assert_eq!(arrived["status"], "ok", "{arrived}");
    arrived["contact_id"].clone()
}

/// The presence changes of `agent` in an event log, in order.
fn presences(events: &[Value], agent: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == "agent_presence_changed" && e["agent"] == agent)
        .map(|e| e["presence"].clone())
        .collect()
}

/// Ann has a console on A and one on B; the one on B is lost. She stays available: the next
/// call rings on A. When her console on A closes too, she is away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_one_of_two_consoles_on_two_instances_keeps_the_agent_available() {
    let p = pair().await;
    let mut on_a = console(&p.a, "ann").await;
    let mut on_b = console(&p.b, "ann").await;
    on_a.set_presence("available").await;
    on_b.expect("state available on B", |v| {
        v["type"] == "state" && v["presence"]["presence"] == "available"
    })
    .await;

    // The console on B goes (no goodbye). B handles the close at once; give it time to.
    on_b.drop_connection();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A call posted to B rings at ann's console on A.
    let contact = call_arrives(&p.b, "call-a1").await;
    on_a.expect_about("offer", &contact).await;
    on_a.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    on_a.expect_about("assigned", &contact).await;

    let all = event_log_until(p.a.addr, &p.admin, None, "ann's accept", |e| {
        count(e, "offer_accepted", Some("ann")) == 1
    })
    .await;
    assert_eq!(
        presences(&all, "ann"),
        [json!({"presence": "available"})],
        "ann was never set away:\n{}",
        types(&all).join("\n")
    );
    assert_eq!(
        count(&all, "offer_withdrawn", None),
        0,
        "{}",
        types(&all).join("\n")
    );

    // Her last console (on A) goes: now she is away, whichever instance one asks.
    on_a.drop_connection();
    let all = event_log_until(p.b.addr, &p.admin, None, "ann away", |e| {
        presences(e, "ann").len() == 2
    })
    .await;
    assert_eq!(
        presences(&all, "ann")[1],
        json!({"presence": "away", "reason": "disconnected"}),
        "{}",
        types(&all).join("\n")
    );
}

/// The instance holding ann's only console is killed while a call rings at her: within
/// seconds the survivor sets her away, the offer is withdrawn and the call rings at bob on
/// the survivor — long before its 60 s offer timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_instance_holding_a_ringing_console_moves_the_call_within_seconds() {
    let mut p = pair().await;
    let mut ann = console(&p.b, "ann").await;
    ann.set_presence("available").await;
    let mut bob = console(&p.a, "bob").await;
    let contact = call_arrives(&p.a, "call-b1").await;
    ann.expect_about("offer", &contact).await;
    // Bob becomes free only now, so the first offer was certainly ann's.
    bob.set_presence("available").await;

    p.b.kill();
    let killed = tokio::time::Instant::now();
    drop(ann);
    bob.expect_about("offer", &contact).await;
    let moved_after = killed.elapsed();
    eprintln!("the call moved to bob {moved_after:?} after the kill");
    // Heartbeats live 6 s and survivors sweep every 2 s: about 8 s at worst, plus slack for
    // a loaded machine — and far from the 60 s offer timeout.
    assert!(
        moved_after < Duration::from_secs(12),
        "the call moved {moved_after:?} after the kill"
    );
    bob.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    bob.expect_about("assigned", &contact).await;

    let contact_id = contact.as_str().unwrap();
    let events = event_log_until(p.a.addr, &p.admin, Some(contact_id), "bob's accept", |e| {
        count(e, "offer_accepted", Some("bob")) == 1
    })
    .await;
    let listing = types(&events).join("\n");
    assert_eq!(
        types(&events),
        [
            "contact_queued",
            "contact_offered ann",
            "offer_withdrawn ann",
            "contact_offered bob",
            "offer_accepted bob"
        ],
        "withdrawn from ann, not timed out:\n{listing}"
    );
    let withdrawn = &events[2];
    assert_eq!(withdrawn["reason"], "agent_unavailable", "{withdrawn}");
    let all = support::event_log(p.a.addr, &p.admin, None).await;
    assert_eq!(
        presences(&all, "ann"),
        [
            json!({"presence": "available"}),
            json!({"presence": "away", "reason": "disconnected"})
        ],
        "{}",
        types(&all).join("\n")
    );
    assert!(p.a.is_running(), "A survived: {}", p.a.log_text());
}

/// The instance holding ann's console stops cleanly (SIGTERM) while a call rings at her: it
/// sets her away on its way out, so the call rings at bob on the other instance at once —
/// no heartbeat has to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_sets_its_agents_away_on_the_way_out() {
    let mut p = pair().await;
    let mut ann = console(&p.b, "ann").await;
    ann.set_presence("available").await;
    let mut bob = console(&p.a, "bob").await;
    let contact = call_arrives(&p.a, "call-c1").await;
    ann.expect_about("offer", &contact).await;
    bob.set_presence("available").await;

    let stopping = tokio::time::Instant::now();
    p.b.terminate().await;
    bob.expect_about("offer", &contact).await;
    let moved_after = stopping.elapsed();
    eprintln!("the call moved to bob {moved_after:?} after SIGTERM");
    let contact_id = contact.as_str().unwrap();
    let events = event_log_until(p.a.addr, &p.admin, Some(contact_id), "bob's offer", |e| {
        count(e, "contact_offered", Some("bob")) == 1
    })
    .await;
    assert_eq!(
        types(&events),
        [
            "contact_queued",
            "contact_offered ann",
            "offer_withdrawn ann",
            "contact_offered bob"
        ],
        "withdrawn from ann as B stopped"
    );
    drop(ann);
}
