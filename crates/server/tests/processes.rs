//! Two real `switchboard serve` processes over one PostgreSQL database and one Redis
//! namespace: a hook received by one instance rings the agent console held by the other, a
//! supervisor on either sees the whole floor, and killing either instance with SIGKILL in the
//! middle of an offer loses no call and assigns none twice. Also: a hook retried through the
//! other instance is one call; an instance started while a call waits offers it in full.

mod support;

use serde_json::{json, Value};
use support::{
    count, create_admin, create_user, event_log_until, hook, login, put, types, RedisNamespace,
    Server, ServerOptions, Socket, TestDatabase, COMPANY,
};

const SECRET: &str = "pbx-secret-0123456789abcdef";

/// The shared resources of a two-instance test. Field order is drop order: processes first,
/// then the database and the Redis namespace they used.
struct Pair {
    a: Server,
    b: Server,
    admin: String,
    options: ServerOptions,
    _db: TestDatabase,
    _redis: RedisNamespace,
}

/// A fresh database and namespace, the admin created with the CLI, two instances started,
/// and a center configured over HTTP on instance A: queues `support` (with `offer_timeout`
/// seconds to answer) and `billing`, agents ann and bob, a supervisor, a greeting script and
/// the PBX integration.
async fn pair(offer_timeout: u64) -> Pair {
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
    let (s, ready) = support::http(b.addr, "GET", "/readyz", None, None).await;
    assert_eq!(
        (
            s,
            ready["database"]["kind"].as_str(),
            ready["dispatcher"]["kind"].as_str()
        ),
        (200, Some("postgres"), Some("redis")),
        "{ready}"
    );
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
        "/api/v1/skills/billing",
        json!({"name": "billing"}),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/queues/support",
        json!({"id": "support", "required_skills": [{"skill": "support"}], "offer_timeout": offer_timeout}),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/queues/billing",
        json!({"id": "billing", "required_skills": [{"skill": "billing"}]}),
    )
    .await;
    for (id, name, number) in [("ann", "Ann Lee", "1001"), ("bob", "Bob Ray", "1002")] {
        put(
            at,
            &admin,
            &format!("/api/v1/agents/{id}"),
            json!({"id": id, "display_name": name, "number": number, "skills": {"support": 5}}),
        )
        .await;
        create_user(at, &admin, id, "agent").await;
    }
    create_user(at, &admin, "sue", "supervisor").await;
    put(at, &admin, "/api/v1/scripts/support-en", json!({
        "script_id": "support-en", "queue": "support", "language": "en",
        "template": "Thank you for calling {company}, this is {agent_name}, agent {agent_number}. You are a {customer_tier} customer in {queue}."
    })).await;
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
        options,
        _db: db,
        _redis: redis,
    }
}

fn greeting(agent_name: &str, number: &str) -> String {
    format!(
        "Thank you for calling {COMPANY}, this is {agent_name}, agent {number}. You are a gold customer in support."
    )
}

/// An agent console, signed in and connected on `server`.
async fn console(server: &Server, agent: &str) -> Socket {
    let token = login(server.addr, agent).await;
    let mut ws = Socket::console(server.addr, &token, &format!("{agent}@{}", server.name)).await;
    let hello = ws.expect("hello", |v| v["type"] == "hello").await;
    assert_eq!(hello["agent"], agent, "{hello}");
    ws
}

/// A call arrives through instance `to`'s hook endpoint; its contact id.
async fn call_arrives(to: &Server, event_id: &str, call_id: &str) -> Value {
    let arrived = hook(
        to.addr,
        "pbx",
        SECRET,
        json!({"event_id": event_id, "type": "call.arrived", "call_id": call_id, "queue": "support",
               "caller": "+15550100", "tier": "gold", "language": "en"}),
    )
    .await;
    assert_eq!(arrived["status"], "ok", "{arrived}");
    arrived["contact_id"].clone()
}

/// Exactly one arrival, one accepted offer (by `agent`) and no second contact for `contact`.
fn assert_served_once(events: &[Value], agent: &str) {
    let listing = types(events).join("\n");
    assert_eq!(
        count(events, "contact_queued", None),
        1,
        "queued once:\n{listing}"
    );
    assert_eq!(
        count(events, "offer_accepted", None),
        1,
        "assigned exactly once:\n{listing}"
    );
    assert_eq!(
        count(events, "offer_accepted", Some(agent)),
        1,
        "assigned to {agent}:\n{listing}"
    );
    assert_eq!(
        count(events, "contact_abandoned", None) + count(events, "contact_exited", None),
        0,
        "not lost:\n{listing}"
    );
}

