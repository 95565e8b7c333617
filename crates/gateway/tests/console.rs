//! The agent console over a real WebSocket (tokio-tungstenite against a server on port 0).

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard_app::{App, Settings as AppSettings};
use switchboard_dispatch::{AnyBackend, MemoryBackend, SystemClock};
use switchboard_gateway::{
    auth::{hash_password, token_hash},
    router, AppState, PasswordHashing, Settings,
};
use switchboard_protocol::{
    console::Frame as ConsoleFrame, floor::Frame as FloorFrame, Stamped, VERSION,
};
use switchboard_store::{NewUser, Role, Store};
use switchboard_test_support::database::TestDatabase;
use tokio::net::TcpStream;
use tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Center {
    dispatcher: Arc<AnyBackend>,
    addr: std::net::SocketAddr,
    agent_token: String,
    admin_token: String,
    _db: TestDatabase,
}

async fn session(store: &Store, username: &str, role: Role, agent: Option<&str>) -> String {
    let cheap = PasswordHashing {
        memory_kib: 256,
        iterations: 1,
    };
    let user = store
        .create_user(&NewUser {
            username: username.into(),
            display_name: username.into(),
            role,
            password_hash: hash_password("irrelevant password".into(), cheap)
                .await
                .unwrap(),
            agent_id: agent.map(|a| switchboard_domain::AgentId::parse(a).unwrap()),
        })
        .await
        .unwrap();
    let token = format!("token-{}", uuid::Uuid::new_v4().simple());
    store
        .create_session(
            &token_hash(&token),
            user.user_id,
            switchboard_domain::Timestamp::from_millis(0),
            switchboard_domain::Timestamp::from_millis(i64::MAX / 2),
        )
        .await
        .unwrap();
    token
}

async fn center() -> Center {
    center_after(&[]).await
}

/// A center whose event log already holds `earlier` (as if other instances, or this one
/// before a restart, had handled them) when its tasks start.
async fn center_after(earlier: &[switchboard_domain::Event]) -> Center {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    store.append_events(earlier).await.unwrap();
    let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
    let app = App::new(
        store.clone(),
        dispatcher.clone(),
        Arc::new(SystemClock),
        AppSettings::default(),
    );
    let state = AppState::new(app, Settings::default());
    tokio::spawn(state.app.follow_events());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let agent_token = session(&store, "ann", Role::Agent, Some("ann")).await;
    let admin_token = session(&store, "boss", Role::Admin, None).await;
    Center {
        dispatcher,
        addr,
        agent_token,
        admin_token,
        _db: db,
    }
}

impl Center {
    async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let body = body.to_string();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n{body}",
            self.admin_token,
            body.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, req.as_bytes())
            .await
            .unwrap();
        let mut raw = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut raw)
            .await
            .unwrap();
        assert!(raw.starts_with("HTTP/1.1 2"), "{method} {path}: {raw}");
        let payload = raw.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(payload).unwrap_or(Value::Null)
    }

    async fn connect(&self, query: &str) -> Ws {
        let url = format!(
            "ws://{}/api/v1/agent/ws?token={}{query}",
            self.addr, self.agent_token
        );
        connect_async(url).await.expect("the console connects").0
    }
}

/// The next message matching `pred`, skipping others; fails after 5 s.
async fn expect(ws: &mut Ws, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    expect_within(ws, what, 5, pred).await
}

