//! Callback in place through every door, end to end over one real `switchboard serve`
//! process (SQLite, in-process dispatcher): calls queued by signed hooks; the callback asked
//! for through the generic hook, the agent console, the supervisor floor and REST; the
//! callback keeping its place ahead of later callers and surviving the PBX's hang-up of the
//! original call; offered to an agent as a `callback` with the number; on accept a signed
//! `call.dial` webhook reaching a PBX receiver on 127.0.0.1; the report counting the promise
//! kept (or, when answered too late, late and broken). Then the refusals.

mod support;

use serde_json::{json, Value};
use support::{
    count, event_log_until, hook, http, login, put, unix_now, PbxReceiver, Server, ServerOptions,
    Socket, PASSWORD, PATIENCE,
};

const SECRET: &str = "pbx-secret-0123456789abcdef";
const SETUP_SECRET: &str = "a-setup-secret-for-e2e-tests";

/// One server: queues `support` and `billing` (offers ring 60 s), agents a1, a2 (support)
/// and a3 (billing) with sign-ins, a supervisor `sup`, and the PBX integration posting its
/// webhooks to `pbx_url`.
struct Center {
    server: Server,
    admin: String,
    started_ms: i64,
}

async fn center(pbx_url: &str) -> Center {
    let started_ms = unix_now() * 1000;
    let server = Server::start(
        "solo",
        &ServerOptions {
            database_url: "sqlite://e2e.db".into(),
            redis: None,
            setup_secret: Some(SETUP_SECRET.into()),
        },
    )
    .await;
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
    for skill in ["support", "billing"] {
        put(
            at,
            &admin,
            &format!("/api/v1/skills/{skill}"),
            json!({"name": skill}),
        )
        .await;
        put(
            at,
            &admin,
            &format!("/api/v1/queues/{skill}"),
            json!({"id": skill, "required_skills": [{"skill": skill}], "offer_timeout": 60}),
        )
        .await;
    }
    for (id, name, number, extension, skill) in [
        ("a1", "Ann Lee", "1001", "201", "support"),
        ("a2", "Bob Ray", "1002", "202", "support"),
        ("a3", "Cleo Diaz", "1003", "203", "billing"),
    ] {
        put(
            at,
            &admin,
            &format!("/api/v1/agents/{id}"),
            json!({"id": id, "display_name": name, "number": number, "extension": extension, "skills": {skill: 5}}),
        )
        .await;
        support::create_user(at, &admin, id, "agent").await;
    }
    support::create_user(at, &admin, "sup", "supervisor").await;
    put(
        at,
        &admin,
        "/api/v1/integrations/pbx",
        json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET, "callback_url": pbx_url}),
    )
    .await;
    Center {
        server,
        admin,
        started_ms,
    }
}

impl Center {
    async fn console(&self, agent: &str) -> Socket {
        let token = login(self.server.addr, agent).await;
        let mut ws = Socket::console(self.server.addr, &token, agent).await;
        ws.expect("hello", |v| v["type"] == "hello").await;
        ws
    }

    async fn floor(&self) -> Socket {
        let token = login(self.server.addr, "sup").await;
        let mut ws = Socket::floor(self.server.addr, &token, "sup").await;
        ws.expect("snapshot", |v| v["type"] == "snapshot").await;
        ws
    }

    async fn hook(&self, body: Value) -> Value {
        hook(self.server.addr, "pbx", SECRET, body).await
    }

    /// A call arrives in `queue` (nobody free: it waits); its contact id.
    async fn arrive(&self, event_id: &str, call_id: &str, queue: &str) -> Value {
        let answer = self
            .hook(
                json!({"event_id": event_id, "type": "call.arrived", "call_id": call_id,
                         "queue": queue, "caller": "+15550199"}),
            )
            .await;
        assert_eq!(answer["status"], "ok", "{answer}");
        answer["contact_id"].clone()
    }

