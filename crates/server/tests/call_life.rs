//! The life of calls through one real `switchboard serve` process (SQLite, in-process
//! dispatcher), driven the way a PBX and agents drive it: signed hooks over real HTTP and
//! agent consoles over real WebSockets. The full life of a call, an abandon while ringing,
//! duplicate and out-of-order hooks, bad signatures and replays, a console lost mid-offer, a
//! call waiting across a graceful restart.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{
    count, event_log_until, hook, http, login, put, types, unix_now, Hook, Server, ServerOptions,
    Socket, COMPANY, PASSWORD,
};

const SECRET: &str = "pbx-secret-0123456789abcdef";
const SETUP_SECRET: &str = "a-setup-secret-for-e2e-tests";

/// One server with a configured center: queues `support` (an offer rings 60 s, so nothing
/// in these tests is rescued by a timeout) and `billing`; agents a1 and a2 (support) and a3
/// (billing), each with a sign-in; greeting scripts; a disposition; the PBX integration.
struct Center {
    server: Server,
    admin: String,
    /// When the center was set up (ms since the epoch), for report ranges.
    started_ms: i64,
}

async fn center() -> Center {
    // Relative to the process's own scratch directory, removed with it.
    center_on("sqlite://e2e.db").await
}

fn options(database_url: &str) -> ServerOptions {
    ServerOptions {
        database_url: database_url.into(),
        redis: None,
        setup_secret: Some(SETUP_SECRET.into()),
    }
}

async fn center_on(database_url: &str) -> Center {
    let started_ms = unix_now() * 1000;
    let options = options(database_url);
    let server = Server::start("solo", &options).await;
    let at = server.addr;
    let (s, body) = http(
        at,
        "POST",
        "/api/v1/auth/setup",
        None,
        Some(json!({"setup_secret": SETUP_SECRET, "username": "admin", "display_name": "Admin", "password": PASSWORD})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let admin = login(at, "admin").await;
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
        json!({"id": "support", "required_skills": [{"skill": "support"}], "offer_timeout": 60}),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/queues/billing",
        json!({"id": "billing", "required_skills": [{"skill": "billing"}], "offer_timeout": 60}),
    )
    .await;
    for (id, name, number, skill) in [
        ("a1", "Ann Lee", "1001", "support"),
        ("a2", "Bob Ray", "1002", "support"),
        ("a3", "Cleo Diaz", "1003", "billing"),
    ] {
        put(
            at,
            &admin,
            &format!("/api/v1/agents/{id}"),
            json!({"id": id, "display_name": name, "number": number, "skills": {skill: 5}}),
        )
        .await;
        support::create_user(at, &admin, id, "agent").await;
    }
    put(at, &admin, "/api/v1/scripts/support-en", json!({
        "script_id": "support-en", "queue": "support", "language": "en",
        "template": "Hello, {company}, this is {agent_name}, agent {agent_number}. You reached {queue} as a {customer_tier} customer."
    })).await;
    put(
        at,
        &admin,
        "/api/v1/scripts/support-fr",
        json!({
            "script_id": "support-fr", "queue": "support", "language": "fr",
            "template": "Bonjour, {company}, ici {agent_name}."
        }),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/scripts/default-en",
        json!({
            "script_id": "default-en", "language": "en",
            "template": "{company}, {agent_name} speaking."
        }),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/dispositions/solved",
        json!({"code": "solved", "label": "Solved", "resolves": true}),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/dispositions/passed-on",
        json!({"code": "passed-on", "label": "Passed on", "resolves": false}),
    )
    .await;
    put(
        at,
        &admin,
        "/api/v1/integrations/pbx",
        json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET}),
    )
    .await;
    Center {
        server,
        admin,
        started_ms,
    }
}

impl Center {
    /// An agent's console, connected and signed in.
    async fn console(&self, agent: &str) -> Socket {
        let token = login(self.server.addr, agent).await;
        let mut ws = Socket::console(self.server.addr, &token, agent).await;
        ws.expect("hello", |v| v["type"] == "hello").await;
        ws
    }

    /// A signed hook that must be answered 200.
    async fn hook(&self, body: Value) -> Value {
        hook(self.server.addr, "pbx", SECRET, body).await
    }

