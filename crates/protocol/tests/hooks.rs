//! The generic hooks' events and answers, and the Zammad CTI fields.

mod support;

use std::{collections::BTreeMap, time::Duration};

use insta::assert_json_snapshot;
use serde_json::json;
use support::{agent, at, contact, queue, read, round_trip};
use switchboard_domain::{Channel, SkillRequirement, Tier, Urgency};
use switchboard_protocol::contacts::{CallbackPlaced, Stage};
use switchboard_protocol::hooks::{
    check_call_id, check_event_id,
    cti::{fields_from_json, CtiAnswer, CtiEvent, Direction, Fields},
    CallEvent, Delivery, Done, HookAnswer,
};

fn delivery(event_id: &str, event: CallEvent) -> serde_json::Value {
    round_trip(&Delivery {
        event_id: event_id.into(),
        event,
    })
}

#[test]
fn call_events() {
    let events = [
        delivery(
            "e1",
            CallEvent::Arrived {
                call_id: "c1".into(),
                queue: queue("sales"),
                caller: Some("+3212345678".into()),
                dialed: Some("+3280012345".into()),
                skills: vec![serde_json::from_value::<SkillRequirement>(
                    json!({ "skill": "lang-fr", "min_level": 5 }),
                )
                .unwrap()],
                language: Some("fr".into()),
                customer: Some("crm-42".into()),
                customer_name: Some("Bob".into()),
                tier: Tier::Gold,
                urgency: Urgency::new(2).unwrap(),
                ivr: BTreeMap::from([("menu".into(), "2".into())]),
            },
        ),
        delivery(
            "e2",
            CallEvent::Answered {
                call_id: "c1".into(),
                agent: Some(agent("ann")),
            },
        ),
        delivery(
            "e3",
            CallEvent::Held {
                call_id: "c1".into(),
            },
        ),
        delivery(
            "e4",
            CallEvent::Resumed {
                call_id: "c1".into(),
            },
        ),
        delivery(
            "e5",
            CallEvent::Transferred {
                call_id: "c1".into(),
                queue: Some(queue("billing")),
                agent: None,
            },
        ),
        delivery(
            "e6",
            CallEvent::Ended {
                call_id: "c1".into(),
                cause: Some("normalClearing".into()),
            },
        ),
        delivery(
            "e7",
            CallEvent::CallbackRequested {
                call_id: "c1".into(),
                number: "+3212345678".into(),
                due: Some(at(3_600_000)),
            },
        ),
        delivery(
            "e8",
            CallEvent::CallbackRequested {
                call_id: "c1".into(),
                number: "+3212345678".into(),
                due: None,
            },
        ),
    ];
    assert_json_snapshot!(events);
}

#[test]
fn the_smallest_arrival_takes_the_defaults() {
    let d: Delivery = read(
        &json!({ "event_id": "e1", "type": "call.arrived", "call_id": "c1", "queue": "sales" })
            .to_string(),
    )
    .unwrap();
    assert_eq!(
        d.event,
        CallEvent::Arrived {
            call_id: "c1".into(),
            queue: queue("sales"),
            caller: None,
            dialed: None,
            skills: vec![],
            language: None,
            customer: None,
            customer_name: None,
            tier: Tier::Standard,
            urgency: Urgency::default(),
            ivr: BTreeMap::new(),
        }
    );
    assert_eq!(d.event.call_id(), "c1");
}

#[test]
fn unknown_fields_are_ignored_and_unknown_types_refused() {
    // As before the types: PBXes add fields of their own.
    let d: Delivery = read(
        &json!({ "event_id": "e1", "type": "call.held", "call_id": "c1", "pbx_node": 3 })
            .to_string(),
    )
    .unwrap();
    assert_eq!(
        d.event,
        CallEvent::Held {
            call_id: "c1".into()
        }
    );
    for (text, why) in [
        (
            json!({ "event_id": "e1", "type": "call.parked", "call_id": "c1" }),
            "unknown variant `call.parked`",
        ),
        (
            json!({ "type": "call.held", "call_id": "c1" }),
            "missing field `event_id`",
        ),
        (
            json!({ "event_id": "e1", "type": "call.callback_requested", "call_id": "c1" }),
            "missing field `number`",
        ),
    ] {
        let error = read::<Delivery>(&text.to_string()).expect_err(&text.to_string());
        assert!(error.contains(why), "{text}: {error}");
    }
}

#[test]
fn ids_are_checked() {
    assert!(check_call_id("c-1").is_ok());
    assert_eq!(check_call_id("").unwrap_err().field, "call_id");
    assert!(check_call_id(&"x".repeat(129)).is_err());
    assert!(check_call_id("a\nb").is_err());
    assert!(check_event_id(&"x".repeat(128)).is_ok());
    assert_eq!(check_event_id("").unwrap_err().field, "event_id");
    assert!(check_event_id("e\u{0}1").is_err());
}

