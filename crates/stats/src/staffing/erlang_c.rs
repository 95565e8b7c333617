//! Erlang C: the M/M/N queue with infinitely patient callers.
//!
//! Model: Poisson arrivals, exponential handle times with mean `AHT`, `N` identical agents,
//! first-come-first-served, nobody abandons. With traffic `A = λ × AHT` Erlangs the queue has a
//! steady state only when `N > A`.

use serde::{Deserialize, Serialize};

use super::{
    agent_count, fraction_closed, fraction_half_open, fraction_positive, non_negative, positive,
    scheduled_agents, StaffingError, MAX_AGENTS,
};

/// What to staff for, for one interval of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErlangCInput {
    /// Contacts expected to arrive in the interval (`≥ 0`, may be fractional).
    pub arrivals: f64,
    /// Length of the interval in seconds (`> 0`), e.g. 1800 for half an hour.
    pub interval_secs: f64,
    /// Average handle time in seconds (`> 0`): talk + hold + wrap-up.
    pub aht_secs: f64,
    /// Target answer time `T` in seconds (`≥ 0`): the "20" in "80 % in 20 s".
    pub target_answer_secs: f64,
    /// Target service level, a fraction in `0..=1`: the "80 %" in "80 % in 20 s".
    pub target_service_level: f64,
    /// Highest acceptable occupancy, a fraction in `0<..=1` (e.g. 0.85); `None` for no cap.
    #[serde(default)]
    pub max_occupancy: Option<f64>,
    /// Shrinkage, the fraction of scheduled time agents are not available, in `0..1`.
    #[serde(default)]
    pub shrinkage: f64,
}

impl ErlangCInput {
    /// An input with no occupancy cap and no shrinkage.
    pub fn new(
        arrivals: f64,
        interval_secs: f64,
        aht_secs: f64,
        target_answer_secs: f64,
        target_service_level: f64,
    ) -> Self {
        Self {
            arrivals,
            interval_secs,
            aht_secs,
            target_answer_secs,
            target_service_level,
            max_occupancy: None,
            shrinkage: 0.0,
        }
    }
}

/// Erlang C predictions for one headcount.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErlangCMetrics {
    /// Agents on the phones, `N`.
    pub agents: u32,
    /// Offered traffic `A` in Erlangs.
    pub traffic_erlangs: f64,
    /// Probability an arriving contact has to queue, `C(N, A)` (see [`probability_of_waiting`]).
    pub probability_of_waiting: f64,
    /// Fraction of all contacts answered within the target time (see [`service_level`]).
    pub service_level: f64,
    /// Average speed of answer in seconds, over all contacts (see [`asa`]).
    pub asa_secs: f64,
    /// Fraction of agent time spent handling contacts, `A / N` (see [`occupancy`]).
    pub occupancy: f64,
}

/// The Erlang C staffing answer for one interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErlangCStaffing {
    /// Agents required on the phones: the smallest `N > A` meeting the service level target
    /// and the occupancy cap. Equal to `metrics.agents`.
    pub agents: u32,
    /// Agents to schedule, `ceil(agents / (1 - shrinkage))` (see [`scheduled_agents`]).
    pub scheduled_agents: u32,
    /// What `agents` agents are predicted to deliver.
    pub metrics: ErlangCMetrics,
}

/// Offered traffic in Erlangs: `A = arrivals × aht_secs / interval_secs`.
///
/// This is the arrival rate (contacts per second) times the average handle time (seconds),
/// the average number of agents the work would keep busy.
///
/// # Errors
///
/// If `arrivals` is negative, `interval_secs` or `aht_secs` is not positive, or any input is
/// not finite, or the product overflows.
pub fn traffic_intensity(
    arrivals: f64,
    interval_secs: f64,
    aht_secs: f64,
) -> Result<f64, StaffingError> {
    let arrivals = non_negative("arrivals", arrivals)?;
    let interval_secs = positive("interval_secs", interval_secs)?;
    let aht_secs = positive("aht_secs", aht_secs)?;
    let erlangs = arrivals / interval_secs * aht_secs;
    non_negative("traffic_erlangs", erlangs)
}

