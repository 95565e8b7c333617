//! A page of the event log.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{at, contact, queue, read, round_trip};
use switchboard_domain::{Event, EventId, EventKind, ExitReason};
use switchboard_protocol::events::{EventPage, EventQuery, LoggedEvent};

#[test]
fn pages() {
    let event = Event {
        id: EventId(41),
        at: at(0),
        kind: EventKind::ContactRefused {
            contact: contact(),
            queue: queue("support"),
            reason: ExitReason::NoAgents,
        },
    };
    let pages = [
        EventPage {
            events: vec![LoggedEvent {
                event: event.clone(),
                time: "2026-01-05T10:00:00.000+01:00".into(),
            }],
            next_after: Some(EventId(41)),
        },
        EventPage {
            events: vec![],
            next_after: None,
        },
    ]
    .map(|p| round_trip(&p));
    // As the gateway's own `EventPage` serialised: `next_after` is `null` on the last page.
    assert_eq!(pages[1], json!({ "events": [], "next_after": null }));
    assert_json_snapshot!(pages);
}

#[test]
fn queries() {
    let all = EventQuery {
        after: Some(EventId(41)),
        from: Some(at(0).as_millis().to_string()),
        to: Some("2026-01-05T01:00:00Z".to_owned()),
        contact: Some(contact().to_string()),
        agent: Some("ann".to_owned()),
        queue: Some("support".to_owned()),
        kind: Some("contact_offered".to_owned()),
        limit: Some(50),
    };
    assert_eq!(round_trip(&EventQuery::default()), json!({}));
    assert_json_snapshot!(round_trip(&all));
    let error = read::<EventQuery>(&json!({ "page": 2 }).to_string()).unwrap_err();
    assert!(error.contains("unknown field `page`"), "{error}");
}
