//! The envelope of a historical report.

mod support;

use insta::assert_json_snapshot;
use serde_json::{json, Value};
use support::{at, round_trip};
use switchboard_protocol::reports::{ReportAnswer, ReportSource};

/// A report as the statistics render it, abridged (its shape is not this crate's).
fn report() -> Value {
    json!({ "offered": 12, "answered": 10, "abandon_rate": { "value": 0.1667 } })
}

#[test]
fn answers_from_either_source() {
    let from_aggregates = ReportAnswer {
        reports: vec![report(), report()],
        time_zone: "Europe/Berlin".to_owned(),
        source: ReportSource::Aggregates {
            aggregated_until: at(0),
            cells_read: 96,
            events_read: 14,
        },
    };
    let from_events = ReportAnswer {
        reports: vec![report()],
        time_zone: "UTC".to_owned(),
        source: ReportSource::Events { events_read: 530 },
    };
    let answers = [round_trip(&from_aggregates), round_trip(&from_events)];
    // As the handler answered with `json!` before the types.
    assert_eq!(
        answers[0],
        json!({
            "reports": [report(), report()],
            "time_zone": "Europe/Berlin",
            "source": "aggregates",
            "aggregated_until": at(0),
            "cells_read": 96,
            "events_read": 14,
        })
    );
    assert_eq!(
        answers[1],
        json!({ "reports": [report()], "time_zone": "UTC", "source": "events", "events_read": 530 })
    );
    assert_json_snapshot!(answers);
}