    /// A call arrives in `queue`; its contact id.
    async fn arrive(&self, event_id: &str, call_id: &str, queue: &str, language: &str) -> Value {
        let answer = self
            .hook(json!({"event_id": event_id, "type": "call.arrived", "call_id": call_id,
                         "queue": queue, "caller": "+15550199", "tier": "silver", "language": language}))
            .await;
        assert_eq!(answer["status"], "ok", "{answer}");
        answer["contact_id"].clone()
    }

    async fn events_of(
        &self,
        contact: &Value,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        event_log_until(
            self.server.addr,
            &self.admin,
            Some(contact.as_str().expect("a contact id")),
            what,
            done,
        )
        .await
    }

    /// The report of one queue from the center's start to a minute from now (no short
    /// abandons: every abandon counts).
    async fn report(&self, queue: &str) -> Value {
        let to = unix_now() * 1000 + 60_000;
        let path = format!(
            "/api/v1/reports?from={}&to={to}&queue={queue}&short_abandon_secs=0",
            self.started_ms - 1000
        );
        let (s, body) = http(self.server.addr, "GET", &path, Some(&self.admin), None).await;
        assert_eq!(s, 200, "{body}");
        body["reports"][0].clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_life_of_a_call() {
    let c = center().await;
    let mut a1 = c.console("a1").await;
    let mut a2 = c.console("a2").await;
    let mut a3 = c.console("a3").await;
    a1.set_presence("available").await;

    // Arrive: the IVR learns the position; the offer rings at a1 with the greeting.
    let arrived = c
        .hook(
            json!({"event_id": "life-1", "type": "call.arrived", "call_id": "life",
                     "queue": "support", "caller": "+15550199", "tier": "silver", "language": "en",
                     "customer": "cust-42", "ivr": {"menu": "2"}}),
        )
        .await;
    assert_eq!(
        (arrived["status"].as_str(), arrived["queue"].as_str()),
        (Some("ok"), Some("support")),
        "{arrived}"
    );
    let contact = arrived["contact_id"].clone();
    let offer = a1.expect_about("offer", &contact).await;
    assert_eq!(
        offer["greeting"].as_str(),
        Some(
            format!(
                "Hello, {COMPANY}, this is Ann Lee, agent 1001. You reached support as a silver customer."
            )
            .as_str()
        ),
        "{offer}"
    );
    assert_eq!(
        (
            offer["channel"].as_str(),
            offer["tier"].as_str(),
            offer["data"]["caller"].as_str(),
            offer["data"]["ivr.menu"].as_str()
        ),
        (Some("voice"), Some("silver"), Some("+15550199"), Some("2")),
        "{offer}"
    );
    assert!(offer["deadline"].as_i64().is_some(), "{offer}");

    // a2 comes free only now, so the first offer was certainly a1's. a1 rejects: re-offered.
    a2.set_presence("available").await;
    a1.ok(json!({"type": "reject", "contact_id": contact}))
        .await;
    let withdrawn = a1.expect_about("offer_withdrawn", &contact).await;
    assert_eq!(withdrawn["reason"], "rejected");
    let offer = a2.expect_about("offer", &contact).await;
    assert_eq!(
        offer["greeting"].as_str(),
        Some(
            format!(
                "Hello, {COMPANY}, this is Bob Ray, agent 1002. You reached support as a silver customer."
            )
            .as_str()
        ),
        "{offer}"
    );

    // Accept, hold, resume.
    a2.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    a2.expect_about("assigned", &contact).await;
    a2.ok(json!({"type": "hold", "contact_id": contact})).await;
    a2.ok(json!({"type": "resume", "contact_id": contact}))
        .await;
    // Not a1's call any more: a1 may not touch it.
    let refused = a1
        .request(json!({"type": "hold", "contact_id": contact}))
        .await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("not_yours")),
        "{refused}"
    );

