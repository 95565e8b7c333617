//! The webhooks we send a PBX.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{agent, at, contact, queue, round_trip};
use switchboard_domain::WithdrawReason;
use switchboard_protocol::{
    pbx::{CancelReason, DialInstruction, OfferInstruction, PbxAgent, Webhook},
    to_sorted_json,
};

fn offer(deadline: Option<i64>, reason: Option<CancelReason>) -> OfferInstruction {
    OfferInstruction {
        event_id: "pbx1:1796655600000:42".into(),
        call_id: "c1".into(),
        contact_id: contact(),
        queue: queue("sales"),
        agent: PbxAgent {
            id: agent("ann"),
            extension: Some("201".into()),
            number: Some("1001".into()),
        },
        deadline: deadline.map(at),
        reason,
        at: at(0),
    }
}

#[test]
fn ring() {
    let hook = Webhook::Ring(offer(Some(15_000), None));
    assert_eq!(hook.kind(), "call.ring");
    assert_eq!(hook.event_id(), "pbx1:1796655600000:42");
    assert_json_snapshot!(round_trip(&hook));
}

#[test]
fn connect() {
    assert_json_snapshot!(round_trip(&Webhook::Connect(offer(None, None))));
}

#[test]
fn cancel_for_every_reason() {
    let reasons = [
        CancelReason::Rejected,
        CancelReason::TimedOut,
        CancelReason::AgentUnavailable,
        CancelReason::Moved,
        CancelReason::TakenElsewhere,
    ];
    let hooks: Vec<_> = reasons
        .into_iter()
        .map(|r| round_trip(&Webhook::Cancel(offer(None, Some(r)))))
        .collect();
    assert_json_snapshot!(hooks);
    assert_eq!(CancelReason::of_withdrawal(WithdrawReason::Abandoned), None);
    assert_eq!(
        CancelReason::of_withdrawal(WithdrawReason::Moved),
        Some(CancelReason::Moved)
    );
}

#[test]
fn dial() {
    let dial = |call_id: Option<&str>, extension: Option<&str>, due: Option<i64>| {
        round_trip(&Webhook::Dial(DialInstruction {
            event_id: "pbx1:1796655600000:43".into(),
            call_id: call_id.map(str::to_owned),
            contact_id: contact(),
            queue: queue("sales"),
            number: "+3212345678".into(),
            due: due.map(at),
            agent: PbxAgent {
                id: agent("ann"),
                extension: extension.map(str::to_owned),
                number: Some("1001".into()),
            },
            at: at(0),
        }))
    };
    assert_json_snapshot!([
        dial(Some("c1"), Some("201"), Some(3_600_000)),
        dial(None, None, None)
    ]);
}

/// The body as the planner built it with `json!` before the types.
#[test]
fn the_body_is_what_the_planner_sent_before_the_types() {
    let c = contact();
    let before = |kind: &str, deadline: Option<i64>, reason: Option<&str>| {
        json!({
            "event_id": "pbx1:1796655600000:42",
            "type": kind,
            "call_id": "c1",
            "contact_id": c,
            "queue": "sales",
            "agent": { "id": "ann", "extension": null, "number": null },
            "deadline": deadline,
            "reason": reason,
            "at": at(0).as_millis(),
        })
    };
    let unknown_agent = |mut i: OfferInstruction| {
        i.agent.extension = None;
        i.agent.number = None;
        i
    };
    let deadline = at(15_000).as_millis();
    let ring = Webhook::Ring(unknown_agent(offer(Some(15_000), None)));
    assert_eq!(round_trip(&ring), before("call.ring", Some(deadline), None));
    // Byte for byte: the body is signed, and a receiver may re-serialise it to check.
    assert_eq!(
        to_sorted_json(&ring).unwrap(),
        before("call.ring", Some(deadline), None).to_string()
    );
    assert_eq!(
        round_trip(&Webhook::Connect(unknown_agent(offer(None, None)))),
        before("call.connect", None, None)
    );
    assert_eq!(
        round_trip(&Webhook::Cancel(unknown_agent(offer(
            None,
            Some(CancelReason::TimedOut)
        )))),
        before("call.cancel", None, Some("timed_out"))
    );
}

#[test]
fn a_body_missing_a_nullable_field_is_refused() {
    let mut body = round_trip(&Webhook::Connect(offer(None, None)));
    body.as_object_mut().unwrap().remove("deadline");
    let error = serde_json::from_value::<Webhook>(body).unwrap_err();
    assert!(error.to_string().contains("deadline"), "{error}");
}