/// Erlang B, the blocking probability of `agents` servers offered `erlangs` of traffic with
/// no queue (M/M/N/N): `B(N, A) = (A^N / N!) / Σ_{k=0..N} A^k / k!`.
///
/// Computed by the numerically stable recurrence `B(0) = 1`,
/// `B(k) = A·B(k−1) / (k + A·B(k−1))`, which never forms a factorial or a power and stays in
/// `[0, 1]` for any traffic. `O(agents)`.
///
/// # Errors
///
/// If `erlangs` is negative or not finite, or `agents > MAX_AGENTS`.
pub fn erlang_b(erlangs: f64, agents: u32) -> Result<f64, StaffingError> {
    let erlangs = non_negative("erlangs", erlangs)?;
    let agents = agent_count(agents)?;
    Ok(erlang_b_raw(erlangs, agents))
}

/// Erlang C, the probability that an arriving contact waits (all `agents` busy):
/// `C(N, A) = N·B / (N − A·(1 − B))` with `B = B(N, A)` from [`erlang_b`].
///
/// Conventions outside the stable region: with no traffic (`A = 0`) nobody waits (0); when
/// `N ≤ A` (including `N = 0`) the queue is unstable and every contact waits (1).
///
/// # Errors
///
/// If `erlangs` is negative or not finite, or `agents > MAX_AGENTS`.
pub fn probability_of_waiting(erlangs: f64, agents: u32) -> Result<f64, StaffingError> {
    let erlangs = non_negative("erlangs", erlangs)?;
    let agents = agent_count(agents)?;
    Ok(match regime(erlangs, agents) {
        Regime::Idle => 0.0,
        Regime::Unstable => 1.0,
        Regime::Stable => erlang_c_from_b(erlangs, agents, erlang_b_raw(erlangs, agents)),
    })
}

/// Service level: the fraction of **all** offered contacts answered within
/// `target_answer_secs` (`T`), counting those answered immediately:
/// `SL = 1 − C(N, A) · exp(−(N − A) · T / AHT)`.
///
/// (In M/M/N the wait of a queued contact is exponential with rate `(N − A) / AHT`.)
///
/// Conventions: with no traffic the service level is 1; when `N ≤ A` the queue is unstable
/// and the service level is 0 (waits grow without bound).
///
/// # Errors
///
/// If `erlangs` or `target_answer_secs` is negative or not finite, `aht_secs` is not a
/// positive finite number, or `agents > MAX_AGENTS`.
pub fn service_level(
    erlangs: f64,
    agents: u32,
    aht_secs: f64,
    target_answer_secs: f64,
) -> Result<f64, StaffingError> {
    let erlangs = non_negative("erlangs", erlangs)?;
    let agents = agent_count(agents)?;
    let aht_secs = positive("aht_secs", aht_secs)?;
    let target = non_negative("target_answer_secs", target_answer_secs)?;
    Ok(match regime(erlangs, agents) {
        Regime::Idle => 1.0,
        Regime::Unstable => 0.0,
        Regime::Stable => {
            let c = erlang_c_from_b(erlangs, agents, erlang_b_raw(erlangs, agents));
            sl_from_c(c, erlangs, agents, aht_secs, target)
        }
    })
}

/// Average speed of answer in seconds, averaged over **all** contacts (those answered
/// immediately count as 0): `ASA = C(N, A) · AHT / (N − A)`.
///
/// With no traffic the ASA is 0.
///
/// # Errors
///
/// [`StaffingError::Unstable`] when `0 < A` and `N ≤ A` (the average wait is infinite); also
/// if `erlangs` is negative or not finite, `aht_secs` is not a positive finite number, or
/// `agents > MAX_AGENTS`.
pub fn asa(erlangs: f64, agents: u32, aht_secs: f64) -> Result<f64, StaffingError> {
    let erlangs = non_negative("erlangs", erlangs)?;
    let agents = agent_count(agents)?;
    let aht_secs = positive("aht_secs", aht_secs)?;
    match regime(erlangs, agents) {
        Regime::Idle => Ok(0.0),
        Regime::Unstable => Err(StaffingError::Unstable { erlangs, agents }),
        Regime::Stable => {
            let c = erlang_c_from_b(erlangs, agents, erlang_b_raw(erlangs, agents));
            Ok(asa_from_c(c, erlangs, agents, aht_secs))
        }
    }
}

