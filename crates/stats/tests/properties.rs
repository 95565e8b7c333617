//! Property tests of the staffing math's invariants.

use proptest::prelude::*;
use switchboard_stats::{
    erlang_a_staffing, erlang_c_staffing, occupancy, probability_of_waiting, service_level,
    ErlangA, ErlangAInput, ErlangCInput, StaffingError,
};

const EPS: f64 = 1e-12;

proptest! {
    #[test]
    fn erlang_c_probability_of_waiting_is_a_probability_falling_with_agents(
        erlangs in 0.0..300.0f64,
        agents in 0u32..400,
    ) {
        let here = probability_of_waiting(erlangs, agents).unwrap();
        let more = probability_of_waiting(erlangs, agents + 1).unwrap();
        prop_assert!((0.0..=1.0).contains(&here));
        prop_assert!((0.0..=1.0).contains(&more));
        prop_assert!(more <= here + EPS, "{here} -> {more}");
    }

    #[test]
    fn erlang_c_service_level_is_a_fraction_rising_with_agents(
        erlangs in 0.0..300.0f64,
        agents in 0u32..400,
        aht in 1.0..1000.0f64,
        target in 0.0..300.0f64,
    ) {
        let here = service_level(erlangs, agents, aht, target).unwrap();
        let more = service_level(erlangs, agents + 1, aht, target).unwrap();
        prop_assert!((0.0..=1.0).contains(&here));
        prop_assert!(more >= here - EPS, "{here} -> {more}");
        let occ = occupancy(erlangs, agents).unwrap();
        prop_assert!((0.0..=1.0).contains(&occ));
    }

    #[test]
    fn erlang_c_staffing_is_minimal(
        arrivals in 0.0..3000.0f64,
        aht in 10.0..900.0f64,
        target in 0.0..120.0f64,
        sl in 0.0..0.99f64,
        max_occupancy in proptest::option::of(0.5..1.0f64),
        shrinkage in 0.0..0.6f64,
    ) {
        let input = ErlangCInput {
            arrivals,
            interval_secs: 1800.0,
            aht_secs: aht,
            target_answer_secs: target,
            target_service_level: sl,
            max_occupancy,
            shrinkage,
        };
        let staffing = erlang_c_staffing(&input).unwrap();
        let m = staffing.metrics;
        let erlangs = m.traffic_erlangs;
        prop_assert!(m.service_level >= sl);
        prop_assert!(m.occupancy <= max_occupancy.unwrap_or(1.0));
        prop_assert!((0.0..=1.0).contains(&m.probability_of_waiting));
        prop_assert!(m.asa_secs >= 0.0 && m.asa_secs.is_finite());
        prop_assert!(staffing.scheduled_agents >= staffing.agents);
        if staffing.agents > 0 {
            prop_assert!(f64::from(staffing.agents) > erlangs);
            let fewer = staffing.agents - 1;
            let fails = f64::from(fewer) <= erlangs
                || service_level(erlangs, fewer, aht, target).unwrap() < sl
                || max_occupancy.is_some_and(|max| occupancy(erlangs, fewer).unwrap() > max);
            prop_assert!(fails, "{fewer} agents would also do: {staffing:?}");
        }
    }

    #[test]
    fn erlang_c_never_panics(
        arrivals in any::<f64>(),
        interval in any::<f64>(),
        aht in any::<f64>(),
        target in any::<f64>(),
        sl in any::<f64>(),
        shrinkage in any::<f64>(),
    ) {
        let input = ErlangCInput {
            arrivals,
            interval_secs: interval,
            aht_secs: aht,
            target_answer_secs: target,
            target_service_level: sl,
            max_occupancy: None,
            shrinkage,
        };
        let _ = erlang_c_staffing(&input);
        let _ = service_level(arrivals, 10, aht, target);
    }

    #[test]
    fn erlang_a_metrics_are_fractions_and_monotone(
        arrival_rate in 0.001..2.0f64,
        aht in 10.0..600.0f64,
        patience in 5.0..3600.0f64,
        agents in 1u32..150,
        target in 0.0..120.0f64,
    ) {
        let model = ErlangA::new(arrival_rate, aht, patience).unwrap();
        let here = model.metrics(agents, target).unwrap();
        let more = model.metrics(agents + 1, target).unwrap();
        for m in [&here, &more] {
            prop_assert!((0.0..=1.0).contains(&m.probability_of_waiting));
            prop_assert!((0.0..=1.0).contains(&m.probability_of_abandonment));
            prop_assert!((0.0..=1.0).contains(&m.service_level));
            prop_assert!((0.0..=1.0).contains(&m.answered_service_level));
            prop_assert!(m.occupancy <= 1.0 && m.occupancy >= 0.0);
            prop_assert!(m.asa_secs >= 0.0 && m.asa_secs.is_finite());
        }
        prop_assert!(more.probability_of_waiting <= here.probability_of_waiting + EPS);
        prop_assert!(more.probability_of_abandonment <= here.probability_of_abandonment + EPS);
        prop_assert!(more.service_level >= here.service_level - EPS, "{here:?} {more:?}");
    }

    #[test]
    fn erlang_a_staffing_is_minimal(
        arrivals in 1.0..2000.0f64,
        aht in 10.0..600.0f64,
        patience in 5.0..3600.0f64,
        target in 0.0..120.0f64,
        sl in 0.0..0.95f64,
        max_abandonment in proptest::option::of(0.01..0.5f64),
    ) {
        let input = ErlangAInput {
            arrivals,
            interval_secs: 1800.0,
            aht_secs: aht,
            patience_secs: patience,
            target_answer_secs: target,
            target_service_level: sl,
            max_abandonment,
            shrinkage: 0.0,
        };
        let staffing = erlang_a_staffing(&input).unwrap();
        let meets = |m: &switchboard_stats::ErlangAMetrics| {
            m.service_level >= sl
                && max_abandonment.is_none_or(|max| m.probability_of_abandonment <= max)
        };
        prop_assert!(meets(&staffing.metrics));
        if staffing.agents > 1 {
            let model = ErlangA::from_interval(arrivals, 1800.0, aht, patience).unwrap();
            let fewer = model.metrics(staffing.agents - 1, target).unwrap();
            prop_assert!(!meets(&fewer), "{fewer:?} also meets the target");
        }
    }
}

