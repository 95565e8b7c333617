//! The operator's probes.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::round_trip;
use switchboard_protocol::ops::{Dependency, Health, Readiness, ReadinessStatus};

fn dependency(kind: &str, ok: bool) -> Dependency {
    Dependency {
        kind: kind.to_owned(),
        ok,
    }
}

#[test]
fn health() {
    assert_eq!(round_trip(&Health::default()), json!({ "status": "ok" }));
}

#[test]
fn readiness_is_ready_when_both_dependencies_answer() {
    let ready = Readiness::of(dependency("postgres", true), dependency("redis", true));
    let not_ready = Readiness::of(dependency("sqlite", true), dependency("memory", false));
    assert_eq!(ready.status, ReadinessStatus::Ready);
    assert_eq!(not_ready.status, ReadinessStatus::NotReady);
    assert_eq!(
        Readiness::of(dependency("postgres", false), dependency("redis", true)).status,
        ReadinessStatus::NotReady
    );
    let answers = [ready, not_ready].map(|r| round_trip(&r));
    // As `/readyz` answered with `json!` before the types.
    assert_eq!(
        answers[1],
        json!({
            "status": "not_ready",
            "database": { "kind": "sqlite", "ok": true },
            "dispatcher": { "kind": "memory", "ok": false },
        })
    );
    assert_json_snapshot!(answers);
}