/// Occupancy: the fraction of agent time spent handling contacts, `A / N`.
///
/// Conventions: with no traffic it is 0; when `N ≤ A` the agents are always busy, so 1.
///
/// # Errors
///
/// If `erlangs` is negative or not finite, or `agents > MAX_AGENTS`.
pub fn occupancy(erlangs: f64, agents: u32) -> Result<f64, StaffingError> {
    let erlangs = non_negative("erlangs", erlangs)?;
    let agents = agent_count(agents)?;
    Ok(match regime(erlangs, agents) {
        Regime::Idle => 0.0,
        Regime::Unstable => 1.0,
        Regime::Stable => erlangs / f64::from(agents),
    })
}

/// All Erlang C predictions for `agents` agents offered `erlangs` of traffic with the given
/// average handle time and target answer time (see the individual functions for formulas).
///
/// # Errors
///
/// [`StaffingError::Unstable`] when `0 < A` and `N ≤ A`; otherwise as [`service_level`].
pub fn erlang_c_metrics(
    erlangs: f64,
    agents: u32,
    aht_secs: f64,
    target_answer_secs: f64,
) -> Result<ErlangCMetrics, StaffingError> {
    let erlangs = non_negative("erlangs", erlangs)?;
    let agents = agent_count(agents)?;
    let aht_secs = positive("aht_secs", aht_secs)?;
    let target = non_negative("target_answer_secs", target_answer_secs)?;
    match regime(erlangs, agents) {
        Regime::Idle => Ok(idle_metrics(agents)),
        Regime::Unstable => Err(StaffingError::Unstable { erlangs, agents }),
        Regime::Stable => Ok(stable_metrics(
            erlangs,
            agents,
            erlang_b_raw(erlangs, agents),
            aht_secs,
            target,
        )),
    }
}

/// Erlang C staffing: the smallest `N` with `N > A`, `SL(N) ≥ target_service_level` and,
/// if given, `A / N ≤ max_occupancy`, plus the headcount to schedule after shrinkage and the
/// predictions for `N`. `A = arrivals × aht / interval`.
///
/// Both service level and `1 / occupancy` rise with `N`, so the first `N` found scanning
/// upward from `floor(A) + 1` is the minimum. Erlang B is advanced one agent at a time with
/// its recurrence, so the whole search is `O(N)`. With no arrivals the answer is 0 agents.
///
/// # Errors
///
/// On invalid input (see [`StaffingError`]), [`StaffingError::NoSolution`] if no `N` up to
/// [`MAX_AGENTS`] meets the targets, and
/// [`StaffingError::ScheduleOverflow`] from the shrinkage step.
pub fn erlang_c_staffing(input: &ErlangCInput) -> Result<ErlangCStaffing, StaffingError> {
    let erlangs = traffic_intensity(input.arrivals, input.interval_secs, input.aht_secs)?;
    let aht_secs = input.aht_secs;
    let target = non_negative("target_answer_secs", input.target_answer_secs)?;
    let target_sl = fraction_closed("target_service_level", input.target_service_level)?;
    let max_occupancy = input
        .max_occupancy
        .map(|o| fraction_positive("max_occupancy", o))
        .transpose()?;
    fraction_half_open("shrinkage", input.shrinkage)?;

    if erlangs == 0.0 {
        return Ok(ErlangCStaffing {
            agents: 0,
            scheduled_agents: 0,
            metrics: idle_metrics(0),
        });
    }
    let first = erlangs.floor() + 1.0;
    if first > f64::from(MAX_AGENTS) {
        return Err(StaffingError::NoSolution { limit: MAX_AGENTS });
    }
    // `first` is an integer in 1..=MAX_AGENTS, so the cast is exact.
    let mut agents = first as u32;
    let mut b = erlang_b_raw(erlangs, agents);
    loop {
        let metrics = stable_metrics(erlangs, agents, b, aht_secs, target);
        let occupancy_ok = max_occupancy.is_none_or(|max| metrics.occupancy <= max);
        if metrics.service_level >= target_sl && occupancy_ok {
            return Ok(ErlangCStaffing {
                agents,
                scheduled_agents: scheduled_agents(agents, input.shrinkage)?,
                metrics,
            });
        }
        if agents >= MAX_AGENTS {
            return Err(StaffingError::NoSolution { limit: MAX_AGENTS });
        }
        agents += 1;
        b = erlang_b_step(erlangs, agents, b);
    }
}