#[test]
fn every_listed_type_is_an_event_and_no_other() {
    for t in CallEvent::TYPES {
        let error = read::<Delivery>(&json!({"event_id": "e", "type": t}).to_string())
            .expect_err("no call_id");
        assert!(!error.contains("unknown variant"), "{t}: {error}");
    }
    let error = read::<Delivery>(&json!({"event_id": "e", "type": "call.parked"}).to_string())
        .expect_err("call.parked");
    assert!(error.contains("unknown variant"), "{error}");
}

#[test]
fn call_event_text_fields_are_bounded_and_printable() {
    let event = |extra: serde_json::Value| -> CallEvent {
        let mut v =
            json!({"event_id": "e", "type": "call.arrived", "call_id": "c", "queue": "sales"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        serde_json::from_value::<Delivery>(v).unwrap().event
    };
    assert!(event(
        json!({"caller": "+1 (555) 010-0000", "customer_name": "Zoë Ünal",
        "ivr": {"menu": "2"}})
    )
    .check()
    .is_ok());
    let cases = [
        (json!({"caller": "1".repeat(33)}), "caller"),
        (json!({"dialed": "1".repeat(33)}), "dialed"),
        (json!({"customer": "c".repeat(257)}), "customer"),
        (
            json!({"customer_name": "n".repeat(10_000)}),
            "customer_name",
        ),
        (json!({"customer_name": "Ann\u{0}"}), "customer_name"),
        (json!({"language": "en\u{1b}[31m"}), "language"),
        (json!({"ivr": {"k": "a\nb"}}), "ivr.k"),
        (json!({"ivr": {"k".repeat(61): "v"}}), "ivr"),
    ];
    for (extra, field) in cases {
        let e = event(extra.clone()).check().expect_err(&extra.to_string());
        assert_eq!(e.field, field, "{extra}: {e}");
    }
    let ended: Delivery = serde_json::from_value(
        json!({"event_id": "e", "type": "call.ended", "call_id": "c", "cause": "x".repeat(257)}),
    )
    .unwrap();
    assert_eq!(ended.event.check().unwrap_err().field, "cause");
    let held: Delivery =
        serde_json::from_value(json!({"event_id": "e", "type": "call.held", "call_id": "c\u{0}"}))
            .unwrap();
    assert_eq!(held.event.check().unwrap_err().field, "call_id");
}

#[test]
fn answers() {
    let c = contact();
    let answers = [
        HookAnswer::Ok(Done::Queued {
            contact_id: c,
            queue: queue("sales"),
            position: Some(3),
            estimated_wait: Some(Duration::from_millis(45_500)),
        }),
        HookAnswer::Ok(Done::Queued {
            contact_id: c,
            queue: queue("sales"),
            position: None,
            estimated_wait: None,
        }),
        HookAnswer::Ok(Done::Ended {
            contact_id: c,
            cause: Some("normalClearing".into()),
        }),
        HookAnswer::Ok(Done::Ended {
            contact_id: c,
            cause: None,
        }),
        HookAnswer::applied(c),
        HookAnswer::ignored("unknown call", None),
        HookAnswer::ignored("the contact is no longer in the ACD", Some(c)),
        HookAnswer::Refused {
            reason: "no agent is logged in to this queue".into(),
            contact_id: c,
        },
        HookAnswer::Ok(Done::Callback(CallbackPlaced {
            contact_id: c,
            queue: queue("sales"),
            state: Stage::Queued,
            channel: Channel::Callback,
            number: "+3212345678".into(),
            due: None,
            position: Some(2),
            estimated_wait: Some(Duration::from_secs(30)),
        })),
        HookAnswer::Ok(Done::CallbackAlreadyRequested {
            already_requested: true,
            contact_id: c,
            position: Some(2),
            estimated_wait: None,
        }),
        HookAnswer::Ignored {
            reason: "the contact is offered; only a waiting call or chat can become a callback"
                .into(),
            code: Some("not_waiting".into()),
            contact_id: Some(c),
        },
    ];
    let sent: Vec<_> = answers.iter().map(round_trip).collect();
    // As the hooks answered with `json!` before the types.
    assert_eq!(
        sent[1],
        json!({ "status": "ok", "contact_id": c, "queue": "sales", "position": null, "estimated_wait": null })
    );
    assert_eq!(
        sent[3],
        json!({ "status": "ok", "contact_id": c, "cause": null })
    );
    assert_eq!(sent[4], json!({ "status": "ok", "contact_id": c }));
    assert_eq!(
        sent[5],
        json!({ "status": "ignored", "reason": "unknown call" })
    );
    assert_json_snapshot!(sent);
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn cti_events_from_their_fields() {
    let events: Vec<CtiEvent> = [
        fields(&[
            ("event", "newCall"),
            ("callId", " z1 "),
            ("direction", "in"),
            ("from", "+3212345678"),
            ("to", "sales"),
            ("user", "Ann,Bob"),
        ]),
        fields(&[
            ("event", "newCall"),
            ("callId", "z2"),
            ("direction", "in"),
            ("queue", "billing"),
            ("to", "+32800"),
        ]),
        fields(&[
            ("event", "newCall"),
            ("callId", "z3"),
            ("direction", "out"),
            ("to", "+3212"),
        ]),
        fields(&[
            ("event", "answer"),
            ("callId", "z1"),
            ("user", "ann"),
            ("answeringNumber", ""),
        ]),
        fields(&[
            ("event", "answer"),
            ("callId", "z1"),
            ("answeringNumber", "201"),
        ]),
        fields(&[("event", "hangup"), ("callId", "z1"), ("cause", "cancel")]),
        fields(&[("event", "hangup"), ("callId", "z1")]),
    ]
    .iter()
    .map(|f| CtiEvent::from_fields(f).unwrap_or_else(|e| panic!("{f:?}: {e}")))
    .collect();
    assert_eq!(
        events[0],
        CtiEvent::NewCall {
            call_id: "z1".into(),
            direction: Direction::In,
            queue: Some(queue("sales")),
            from: Some("+3212345678".into()),
            to: Some("sales".into()),
            user: Some("Ann,Bob".into()),
        }
    );
    // Serialised, an event is a JSON body a bridge may send, and reads back the same.
    for event in &events {
        let body = serde_json::to_value(event).unwrap();
        let again = CtiEvent::from_fields(&fields_from_json(body).unwrap()).unwrap();
        assert_eq!(&again, event);
    }
    assert_json_snapshot!(events);
}

#[test]
fn cti_fields_are_checked_in_order() {
    let cases = [
        (fields(&[("callId", "z1")]), "event: is required"),
        (
            fields(&[("event", "newCall"), ("callId", "  ")]),
            "callId: is required",
        ),
        (
            fields(&[("event", "dance"), ("callId", &"x".repeat(200))]),
            "event: unknown event \"dance\"; use newCall, answer or hangup",
        ),
        (
            fields(&[("event", "hangup"), ("callId", &"x".repeat(200))]),
            "call_id: must be 1 to 128 printable characters",
        ),
        (
            fields(&[
                ("event", "hangup"),
                ("callId", "z1"),
                ("direction", "sideways"),
            ]),
            "direction: must be in or out",
        ),
        (
            fields(&[("event", "newCall"), ("callId", "z1"), ("to", "sales")]),
            "direction: is required for newCall",
        ),
        (
            fields(&[
                ("event", "newCall"),
                ("callId", "z1"),
                ("direction", "in"),
                ("from", &"1".repeat(33)),
            ]),
            "from: must be at most 32 characters",
        ),
        (
            fields(&[("event", "hangup"), ("callId", "z1"), ("cause", "a\u{0}b")]),
            "cause: must not contain control characters",
        ),
        (
            fields(&[
                ("event", "answer"),
                ("callId", "z1"),
                ("user", &"u".repeat(10_000)),
            ]),
            "user: must be at most 256 characters",
        ),
        (
            fields(&[("event", "newCall"), ("callId", "z1"), ("direction", "in")]),
            "queue: newCall needs a queue (or the queue's name in to)",
        ),
        (
            fields(&[
                ("event", "newCall"),
                ("callId", "z1"),
                ("direction", "in"),
                ("to", "+32 2 123"),
            ]),
            "queue: ",
        ),
    ];
    for (f, want) in cases {
        let error = CtiEvent::from_fields(&f).expect_err(want).to_string();
        assert!(error.starts_with(want), "{f:?}: {error}");
    }
    // An outbound call needs no queue (it is answered `{}` and nothing else).
    assert!(CtiEvent::from_fields(&fields(&[
        ("event", "newCall"),
        ("callId", "z1"),
        ("direction", "out"),
        ("to", "+32 2 123"),
    ]))
    .is_ok());
}

#[test]
fn cti_json_bodies_flatten_to_fields() {
    let f = fields_from_json(json!({
        "event": "newCall", "callId": "z1", "user[]": ["Ann", "Bob"], "from": 3212345678u64,
    }))
    .unwrap();
    assert_eq!(f["user"], "Ann,Bob");
    assert_eq!(f["from"], "3212345678");
    assert_eq!(
        fields_from_json(json!(["newCall"]))
            .unwrap_err()
            .to_string(),
        "body: must be a JSON object"
    );
}

#[test]
fn cti_answers() {
    let answers = [CtiAnswer::Done {}, CtiAnswer::BUSY].map(|a| round_trip(&a));
    assert_eq!(answers[0], json!({}));
    assert_eq!(answers[1], json!({ "action": "reject", "reason": "busy" }));
    assert_json_snapshot!(answers);
}