    // Transfer to billing: a2 goes to wrap-up for their part and finishes it; then a3 comes
    // free and is offered the call, data and all, with the default greeting (billing has no
    // script of its own).
    a2.ok(json!({"type": "transfer", "contact_id": contact, "to": {"kind": "queue", "id": "billing"}}))
        .await;
    let ended = a2.expect_about("ended", &contact).await;
    assert!(ended["wrap_up_until"].as_i64().is_some(), "{ended}");
    a2.ok(json!({"type": "wrap_up", "contact_id": contact, "disposition": "passed-on", "resolved": false}))
        .await;
    a2.expect_about("completed", &contact).await;
    a3.set_presence("available").await;
    let offer = a3.expect_about("offer", &contact).await;
    assert_eq!(
        (
            offer["queue"].as_str(),
            offer["greeting"].as_str(),
            offer["tier"].as_str(),
            offer["data"]["customer"].as_str()
        ),
        (
            Some("billing"),
            Some(format!("{COMPANY}, Cleo Diaz speaking.").as_str()),
            Some("silver"),
            Some("cust-42")
        ),
        "{offer}"
    );
    a3.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    a3.expect_about("assigned", &contact).await;

    // The caller hangs up: the conversation ends, a3 wraps up with a disposition.
    let hung_up = c
        .hook(json!({"event_id": "life-2", "type": "call.ended", "call_id": "life", "cause": "normal"}))
        .await;
    assert_eq!(hung_up["status"], "ok", "{hung_up}");
    a3.expect_about("ended", &contact).await;
    a3.ok(json!({"type": "wrap_up", "contact_id": contact, "disposition": "solved", "resolved": true}))
        .await;
    a3.expect_about("completed", &contact).await;
    // Nobody is left holding anything.
    for queue in ["support", "billing"] {
        let (s, snap) = http(
            c.server.addr,
            "GET",
            &format!("/api/v1/queues/{queue}/snapshot"),
            Some(&c.admin),
            None,
        )
        .await;
        assert_eq!(s, 200, "{snap}");
        assert_eq!(
            (snap["waiting"].as_u64(), snap["offered"].as_u64()),
            (Some(0), Some(0)),
            "{snap}"
        );
        for busy in ["reserved", "busy", "wrap_up"] {
            assert!(snap["agents"][busy].is_null(), "{queue}: {snap}");
        }
    }

    // The event log tells the whole story, in order.
    let events = c
        .events_of(&contact, "a3's completion", |e| {
            count(e, "contact_completed", Some("a3")) == 1
        })
        .await;
    assert_eq!(
        types(&events),
        [
            "contact_queued",
            "contact_offered a1",
            "offer_rejected a1",
            "contact_offered a2",
            "offer_accepted a2",
            "contact_held a2",
            "contact_resumed a2",
            "contact_transferred",
            "contact_ended a2",
            "contact_completed a2",
            "contact_offered a3",
            "offer_accepted a3",
            "contact_ended a3",
            "contact_completed a3",
        ],
        "{events:#?}"
    );
    let transferred = &events[7];
    assert_eq!(
        (
            transferred["from_queue"].as_str(),
            transferred["from_agent"].as_str(),
            &transferred["to"]
        ),
        (
            Some("support"),
            Some("a2"),
            &json!({"kind": "queue", "id": "billing"})
        ),
        "{transferred}"
    );
    assert_eq!(
        events[13]["wrap_up"],
        json!({"disposition": "solved", "resolved": true}),
        "{}",
        events[13]
    );

