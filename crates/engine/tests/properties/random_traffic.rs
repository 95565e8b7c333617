//! The property: random traffic keeps the ACD's rules (all of them, numbered in the crate's
//! doc); and its generator is not vacuous.

use std::collections::BTreeMap;

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};

use crate::{
    driver::{run_case, Outcome, Run},
    strategies::{op, setup},
};

proptest! {
    #![proptest_config(Config {
        cases: 96,
        // Failures are reported, not written next to this file.
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn random_traffic_keeps_the_acd_invariants(
        setup in setup(),
        ops in prop::collection::vec(op(), 1..150),
    ) {
        run_case(&setup, &ops).1.map_err(TestCaseError::fail)?;
    }
}

/// The generator is not vacuous: over a fixed sample every kind of event happens, and some
/// offers need skill expansion.
#[test]
fn the_generator_reaches_every_event_kind() {
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut expanded = 0;
    for _ in 0..48 {
        let setup = setup().new_tree(&mut runner).expect("setup").current();
        let ops = prop::collection::vec(op(), 120..150);
        let ops = ops.new_tree(&mut runner).expect("ops").current();
        // Broken rules are the property test's to report: here the run goes on past them.
        let mut run = Run::new(&setup).expect("the setup breaks no rule");
        for op in &ops {
            let _ = run.step(op);
        }
        let _ = run.drain();
        expanded += run.model.expanded_offers;
        for outcome in &run.outcomes {
            let events = match outcome {
                Outcome::Fired(events) | Outcome::Applied(Ok(events)) => &events[..],
                Outcome::Applied(Err(_)) => &[],
            };
            for e in events {
                *seen.entry(e.kind.name()).or_default() += 1;
            }
        }
    }
    let all = [
        "agent_presence_changed",
        "contact_queued",
        "contact_refused",
        "contact_offered",
        "offer_accepted",
        "offer_rejected",
        "offer_timed_out",
        "offer_withdrawn",
        "contact_abandoned",
        "contact_held",
        "contact_resumed",
        "contact_transferred",
        "contact_overflowed",
        "contact_exited",
        "callback_requested",
        "priority_changed",
        "contact_ended",
        "contact_completed",
    ];
    for kind in all {
        assert!(seen.contains_key(kind), "{kind} never happened: {seen:?}");
    }
    assert!(expanded > 0, "no offer needed skill expansion");
}
