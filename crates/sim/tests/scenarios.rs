//! Scenarios end to end: determinism, the TOML format and its errors, the engine's own timers
//! on the virtual clock (wrap-up ends, offer timeouts, maximum waits, overflow), shifts,
//! stepwise arrival rates and every routing strategy.

use switchboard_sim::{simulate, Distribution, Outcome, Scenario, SingleQueue};

const EXAMPLE: &str = include_str!("../../../deploy/simulate/two-queues.toml");

fn small(agents: u32, calls: u64, per_hour: f64) -> Scenario {
    Scenario::single_queue(SingleQueue {
        agents,
        calls,
        arrivals_per_hour: per_hour,
        aht: 180.0,
        patience: None,
        sl_target: 20.0,
        seed: 3,
    })
}

fn run(s: &Scenario) -> Outcome {
    simulate(s).expect("the scenario runs")
}

#[test]
fn same_scenario_and_seed_give_the_same_outcome() {
    let scenario = Scenario::from_toml(EXAMPLE).expect("the example parses");
    let (a, b) = (run(&scenario), run(&scenario));
    assert_eq!(a, b);
    assert!(a.run.contacts > 1_000);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let mut other = scenario.clone();
    other.seed += 1;
    let c = run(&other);
    assert_ne!(a.overall, c.overall, "another seed, another day");
}

#[test]
fn the_example_exercises_queues_overflow_abandons_and_intervals() {
    let o = run(&Scenario::from_toml(EXAMPLE).unwrap());
    assert_eq!(o.queues.len(), 2);
    for q in &o.queues {
        assert!(q.report.offered > 300, "{}: {}", q.queue, q.report.offered);
        assert!(q.report.answered > 0);
    }
    let sales = &o.queues[0].report;
    assert!(
        sales.overflowed > 0,
        "three-minute waits overflow to support"
    );
    assert!(o.overall.abandoned > 0);
    assert!(sales.handle_time.mean_wrap_up_ms == Some(15_000.0));
    // Offers let ring (miss_rate) time out at the engine's deadline and go elsewhere.
    let missed: u64 = o.overall.agents.values().map(|a| a.missed).sum();
    assert!(missed > 0);
    // Hour by hour from the end of the warm-up (08:00) to 18:00.
    assert_eq!(o.intervals.len(), 10);
    assert!(o.intervals.iter().all(|r| r.offered > 0));
    assert!(o.theory.is_err(), "no theory for two queues");
    let json = serde_json::to_value(&o).unwrap();
    assert!(
        json["theory"]["unavailable"].is_string(),
        "{}",
        json["theory"]
    );
    assert_eq!(o.overall.waiting, 0, "everyone was served or gave up");
}

#[test]
fn unknown_keys_and_bad_values_are_refused_with_the_field() {
    let err = |text: &str| Scenario::from_toml(text).unwrap_err();
    let base = EXAMPLE.to_owned();
    let e = err(&base.replace("sl_target = 20", "sl_target = 20\ncolour = \"red\""));
    assert_eq!(e.field, "toml");
    assert!(e.problem.contains("colour"), "{e}");
    let e = err(&base.replace("mean = 240, sd = 150", "mean = 240, sd = 150, shape = 2"));
    assert!(e.problem.contains("shape"), "{e}");
    let e = err(&base.replace("\"12:30\"", "\"12:75\""));
    assert!(e.problem.contains("12:75"), "{e}");
    let e = err(&base.replace("hours = 18 ", "# no end "));
    assert_eq!(e.field, "hours");
    let e = err(&base.replace("queue = \"support\" }", "queue = \"nowhere\" }"));
    assert_eq!(e.field, "queues[0].max_wait.queue");
    let e = err(&base.replace("answer_delay = 2", "answer_delay = 20"));
    assert_eq!(e.field, "groups[0].answer_delay");
    let e = err(&base.replace(
        "skills = { sales = 8, support = 2 }",
        "skills = { support = 2 }",
    ));
    assert_eq!(e.field, "queues[0].required_skills", "{e}");
    let e = err(&base.replace("mean = 360", "mean = -1"));
    assert_eq!(e.field, "queues[1].handle_time.mean");
    let e = err(&base.replace("{ start = \"13:30\"", "{ start = \"12:00\""));
    assert_eq!(e.field, "groups[0].shifts[1].start");
    let e = err(&base.replace("miss_rate = 0.02", "miss_rate = 1.5"));
    assert_eq!(e.field, "groups[1].miss_rate");
}

#[test]
fn wrap_up_ends_at_the_engines_deadline() {
    let mut s = small(14, 5_000, 200.0);
    s.queues[0].wrap_up = 30.0;
    let o = run(&s);
    let h = &o.overall.handle_time;
    assert_eq!(h.count, 5_000);
    assert_eq!(h.mean_wrap_up_ms, Some(30_000.0));
    assert!((h.mean_talk_ms.unwrap() / 1000.0 - 180.0).abs() < 10.0);
}

