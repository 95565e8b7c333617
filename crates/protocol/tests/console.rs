//! The agent console's frames: one snapshot per frame type, each read back; requests as
//! consoles send them, and the ones refused.

mod support;

use std::collections::BTreeMap;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{agent, at, contact, queue, read, round_trip};
use switchboard_domain::{AgentStatus, Channel, Presence, ReasonCode, Tier, TransferTarget};
use switchboard_protocol::{
    console::{CallbackOffer, Figures, Frame, Request, WithdrawnReason},
    Stamped, VERSION,
};

/// The frame as sent (stamped with `v` and `seq`), checked to read back the same.
fn sent(frame: Frame) -> serde_json::Value {
    round_trip(&Stamped::new(7, frame))
}

#[test]
fn hello() {
    assert_json_snapshot!(sent(Frame::Hello {
        agent: agent("ann"),
        display_name: Some("Ann Smith".into()),
        number: Some("1001".into()),
        status: Some(AgentStatus::Away {
            reason: ReasonCode::parse("lunch").unwrap(),
        }),
    }));
}

#[test]
fn hello_of_an_agent_without_profile_or_state() {
    assert_json_snapshot!(sent(Frame::Hello {
        agent: agent("ann"),
        display_name: None,
        number: None,
        status: None,
    }));
}

#[test]
fn offer() {
    assert_json_snapshot!(sent(Frame::Offer {
        contact_id: contact(),
        queue: queue("sales"),
        deadline: at(15_000),
        channel: Some(Channel::Voice),
        tier: Some(Tier::Gold),
        callback: None,
        data: Some(BTreeMap::from([
            ("caller".into(), "+3212345678".into()),
            ("customer_name".into(), "Bob".into()),
        ])),
        greeting: Some("Acme, Ann speaking. How can I help you, Bob?".into()),
    }));
}

#[test]
fn offer_without_the_contacts_data() {
    // Channel, tier, data and greeting are `null`, not absent.
    assert_json_snapshot!(sent(Frame::Offer {
        contact_id: contact(),
        queue: queue("sales"),
        deadline: at(15_000),
        channel: None,
        tier: None,
        callback: None,
        data: None,
        greeting: None,
    }));
}

#[test]
fn offer_of_a_callback_shows_the_number_and_the_promise() {
    assert_json_snapshot!(sent(Frame::Offer {
        contact_id: contact(),
        queue: queue("sales"),
        deadline: at(15_000),
        channel: Some(Channel::Callback),
        tier: Some(Tier::Standard),
        callback: Some(CallbackOffer {
            number: "+3212345678".into(),
            due: Some(at(3_600_000)),
        }),
        data: Some(BTreeMap::from([("caller".into(), "+3212345678".into())])),
        greeting: None,
    }));
}

#[test]
fn offer_withdrawn_for_every_reason() {
    let reasons = [
        WithdrawnReason::Rejected,
        WithdrawnReason::TimedOut,
        WithdrawnReason::Abandoned,
        WithdrawnReason::AgentUnavailable,
        WithdrawnReason::Moved,
        WithdrawnReason::TakenElsewhere,
    ];
    let frames: Vec<_> = reasons
        .into_iter()
        .map(|reason| {
            sent(Frame::OfferWithdrawn {
                contact_id: contact(),
                reason,
            })
        })
        .collect();
    assert_json_snapshot!(frames);
}

#[test]
fn assigned() {
    assert_json_snapshot!(sent(Frame::Assigned {
        contact_id: contact(),
        queue: queue("sales"),
    }));
}

#[test]
fn ended() {
    assert_json_snapshot!(sent(Frame::Ended {
        contact_id: contact(),
        wrap_up_until: at(30_000),
    }));
}

#[test]
fn completed() {
    assert_json_snapshot!(sent(Frame::Completed {
        contact_id: contact(),
    }));
}

#[test]
fn state() {
    let frames = [
        Presence::Available,
        Presence::Away {
            reason: ReasonCode::parse("disconnected").unwrap(),
        },
        Presence::Offline,
    ]
    .map(|presence| sent(Frame::State { presence }));
    assert_json_snapshot!(frames);
}

#[test]
fn stats() {
    assert_json_snapshot!(sent(Frame::Stats(Figures {
        handled_today: 3,
        occupancy_today: Some(0.625),
        average_handle_time_ms: Some(184_000),
        waiting_in_my_queues: 4,
        longest_wait_ms: 42_500,
    })));
}

#[test]
fn stats_before_anything_was_handled() {
    assert_json_snapshot!(sent(Frame::Stats(Figures {
        handled_today: 0,
        occupancy_today: None,
        average_handle_time_ms: None,
        waiting_in_my_queues: 0,
        longest_wait_ms: 0,
    })));
}

#[test]
fn ack_and_pong_echo_the_id_or_null() {
    let frames = [
        sent(Frame::Ack {
            in_reply_to: Some(json!("a1")),
        }),
        sent(Frame::Ack { in_reply_to: None }),
        sent(Frame::Pong {
            in_reply_to: Some(json!(7)),
        }),
        sent(Frame::Pong { in_reply_to: None }),
    ];
    assert_json_snapshot!(frames);
}

#[test]
fn errors_answer_a_request_or_a_message_that_could_not_be_read() {
    let frames = [
        sent(Frame::error(
            Some(json!(3)),
            "not_yours",
            "that contact is another agent's",
        )),
        // A request without `id`: `in_reply_to` is null.
        sent(Frame::error(None, "invalid_transition", "no such offer")),
        // Unreadable: no `in_reply_to` at all.
        sent(Frame::bad_message("send JSON text frames")),
    ];
    assert_eq!(frames[1]["in_reply_to"], json!(null));
    assert!(frames[2].get("in_reply_to").is_none());
    assert_json_snapshot!(frames);
}