#[test]
fn erlang_a_rejects_unusable_input_instead_of_panicking() {
    for (rate, aht, patience) in [
        (f64::NAN, 180.0, 60.0),
        (1.0, f64::INFINITY, 60.0),
        (1.0, 180.0, -1.0),
        (f64::MAX, 180.0, 60.0),
    ] {
        let outcome = ErlangA::new(rate, aht, patience).and_then(|m| m.metrics(10, 20.0));
        assert!(outcome.is_err(), "{rate} {aht} {patience}: {outcome:?}");
    }
    assert_eq!(
        ErlangA::new(1.0, 180.0, 60.0).unwrap().metrics(0, 20.0),
        Err(StaffingError::NoAgents)
    );
}

/// Extreme but finite inputs give an error or finite, in-range numbers: never a panic,
/// a hang or a NaN.
#[test]
fn extreme_inputs_give_errors_or_sane_numbers() {
    let values = [0.0, 5e-324, 1e-300, 1e-9, 1.0, 180.0, 1e9, 1e300, f64::MAX];
    let fraction = |x: f64| (0.0..=1.0).contains(&x);
    for &rate in &values {
        for &aht in &values {
            for &patience in &values {
                for agents in [1, 7, 1000] {
                    for target in [0.0, 20.0, 1e300] {
                        let outcome = ErlangA::new(rate, aht, patience)
                            .and_then(|m| m.metrics(agents, target));
                        if let Ok(m) = outcome {
                            assert!(
                                fraction(m.probability_of_waiting)
                                    && fraction(m.probability_of_abandonment)
                                    && fraction(m.service_level)
                                    && fraction(m.answered_service_level)
                                    && fraction(m.occupancy)
                                    && m.asa_secs.is_finite()
                                    && m.asa_secs >= 0.0
                                    && m.mean_wait_secs.is_finite(),
                                "{rate} {aht} {patience} {agents} {target}: {m:?}"
                            );
                        }
                        let c = service_level(rate, agents, aht, target);
                        if let Ok(sl) = c {
                            assert!(fraction(sl), "{rate} {agents} {aht} {target}: {sl}");
                        }
                    }
                }
            }
        }
    }
}
