//! The HTTP API's error body.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{read, round_trip};
use switchboard_protocol::errors::{ErrorBody, ErrorDetails};

fn error(code: &str, message: &str, details: Option<ErrorDetails>) -> ErrorBody {
    ErrorBody {
        code: code.to_owned(),
        message: message.to_owned(),
        details,
    }
}

#[test]
fn bodies_with_every_kind_of_details() {
    let bodies = [
        error("not_found", "queue support not found", None),
        error(
            "invalid",
            "agent_id: must be 1 to 64 characters",
            Some(ErrorDetails::Invalid {
                field: "agent_id".to_owned(),
                problem: "must be 1 to 64 characters".to_owned(),
            }),
        ),
        error(
            "rate_limited",
            "too many sign-in attempts; try again in 42 s",
            Some(ErrorDetails::RetryAfter {
                retry_after_secs: 42,
            }),
        ),
        error(
            "invalid",
            "aht_secs must be positive",
            Some(ErrorDetails::Field {
                field: Some("aht_secs".to_owned()),
            }),
        ),
        error(
            "no_staffing_solution",
            "no number of agents up to 10000 meets the target",
            Some(ErrorDetails::Field { field: None }),
        ),
    ]
    .map(|b| round_trip(&b));
    // As the gateway answered with `json!` details before the types: no `details` key
    // without details, and `field: null` where no input is at fault.
    assert_eq!(
        bodies[0],
        json!({ "code": "not_found", "message": "queue support not found" })
    );
    assert_eq!(
        bodies[1]["details"],
        json!({ "field": "agent_id", "problem": "must be 1 to 64 characters" })
    );
    assert_eq!(bodies[2]["details"], json!({ "retry_after_secs": 42 }));
    assert_eq!(bodies[4]["details"], json!({ "field": null }));
    assert_json_snapshot!(bodies);
}

#[test]
fn details_are_told_apart_by_their_keys() {
    for (text, expected) in [
        (
            json!({ "field": "queue", "problem": "unknown" }),
            ErrorDetails::Invalid {
                field: "queue".to_owned(),
                problem: "unknown".to_owned(),
            },
        ),
        (
            json!({ "retry_after_secs": 1 }),
            ErrorDetails::RetryAfter {
                retry_after_secs: 1,
            },
        ),
        (
            json!({ "field": "shrinkage" }),
            ErrorDetails::Field {
                field: Some("shrinkage".to_owned()),
            },
        ),
        (
            json!({ "field": null }),
            ErrorDetails::Field { field: None },
        ),
    ] {
        assert_eq!(
            read::<ErrorDetails>(&text.to_string()),
            Ok(expected),
            "{text}"
        );
    }
    assert!(read::<ErrorDetails>("{}").is_err());
}