/// Which side of the stability boundary `(A, N)` is on.
enum Regime {
    /// `A = 0`: no work, nobody waits.
    Idle,
    /// `0 < A` and `N ≤ A`: no steady state.
    Unstable,
    /// `N > A > 0`.
    Stable,
}

fn regime(erlangs: f64, agents: u32) -> Regime {
    if erlangs == 0.0 {
        Regime::Idle
    } else if f64::from(agents) <= erlangs {
        Regime::Unstable
    } else {
        Regime::Stable
    }
}

/// `B(k)` from `B(k − 1)`.
fn erlang_b_step(erlangs: f64, k: u32, previous: f64) -> f64 {
    let ab = erlangs * previous;
    ab / (f64::from(k) + ab)
}

/// Erlang B by recurrence; inputs already validated.
fn erlang_b_raw(erlangs: f64, agents: u32) -> f64 {
    (1..=agents).fold(1.0, |b, k| erlang_b_step(erlangs, k, b))
}

/// `C = N·B / (N − A(1 − B))` for `N > A > 0`, clamped to `[0, 1]`.
fn erlang_c_from_b(erlangs: f64, agents: u32, b: f64) -> f64 {
    let n = f64::from(agents);
    (n * b / (n - erlangs * (1.0 - b))).clamp(0.0, 1.0)
}

fn sl_from_c(c: f64, erlangs: f64, agents: u32, aht_secs: f64, target: f64) -> f64 {
    let decay = (-(f64::from(agents) - erlangs) * target / aht_secs).exp();
    (1.0 - c * decay).clamp(0.0, 1.0)
}

fn asa_from_c(c: f64, erlangs: f64, agents: u32, aht_secs: f64) -> f64 {
    c * aht_secs / (f64::from(agents) - erlangs)
}

fn stable_metrics(erlangs: f64, agents: u32, b: f64, aht_secs: f64, target: f64) -> ErlangCMetrics {
    let c = erlang_c_from_b(erlangs, agents, b);
    ErlangCMetrics {
        agents,
        traffic_erlangs: erlangs,
        probability_of_waiting: c,
        service_level: sl_from_c(c, erlangs, agents, aht_secs, target),
        asa_secs: asa_from_c(c, erlangs, agents, aht_secs),
        occupancy: erlangs / f64::from(agents),
    }
}