    /// REST: `POST /api/v1/contacts/{contact}/callback` as the admin.
    async fn rest_callback(&self, contact: &str, body: Value) -> (u16, Value) {
        http(
            self.server.addr,
            "POST",
            &format!("/api/v1/contacts/{contact}/callback"),
            Some(&self.admin),
            Some(body),
        )
        .await
    }

    /// A waiting contact's place in line.
    async fn position(&self, contact: &Value) -> u64 {
        let (s, body) = http(
            self.server.addr,
            "GET",
            &format!(
                "/api/v1/contacts/{}/position",
                contact.as_str().expect("an id")
            ),
            Some(&self.admin),
            None,
        )
        .await;
        assert_eq!(s, 200, "{contact} is not waiting: {body}");
        body["position"].as_u64().expect("a position")
    }

    /// Polls the `support` report (read from the event log, written behind the dispatcher)
    /// until its callback figures satisfy `done`; those figures.
    async fn callbacks_until(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.report_until(what, false, done).await
    }

    /// [`Center::callbacks_until`] over a range on 15-minute boundaries (`aligned`), the kind
    /// answered from the interval aggregates and the events since their last roll-up.
    async fn report_until(
        &self,
        what: &str,
        aligned: bool,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        const QUARTER: i64 = 900_000;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (from, to) = if aligned {
                let now = unix_now() * 1000;
                (
                    (self.started_ms - 1000).div_euclid(QUARTER) * QUARTER,
                    (now.div_euclid(QUARTER) + 1) * QUARTER,
                )
            } else {
                (self.started_ms - 1000, unix_now() * 1000 + 60_000)
            };
            let path = format!("/api/v1/reports?from={from}&to={to}&queue=support");
            let (s, body) = http(self.server.addr, "GET", &path, Some(&self.admin), None).await;
            assert_eq!(s, 200, "{body}");
            let callbacks = body["reports"][0]["callbacks"].clone();
            if done(&callbacks) {
                return callbacks;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the report never showed {what}: {callbacks}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    Hook,
    Console,
    Floor,
    Rest,
}

/// The whole story through one door.
async fn callback_through(door: Door) {
    let pbx = PbxReceiver::start().await;
    let c = center(&pbx.url()).await;
    let mut a1 = c.console("a1").await;
    // Two callers wait: nobody is available yet.
    let first = c.arrive("arr-1", "call-1", "support").await;
    let second = c.arrive("arr-2", "call-2", "support").await;
    let first_id = first.as_str().expect("an id").to_owned();
    let due = unix_now() * 1000 + 600_000;
    let number = "+1 (555) 010-0199";

    // The first caller asks to be called back, through the door under test.
    match door {
        Door::Hook => {
            let answer = c
                .hook(
                    json!({"event_id": "cb-1", "type": "call.callback_requested",
                             "call_id": "call-1", "number": number, "due": due}),
                )
                .await;
            assert_eq!(
                (
                    answer["status"].as_str(),
                    answer["number"].as_str(),
                    answer["position"].as_u64(),
                    answer["channel"].as_str()
                ),
                (Some("ok"), Some("+15550100199"), Some(1), Some("callback")),
                "{answer}"
            );
            assert_eq!(answer["contact_id"], first);
            assert_eq!(answer["due"], due);
        }
        Door::Console => {
            a1.ok(json!({"type": "callback_in_place", "contact_id": first, "number": number, "due": due}))
                .await;
        }
        Door::Floor => {
            let mut floor = c.floor().await;
            floor
                .ok(json!({"type": "callback_in_place", "contact_id": first, "number": number, "due": due}))
                .await;
        }
        Door::Rest => {
            let (s, answer) = c
                .rest_callback(&first_id, json!({"number": number, "due": due}))
                .await;
            assert_eq!(s, 200, "{answer}");
            assert_eq!(
                answer,
                json!({"contact_id": first, "queue": "support", "state": "queued",
                       "channel": "callback", "number": "+15550100199", "due": due,
                       "position": 1, "estimated_wait": null})
            );
        }
    }

    // The PBX hangs up the original call (as it does after a callback request, whoever
    // asked): the callback is not abandoned, it keeps its place.
    let ended = c
        .hook(json!({"event_id": "end-1", "type": "call.ended", "call_id": "call-1", "cause": "callback"}))
        .await;
    assert_eq!(ended["status"], "ignored", "{ended}");
    let again = c
        .hook(json!({"event_id": "end-1b", "type": "call.ended", "call_id": "call-1"}))
        .await;
    assert_eq!(again["status"], "ignored", "{again}");

    // A later caller stands behind it; the callback is still first.
    let third = c.arrive("arr-3", "call-3", "support").await;
    assert_eq!(c.position(&first).await, 1);
    assert_eq!(c.position(&second).await, 2);
    assert_eq!(c.position(&third).await, 3);

    // a1 comes free: the callback is offered first, as a callback with the number to dial.
    a1.set_presence("available").await;
    let offer = a1.expect_about("offer", &first).await;
    assert_eq!(offer["channel"], "callback", "{offer}");
    assert_eq!(
        offer["callback"],
        json!({"number": "+15550100199", "due": due}),
        "{offer}"
    );
    assert_eq!(offer["data"]["call_id"], "call-1", "{offer}");
    a1.ok(json!({"type": "accept", "contact_id": first})).await;
    a1.expect_about("assigned", &first).await;

    // The PBX is told to dial, signed like every webhook.
    let dial = pbx.expect("call.dial", |b| b["type"] == "call.dial").await;
    let b = &dial.body;
    assert_eq!(
        (
            b["contact_id"].as_str(),
            b["number"].as_str(),
            b["call_id"].as_str(),
            b["queue"].as_str(),
            b["due"].as_i64()
        ),
        (
            Some(first_id.as_str()),
            Some("+15550100199"),
            Some("call-1"),
            Some("support"),
            Some(due)
        ),
        "{b}"
    );
    assert_eq!(
        b["agent"],
        json!({"id": "a1", "extension": "201", "number": "1001"})
    );
    assert!(
        b.get("deadline").is_none() && b.get("reason").is_none(),
        "{b}"
    );
    assert_eq!(dial.event_id, b["event_id"].as_str().unwrap_or_default());
    let ts: i64 = dial.timestamp.parse().expect("a timestamp header");
    assert_eq!(
        dial.signature,
        switchboard_gateway::hooks::sign(SECRET, ts, dial.raw_body.as_bytes())
    );
    // Nothing rang for the callback: no caller was on the line.
    assert!(
        !pbx.all()
            .iter()
            .any(|r| r.body["contact_id"] == first && r.body["type"] != "call.dial"),
        "{:?}",
        pbx.all().iter().map(|r| &r.body).collect::<Vec<_>>()
    );

    // The conversation ends: through the hook (the PBX reports the dialled call under the
    // call id), or on the console.
    if door == Door::Hook {
        let ended = c
            .hook(json!({"event_id": "end-2", "type": "call.ended", "call_id": "call-1"}))
            .await;
        assert_eq!(ended["status"], "ok", "{ended}");
    } else {
        a1.ok(json!({"type": "end", "contact_id": first})).await;
    }
    a1.expect_about("ended", &first).await;
    a1.ok(json!({"type": "wrap_up", "contact_id": first, "disposition": null, "resolved": true}))
        .await;
    a1.expect_about("completed", &first).await;

    // The promise was kept on time, and the contact was never abandoned.
    let callbacks = c
        .callbacks_until("one promise kept on time", |cb| cb["kept_on_time"] == 1)
        .await;
    assert_eq!(
        (
            &callbacks["requested"],
            &callbacks["kept_late"],
            &callbacks["broken"],
            &callbacks["pending"]
        ),
        (&json!(1), &json!(0), &json!(0), &json!(0)),
        "{callbacks}"
    );
    let events = event_log_until(
        c.server.addr,
        &c.admin,
        Some(&first_id),
        "the callback's completion",
        |e| count(e, "contact_completed", None) == 1,
    )
    .await;
    assert_eq!(count(&events, "callback_requested", None), 1);
    assert_eq!(count(&events, "contact_abandoned", None), 0);
    // A range on 15-minute boundaries (the interval aggregates' kind) counts it the same.
    let aligned = c
        .report_until("the promise in an aligned range", true, |cb| {
            cb["kept_on_time"] == 1
        })
        .await;
    assert_eq!(aligned, callbacks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_hook() {
    callback_through(Door::Hook).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_agent_console() {
    callback_through(Door::Console).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_supervisor_floor() {
    callback_through(Door::Floor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_rest() {
    callback_through(Door::Rest).await;
}

/// A promise answered after its due time counts as broken while it waits past due, then as
/// kept late once answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promise_answered_too_late_is_broken_then_late() {
    let pbx = PbxReceiver::start().await;
    let c = center(&pbx.url()).await;
    let mut a1 = c.console("a1").await;
    let contact = c.arrive("late-1", "late", "support").await;
    let id = contact.as_str().expect("an id").to_owned();
    let due = unix_now() * 1000 + 1_500;
    let (s, answer) = c
        .rest_callback(&id, json!({"number": "0033 1 23 45 67 89", "due": due}))
        .await;
    assert_eq!(s, 200, "{answer}");
    let pending = c
        .callbacks_until("a pending promise", |cb| cb["requested"] == 1)
        .await;
    assert!(
        pending["pending"] == 1 || pending["broken"] == 1,
        "{pending}"
    );
    // Past due and nobody called: broken.
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    let broken = c
        .callbacks_until("a broken promise", |cb| cb["broken"] == 1)
        .await;
    assert_eq!(broken["kept_on_time"], 0, "{broken}");
    assert_eq!(broken["omission_rate"]["value"], 1.0, "{broken}");
    // Answered at last: kept, but late.
    a1.set_presence("available").await;
    a1.expect_about("offer", &contact).await;
    a1.ok(json!({"type": "accept", "contact_id": contact}))
        .await;
    let late = c
        .callbacks_until("a promise kept late", |cb| cb["kept_late"] == 1)
        .await;
    assert_eq!(
        (&late["requested"], &late["broken"], &late["kept_on_time"]),
        (&json!(1), &json!(0), &json!(0)),
        "{late}"
    );
    pbx.expect("call.dial", |b| {
        b["type"] == "call.dial" && b["number"] == "0033123456789"
    })
    .await;
}

/// What cannot become a callback, through each door, with its stable code; and the hook's
/// idempotence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_repeats() {
    let pbx = PbxReceiver::start().await;
    let c = center(&pbx.url()).await;
    let mut a1 = c.console("a1").await;
    let mut a3 = c.console("a3").await;
    let mut floor = c.floor().await;
    let waiting = c.arrive("r-1", "r-call-1", "support").await;
    let waiting_id = waiting.as_str().expect("an id").to_owned();

    // REST: unknown contact, bad numbers and due times, a malformed id.
    let nobody = "0190f0c4-0000-7000-8000-00000000beef";
    let (s, e) = c
        .rest_callback(nobody, json!({"number": "+15550100"}))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (404, Some("unknown_contact")),
        "{e}"
    );
    let now = unix_now() * 1000;
    for (body, field) in [
        (json!({"number": "call me"}), "number"),
        (json!({"number": "12"}), "number"),
        (json!({"number": "+15550100", "due": now - 1_000}), "due"),
        (
            json!({"number": "+15550100", "due": now + 8 * 24 * 3_600_000}),
            "due",
        ),
    ] {
        let (s, e) = c.rest_callback(&waiting_id, body.clone()).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (422, Some("invalid")),
            "{body}: {e}"
        );
        assert_eq!(e["details"]["field"], field, "{body}: {e}");
    }
    let (s, e) = c.rest_callback(&waiting_id, json!({"due": now})).await;
    assert_eq!(s, 422, "a number is required: {e}");
    let (s, e) = c
        .rest_callback("not-a-uuid", json!({"number": "+15550100"}))
        .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_request")), "{e}");
    // An agent may not use the REST route.
    let a1_token = login(c.server.addr, "a1").await;
    let (s, _) = http(
        c.server.addr,
        "POST",
        &format!("/api/v1/contacts/{waiting_id}/callback"),
        Some(&a1_token),
        Some(json!({"number": "+15550100"})),
    )
    .await;
    assert_eq!(s, 403);

    // An e-mail cannot become a callback (nobody waits on it); a waiting chat can.
    let mut created = Vec::new();
    for channel in ["email", "chat"] {
        let (s, body) = http(
            c.server.addr,
            "POST",
            "/api/v1/contacts",
            Some(&c.admin),
            Some(json!({"queue": "billing", "channel": channel})),
        )
        .await;
        assert_eq!(s, 201, "{body}");
        created.push(body["contact_id"].as_str().expect("an id").to_owned());
    }
    let (s, e) = c
        .rest_callback(&created[0], json!({"number": "+15550100"}))
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("wrong_channel")), "{e}");
    let (s, chat) = c
        .rest_callback(&created[1], json!({"number": "+15550100"}))
        .await;
    assert_eq!(
        (s, chat["channel"].as_str()),
        (200, Some("callback")),
        "{chat}"
    );

    // Console: a3 (billing) does not serve support; unknown contacts are refused.
    let refused = a3
        .request(json!({"type": "callback_in_place", "contact_id": waiting, "number": "+15550100"}))
        .await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("not_your_queue")),
        "{refused}"
    );
    let refused = a1
        .request(json!({"type": "callback_in_place", "contact_id": nobody, "number": "+15550100"}))
        .await;
    assert_eq!(refused["code"], "unknown_contact", "{refused}");
    let refused = floor
        .request(json!({"type": "callback_in_place", "contact_id": waiting, "number": "x"}))
        .await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("invalid")),
        "{refused}"
    );

    // Hook: an unknown call is ignored (200), a bad number is a 422.
    let ignored = c
        .hook(json!({"event_id": "r-2", "type": "call.callback_requested", "call_id": "nope", "number": "+15550100"}))
        .await;
    assert_eq!(ignored["status"], "ignored", "{ignored}");
    let bad = support::Hook::signed(
        SECRET,
        json!({"event_id": "r-3", "type": "call.callback_requested", "call_id": "r-call-1", "number": "??"}),
    )
    .post(c.server.addr, "pbx")
    .await;
    assert_eq!(
        (bad.0, bad.1["code"].as_str()),
        (422, Some("invalid")),
        "{bad:?}"
    );

    // The request, delivered twice with the same event id: the same answer, one callback.
    let request = json!({"event_id": "r-4", "type": "call.callback_requested",
                         "call_id": "r-call-1", "number": "+15550100"});
    let once = c.hook(request.clone()).await;
    let twice = c.hook(request).await;
    assert_eq!(once["status"], "ok", "{once}");
    assert_eq!(once, twice, "a repeated delivery gets the first answer");
    // Asked again under another event id: still one callback, in its place.
    let again = c
        .hook(json!({"event_id": "r-5", "type": "call.callback_requested",
                     "call_id": "r-call-1", "number": "+15550111"}))
        .await;
    assert_eq!(
        (
            again["status"].as_str(),
            again["already_requested"].as_bool()
        ),
        (Some("ok"), Some(true)),
        "{again}"
    );
    assert_eq!(again["position"], 1, "{again}");
    let (s, e) = c
        .rest_callback(&waiting_id, json!({"number": "+15550100"}))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("already_callback")),
        "{e}"
    );
    // The PBX hangs up the original call: still waiting.
    let ended = c
        .hook(json!({"event_id": "r-6", "type": "call.ended", "call_id": "r-call-1"}))
        .await;
    assert_eq!(ended["status"], "ignored", "{ended}");
    assert_eq!(c.position(&waiting).await, 1);

    // The same over the Zammad CTI format: a callback asked for by REST survives `hangup`.
    put(
        c.server.addr,
        &c.admin,
        "/api/v1/integrations/cti",
        json!({"integration_id": "cti", "kind": "zammad_cti", "secret": "cti-token-0123456789abcdef"}),
    )
    .await;
    let cti = |body: Value| {
        let addr = c.server.addr;
        async move {
            let (s, answer) = http(
                addr,
                "POST",
                "/api/v1/cti/cti-token-0123456789abcdef",
                None,
                Some(body),
            )
            .await;
            assert_eq!((s, &answer), (200, &json!({})), "CTI");
        }
    };
    cti(json!({"event": "newCall", "callId": "cti-1", "queue": "billing", "direction": "in", "from": "+15550123"})).await;
    let events = event_log_until(c.server.addr, &c.admin, None, "the CTI call queued", |e| {
        e.iter()
            .any(|e| e["type"] == "contact_queued" && e["attributes"]["call_id"] == "cti-1")
    })
    .await;
    let cti_contact = events
        .iter()
        .find(|e| e["type"] == "contact_queued" && e["attributes"]["call_id"] == "cti-1")
        .map(|e| e["contact"].clone())
        .expect("the CTI call's contact");
    let (s, answer) = c
        .rest_callback(
            cti_contact.as_str().expect("an id"),
            json!({"number": "+15550123"}),
        )
        .await;
    assert_eq!(s, 200, "{answer}");
    cti(
        json!({"event": "hangup", "callId": "cti-1", "cause": "normalClearing", "direction": "in"}),
    )
    .await;
    // Still waiting in billing, behind the e-mail and the chat that came first.
    assert_eq!(c.position(&cti_contact).await, 3);

    // The callback is answered; a second call waits meanwhile.
    a1.set_presence("available").await;
    a1.expect_about("offer", &waiting).await;
    let second = c.arrive("r-7", "r-call-2", "support").await;
    a1.ok(json!({"type": "accept", "contact_id": waiting}))
        .await;
    a1.expect_about("assigned", &waiting).await;
    let (s, e) = c
        .rest_callback(&waiting_id, json!({"number": "+15550100"}))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("already_callback")),
        "{e}"
    );
    // A plain call ringing at an agent, then being handled: not_waiting.
    let mut a2 = c.console("a2").await;
    a2.set_presence("available").await;
    a2.expect_about("offer", &second).await;
    let ringing = a2
        .request(json!({"type": "callback_in_place", "contact_id": second, "number": "+15550100"}))
        .await;
    assert_eq!(ringing["code"], "not_waiting", "{ringing}");
    a2.ok(json!({"type": "accept", "contact_id": second})).await;
    let (s, e) = c
        .rest_callback(
            second.as_str().expect("an id"),
            json!({"number": "+15550100"}),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("not_waiting")), "{e}");
    // A plain call's hang-up still ends it (nothing changed for calls).
    let ended = c
        .hook(json!({"event_id": "r-8", "type": "call.ended", "call_id": "r-call-2"}))
        .await;
    assert_eq!(ended["status"], "ok", "{ended}");
    a2.expect_about("ended", &second).await;

    // One callback in the log for all those requests, and no abandon.
    let events = event_log_until(
        c.server.addr,
        &c.admin,
        Some(&waiting_id),
        "the callback's accept",
        |e| count(e, "offer_accepted", None) == 1,
    )
    .await;
    assert_eq!(count(&events, "callback_requested", None), 1);
    assert_eq!(count(&events, "contact_abandoned", None), 0);
}
