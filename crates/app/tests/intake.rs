//! Intake once, for every door: `App::intake` and the PBX's call events (`App::call_event`,
//! `App::cti_event`, `App::call_hook`) against a real store (SQLite) and the in-process
//! dispatcher. The doors' HTTP edges are tested in the gateway and end to end in the server.

use std::{collections::BTreeMap, sync::Arc};

use switchboard_app::{
    intake::{Admission, Intake, PbxCall},
    App, Class, Settings,
};
use switchboard_dispatch::{AnyBackend, MemoryBackend, QueueBackend, SystemClock};
use switchboard_domain::{
    AgentId, AgentProfile, Channel, Command, Presence, QueueConfig, QueueId, Tier, Urgency,
};
use switchboard_protocol::hooks::{
    cti::{CtiAnswer, CtiEvent, Direction},
    CallEvent, Delivery, HookAnswer,
};
use switchboard_store::Store;
use switchboard_test_support::database::TestDatabase;

struct Center {
    app: App,
    store: Store,
    dispatcher: Arc<AnyBackend>,
    _db: TestDatabase,
}

/// Queue `sales` (takes contacts with nobody logged in) and `night` (refuses them), agent
/// `ann` logged in to neither yet.
async fn center() -> Center {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
    let now = switchboard_dispatch::Clock::now(&SystemClock);
    let mut night = QueueConfig::new(QueueId::parse("night").unwrap());
    night.join_when_empty = false;
    for queue in [QueueConfig::new(QueueId::parse("sales").unwrap()), night] {
        dispatcher
            .execute(Command::UpsertQueue(queue), now)
            .await
            .unwrap();
    }
    let app = App::new(
        store.clone(),
        dispatcher.clone(),
        Arc::new(SystemClock),
        Settings::default(),
    );
    Center {
        app,
        store,
        dispatcher,
        _db: db,
    }
}

fn chat(queue: &str, attributes: &[(&str, &str)]) -> Intake {
    Intake {
        queue: QueueId::parse(queue).unwrap(),
        channel: Channel::Chat,
        skills: Vec::new(),
        urgency: Urgency::default(),
        tier: Tier::Gold,
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        call: None,
    }
}

fn call(call_id: &str) -> Intake {
    Intake {
        channel: Channel::Voice,
        call: Some(PbxCall {
            integration: "pbx".into(),
            call_id: call_id.into(),
        }),
        ..chat("sales", &[("caller", "+15550100")])
    }
}

fn admitted(a: Admission) -> switchboard_app::intake::Admitted {
    match a {
        Admission::Admitted(a) => a,
        other => panic!("not admitted: {other:?}"),
    }
}

#[tokio::test]
async fn contacts_queue_in_order_and_know_their_place() {
    let c = center().await;
    let first = admitted(c.app.intake(chat("sales", &[])).await.unwrap());
    let second = admitted(c.app.intake(chat("sales", &[])).await.unwrap());
    assert_eq!((first.position, second.position), (Some(1), Some(2)));
    assert_eq!(first.queue.as_str(), "sales");
    assert!(first.contact < second.contact, "ids keep creation order");
}

#[tokio::test]
async fn every_door_bounds_the_attributes() {
    let c = center().await;
    let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    let long = "x".repeat(1_001);
    let key = "k".repeat(65);
    let mut too_many = call("c-many");
    too_many.attributes.extend(many.iter().cloned());
    for intake in [
        too_many,
        chat("sales", &[("note", &long)]),
        chat("sales", &[(&key, "v")]),
    ] {
        let err = c.app.intake(intake).await.unwrap_err();
        assert_eq!((err.class(), err.code()), (Class::Invalid, "invalid"));
        assert_eq!(err.validation().unwrap().field, "attributes");
    }
    // Nothing was queued, and the refused call was not claimed.
    let sales = QueueId::parse("sales").unwrap();
    let snapshot = c.app.queue_snapshot(&sales).await.unwrap().unwrap();
    assert_eq!(snapshot.waiting, 0);
    assert!(c.store.call("pbx", "c-many").await.unwrap().is_none());
}

