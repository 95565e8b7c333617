//! The simulator against queueing theory: one skill, FIFO (longest idle), exponential handle
//! times, 200,000 calls per check, the first hour left out as warm-up.
//!
//! * No abandonment: the service level within 2 percentage points and the ASA within 10 % of
//!   Erlang C, at three load levels (occupancy 0.71, 0.83 and 0.85).
//! * Exponential patience: the abandonment rate within 0.5 percentage points (and 5 %
//!   relative) of Erlang A, and its service level and ASA within the same bounds as above.
//!
//! Why these levels and tolerances: a 200,000-call run is a sample, and the ASA of a busy
//! M/M/N queue is a slowly mixing average (its relaxation spans about ρ/(1−ρ)² arrivals).
//! Over seeds 1–10 the ASA errors measured were within ±9 % at occupancy 0.71, ±8 % at
//! 0.83 and −12…+10 % at 0.85; at 0.91 they reach −18 %, so a 10 % bound there would test
//! the seed rather than the simulator, and it is left out. Abandonment mixes fast: over
//! 16 runs the Erlang A abandonment rate was matched within 0.14 pp (binomial standard error
//! alone ≈ 0.07 pp at 200,000 calls), so 0.5 pp is a bound of several standard errors that a
//! wrong rate, headcount or patience still breaks by far (one agent more or less moves it by
//! several points). The seeds are fixed: the checks are deterministic.

use switchboard_sim::{simulate, Scenario, SingleQueue, Theory};

const CALLS: u64 = 200_000;

fn run(agents: u32, arrivals_per_hour: f64, aht: f64, patience: Option<f64>) -> Theory {
    let mut scenario = Scenario::single_queue(SingleQueue {
        agents,
        calls: CALLS,
        arrivals_per_hour,
        aht,
        patience,
        sl_target: 20.0,
        seed: 1,
    });
    scenario.warm_up = 3600.0;
    let outcome = simulate(&scenario).expect("the scenario runs");
    assert_eq!(outcome.run.contacts, CALLS);
    assert!(
        outcome.overall.offered > CALLS * 99 / 100,
        "warm-up leaves most calls in the report: {}",
        outcome.overall.offered
    );
    assert_eq!(outcome.overall.waiting, 0, "the center drained");
    let theory = outcome.theory.expect("theory for a single queue");
    assert!(
        theory.caveats.is_empty(),
        "the scenario fits the model: {:?}",
        theory.caveats
    );
    theory
}

fn check_sl_and_asa(t: &Theory) {
    let (sim, model) = (&t.simulated, &t.predicted);
    let sl_pp = (sim.service_level - model.service_level).abs() * 100.0;
    assert!(
        sl_pp <= 2.0,
        "service level {:.4} vs {} {:.4}: {sl_pp:.2} pp apart",
        sim.service_level,
        t.model,
        model.service_level
    );
    let (asa, expected) = (sim.asa_secs.unwrap(), model.asa_secs.unwrap());
    let rel = (asa - expected).abs() / expected;
    assert!(
        rel <= 0.10,
        "ASA {asa:.2} s vs {} {expected:.2} s: {:.1} % apart",
        t.model,
        rel * 100.0
    );
}

#[test]
fn erlang_c_at_occupancy_0_71() {
    // 200 calls/h × 180 s = 10 Erlangs on 14 agents: SL 88.8 %, ASA 7.8 s.
    let t = run(14, 200.0, 180.0, None);
    assert_eq!(t.model, "erlang_c");
    assert!((t.offered_erlangs / 14.0 - 0.714).abs() < 0.001);
    check_sl_and_asa(&t);
}

#[test]
fn erlang_c_at_occupancy_0_83() {
    // 10 Erlangs on 12 agents: SL 64.0 %, ASA 40.4 s.
    let t = run(12, 200.0, 180.0, None);
    assert!((t.offered_erlangs / 12.0 - 0.833).abs() < 0.001);
    check_sl_and_asa(&t);
}

#[test]
fn erlang_c_at_occupancy_0_85() {
    // 680 calls/h × 180 s = 34 Erlangs on 40 agents: SL 87.9 %, ASA 7.1 s.
    let t = run(40, 680.0, 180.0, None);
    assert!((t.offered_erlangs / 40.0 - 0.85).abs() < 0.001);
    check_sl_and_asa(&t);
}

fn check_abandonment(t: &Theory) {
    let (sim, model) = (t.simulated.abandonment, t.predicted.abandonment);
    let pp = (sim - model).abs() * 100.0;
    assert!(
        pp <= 0.5 && (sim - model).abs() / model <= 0.05,
        "abandonment {sim:.4} vs Erlang A {model:.4}: {pp:.2} pp apart"
    );
}

#[test]
fn erlang_a_near_capacity() {
    // 10 Erlangs on 11 agents, patience 120 s: 9.4 % abandon.
    let t = run(11, 200.0, 180.0, Some(120.0));
    assert_eq!(t.model, "erlang_a");
    check_abandonment(&t);
    check_sl_and_asa(&t);
}

#[test]
fn erlang_a_overloaded() {
    // 12 Erlangs on 10 agents (no steady state without hang-ups), patience 90 s: 23 % abandon.
    let t = run(10, 240.0, 180.0, Some(90.0));
    check_abandonment(&t);
    check_sl_and_asa(&t);
}
