//! The console's and the floor's conversations over channels instead of sockets: the same
//! `serve` functions the WebSocket routes run, driven frame by frame by the test, with the
//! app's one event subscriber feeding the read models.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use serde_json::json;
use switchboard_app::{App, Settings as AppSettings};
use switchboard_dispatch::{
    fresh_contact_id, AnyBackend, MemoryBackend, QueueBackend, SystemClock,
};
use switchboard_domain::{
    Agent, AgentId, Channel, Command, ContactId, GreetingScript, NewContact, Presence, QueueConfig,
    QueueId, Tier,
};
use switchboard_gateway::{console, supervisor, AppState, Settings};
use switchboard_protocol::{console::Frame, floor::Frame as FloorFrame, Stamped};
use switchboard_test_support::database::TestDatabase;
use tokio::sync::mpsc;

struct Center {
    state: AppState,
    dispatcher: Arc<AnyBackend>,
    _db: TestDatabase,
}

/// A store, a dispatcher with queue `sales` and agent `ann` (with a greeting script), and
/// the app's event subscriber running.
async fn center() -> Center {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
    let app = App::new(
        store.clone(),
        dispatcher.clone(),
        Arc::new(SystemClock),
        AppSettings {
            company_name: "Acme".into(),
            ..AppSettings::default()
        },
    );
    let state = AppState::new(app, Settings::default());
    let now = state.app.now();
    let queue: QueueConfig = serde_json::from_value(json!({"id": "sales"})).unwrap();
    let agent: Agent =
        serde_json::from_value(json!({"id": "ann", "display_name": "Ann Lee", "number": "1001"}))
            .unwrap();
    let script: GreetingScript = serde_json::from_value(json!({"script_id": "default",
        "language": "en", "template": "{company}, {agent_name} speaking. Hello {customer_name}."}))
    .unwrap();
    store.put(&queue, None, now).await.unwrap();
    store.put(&agent, None, now).await.unwrap();
    store.put(&script, None, now).await.unwrap();
    dispatcher
        .execute(Command::UpsertQueue(queue), now)
        .await
        .unwrap();
    dispatcher
        .execute(Command::UpsertAgent(agent.profile), now)
        .await
        .unwrap();
    tokio::spawn(state.app.follow_events());
    Center {
        state,
        dispatcher,
        _db: db,
    }
}

fn ann() -> AgentId {
    AgentId::parse("ann").unwrap()
}

/// A socket made of two channels: what the test sends in, and what the server sends out.
struct Channels {
    to_server: mpsc::UnboundedSender<Message>,
    from_server: mpsc::UnboundedReceiver<Message>,
}

fn channels() -> (
    Channels,
    impl Sink<Message> + Unpin,
    impl Stream<Item = Result<Message, Infallible>> + Unpin,
) {
    let (to_server, server_rx) = mpsc::unbounded_channel::<Message>();
    let (server_tx, from_server) = mpsc::unbounded_channel::<Message>();
    let sink = Box::pin(futures_util::sink::unfold(
        server_tx,
        |tx, m: Message| async move {
            tx.send(m).map_err(|_| ())?;
            Ok::<_, ()>(tx)
        },
    ));
    let stream = Box::pin(futures_util::stream::unfold(
        server_rx,
        |mut rx| async move { rx.recv().await.map(|m| (Ok(m), rx)) },
    ));
    (
        Channels {
            to_server,
            from_server,
        },
        sink,
        stream,
    )
}

impl Channels {
    fn send(&self, v: serde_json::Value) {
        self.to_server
            .send(Message::Text(v.to_string().into()))
            .unwrap();
    }

    async fn next_text(&mut self) -> String {
        let msg = tokio::time::timeout(Duration::from_secs(5), self.from_server.recv())
            .await
            .expect("a frame within 5 s")
            .expect("the server is still sending");
        match msg {
            Message::Text(text) => text.to_string(),
            other => panic!("not a text frame: {other:?}"),
        }
    }

    /// The next console frame that is not the periodic figures.
    async fn console(&mut self) -> Stamped<Frame> {
        loop {
            let frame: Stamped<Frame> = serde_json::from_str(&self.next_text().await).unwrap();
            if !matches!(frame.frame, Frame::Stats(_)) {
                return frame;
            }
        }
    }

    async fn floor(&mut self) -> Stamped<FloorFrame> {
        serde_json::from_str(&self.next_text().await).unwrap()
    }
}