fn idle_metrics(agents: u32) -> ErlangCMetrics {
    ErlangCMetrics {
        agents,
        traffic_erlangs: 0.0,
        probability_of_waiting: 0.0,
        service_level: 1.0,
        asa_secs: 0.0,
        occupancy: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 calls in 30 minutes, AHT 180 s, target 80 % answered in 20 s.
    fn published_example() -> ErlangCInput {
        ErlangCInput::new(100.0, 1800.0, 180.0, 20.0, 0.80)
    }

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    #[test]
    fn reproduces_the_published_example() {
        let staffing = erlang_c_staffing(&published_example()).unwrap();
        let m = staffing.metrics;
        assert_eq!(staffing.agents, 14);
        assert_eq!(m.agents, 14);
        assert_eq!(staffing.scheduled_agents, 14);
        assert!(close(m.traffic_erlangs, 10.0, 1e-12), "{m:?}");
        assert!(close(m.service_level, 0.888, 0.002), "{m:?}");
        assert!(close(m.occupancy, 0.714, 0.001), "{m:?}");
        assert!(close(m.probability_of_waiting, 0.174, 0.001), "{m:?}");
        // ASA = C · AHT / (N − A) = 0.1741 · 180 / 4.
        assert!(close(m.asa_secs, 7.83, 0.02), "{m:?}");
    }

    #[test]
    fn thirteen_agents_miss_the_published_target() {
        let sl = service_level(10.0, 13, 180.0, 20.0).unwrap();
        assert!(sl < 0.80, "{sl}");
        let sl14 = service_level(10.0, 14, 180.0, 20.0).unwrap();
        assert!(sl14 >= 0.80, "{sl14}");
    }

    #[test]
    fn per_headcount_functions_match_the_staffing_result() {
        let m = erlang_c_staffing(&published_example()).unwrap().metrics;
        assert_eq!(
            probability_of_waiting(10.0, 14),
            Ok(m.probability_of_waiting)
        );
        assert_eq!(service_level(10.0, 14, 180.0, 20.0), Ok(m.service_level));
        assert_eq!(asa(10.0, 14, 180.0), Ok(m.asa_secs));
        assert_eq!(occupancy(10.0, 14), Ok(m.occupancy));
        assert_eq!(erlang_c_metrics(10.0, 14, 180.0, 20.0), Ok(m));
    }

    #[test]
    fn erlang_b_matches_the_closed_form_for_small_cases() {
        // B(N, A) = (A^N / N!) / Σ A^k / k!, written out for N = 2, A = 1: 0.5 / 2.5.
        assert!(close(erlang_b(1.0, 2).unwrap(), 0.2, 1e-15));
        // N = 3, A = 2: (8/6) / (1 + 2 + 2 + 8/6) = 4/19.
        assert!(close(erlang_b(2.0, 3).unwrap(), 4.0 / 19.0, 1e-15));
        assert_eq!(erlang_b(5.0, 0), Ok(1.0));
        assert_eq!(erlang_b(0.0, 3), Ok(0.0));
    }

    #[test]
    fn erlang_c_matches_the_closed_form_for_a_single_agent() {
        // M/M/1: P(wait) = ρ, SL = 1 − ρ e^{−(1−ρ)T/AHT}, ASA = ρ·AHT/(1−ρ).
        let rho = 0.6;
        assert!(close(probability_of_waiting(rho, 1).unwrap(), rho, 1e-15));
        let sl = service_level(rho, 1, 100.0, 30.0).unwrap();
        assert!(close(sl, 1.0 - rho * (-0.4f64 * 0.3).exp(), 1e-15));
        assert!(close(asa(rho, 1, 100.0).unwrap(), 150.0, 1e-12));
    }

    #[test]
    fn stable_for_thousands_of_agents() {
        // 5000 Erlangs: factorials and powers would overflow long before this.
        let pw = probability_of_waiting(5000.0, 5100).unwrap();
        assert!(pw.is_finite() && (0.0..=1.0).contains(&pw), "{pw}");
        let input = ErlangCInput::new(50_000.0, 1800.0, 180.0, 20.0, 0.9);
        let staffing = erlang_c_staffing(&input).unwrap();
        assert!(
            staffing.agents > 5000 && staffing.agents < 5200,
            "{staffing:?}"
        );
        assert!(staffing.metrics.service_level >= 0.9);
        let below = service_level(5000.0, staffing.agents - 1, 180.0, 20.0).unwrap();
        assert!(below < 0.9, "{below}");
        // Near-saturated large system: still finite and sane.
        let m = erlang_c_metrics(99_000.5, 99_001, 300.0, 20.0).unwrap();
        assert!(m.probability_of_waiting > 0.99 && m.probability_of_waiting <= 1.0);
        assert!(m.asa_secs.is_finite());
    }

    #[test]
    fn unstable_region_is_saturated_or_refused() {
        assert_eq!(probability_of_waiting(10.0, 10), Ok(1.0));
        assert_eq!(probability_of_waiting(10.0, 0), Ok(1.0));
        assert_eq!(service_level(10.0, 9, 180.0, 20.0), Ok(0.0));
        assert_eq!(occupancy(10.0, 10), Ok(1.0));
        assert!(matches!(
            asa(10.0, 10, 180.0),
            Err(StaffingError::Unstable { agents: 10, .. })
        ));
        assert!(matches!(
            erlang_c_metrics(12.5, 12, 180.0, 20.0),
            Err(StaffingError::Unstable { .. })
        ));
    }

    #[test]
    fn no_traffic_needs_no_agents() {
        let staffing = erlang_c_staffing(&ErlangCInput::new(0.0, 1800.0, 180.0, 20.0, 0.8));
        let staffing = staffing.unwrap();
        assert_eq!(staffing.agents, 0);
        assert_eq!(staffing.scheduled_agents, 0);
        assert_eq!(staffing.metrics.service_level, 1.0);
        assert_eq!(probability_of_waiting(0.0, 0), Ok(0.0));
        assert_eq!(asa(0.0, 3, 180.0), Ok(0.0));
    }

    #[test]
    fn occupancy_cap_and_shrinkage() {
        // 20 Erlangs: the SL target alone needs fewer agents than an 80 % occupancy cap (25).
        let mut input = ErlangCInput::new(200.0, 1800.0, 180.0, 20.0, 0.8);
        let uncapped = erlang_c_staffing(&input).unwrap();
        assert!(uncapped.agents < 25, "{uncapped:?}");
        input.max_occupancy = Some(0.8);
        input.shrinkage = 0.3;
        let capped = erlang_c_staffing(&input).unwrap();
        assert_eq!(capped.agents, 25);
        assert!(capped.metrics.occupancy <= 0.8);
        assert_eq!(capped.scheduled_agents, 36); // 25 / 0.7 = 35.7
    }

    #[test]
    fn target_of_zero_needs_just_a_stable_queue() {
        let staffing = erlang_c_staffing(&ErlangCInput::new(100.0, 1800.0, 180.0, 20.0, 0.0));
        assert_eq!(staffing.unwrap().agents, 11);
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        let good = published_example();
        let cases: Vec<(ErlangCInput, &str)> = vec![
            (
                ErlangCInput {
                    arrivals: -1.0,
                    ..good
                },
                "arrivals",
            ),
            (
                ErlangCInput {
                    arrivals: f64::NAN,
                    ..good
                },
                "arrivals",
            ),
            (
                ErlangCInput {
                    arrivals: f64::INFINITY,
                    ..good
                },
                "arrivals",
            ),
            (
                ErlangCInput {
                    interval_secs: 0.0,
                    ..good
                },
                "interval_secs",
            ),
            (
                ErlangCInput {
                    aht_secs: 0.0,
                    ..good
                },
                "aht_secs",
            ),
            (
                ErlangCInput {
                    aht_secs: -180.0,
                    ..good
                },
                "aht_secs",
            ),
            (
                ErlangCInput {
                    target_answer_secs: -1.0,
                    ..good
                },
                "target_answer_secs",
            ),
            (
                ErlangCInput {
                    target_service_level: 1.2,
                    ..good
                },
                "target_service_level",
            ),
            (
                ErlangCInput {
                    target_service_level: -0.1,
                    ..good
                },
                "target_service_level",
            ),
            (
                ErlangCInput {
                    max_occupancy: Some(0.0),
                    ..good
                },
                "max_occupancy",
            ),
            (
                ErlangCInput {
                    max_occupancy: Some(1.5),
                    ..good
                },
                "max_occupancy",
            ),
            (
                ErlangCInput {
                    shrinkage: 1.0,
                    ..good
                },
                "shrinkage",
            ),
            (
                ErlangCInput {
                    shrinkage: -0.2,
                    ..good
                },
                "shrinkage",
            ),
        ];
        for (input, field) in cases {
            let err = erlang_c_staffing(&input).unwrap_err();
            let named = match err {
                StaffingError::NotFinite { field, .. }
                | StaffingError::Negative { field, .. }
                | StaffingError::NotPositive { field, .. }
                | StaffingError::FractionOutOfRange { field, .. } => field,
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(named, field, "{input:?}");
        }
        assert!(probability_of_waiting(-1.0, 3).is_err());
        assert!(service_level(1.0, 3, 0.0, 20.0).is_err());
        assert!(matches!(
            erlang_b(1.0, MAX_AGENTS + 1),
            Err(StaffingError::TooManyAgents { .. })
        ));
    }

    #[test]
    fn reports_when_no_headcount_is_enough() {
        // Traffic beyond the agent limit.
        let huge = ErlangCInput::new(1e9, 1800.0, 180.0, 20.0, 0.8);
        assert_eq!(
            erlang_c_staffing(&huge),
            Err(StaffingError::NoSolution { limit: MAX_AGENTS })
        );
        // An occupancy cap that would need ten million agents.
        let mut idle = ErlangCInput::new(100.0, 1800.0, 180.0, 20.0, 0.8);
        idle.max_occupancy = Some(1e-6);
        assert_eq!(
            erlang_c_staffing(&idle),
            Err(StaffingError::NoSolution { limit: MAX_AGENTS })
        );
    }
}