async fn expect_within(ws: &mut Ws, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            let msg = ws
                .next()
                .await
                .expect("the socket stays open")
                .expect("a frame");
            if let Message::Text(text) = msg {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["v"], VERSION, "versioned: {v}");
                // Every frame either socket sends is one of the protocol's.
                let typed = serde_json::from_str::<Stamped<ConsoleFrame>>(&text).is_ok()
                    || serde_json::from_str::<Stamped<FloorFrame>>(&text).is_ok();
                assert!(typed, "not a protocol frame: {text}");
                if pred(&v) {
                    return v;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {secs} s"))
}

fn of_type(t: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["type"] == t
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_a_call_from_offer_to_wrap_up() {
    let c = center().await;
    c.admin(
        "PUT",
        "/api/v1/queues/sales",
        json!({"id": "sales", "wrap_up": 30}),
    )
    .await;
    c.admin(
        "PUT",
        "/api/v1/agents/ann",
        json!({"id": "ann", "display_name": "Ann Lee", "number": "1001"}),
    )
    .await;
    c.admin("PUT", "/api/v1/scripts/default-en", json!({"script_id": "default-en", "language": "en",
        "template": "Hello, {company}, this is {agent_name}, agent {agent_number}. How can I help you, {customer_name}?"})).await;
    c.admin(
        "PUT",
        "/api/v1/dispositions/resolved",
        json!({"code": "resolved", "label": "Resolved", "resolves": true}),
    )
    .await;
    let mut ws = c.connect("").await;
    let hello = expect(&mut ws, "hello", of_type("hello")).await;
    assert_eq!(
        (
            hello["display_name"].as_str(),
            hello["status"]["state"].as_str()
        ),
        (Some("Ann Lee"), Some("offline")),
        "{hello}"
    );

    send(
        &mut ws,
        json!({"type": "set_state", "id": 1, "presence": {"presence": "available"}}),
    )
    .await;
    // The answer to the command and the event it caused come in either order.
    let (mut acked, mut stated) = (false, false);
    while !(acked && stated) {
        let v = expect(&mut ws, "ack and state", |v| {
            (v["type"] == "ack" && v["in_reply_to"] == 1) || v["type"] == "state"
        })
        .await;
        acked |= v["type"] == "ack";
        stated |= v["type"] == "state";
    }

    let created = c
        .admin(
            "POST",
            "/api/v1/contacts",
            json!({"queue": "sales", "channel": "voice", "tier": "gold",
        "attributes": {"customer_name": "Mr. Smith", "language": "en"}}),
        )
        .await;
    let contact = created["contact_id"].as_str().unwrap().to_owned();
    let offer = expect(&mut ws, "offer", of_type("offer")).await;
    assert_eq!(offer["contact_id"], contact.as_str());
    assert_eq!(
        offer["greeting"],
        "Hello, Switchboard, this is Ann Lee, agent 1001. How can I help you, Mr. Smith?"
    );
    assert_eq!(
        (
            offer["tier"].as_str(),
            offer["data"]["customer_name"].as_str()
        ),
        (Some("gold"), Some("Mr. Smith"))
    );
    assert!(offer["deadline"].is_number());

    send(&mut ws, json!({"type": "accept", "contact_id": contact})).await;
    expect(&mut ws, "assigned", of_type("assigned")).await;
    send(&mut ws, json!({"type": "hold", "contact_id": contact})).await;
    send(&mut ws, json!({"type": "resume", "contact_id": contact})).await;
    send(&mut ws, json!({"type": "end", "contact_id": contact})).await;
    let ended = expect(&mut ws, "ended", of_type("ended")).await;
    assert!(ended["wrap_up_until"].is_number());
    send(&mut ws, json!({"type": "wrap_up", "contact_id": contact, "disposition": "resolved", "resolved": true})).await;
    expect(&mut ws, "completed", of_type("completed")).await;
    // Her own figures come every 5 s.
    let stats = expect_within(&mut ws, "stats", 8, |v| {
        v["type"] == "stats" && v["handled_today"] == 1
    })
    .await;
    assert!(
        stats["average_handle_time_ms"].as_u64().is_some(),
        "{stats}"
    );
    assert_eq!(stats["waiting_in_my_queues"], 0);
    // Occupancy today: handling (accept → wrap-up done) over logged-in time.
    let occupancy = stats["occupancy_today"].as_f64().unwrap_or(-1.0);
    assert!(occupancy > 0.0 && occupancy <= 1.0, "{stats}");

    // Bad messages get an error frame; the connection stays up.
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let e = expect(&mut ws, "error", of_type("error")).await;
    assert_eq!(e["code"], "bad_message");
    send(
        &mut ws,
        json!({"type": "accept", "id": "x", "contact_id": uuid::Uuid::new_v4()}),
    )
    .await;
    let e = expect(&mut ws, "error", |v| {
        v["type"] == "error" && v["in_reply_to"] == "x"
    })
    .await;
    assert_eq!(e["code"], "unknown_contact");
    send(&mut ws, json!({"type": "ping", "id": 7})).await;
    expect(&mut ws, "pong", |v| {
        v["type"] == "pong" && v["in_reply_to"] == 7
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_console_resumes_without_losing_anything_and_its_offer_moves_on() {
    let c = center().await;
    c.admin("PUT", "/api/v1/queues/sales", json!({"id": "sales"}))
        .await;
    c.admin(
        "PUT",
        "/api/v1/agents/ann",
        json!({"id": "ann", "display_name": "Ann", "number": "1"}),
    )
    .await;
    c.admin(
        "PUT",
        "/api/v1/agents/bob",
        json!({"id": "bob", "display_name": "Bob", "number": "2"}),
    )
    .await;
    let mut ws = c.connect("").await;
    expect(&mut ws, "hello", of_type("hello")).await;
    send(
        &mut ws,
        json!({"type": "set_state", "presence": {"presence": "available"}}),
    )
    .await;
    let state = expect(&mut ws, "state", of_type("state")).await;
    let created = c
        .admin(
            "POST",
            "/api/v1/contacts",
            json!({"queue": "sales", "channel": "voice"}),
        )
        .await;
    let offer = expect(&mut ws, "offer", of_type("offer")).await;
    assert_eq!(offer["contact_id"], created["contact_id"]);
    let last_seen = offer["seq"].as_u64().unwrap();
    assert!(last_seen > state["seq"].as_u64().unwrap());

    // Bob is available too; Ann's console drops while the call rings at her.
    use switchboard_dispatch::QueueBackend;
    let bob = switchboard_domain::AgentId::parse("bob").unwrap();
    c.dispatcher
        .execute(
            switchboard_domain::Command::SetPresence {
                agent: bob.clone(),
                presence: switchboard_domain::Presence::Available,
            },
            switchboard_dispatch::Clock::now(&SystemClock),
        )
        .await
        .unwrap();
    drop(ws);
    let contact: switchboard_domain::ContactId =
        created["contact_id"].as_str().unwrap().parse().unwrap();
    let mut moved = false;
    for _ in 0..100 {
        if let Ok(Some(switchboard_domain::ContactState::Offered { agent, .. })) =
            c.dispatcher.contact(contact).await
        {
            if agent == bob {
                moved = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(moved, "the offer to the disconnected agent went to Bob");

    // Reconnecting with the last seq seen replays exactly what was missed, in order.
    let mut ws = c.connect(&format!("&resume_from={last_seen}")).await;
    // The missed messages come first, numbered on without a gap; among them: she was set
    // away ("disconnected") and the offer was withdrawn (periodic `stats` may be in between).
    let (mut next_seq, mut state, mut withdrawn) = (last_seen + 1, None, None);
    while state.is_none() || withdrawn.is_none() {
        let m = expect(&mut ws, "the missed messages", |_| true).await;
        assert_eq!(
            m["seq"].as_u64(),
            Some(next_seq),
            "replayed in order, none lost: {m}"
        );
        assert_ne!(m["type"], "hello", "resumed, not restarted");
        next_seq += 1;
        match m["type"].as_str() {
            Some("state") => state = Some(m),
            Some("offer_withdrawn") => withdrawn = Some(m),
            _ => {}
        }
    }
    let (state, withdrawn) = (state.unwrap(), withdrawn.unwrap());
    assert_eq!(state["presence"]["reason"], "disconnected", "{state}");
    assert_eq!(withdrawn["reason"], "agent_unavailable", "{withdrawn}");
    drop(ws);
    // Too old to resume: a fresh hello.
    let mut ws = c.connect("&resume_from=999999").await;
    expect(&mut ws, "hello", of_type("hello")).await;
}

#[tokio::test]
async fn only_signed_in_agents_get_a_console() {
    let c = center().await;
    for (query, status) in [("", 401u16), ("?token=wrong", 401)] {
        let url = format!("ws://{}/api/v1/agent/ws{query}", c.addr);
        match connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status().as_u16(), status)
            }
            other => panic!("expected HTTP {status}, got {:?}", other.map(|_| ())),
        }
    }
    let url = format!("ws://{}/api/v1/agent/ws?token={}", c.addr, c.admin_token);
    match connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 403, "an admin who is not an agent")
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_the_floor_change_and_steers_it() {
    let c = center().await;
    c.admin(
        "PUT",
        "/api/v1/queues/sales",
        json!({"id": "sales", "service_level": {"threshold": 30, "percent": 90.0}}),
    )
    .await;
    c.admin(
        "PUT",
        "/api/v1/agents/ann",
        json!({"id": "ann", "display_name": "Ann", "number": "1"}),
    )
    .await;
    let url = format!(
        "ws://{}/api/v1/supervisor/ws?token={}",
        c.addr, c.admin_token
    );
    let mut ws = connect_async(url).await.unwrap().0;
    let snapshot = expect(&mut ws, "snapshot", of_type("snapshot")).await;
    assert_eq!(snapshot["queues"]["sales"]["waiting"], 0, "{snapshot}");
    assert_eq!(snapshot["agents"]["ann"]["status"]["state"], "offline");

    let created = c
        .admin(
            "POST",
            "/api/v1/contacts",
            json!({"queue": "sales", "channel": "voice"}),
        )
        .await;
    // The queue's figures follow the events on their own task, so the waiting caller may
    // show a second before today's count does: wait for the delta that has both.
    let delta = expect(&mut ws, "a delta with the caller counted", |v| {
        v["type"] == "delta" && v["queues"]["sales"]["today"]["offered"] == 1
    })
    .await;
    assert_eq!(delta["queues"]["sales"]["waiting"], 1, "{delta}");
    assert_eq!(
        delta["queues"]["sales"]["today"]["service_level_target_s"], 30.0,
        "counted with the queue's own target: {delta}"
    );
    // One arrival in the rolling window; no handling completed yet, so no AHT to staff with.
    let today = &delta["queues"]["sales"]["today"];
    assert!(today["arrivals_per_hour"].as_f64() > Some(0.0), "{delta}");
    assert!(today["agents_needed_now"].is_null(), "{delta}");
    assert_eq!(today["handled"], 0, "{delta}");
    assert!(
        delta["agents"].get("ann").is_none(),
        "only what changed: {delta}"
    );

    // Force Ann available: the call rings at her.
    send(&mut ws, json!({"type": "set_agent_state", "id": "s1", "agent": "ann", "presence": {"presence": "available"}})).await;
    expect(&mut ws, "ack", |v| {
        v["type"] == "ack" && v["in_reply_to"] == "s1"
    })
    .await;
    let delta = expect(&mut ws, "Ann reserved", |v| {
        v["type"] == "delta" && v["agents"]["ann"]["status"]["state"] == "reserved"
    })
    .await;
    assert_eq!(delta["queues"]["sales"]["offered_now"], 1, "{delta}");
    // The supervisor sees which contact rings at her, and in which queue.
    assert_eq!(
        delta["agents"]["ann"]["contacts"],
        json!([{"contact_id": created["contact_id"], "state": "offered", "queue": "sales"}]),
        "{delta}"
    );
    // Raise the contact's urgency; a bad command is an error frame.
    send(
        &mut ws,
        json!({"type": "set_urgency", "id": 2, "contact_id": created["contact_id"], "urgency": 9}),
    )
    .await;
    expect(&mut ws, "ack", |v| {
        v["type"] == "ack" && v["in_reply_to"] == 2
    })
    .await;
    send(&mut ws, json!({"type": "set_agent_state", "id": 3, "agent": "nobody", "presence": {"presence": "offline"}})).await;
    let e = expect(&mut ws, "error", |v| {
        v["type"] == "error" && v["in_reply_to"] == 3
    })
    .await;
    assert_eq!(e["code"], "unknown_agent");

    // Agents may not watch the floor.
    let url = format!(
        "ws://{}/api/v1/supervisor/ws?token={}",
        c.addr, c.agent_token
    );
    match connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

/// An instance started in the middle of the day shows the whole day: the supervisor's
/// figures and the agent's own are read back from the event log first.
#[tokio::test]
async fn an_instance_started_mid_day_counts_the_whole_day() {
    use switchboard_domain::{
        AgentId, Channel, Event, EventId, EventKind, Priority, QueueId, Tier, Timestamp, WrapUp,
    };
    let now = switchboard_dispatch::Clock::now(&SystemClock);
    let day_start = now.as_millis().div_euclid(86_400_000) * 86_400_000;
    let at = |ms_ago: i64| Timestamp::from_millis((now.as_millis() - ms_ago).max(day_start));
    let (contact, queue, ann) = (
        switchboard_dispatch::fresh_contact_id(now),
        QueueId::parse("sales").unwrap(),
        AgentId::parse("ann").unwrap(),
    );
    // Ids far from the fresh dispatcher's own, which start at 1.
    let event = |id: u64, at: Timestamp, kind: EventKind| Event {
        id: EventId(1_000_000 + id),
        at,
        kind,
    };
    let earlier = [
        event(
            1,
            at(9_000),
            EventKind::ContactQueued {
                contact,
                queue: queue.clone(),
                channel: Channel::Voice,
                tier: Tier::default(),
                priority: Priority::default(),
                arrived_at: at(9_000),
                attributes: Default::default(),
            },
        ),
        event(
            2,
            at(6_000),
            EventKind::OfferAccepted {
                contact,
                queue: queue.clone(),
                agent: ann.clone(),
                waited_ms: 3_000,
            },
        ),
        event(
            3,
            at(2_000),
            EventKind::ContactEnded {
                contact,
                queue: queue.clone(),
                agent: ann.clone(),
                wrap_up_until: at(1_000),
            },
        ),
        event(
            4,
            at(1_000),
            EventKind::ContactCompleted {
                contact,
                queue: queue.clone(),
                agent: ann.clone(),
                wrap_up: WrapUp::default(),
            },
        ),
    ];
    let c = center_after(&earlier).await;
    c.admin("PUT", "/api/v1/queues/sales", json!({"id": "sales"}))
        .await;
    c.admin(
        "PUT",
        "/api/v1/agents/ann",
        json!({"id": "ann", "display_name": "Ann", "number": "1"}),
    )
    .await;
    let url = format!(
        "ws://{}/api/v1/supervisor/ws?token={}",
        c.addr, c.admin_token
    );
    let mut floor = connect_async(url).await.unwrap().0;
    let snapshot = expect(&mut floor, "snapshot", of_type("snapshot")).await;
    let today = &snapshot["queues"]["sales"]["today"];
    assert_eq!(
        (&today["offered"], &today["answered"], &today["handled"]),
        (&json!(1), &json!(1), &json!(1)),
        "{snapshot}"
    );
    let mut ws = c.connect("").await;
    expect_within(&mut ws, "her own figures with the earlier call", 8, |v| {
        v["type"] == "stats" && v["handled_today"] == 1
    })
    .await;
}

/// The close frame that ends `ws` (skipping other frames); fails after 5 s or without one.
async fn close_code(ws: &mut Ws) -> (u16, String) {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => panic!("a close frame without a code"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket failed before a close frame: {e}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    })
    .await
    .expect("a close frame within 5 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_closes_the_socket_with_1009() {
    let c = center().await;
    // 100 KiB against the default 64 KiB, on both sockets.
    let big = json!({"type": "ping", "id": "x".repeat(100 * 1024)}).to_string();
    let mut console = c.connect("").await;
    expect(&mut console, "hello", of_type("hello")).await;
    console
        .send(Message::Text(big.clone().into()))
        .await
        .unwrap();
    let (code, reason) = close_code(&mut console).await;
    assert_eq!(code, 1009, "{reason}");
    assert!(
        reason.contains("65536"),
        "the reason says the limit: {reason}"
    );

    let url = format!(
        "ws://{}/api/v1/supervisor/ws?token={}",
        c.addr, c.admin_token
    );
    let mut floor = connect_async(url).await.unwrap().0;
    expect(&mut floor, "snapshot", of_type("snapshot")).await;
    floor.send(Message::Text(big.into())).await.unwrap();
    assert_eq!(close_code(&mut floor).await.0, 1009);

    // Far beyond it (refused from the frame's header, never read whole): the server sends
    // 1009 and stops reading. The client may still be writing the rest of the frame, so
    // its kernel may see the connection reset before it reads the close frame; either way
    // the socket is ended by the server at once.
    let mut console = c.connect("").await;
    expect(&mut console, "hello", of_type("hello")).await;
    let huge = "y".repeat(1024 * 1024);
    let sent = console.send(Message::Text(huge.into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match console.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return Ok(u16::from(frame.code)),
                Some(Ok(Message::Close(None))) => return Ok(0),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("ended".to_owned()),
            }
        }
    })
    .await
    .expect("the server ends the socket within 5 s");
    match ended {
        Ok(code) => assert_eq!(code, 1009),
        Err(e) => assert!(
            sent.is_err() || e.contains("reset") || e.contains("ended") || e.contains("closed"),
            "{e}"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_messages_closes_the_socket_with_1008() {
    let c = center().await;
    let mut ws = c.connect("").await;
    expect(&mut ws, "hello", of_type("hello")).await;
    // Far more than the burst of 40 at once; a human console never does this.
    for i in 0..200 {
        if ws
            .send(Message::Text(
                json!({"type": "ping", "id": i}).to_string().into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, 1008, "{reason}");
    // A console within the rate is left alone.
    let mut calm = c.connect("").await;
    expect(&mut calm, "hello", of_type("hello")).await;
    for i in 0..30 {
        send(&mut calm, json!({"type": "ping", "id": i})).await;
        expect(&mut calm, "pong", |v| {
            v["type"] == "pong" && v["in_reply_to"] == i
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_ids_and_quoted_input_are_never_echoed() {
    let c = center().await;
    let long = "L".repeat(1000);
    let mut ws = c.connect("").await;
    expect(&mut ws, "hello", of_type("hello")).await;
    send(&mut ws, json!({"type": "ping", "id": long})).await;
    let refused = expect(&mut ws, "error", of_type("error")).await;
    assert_eq!(refused["code"], "bad_message", "{refused}");
    assert!(refused["in_reply_to"].is_null(), "{refused}");
    assert!(refused.to_string().len() < 400, "{refused}");
    // A parse error quoting a long unknown type is clipped.
    send(&mut ws, json!({"type": long, "id": 1})).await;
    let refused = expect(&mut ws, "error", of_type("error")).await;
    assert!(!refused.to_string().contains(&long), "{refused}");
    assert!(
        refused["message"].as_str().unwrap().len() <= 200,
        "{refused}"
    );
    // An id of a sensible length still comes back.
    send(&mut ws, json!({"type": "ping", "id": "short-id"})).await;
    expect(&mut ws, "pong", |v| v["in_reply_to"] == "short-id").await;

    let url = format!(
        "ws://{}/api/v1/supervisor/ws?token={}",
        c.addr, c.admin_token
    );
    let mut floor = connect_async(url).await.unwrap().0;
    expect(&mut floor, "snapshot", of_type("snapshot")).await;
    send(
        &mut floor,
        json!({"type": "set_urgency", "id": long, "contact_id": uuid::Uuid::new_v4(), "urgency": 1}),
    )
    .await;
    let refused = expect(&mut floor, "error", of_type("error")).await;
    assert!(!refused.to_string().contains(&long), "{refused}");
    assert!(refused["in_reply_to"].is_null(), "{refused}");
}