/// A hook on A rings ann's console on B with the rendered greeting; the supervisor on A sees
/// what happens on B; A is killed while the offer rings and ann accepts through B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_on_one_instance_rings_the_other_and_killing_the_receiver_loses_nothing() {
    let mut p = pair(15).await;
    let sue = login(p.a.addr, "sue").await;
    let mut floor = Socket::floor(p.a.addr, &sue, "sue@A").await;
    let snapshot = floor.expect("snapshot", |v| v["type"] == "snapshot").await;
    for queue in ["support", "billing"] {
        assert!(
            snapshot["queues"][queue].is_object(),
            "the floor shows every queue: {snapshot}"
        );
    }
    assert_eq!(
        snapshot["agents"]["ann"]["status"]["state"], "offline",
        "{snapshot}"
    );

    // Ann logs in on B; the supervisor on A sees it.
    let mut ann = console(&p.b, "ann").await;
    ann.set_presence("available").await;
    floor
        .expect("ann available on the floor", |v| {
            v["agents"]["ann"]["status"]["state"] == "available"
        })
        .await;

    // The PBX posts the call to A; the offer rings at ann's console on B.
    let contact = call_arrives(&p.a, "arrive-1", "call-1").await;
    let offer = ann.expect_about("offer", &contact).await;
    assert_eq!(
        (
            offer["queue"].as_str(),
            offer["channel"].as_str(),
            offer["tier"].as_str(),
            offer["data"]["caller"].as_str()
        ),
        (
            Some("support"),
            Some("voice"),
            Some("gold"),
            Some("+15550100")
        ),
        "{offer}"
    );
    assert_eq!(
        offer["greeting"].as_str(),
        Some(greeting("Ann Lee", "1001").as_str()),
        "the greeting, word for word: {offer}"
    );
    // The queue's and the agent's change may come in one delta or in two.
    let (mut ringing, mut reserved) = (false, false);
    while !(ringing && reserved) {
        let v = floor
            .expect("the call ringing at ann on the floor", |v| {
                v["queues"]["support"]["offered_now"] == 1
                    || v["agents"]["ann"]["status"]["state"] == "reserved"
            })
            .await;
        ringing |= v["queues"]["support"]["offered_now"] == 1;
        reserved |= v["agents"]["ann"]["status"]["state"] == "reserved";
    }

    // A dies while the offer rings on B. Nothing was only on A: ann accepts through B.
    drop(floor);
    p.a.kill();
    ann.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    ann.expect_about("assigned", &contact).await;

    // B's event log (B computes and writes every event, A's included): served exactly once.
    // The admin signed in on A; no sticky sessions: the token works on B.
    let admin_on_b = p.admin.clone();
    let contact_id = contact.as_str().unwrap();
    let events = event_log_until(p.b.addr, &admin_on_b, Some(contact_id), "the accept", |e| {
        count(e, "offer_accepted", None) > 0
    })
    .await;
    assert_served_once(&events, "ann");
    assert_eq!(count(&events, "contact_offered", Some("ann")), 1);
    let (s, snap) = support::http(
        p.b.addr,
        "GET",
        "/api/v1/queues/support/snapshot",
        Some(&admin_on_b),
        None,
    )
    .await;
    assert_eq!(
        (
            s,
            snap["waiting"].as_u64(),
            snap["offered"].as_u64(),
            snap["agents"]["busy"].as_u64()
        ),
        (200, Some(0), Some(0), Some(1)),
        "{snap}"
    );
    // A supervisor on B sees the same floor, today's figures included.
    let sue = login(p.b.addr, "sue").await;
    let mut floor = Socket::floor(p.b.addr, &sue, "sue@B").await;
    let seen = floor
        .expect("today's answered call on B's floor", |v| {
            v["queues"]["support"]["today"]["answered"] == 1
        })
        .await;
    assert_eq!(seen["queues"]["support"]["today"]["offered"], 1, "{seen}");
    assert!(p.b.is_running(), "B survived: {}", p.b.log_text());
}