    // The reports count it: answered in support (after a reject) and in billing.
    let support = c.report("support").await;
    assert_eq!(
        (
            support["offered"].as_u64(),
            support["answered"].as_u64(),
            support["abandoned"].as_u64(),
            support["waiting"].as_u64(),
            support["handle_time"]["count"].as_u64(),
        ),
        (Some(1), Some(1), Some(0), Some(0), Some(1)),
        "{support:#}"
    );
    assert_eq!(
        (
            support["agents"]["a1"]["offered"].as_u64(),
            support["agents"]["a1"]["rejected"].as_u64(),
            support["agents"]["a2"]["offered"].as_u64(),
            support["agents"]["a2"]["accepted"].as_u64(),
        ),
        (Some(1), Some(1), Some(1), Some(1)),
        "{support:#}"
    );
    let billing = c.report("billing").await;
    assert_eq!(
        (
            billing["offered"].as_u64(),
            billing["answered"].as_u64(),
            billing["handle_time"]["count"].as_u64(),
            billing["agents"]["a3"]["accepted"].as_u64(),
            billing["fcr_reported"]["numerator"].as_u64(),
            billing["fcr_reported"]["denominator"].as_u64(),
        ),
        (Some(1), Some(1), Some(1), Some(1), Some(1), Some(1)),
        "{billing:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hanging_up_during_the_offer_frees_the_agent() {
    let c = center().await;
    let mut a1 = c.console("a1").await;
    a1.set_presence("available").await;
    let contact = c.arrive("ab-1", "abandoning", "support", "fr-CA").await;
    let offer = a1.expect_about("offer", &contact).await;
    // The caller's language picks the script: fr-CA gets the queue's French one.
    assert_eq!(
        offer["greeting"].as_str(),
        Some(format!("Bonjour, {COMPANY}, ici Ann Lee.").as_str()),
        "{offer}"
    );
    let answer = c
        .hook(json!({"event_id": "ab-2", "type": "call.ended", "call_id": "abandoning", "cause": "caller_hangup"}))
        .await;
    assert_eq!(answer["status"], "ok", "{answer}");
    let withdrawn = a1.expect_about("offer_withdrawn", &contact).await;
    assert_eq!(withdrawn["reason"], "abandoned", "{withdrawn}");

    // a1 is free at once (no delay for a caller's hang-up): the next call rings there.
    let next = c.arrive("ab-3", "next", "support", "en").await;
    a1.expect_about("offer", &next).await;

    let events = c
        .events_of(&contact, "the abandon", |e| {
            count(e, "contact_abandoned", None) == 1
        })
        .await;
    assert_eq!(
        types(&events),
        [
            "contact_queued",
            "contact_offered a1",
            "offer_withdrawn a1",
            "contact_abandoned"
        ]
    );
    // The report reads the event log, which is written behind the dispatcher.
    c.events_of(&next, "the next call's offer", |e| {
        count(e, "contact_offered", None) == 1
    })
    .await;
    let report = c.report("support").await;
    assert_eq!(
        (
            report["offered"].as_u64(),
            report["abandoned"].as_u64(),
            report["answered"].as_u64(),
            report["agents"]["a1"]["withdrawn"].as_u64()
        ),
        (Some(2), Some(1), Some(0), Some(1)),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_out_of_order_hooks_change_nothing_and_wedge_nobody() {
    let c = center().await;
    let mut a1 = c.console("a1").await;
    a1.set_presence("available").await;

    // A hang-up before its arrival: ignored, and the late arrival is ignored too.
    let early = c
        .hook(json!({"event_id": "o-1", "type": "call.ended", "call_id": "ghost"}))
        .await;
    assert_eq!(
        (early["status"].as_str(), early["reason"].as_str()),
        (Some("ignored"), Some("unknown call")),
        "{early}"
    );
    let late = c
        .hook(json!({"event_id": "o-2", "type": "call.arrived", "call_id": "ghost", "queue": "support"}))
        .await;
    assert_eq!(
        (late["status"].as_str(), late["contact_id"].as_str()),
        (Some("ignored"), None),
        "{late}"
    );

    // The same delivery twice: the same answer, one contact. A retry under a new event id
    // (the PBX lost our answer) is still the same call.
    let delivery =
        json!({"event_id": "d-1", "type": "call.arrived", "call_id": "dup", "queue": "support"});
    let first = c.hook(delivery.clone()).await;
    let again = c.hook(delivery).await;
    assert_eq!(first, again, "a duplicate gets the first answer");
    let contact = first["contact_id"].clone();
    let retry = c
        .hook(json!({"event_id": "d-2", "type": "call.arrived", "call_id": "dup", "queue": "support"}))
        .await;
    assert_eq!(retry["contact_id"], contact, "{retry}");
    a1.expect_about("offer", &contact).await;

    // Answered and hung up, but the PBX delivers the hang-up before the answer: the call
    // ends (a1 wraps up), the late answer and a hold after the end are ignored.
    a1.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    a1.expect_about("assigned", &contact).await;
    let ended = c
        .hook(json!({"event_id": "d-3", "type": "call.ended", "call_id": "dup"}))
        .await;
    assert_eq!(ended["status"], "ok", "{ended}");
    a1.expect_about("ended", &contact).await;
    for late in [
        json!({"event_id": "d-4", "type": "call.answered", "call_id": "dup", "agent": "a1"}),
        json!({"event_id": "d-5", "type": "call.held", "call_id": "dup"}),
    ] {
        let answer = c.hook(late.clone()).await;
        assert_eq!(answer["status"], "ignored", "{late}: {answer}");
    }
    // The same with a ringing call: hang-up first (an abandon), then the answer.
    a1.ok(json!({"type": "wrap_up", "contact_id": contact}))
        .await;
    a1.expect_about("completed", &contact).await;
    let ringing = c.arrive("r-1", "ringing", "support", "en").await;
    a1.expect_about("offer", &ringing).await;
    let ended = c
        .hook(json!({"event_id": "r-2", "type": "call.ended", "call_id": "ringing"}))
        .await;
    assert_eq!(ended["status"], "ok", "{ended}");
    a1.expect_about("offer_withdrawn", &ringing).await;
    let answer = c
        .hook(json!({"event_id": "r-3", "type": "call.answered", "call_id": "ringing", "agent": "a1"}))
        .await;
    assert_eq!(answer["status"], "ignored", "{answer}");

    // Nobody is wedged: the next call rings at a1 and a1 takes it.
    let next = c.arrive("n-1", "next", "support", "en").await;
    a1.expect_about("offer", &next).await;
    a1.ok(json!({"type": "accept", "contact_id": next})).await;
    a1.expect_about("assigned", &next).await;

    // One contact per call, each queued and offered once; the ghost call never entered.
    let all = event_log_until(c.server.addr, &c.admin, None, "the last accept", |e| {
        count(e, "offer_accepted", None) == 2
    })
    .await;
    let listing = types(&all).join("\n");
    assert_eq!(count(&all, "contact_queued", None), 3, "{listing}");
    assert_eq!(count(&all, "contact_offered", None), 3, "{listing}");
    let dup_events = c.events_of(&contact, "the dup call", |_| true).await;
    assert_eq!(
        types(&dup_events),
        [
            "contact_queued",
            "contact_offered a1",
            "offer_accepted a1",
            "contact_ended a1",
            "contact_completed a1"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_replays_are_refused() {
    let c = center().await;
    let at = c.server.addr;
    let body =
        json!({"event_id": "s-1", "type": "call.arrived", "call_id": "signed", "queue": "support"});
    let refused = |answer: (u16, Value), code: &str, case: &str| {
        assert_eq!(
            (answer.0, answer.1["code"].as_str()),
            (401, Some(code)),
            "{case}: {}",
            answer.1
        );
    };

    // Wrong secret; a body changed after signing; an unknown integration; no headers.
    refused(
        Hook::signed("not-the-secret-0123456789", body.clone())
            .post(at, "pbx")
            .await,
        "bad_signature",
        "wrong secret",
    );
    let mut tampered = Hook::signed(SECRET, body.clone());
    tampered.body = tampered.body.replace("support", "billing");
    refused(tampered.post(at, "pbx").await, "bad_signature", "tampered");
    refused(
        Hook::signed(SECRET, body.clone()).post(at, "nope").await,
        "bad_signature",
        "unknown integration",
    );
    let (s, e) = support::http_with(
        at,
        "POST",
        "/api/v1/hooks/pbx",
        None,
        Some(body.to_string()),
        &[],
    )
    .await;
    refused((s, e), "bad_signature", "unsigned");

    // Correctly signed but outside the 5-minute window, either way.
    refused(
        Hook::signed_at(SECRET, body.clone(), unix_now() - 301 - 5)
            .post(at, "pbx")
            .await,
        "stale_request",
        "six minutes old",
    );
    refused(
        Hook::signed_at(SECRET, body.clone(), unix_now() + 600)
            .post(at, "pbx")
            .await,
        "stale_request",
        "from the future",
    );

    // The real delivery, then a replay of it byte for byte within the window: the first
    // answer again and nothing done twice.
    let genuine = Hook::signed(SECRET, body.clone());
    let (s, first) = genuine.post(at, "pbx").await;
    assert_eq!((s, first["status"].as_str()), (200, Some("ok")), "{first}");
    let (s, replayed) = genuine.post(at, "pbx").await;
    assert_eq!((s, &replayed), (200, &first));
    // A captured delivery replayed later under its old timestamp is refused.
    let captured = Hook::signed_at(SECRET, body, unix_now() - 400);
    refused(
        captured.post(at, "pbx").await,
        "stale_request",
        "captured and replayed",
    );

    // Only the genuine delivery made a contact: one waiting call (nobody is logged in), one
    // arrival in the log.
    let (s, snap) = http(
        at,
        "GET",
        "/api/v1/queues/support/snapshot",
        Some(&c.admin),
        None,
    )
    .await;
    assert_eq!((s, snap["waiting"].as_u64()), (200, Some(1)), "{snap}");
    let events = event_log_until(at, &c.admin, None, "the genuine arrival", |e| {
        count(e, "contact_queued", None) >= 1
    })
    .await;
    assert_eq!(
        count(&events, "contact_queued", None),
        1,
        "{}",
        types(&events).join("\n")
    );
    assert_eq!(events[0]["contact"], first["contact_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_lost_during_an_offer_sends_the_call_elsewhere_at_once() {
    let c = center().await;
    let mut a1 = c.console("a1").await;
    let mut a2 = c.console("a2").await;
    a1.set_presence("available").await;
    let contact = c.arrive("lost-1", "lost", "support", "en").await;
    a1.expect_about("offer", &contact).await;
    a2.set_presence("available").await;
    let seen = a1.last_seq;

    // a1's connection drops (no goodbye). The offer rings 60 s, but a2 gets it now.
    let dropped = tokio::time::Instant::now();
    a1.drop_connection();
    a2.expect_about("offer", &contact).await;
    assert!(
        dropped.elapsed() < Duration::from_secs(30),
        "moved at once, not by the offer timeout"
    );
    a2.ok(json!({"type": "accept", "contact_id": contact}))
        .await;

    // a1 is away (disconnected). Resuming shows what happened meanwhile.
    let token = login(c.server.addr, "a1").await;
    let mut back = Socket::connect(
        c.server.addr,
        "/api/v1/agent/ws",
        &token,
        &format!("&resume_from={seen}"),
        "a1-again",
    )
    .await;
    let withdrawn = back.expect_about("offer_withdrawn", &contact).await;
    assert_eq!(withdrawn["reason"], "agent_unavailable", "{withdrawn}");
    let state = back.expect("a1 away", |v| v["type"] == "state").await;
    assert_eq!(
        state["presence"],
        json!({"presence": "away", "reason": "disconnected"}),
        "{state}"
    );
    let events = c
        .events_of(&contact, "a2's accept", |e| {
            count(e, "offer_accepted", None) == 1
        })
        .await;
    assert_eq!(
        types(&events),
        [
            "contact_queued",
            "contact_offered a1",
            "offer_withdrawn a1",
            "contact_offered a2",
            "offer_accepted a2"
        ]
    );
}

/// A call waiting while the server restarts (graceful stop, the dispatcher's state saved and
/// restored) is offered afterwards with its data and its greeting, like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_waiting_across_a_restart_is_offered_in_full() {
    let data = support::TestDatabase::sqlite();
    let url = data.url().to_owned();
    let mut c = center_on(&url).await;
    let contact = c.arrive("restart-1", "patient", "support", "en").await;
    c.server.terminate().await;
    c.server = Server::start("restarted", &options(&url)).await;
    let mut a1 = c.console("a1").await;
    a1.set_presence("available").await;
    let offer = a1.expect_about("offer", &contact).await;
    assert_eq!(
        (
            offer["tier"].as_str(),
            offer["data"]["caller"].as_str(),
            offer["greeting"].as_str()
        ),
        (
            Some("silver"),
            Some("+15550199"),
            Some(
                format!(
                    "Hello, {COMPANY}, this is Ann Lee, agent 1001. You reached support as a silver customer."
                )
                .as_str()
            )
        ),
        "{offer}"
    );
}
