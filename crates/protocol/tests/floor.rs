//! The supervisor floor's frames and commands.

mod support;

use std::collections::BTreeMap;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{agent, at, contact, queue, read, round_trip};
use switchboard_domain::{AgentStatus, Presence, TransferTarget, Urgency};
use switchboard_protocol::{
    contacts::Stage,
    floor::{AgentContact, AgentView, Frame, QueueView, Request, TodayFigures},
    Stamped,
};

fn sent(frame: Frame) -> serde_json::Value {
    round_trip(&Stamped::new(1, frame))
}

fn sales() -> QueueView {
    QueueView {
        waiting: 3,
        offered_now: 1,
        longest_wait_ms: 42_000,
        agents: BTreeMap::from([("available".into(), 2), ("busy".into(), 5)]),
        today: TodayFigures {
            offered: 120,
            answered: 110,
            abandoned: 6,
            service_level: Some(0.85),
            service_level_formula: Some("answered_within_t_over_answered_plus_abandoned".into()),
            service_level_target_s: 20.0,
            asa_ms: Some(12_500.5),
            handled: 104,
            aht_ms: Some(185_000.0),
            fcr_reported: Some(0.75),
            arrivals_per_hour: Some(96.5),
            agents_needed_now: Some(7),
        },
    }
}

fn ann() -> AgentView {
    AgentView {
        status: Some(AgentStatus::Busy),
        since: at(-60_000),
        contacts: vec![
            AgentContact {
                contact_id: contact(),
                state: Stage::Held,
                queue: Some(queue("sales")),
            },
            AgentContact {
                contact_id: contact(),
                state: Stage::WrapUp,
                queue: None,
            },
        ],
    }
}

#[test]
fn snapshot() {
    assert_json_snapshot!(sent(Frame::Snapshot {
        queues: BTreeMap::from([
            (queue("sales"), sales()),
            (
                queue("billing"),
                QueueView {
                    waiting: 0,
                    offered_now: 0,
                    longest_wait_ms: 0,
                    agents: BTreeMap::new(),
                    today: TodayFigures::none_yet(30.0),
                },
            ),
        ]),
        agents: BTreeMap::from([
            (agent("ann"), ann()),
            (
                agent("bob"),
                AgentView {
                    status: None,
                    since: at(0),
                    contacts: vec![],
                },
            ),
        ]),
    }));
}

#[test]
fn delta_has_what_changed_and_null_for_what_is_gone() {
    let before_queues = BTreeMap::from([(queue("sales"), sales()), (queue("old"), sales())]);
    let before_agents = BTreeMap::from([(agent("ann"), ann())]);
    let mut busier = sales();
    busier.waiting = 4;
    let after_queues = BTreeMap::from([(queue("sales"), busier.clone())]);
    let mut ann_free = ann();
    ann_free.status = Some(AgentStatus::Available);
    ann_free.contacts.clear();
    let after_agents = BTreeMap::from([(agent("ann"), ann_free.clone())]);

    let delta = Frame::delta(
        (&before_queues, &before_agents),
        (&after_queues, &after_agents),
    )
    .expect("something changed");
    assert_eq!(
        delta,
        Frame::Delta {
            queues: BTreeMap::from([(queue("sales"), Some(busier)), (queue("old"), None)]),
            agents: BTreeMap::from([(agent("ann"), Some(ann_free))]),
        }
    );
    assert_eq!(
        Frame::delta(
            (&after_queues, &after_agents),
            (&after_queues, &after_agents)
        ),
        None,
        "nothing changed, nothing to send"
    );
    assert_json_snapshot!(sent(delta));
}

#[test]
fn a_queue_that_saw_nothing_today_has_no_formula_name() {
    let figures = round_trip(&TodayFigures::none_yet(20.0));
    assert_eq!(
        figures,
        json!({ "offered": 0, "answered": 0, "abandoned": 0, "service_level": null,
                "service_level_target_s": 20.0, "asa_ms": null,
                "handled": 0, "aht_ms": null, "fcr_reported": null, "arrivals_per_hour": null,
                "agents_needed_now": null })
    );
}

#[test]
fn replies() {
    let frames = [
        sent(Frame::Ack {
            in_reply_to: Some(json!("s1")),
        }),
        sent(Frame::Pong { in_reply_to: None }),
        sent(Frame::error(
            Some(json!(3)),
            "unknown_contact",
            "no such contact",
        )),
        sent(Frame::bad_message("unknown variant `dance`")),
    ];
    assert!(frames[3].get("in_reply_to").is_none());
    assert_json_snapshot!(frames);
}

#[test]
fn commands_as_supervisors_send_them() {
    let c = contact();
    let commands = [
        json!({ "type": "set_agent_state", "id": "s1", "agent": "ann", "presence": { "presence": "offline" } }),
        json!({ "type": "move_contact", "id": 2, "contact_id": c, "to": { "kind": "queue", "id": "billing" } }),
        json!({ "type": "set_urgency", "contact_id": c, "urgency": 9 }),
        json!({ "type": "callback_in_place", "id": 4, "contact_id": c, "number": "+3212345678", "due": at(600_000) }),
        json!({ "type": "callback_in_place", "contact_id": c, "number": "+3212345678" }),
        json!({ "type": "ping", "id": 5 }),
    ];
    let read: Vec<Request> = commands
        .iter()
        .map(|r| serde_json::from_value(r.clone()).unwrap_or_else(|e| panic!("{r}: {e}")))
        .collect();
    for (request, text) in read.iter().zip(&commands) {
        assert_eq!(&round_trip(request), text);
    }
    assert_eq!(
        read[1],
        Request::MoveContact {
            id: Some(json!(2)),
            contact_id: c,
            to: TransferTarget::Queue(queue("billing")),
        }
    );
    assert_eq!(
        read[0],
        Request::SetAgentState {
            id: Some(json!("s1")),
            agent: agent("ann"),
            presence: Presence::Offline,
        }
    );
    assert_eq!(read[2].id(), &None);
    assert!(
        matches!(read[2], Request::SetUrgency { urgency, .. } if urgency == Urgency::new(9).unwrap())
    );
    assert_json_snapshot!(read);
}

#[test]
fn unknown_types_and_fields_are_refused() {
    let c = contact();
    for (text, why) in [
        (
            json!({ "type": "set_state" }),
            "unknown variant `set_state`",
        ),
        (
            json!({ "type": "set_urgency", "contact_id": c, "urgency": 3, "why": "vip" }),
            "unknown field `why`",
        ),
        (
            json!({ "type": "set_urgency", "contact_id": c, "urgency": 10 }),
            "",
        ),
        (
            json!({ "type": "move_contact", "contact_id": c, "to": { "kind": "team", "id": "x" } }),
            "unknown variant `team`",
        ),
    ] {
        let error = read::<Request>(&text.to_string()).expect_err(&text.to_string());
        assert!(error.contains(why), "{text}: {error}");
    }
}
