//! The contact API's resources.

mod support;

use std::{collections::BTreeMap, time::Duration};

use insta::assert_json_snapshot;
use serde_json::json;
use support::{at, contact, queue, read, round_trip};
use switchboard_domain::{Channel, ContactState, Tier, Urgency};
use switchboard_protocol::contacts::{ContactCreated, ContactRequest, Position, Stage};

#[test]
fn create_request() {
    let full: ContactRequest = read(
        &json!({
            "queue": "support", "channel": "chat", "skills": [{ "skill": "lang-fr", "min_level": 4 }],
            "tier": "platinum", "urgency": 5, "attributes": { "customer": "crm-7", "topic": "login" },
        })
        .to_string(),
    )
    .unwrap();
    let least: ContactRequest =
        read(&json!({ "queue": "support", "channel": "email" }).to_string()).unwrap();
    assert_eq!(
        least,
        ContactRequest {
            queue: queue("support"),
            channel: Channel::Email,
            skills: vec![],
            tier: Tier::Standard,
            urgency: Urgency::default(),
            attributes: BTreeMap::new(),
        }
    );
    assert_json_snapshot!([round_trip(&full), round_trip(&least)]);
}

#[test]
fn create_request_refuses_unknown_fields() {
    for (text, why) in [
        (
            json!({ "queue": "support", "channel": "chat", "priority": 3 }),
            "unknown field `priority`",
        ),
        (
            json!({ "queue": "support", "channel": "fax" }),
            "unknown variant `fax`",
        ),
        (json!({ "channel": "chat" }), "missing field `queue`"),
    ] {
        let error = read::<ContactRequest>(&text.to_string()).expect_err(&text.to_string());
        assert!(error.contains(why), "{text}: {error}");
    }
}

#[test]
fn created() {
    let c = contact();
    let answers = [
        ContactCreated {
            contact_id: c,
            queue: queue("support"),
            state: Some(Stage::Queued),
            position: Some(2),
            estimated_wait: Some(Duration::from_millis(90_250)),
        },
        ContactCreated {
            contact_id: c,
            queue: queue("support"),
            state: Some(Stage::Offered),
            position: None,
            estimated_wait: None,
        },
    ]
    .map(|a| round_trip(&a));
    // As the handler answered with `json!` before the types.
    assert_eq!(
        answers[1],
        json!({ "contact_id": c, "queue": "support", "state": "offered", "position": null, "estimated_wait": null })
    );
    assert_json_snapshot!(answers);
}

#[test]
fn position() {
    let p = [
        Position {
            queue: queue("support"),
            position: 1,
            waiting: 4,
            estimated_wait: Some(Duration::from_secs(30)),
        },
        Position {
            queue: queue("support"),
            position: 3,
            waiting: 4,
            estimated_wait: None,
        },
    ]
    .map(|p| round_trip(&p));
    assert_json_snapshot!(p);
}

#[test]
fn stages_are_the_contact_states_names() {
    let q = queue("support");
    let a = switchboard_domain::AgentId::parse("ann").unwrap();
    let states = [
        ContactState::Queued {
            queue: q.clone(),
            entered_at: at(0),
            target_agent: None,
        },
        ContactState::Offered {
            queue: q.clone(),
            agent: a.clone(),
            deadline: at(0),
        },
        ContactState::Assigned {
            queue: q.clone(),
            agent: a.clone(),
        },
        ContactState::Held {
            queue: q.clone(),
            agent: a.clone(),
        },
        ContactState::WrapUp {
            queue: q,
            agent: a,
            until: at(0),
        },
    ];
    for s in &states {
        assert_eq!(round_trip(&Stage::from(s)), json!(s.name()));
    }
}