/// B holds the console the call rings at and is killed: the offer times out on A (the
/// survivor runs the timers), the call is re-offered to bob on A and bob takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_instance_holding_the_ringing_console_loses_nothing() {
    let mut p = pair(3).await;
    let mut ann = console(&p.b, "ann").await;
    ann.set_presence("available").await;
    let mut bob = console(&p.a, "bob").await;

    let contact = call_arrives(&p.a, "arrive-2", "call-2").await;
    let offer = ann.expect_about("offer", &contact).await;
    assert_eq!(
        offer["greeting"].as_str(),
        Some(greeting("Ann Lee", "1001").as_str()),
        "{offer}"
    );
    // Bob becomes free only now, so the first offer was certainly ann's.
    bob.set_presence("available").await;

    // B dies with the offer ringing on its socket: no disconnect is handled. A sets ann away
    // only once B's heartbeat has expired (6 s); before that, the offer's 3 s deadline, fired
    // by A, saves the call.
    p.b.kill();
    drop(ann);
    let reoffer = bob.expect_about("offer", &contact).await;
    assert_eq!(
        reoffer["greeting"].as_str(),
        Some(greeting("Bob Ray", "1002").as_str()),
        "{reoffer}"
    );
    bob.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    bob.expect_about("assigned", &contact).await;

    let contact_id = contact.as_str().unwrap();
    let events = event_log_until(p.a.addr, &p.admin, Some(contact_id), "bob's accept", |e| {
        count(e, "offer_accepted", None) > 0
    })
    .await;
    assert_served_once(&events, "bob");
    let listing = types(&events).join("\n");
    assert_eq!(
        count(&events, "offer_timed_out", Some("ann")),
        1,
        "ann's offer expired:\n{listing}"
    );
    assert_eq!(
        count(&events, "offer_withdrawn", None),
        0,
        "the deadline saved the call, not a disconnect:\n{listing}"
    );
    assert_eq!(
        (
            count(&events, "contact_offered", Some("ann")),
            count(&events, "contact_offered", Some("bob"))
        ),
        (1, 1),
        "{listing}"
    );
    // The whole log agrees: one contact in the center, queued and assigned once.
    let all = support::event_log(p.a.addr, &p.admin, None).await;
    assert_eq!(
        count(&all, "contact_queued", None),
        1,
        "{}",
        types(&all).join("\n")
    );
    assert_eq!(
        count(&all, "offer_accepted", None),
        1,
        "{}",
        types(&all).join("\n")
    );
    assert!(p.a.is_running(), "A survived: {}", p.a.log_text());
}

/// An instance started while a call waits (a rolling restart) offers that call with its data
/// and the greeting filled in, like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_later_offers_a_call_queued_before_it_in_full() {
    let mut p = pair(15).await;
    // Only A runs when the call arrives; nobody is logged in, so it waits.
    p.b.kill();
    let contact = call_arrives(&p.a, "before-b", "call-4").await;
    let options = p.options.clone();
    let b = Server::start("B2", &options).await;
    let mut ann = console(&b, "ann").await;
    ann.set_presence("available").await;
    let offer = ann.expect_about("offer", &contact).await;
    assert_eq!(
        (
            offer["tier"].as_str(),
            offer["data"]["caller"].as_str(),
            offer["greeting"].as_str()
        ),
        (
            Some("gold"),
            Some("+15550100"),
            Some(greeting("Ann Lee", "1001").as_str())
        ),
        "{offer}"
    );
}

/// A PBX that got no answer in time retries through the other instance, even while the
/// first delivery is still being handled: one call, one contact, the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_retried_through_the_other_instance_is_one_call() {
    let p = pair(15).await;
    let delivery = json!({"event_id": "race-1", "type": "call.arrived", "call_id": "call-6", "queue": "support"});
    let (on_a, on_b) = tokio::join!(
        hook(p.a.addr, "pbx", SECRET, delivery.clone()),
        hook(p.b.addr, "pbx", SECRET, delivery)
    );
    let contact = on_a["contact_id"].clone();
    assert!(contact.is_string(), "{on_a}");
    assert_eq!(on_b["contact_id"], contact, "{on_a} {on_b}");
    // The same call under a new event id (the PBX's own retry logic) on either instance.
    for (server, event_id) in [(&p.b, "race-2"), (&p.a, "race-3")] {
        let again = hook(
            server.addr,
            "pbx",
            SECRET,
            json!({"event_id": event_id, "type": "call.arrived", "call_id": "call-6", "queue": "support"}),
        )
        .await;
        assert_eq!(again["contact_id"], contact, "{again}");
    }
    for server in [&p.a, &p.b] {
        let (s, snap) = support::http(
            server.addr,
            "GET",
            "/api/v1/queues/support/snapshot",
            Some(&p.admin),
            None,
        )
        .await;
        assert_eq!(
            (s, snap["waiting"].as_u64()),
            (200, Some(1)),
            "{}: {snap}",
            server.name
        );
    }
    let events = event_log_until(p.b.addr, &p.admin, None, "the arrival", |e| {
        count(e, "contact_queued", None) > 0
    })
    .await;
    assert_eq!(
        count(&events, "contact_queued", None),
        1,
        "{}",
        types(&events).join("\n")
    );
}
