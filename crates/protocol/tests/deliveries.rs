//! The outbound PBX webhooks as the API lists them.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{at, read, round_trip};
use switchboard_protocol::deliveries::{Deliveries, DeliveriesQuery, WebhookDelivery};

#[test]
fn listing() {
    let delivered = WebhookDelivery {
        id: "ev-1".to_owned(),
        kind: "call.ring".to_owned(),
        status: "delivered".to_owned(),
        attempts: 1,
        next_attempt_at: at(0),
        last_error: None,
        last_status: Some(204),
        created_at: at(0),
        delivered_at: Some(at(120)),
        body: json!({ "type": "call.ring", "event_id": "ev-1", "call_id": "c-9" }),
    };
    let failing = WebhookDelivery {
        id: "ev-2".to_owned(),
        kind: "call.cancel".to_owned(),
        status: "pending".to_owned(),
        attempts: 2,
        next_attempt_at: at(4_000),
        last_error: Some("timed out after 5 s".to_owned()),
        last_status: None,
        created_at: at(1_000),
        delivered_at: None,
        body: json!(null),
    };
    let listing = round_trip(&Deliveries {
        items: vec![delivered, failing],
    });
    // As the handler answered with `json!` before the types: every key, `null` where empty.
    assert_eq!(
        listing["items"][1],
        json!({
            "id": "ev-2", "kind": "call.cancel", "status": "pending", "attempts": 2,
            "next_attempt_at": at(4_000), "last_error": "timed out after 5 s", "last_status": null,
            "created_at": at(1_000), "delivered_at": null, "body": null,
        })
    );
    assert_json_snapshot!(listing);
}

#[test]
fn queries() {
    assert_eq!(round_trip(&DeliveriesQuery::default()), json!({}));
    let q: DeliveriesQuery = read(&json!({ "status": "failed", "limit": 20 }).to_string()).unwrap();
    assert_eq!(
        q,
        DeliveriesQuery {
            status: Some("failed".to_owned()),
            limit: Some(20),
        }
    );
    let error = read::<DeliveriesQuery>(&json!({ "kind": "call.ring" }).to_string()).unwrap_err();
    assert!(error.contains("unknown field `kind`"), "{error}");
}