/// The frames as the gateway built them with `json!` before this crate, side by side.
#[test]
fn frames_are_what_the_console_sent_before_the_types() {
    let c = contact();
    let pairs = [
        (
            Frame::OfferWithdrawn {
                contact_id: c,
                reason: WithdrawnReason::TimedOut,
            },
            json!({ "type": "offer_withdrawn", "contact_id": c, "reason": "timed_out" }),
        ),
        (
            Frame::Offer {
                contact_id: c,
                queue: queue("sales"),
                deadline: at(0),
                channel: None,
                tier: None,
                callback: None,
                data: None,
                greeting: None,
            },
            json!({
                "type": "offer", "contact_id": c, "queue": "sales", "deadline": at(0),
                "channel": null, "tier": null, "callback": null, "data": null, "greeting": null,
            }),
        ),
        (
            Frame::Stats(Figures {
                handled_today: 0,
                occupancy_today: None,
                average_handle_time_ms: None,
                waiting_in_my_queues: 2,
                longest_wait_ms: 10,
            }),
            json!({
                "type": "stats", "handled_today": 0, "occupancy_today": null,
                "average_handle_time_ms": null, "waiting_in_my_queues": 2, "longest_wait_ms": 10,
            }),
        ),
        (
            Frame::error(None, "e", "m"),
            json!({ "type": "error", "in_reply_to": null, "code": "e", "message": "m" }),
        ),
        (
            Frame::bad_message("m"),
            json!({ "type": "error", "code": "bad_message", "message": "m" }),
        ),
        (
            Frame::State {
                presence: Presence::Available,
            },
            json!({ "type": "state", "presence": { "presence": "available" } }),
        ),
    ];
    for (frame, before) in pairs {
        let mut before = before;
        before["v"] = json!(VERSION);
        before["seq"] = json!(1);
        assert_eq!(round_trip(&Stamped::new(1, frame)), before);
    }
}

#[test]
fn requests_as_consoles_send_them() {
    let c = contact();
    let requests = [
        json!({ "type": "set_state", "id": 1, "presence": { "presence": "available" } }),
        json!({ "type": "set_state", "presence": { "presence": "away", "reason": "lunch" } }),
        json!({ "type": "accept", "id": "a", "contact_id": c }),
        json!({ "type": "reject", "contact_id": c }),
        json!({ "type": "hold", "contact_id": c }),
        json!({ "type": "resume", "contact_id": c }),
        json!({ "type": "end", "contact_id": c }),
        json!({ "type": "transfer", "id": 2, "contact_id": c, "to": { "kind": "queue", "id": "billing" } }),
        json!({ "type": "transfer", "contact_id": c, "to": { "kind": "agent", "id": "bob" } }),
        json!({ "type": "wrap_up", "contact_id": c }),
        json!({ "type": "wrap_up", "contact_id": c, "disposition": "sale", "resolved": true }),
        json!({ "type": "callback_in_place", "id": 5, "contact_id": c, "number": "+3212345678" }),
        json!({ "type": "callback_in_place", "contact_id": c, "number": "+3212345678", "due": at(3_600_000) }),
        json!({ "type": "ping", "id": { "any": ["json"] } }),
        json!({ "type": "ping" }),
    ];
    let read: Vec<Request> = requests
        .iter()
        .map(|r| serde_json::from_value(r.clone()).unwrap_or_else(|e| panic!("{r}: {e}")))
        .collect();
    // What is read writes back as sent.
    for (request, text) in read.iter().zip(&requests) {
        assert_eq!(&round_trip(request), text);
    }
    assert_eq!(read[2].id(), &Some(json!("a")));
    assert_eq!(read[3].id(), &None);
    assert_eq!(
        read[8],
        Request::Transfer {
            id: None,
            contact_id: c,
            to: TransferTarget::Agent(agent("bob")),
        }
    );
    assert_json_snapshot!(read);
}

#[test]
fn unknown_types_and_fields_are_refused() {
    let c = contact();
    for (text, why) in [
        (json!({ "type": "dance" }), "unknown variant `dance`"),
        (json!({ "id": 1 }), "missing field `type`"),
        (
            json!({ "type": "accept", "contact_id": c, "extra": 1 }),
            "unknown field `extra`",
        ),
        (json!({ "type": "ping", "v": 1, "seq": 2 }), "unknown field"),
        (
            json!({ "type": "callback_in_place", "contact_id": c }),
            "missing field `number`",
        ),
        (
            json!({ "type": "accept", "contact_id": "not-a-uuid" }),
            "invalid",
        ),
    ] {
        let error = read::<Request>(&text.to_string()).expect_err(&text.to_string());
        assert!(error.contains(why), "{text}: {error}");
    }
}

#[test]
fn the_text_sent_is_byte_for_byte_what_the_console_sent_before_the_types() {
    let c = contact();
    let frame = Frame::Assigned {
        contact_id: c,
        queue: queue("sales"),
    };
    let before =
        json!({ "type": "assigned", "contact_id": c, "queue": "sales", "v": VERSION, "seq": 3 });
    assert_eq!(Stamped::new(3, frame).to_text(), before.to_string());
    assert_eq!(
        Stamped::new(4, Frame::Ack { in_reply_to: None }).to_text(),
        r#"{"in_reply_to":null,"seq":4,"type":"ack","v":1}"#
    );
}