#[test]
fn maximum_wait_sends_callers_out_at_the_deadline() {
    // 12 Erlangs on 10 agents: the line grows until the one-minute maximum takes callers out.
    let mut s = small(10, 20_000, 240.0);
    s.queues[0].max_wait = Some(
        toml::from_str::<MaxWaitDoc>("m = { after = 60, exit = \"leave\" }")
            .unwrap()
            .m,
    );
    let o = run(&s);
    let r = &o.overall;
    assert!(r.timed_out > 1_000, "{}", r.timed_out);
    assert!(r.max_wait_ms.unwrap() <= 60_000);
    assert_eq!(r.offered, r.answered + r.timed_out);
}

#[derive(serde::Deserialize)]
struct MaxWaitDoc {
    m: switchboard_domain::MaxWait,
}

#[test]
fn missed_offers_time_out_and_the_agent_comes_back() {
    let mut s = small(14, 5_000, 200.0);
    s.groups[0].miss_rate = 0.3;
    s.queues[0].max_no_answer = Some(2);
    s.groups[0].back_after_no_answer = Some(30.0);
    let o = run(&s);
    let r = &o.overall;
    let missed: u64 = r.agents.values().map(|a| a.missed).sum();
    assert!(missed > 1_000, "{missed}");
    assert_eq!(r.answered, 5_000, "every call still gets an agent");
    // Each miss held the caller for the whole 15 s offer timeout.
    assert!(r.asa_ms.unwrap() > 5_000.0);
}

#[test]
fn agents_log_out_at_the_end_of_their_shift_after_their_call() {
    // One hour of work, two hours of calls; nobody hangs up.
    let mut s = small(14, 1_000_000, 200.0);
    s.calls = None;
    s.hours = Some(2.0);
    s.interval = Some(switchboard_sim::ReportInterval::Minutes15);
    s.groups[0].shifts = vec![switchboard_sim::Shift {
        start: switchboard_sim::ClockTime::parse("00:00").unwrap(),
        end: switchboard_sim::ClockTime::parse("01:00").unwrap(),
    }];
    s.queues[0].handle_time = Distribution::Fixed { mean: 600.0 };
    let o = run(&s);
    let r = &o.overall;
    assert!(r.answered > 0 && r.waiting > 0);
    // Calls answered before 01:00 were all finished (talk ran past the shift's end).
    assert_eq!(r.handle_time.count, r.answered);
    assert_eq!(r.handling, 0);
    assert!(o.intervals[4..].iter().all(|i| i.answered == 0));
    assert!(o.intervals[4..].iter().all(|i| i.waiting == i.offered));
}

#[test]
fn arrival_rates_follow_the_profile() {
    let mut s = small(40, 1_000_000, 0.0);
    s.calls = None;
    s.hours = Some(3.0);
    s.interval = Some(switchboard_sim::ReportInterval::Minutes60);
    s.queues[0].arrivals_per_hour = None;
    s.queues[0].arrival_profile = toml::from_str::<Profile>(
        "p = [{ from = \"00:00\", per_hour = 100 }, { from = \"01:00\", per_hour = 0 }, { from = \"02:00\", per_hour = 400 }]",
    )
    .unwrap()
    .p;
    let o = run(&s);
    let n: Vec<u64> = o.intervals.iter().map(|r| r.offered).collect();
    assert_eq!(n.len(), 3);
    assert!((70..=130).contains(&n[0]), "{n:?}");
    assert_eq!(n[1], 0);
    assert!((340..=460).contains(&n[2]), "{n:?}");
}

#[derive(serde::Deserialize)]
struct Profile {
    p: Vec<switchboard_sim::RateStep>,
}

#[test]
fn every_strategy_runs_and_serves_everyone() {
    for strategy in [
        "longest_idle",
        "fewest_contacts",
        "round_robin",
        "best_skill",
        "random",
    ] {
        let mut s = small(12, 3_000, 200.0);
        s.queues[0].strategy = serde_json::from_str(&format!("\"{strategy}\"")).unwrap();
        let o = run(&s);
        assert_eq!(o.overall.answered, 3_000, "{strategy}");
        assert_eq!(o.run.stale_commands, 0, "{strategy}");
    }
}

#[test]
fn extreme_distributions_and_rates_neither_panic_nor_hang() {
    // A log-normal tail a thousand times its mean, and a queue that hardly ever rings.
    let mut s = small(5, 2_000, 100.0);
    s.queues[0].handle_time = Distribution::LogNormal {
        mean: 60.0,
        sd: 60_000.0,
    };
    s.queues[0].patience = Some(Distribution::LogNormal {
        mean: 30.0,
        sd: 30_000.0,
    });
    let o = run(&s);
    assert_eq!(o.run.contacts, 2_000);
    let mut rare = small(5, 10, 1e-12);
    rare.hours = Some(1.0);
    assert_eq!(run(&rare).run.contacts, 0);
}
