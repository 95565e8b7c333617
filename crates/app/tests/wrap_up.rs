//! Wrap-up from the console (`App::agent_request`): the disposition an agent records must be
//! one of the configured dispositions; anything else is refused and nothing is recorded.
//! A real store (SQLite) and the in-process dispatcher.

use std::sync::Arc;

use serde_json::json;
use switchboard_app::{App, Settings};
use switchboard_dispatch::{AnyBackend, MemoryBackend, QueueBackend, SystemClock};
use switchboard_domain::{
    AgentId, AgentProfile, Channel, Command, ContactId, ContactState, Disposition, EventKind,
    NewContact, QueueConfig, QueueId,
};
use switchboard_protocol::console::{Frame, Request};
use switchboard_store::Store;
use switchboard_test_support::database::TestDatabase;

struct Center {
    app: App,
    store: Store,
    dispatcher: Arc<AnyBackend>,
    _db: TestDatabase,
}

/// Queue `sales`, agent `ann` available.
async fn center() -> Center {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
    let app = App::new(
        store.clone(),
        dispatcher.clone(),
        Arc::new(SystemClock),
        Settings::default(),
    );
    let now = app.now();
    for command in [
        Command::UpsertQueue(QueueConfig::new(QueueId::parse("sales").unwrap())),
        Command::UpsertAgent(AgentProfile::new(ann())),
    ] {
        dispatcher.execute(command, now).await.unwrap();
    }
    let c = Center {
        app,
        store,
        dispatcher,
        _db: db,
    };
    c.ok(json!({"type": "set_state", "presence": {"presence": "available"}}))
        .await;
    c
}

fn ann() -> AgentId {
    AgentId::parse("ann").unwrap()
}

impl Center {
    async fn ask(&self, request: serde_json::Value) -> Frame {
        let request: Request = serde_json::from_value(request).unwrap();
        self.app.agent_request(&ann(), request).await
    }

    async fn ok(&self, request: serde_json::Value) {
        let answer = self.ask(request.clone()).await;
        assert!(
            matches!(answer, Frame::Ack { .. }),
            "{request} → {answer:?}"
        );
    }

    /// A call Ann took and ended: it is in her wrap-up.
    async fn in_wrap_up(&self) -> ContactId {
        let contact = switchboard_dispatch::fresh_contact_id(self.app.now());
        let queue = QueueId::parse("sales").unwrap();
        self.dispatcher
            .execute(
                Command::Enqueue(NewContact::new(contact, queue, Channel::Voice)),
                self.app.now(),
            )
            .await
            .unwrap();
        self.ok(json!({"type": "accept", "contact_id": contact}))
            .await;
        self.ok(json!({"type": "end", "contact_id": contact})).await;
        self.assert_in_wrap_up(contact).await;
        contact
    }

    async fn assert_in_wrap_up(&self, contact: ContactId) {
        let state = self.dispatcher.contact(contact).await.unwrap();
        assert!(
            matches!(state, Some(ContactState::WrapUp { .. })),
            "{contact} is not in wrap-up: {state:?}"
        );
    }

    async fn configure(&self, code: &str) {
        let d = Disposition {
            code: code.into(),
            label: code.into(),
            resolves: true,
        };
        self.store.put(&d, None, self.app.now()).await.unwrap();
    }

    async fn refused(&self, contact: ContactId, disposition: &str) -> String {
        let answer = self
            .ask(json!({"type": "wrap_up", "id": "w", "contact_id": contact,
                "disposition": disposition, "resolved": true}))
            .await;
        match answer {
            Frame::Error {
                in_reply_to,
                code,
                message,
            } => {
                assert_eq!(in_reply_to, Some(Some(json!("w"))));
                assert_eq!(code, "unknown_disposition", "{message}");
                message
            }
            other => panic!("{disposition:.40} was taken: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_disposition_that_is_not_configured_is_refused_and_nothing_is_recorded() {
    let c = center().await;
    let mut events = c.dispatcher.subscribe();
    let contact = c.in_wrap_up().await;

    // None configured: any disposition is unknown.
    c.refused(contact, "solved").await;
    c.assert_in_wrap_up(contact).await;

    c.configure("solved").await;
    c.refused(contact, "Solved").await;
    c.refused(contact, "solved\u{0}").await;
    let long = "x".repeat(100_000);
    let message = c.refused(contact, &long).await;
    assert!(
        message.len() < 200,
        "the code is not echoed: {message:.300}"
    );
    c.assert_in_wrap_up(contact).await;

    // The configured one is recorded, once.
    c.ok(
        json!({"type": "wrap_up", "contact_id": contact, "disposition": "solved",
        "resolved": true}),
    )
    .await;
    let mut completed = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let EventKind::ContactCompleted { wrap_up, .. } = event.kind {
            completed.push(wrap_up.disposition);
        }
    }
    assert_eq!(completed, [Some("solved".to_owned())]);
}

#[tokio::test]
async fn a_wrap_up_without_a_disposition_needs_none_configured() {
    let c = center().await;
    let contact = c.in_wrap_up().await;
    c.ok(json!({"type": "wrap_up", "contact_id": contact, "resolved": false}))
        .await;
    assert_eq!(c.dispatcher.contact(contact).await.unwrap(), None);
}