async fn enqueue(c: &Center, name: &str) -> ContactId {
    let now = c.state.app.now();
    let id = fresh_contact_id(now);
    let mut contact = NewContact::new(id, QueueId::parse("sales").unwrap(), Channel::Voice);
    contact.tier = Tier::Gold;
    contact
        .attributes
        .insert("customer_name".into(), name.into());
    c.dispatcher
        .execute(Command::Enqueue(contact), now)
        .await
        .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_over_channels_gets_hello_its_offer_and_an_error_for_a_bad_frame() {
    let c = center().await;
    let (mut socket, tx, rx) = channels();
    tokio::spawn(console::serve(c.state.clone(), ann(), None, tx, rx));

    let hello = socket.console().await;
    assert!(
        matches!(&hello.frame, Frame::Hello { display_name: Some(n), .. } if n == "Ann Lee"),
        "{hello:?}"
    );
    socket.send(json!({"type": "set_state", "id": 1, "presence": {"presence": "available"}}));
    let contact = enqueue(&c, "Zoe").await;
    // The ack, the state and the offer, in whichever order they come.
    let offer = loop {
        let f = socket.console().await;
        if let Frame::Offer { .. } = f.frame {
            break f.frame;
        }
    };
    match offer {
        Frame::Offer {
            contact_id,
            tier,
            data,
            greeting,
            ..
        } => {
            assert_eq!(contact_id, contact);
            assert_eq!(tier, Some(Tier::Gold));
            assert_eq!(
                data.and_then(|d| d.get("customer_name").cloned())
                    .as_deref(),
                Some("Zoe")
            );
            assert_eq!(
                greeting.as_deref(),
                Some("Acme, Ann Lee speaking. Hello Zoe.")
            );
        }
        _ => unreachable!(),
    }
    // Not JSON, an unknown type, a binary frame: an error frame each, and the console stays.
    socket.send(json!("not a request"));
    let bad = socket.console().await;
    assert!(
        matches!(&bad.frame, Frame::Error { code, .. } if code == "bad_message"),
        "{bad:?}"
    );
    socket
        .to_server
        .send(Message::Binary(vec![1, 2, 3].into()))
        .unwrap();
    let binary = socket.console().await;
    assert!(matches!(&binary.frame, Frame::Error { .. }), "{binary:?}");
    socket.send(json!({"type": "ping", "id": "p"}));
    let pong = socket.console().await;
    assert!(matches!(pong.frame, Frame::Pong { .. }), "{pong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_resuming_from_a_seq_gets_exactly_the_gap() {
    let c = center().await;
    let (mut first, tx, rx) = channels();
    let session = tokio::spawn(console::serve(c.state.clone(), ann(), None, tx, rx));
    let hello = first.console().await;
    first.send(json!({"type": "ping", "id": 1}));
    let pong = first.console().await;
    assert!(matches!(pong.frame, Frame::Pong { .. }));
    // The console goes away after seeing the pong…
    drop(first);
    session.await.unwrap();
    let seen = pong.seq;
    assert!(seen > hello.seq);
    // …and while it is gone, things happen to the agent.
    c.dispatcher
        .execute(
            Command::SetPresence {
                agent: ann(),
                presence: Presence::Available,
            },
            c.state.app.now(),
        )
        .await
        .unwrap();
    let contact = enqueue(&c, "Zoe").await;
    // Wait until the read model holds the offer.
    let queued = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let missed = c.state.app.consoles().after(&ann(), seen);
            if missed.iter().any(|(_, m)| m.contains("\"offer\"")) {
                return missed;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the offer reaches the read model");

    let (mut second, tx, rx) = channels();
    tokio::spawn(console::serve(c.state.clone(), ann(), Some(seen), tx, rx));
    // Exactly what came after `seen`, in order, and no new hello (the periodic figures, which
    // the first session may also have queued after its pong, aside).
    let expected: Vec<u64> = queued
        .iter()
        .map(|(_, m)| serde_json::from_str::<Stamped<Frame>>(m).unwrap())
        .filter(|f| !matches!(f.frame, Frame::Stats(_)))
        .map(|f| f.seq)
        .collect();
    assert!(expected.iter().all(|&seq| seq > seen));
    let mut got = Vec::new();
    for seq in &expected {
        let f = second.console().await;
        assert_eq!(f.seq, *seq);
        assert!(!matches!(f.frame, Frame::Hello { .. }));
        got.push(f.frame);
    }
    assert_eq!(
        got.first().map(|f| matches!(f, Frame::State { .. })),
        Some(true)
    );
    assert!(got
        .iter()
        .any(|f| matches!(f, Frame::Offer { contact_id, .. } if *contact_id == contact)));

    // A seq this instance never sent gets a fresh hello instead.
    let (mut third, tx, rx) = channels();
    tokio::spawn(console::serve(
        c.state.clone(),
        ann(),
        Some(1_000_000),
        tx,
        rx,
    ));
    let fresh = third.console().await;
    assert!(matches!(fresh.frame, Frame::Hello { .. }), "{fresh:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_over_channels_sends_a_snapshot_then_what_changed() {
    let c = center().await;
    let (mut socket, tx, rx) = channels();
    tokio::spawn(supervisor::serve(c.state.clone(), false, tx, rx));
    let snapshot = socket.floor().await;
    let sales = QueueId::parse("sales").unwrap();
    match &snapshot.frame {
        FloorFrame::Snapshot { queues, agents } => {
            assert_eq!(queues[&sales].waiting, 0);
            assert_eq!(queues[&sales].today.offered, 0);
            assert!(agents.contains_key(&ann()));
        }
        other => panic!("not a snapshot: {other:?}"),
    }
    assert_eq!(snapshot.seq, 1);
    enqueue(&c, "Zoe").await;
    // Within a few ticks: deltas carrying the queue's new figures (the dispatcher's waiting
    // count and the read model's count of today may land in different ticks).
    let (mut waiting, mut offered, mut seq) = (None, None, snapshot.seq);
    while waiting != Some(1) || offered != Some(1) {
        let delta = socket.floor().await;
        assert_eq!(delta.seq, seq + 1, "numbered in order");
        seq = delta.seq;
        let v = serde_json::to_value(&delta.frame).unwrap();
        assert_eq!(v["type"], "delta", "only what changed: {v}");
        let sales = &v["queues"]["sales"];
        waiting = sales["waiting"].as_u64().or(waiting);
        offered = sales["today"]["offered"].as_u64().or(offered);
    }
    // A command is answered on the same socket.
    socket.send(json!({"type": "ping", "id": 7}));
    let pong = socket.floor().await;
    assert!(matches!(pong.frame, FloorFrame::Pong { .. }), "{pong:?}");
}