#[tokio::test]
async fn a_call_enters_once_whatever_the_retries() {
    let c = center().await;
    let first = admitted(c.app.intake(call("c-1")).await.unwrap());
    let again = admitted(c.app.intake(call("c-1")).await.unwrap());
    assert_eq!(first.contact, again.contact);
    let sales = QueueId::parse("sales").unwrap();
    assert_eq!(
        c.app.queue_snapshot(&sales).await.unwrap().unwrap().waiting,
        1
    );
    // The contact knows its PBX call, for the outbound webhooks.
    assert_eq!(
        c.store.call_of_contact(first.contact).await.unwrap(),
        Some(("pbx".to_owned(), "c-1".to_owned()))
    );
}

#[tokio::test]
async fn a_hang_up_before_the_arrival_keeps_the_call_out() {
    let c = center().await;
    let ended = c
        .app
        .call_event(
            "pbx",
            CallEvent::Ended {
                call_id: "c-2".into(),
                cause: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(ended, HookAnswer::Ignored { .. }), "{ended:?}");
    assert_eq!(
        c.app.intake(call("c-2")).await.unwrap(),
        Admission::CallEnded
    );
    let sales = QueueId::parse("sales").unwrap();
    assert_eq!(
        c.app.queue_snapshot(&sales).await.unwrap().unwrap().waiting,
        0
    );
}

#[tokio::test]
async fn a_queue_that_refuses_contacts_with_nobody_in_says_so_at_every_door() {
    let c = center().await;
    let refused = c.app.intake(chat("night", &[])).await.unwrap();
    assert!(matches!(refused, Admission::Refused { .. }), "{refused:?}");
    let cti = c
        .app
        .cti_event(
            "cti",
            CtiEvent::NewCall {
                call_id: "n-1".into(),
                direction: Direction::In,
                queue: Some(QueueId::parse("night").unwrap()),
                from: Some("+15550101".into()),
                to: None,
                user: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(cti, CtiAnswer::BUSY);
}

#[tokio::test]
async fn the_customer_is_linked_from_the_reference_else_the_caller() {
    let c = center().await;
    let by_reference = admitted(
        c.app
            .intake(chat("sales", &[("customer", "C-42"), ("caller", "+1555")]))
            .await
            .unwrap(),
    );
    let by_number = admitted(c.app.intake(call("c-3")).await.unwrap());
    let day = switchboard_domain::Timestamp::from_millis(0);
    let customers = c
        .store
        .contact_customers_between(day, c.app.now().plus(std::time::Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(
        customers,
        BTreeMap::from([
            (by_reference.contact, "C-42".to_owned()),
            (by_number.contact, "+15550100".to_owned()),
        ])
    );
}

#[tokio::test]
async fn a_hook_retried_gets_the_first_answer_and_changes_nothing() {
    let c = center().await;
    let ann = AgentId::parse("ann").unwrap();
    let now = c.app.now();
    c.dispatcher
        .execute(Command::UpsertAgent(AgentProfile::new(ann.clone())), now)
        .await
        .unwrap();
    let arrived = |event_id: &str| Delivery {
        event_id: event_id.into(),
        event: CallEvent::Arrived {
            call_id: "c-4".into(),
            queue: QueueId::parse("sales").unwrap(),
            caller: Some("+15550102".into()),
            dialed: None,
            skills: Vec::new(),
            language: None,
            customer: None,
            customer_name: None,
            tier: Tier::default(),
            urgency: Urgency::default(),
            ivr: BTreeMap::new(),
        },
    };
    let first = c.app.call_hook("pbx", arrived("e-1")).await.unwrap();
    assert_eq!(first["status"], "ok", "{first}");
    assert_eq!(first["position"], 1);
    // Ann logs in and takes the call: it is no longer waiting.
    c.dispatcher
        .execute(
            Command::SetPresence {
                agent: ann.clone(),
                presence: Presence::Available,
            },
            now,
        )
        .await
        .unwrap();
    let again = c.app.call_hook("pbx", arrived("e-1")).await.unwrap();
    assert_eq!(again, first, "the same answer, from the store");
    // Under a new event id the arrival is the same call: the same contact.
    let later = c.app.call_hook("pbx", arrived("e-2")).await.unwrap();
    assert_eq!(later["contact_id"], first["contact_id"]);
    let bad = c.app.call_hook("pbx", arrived("")).await.unwrap_err();
    assert_eq!(bad.class(), Class::Invalid);
}
