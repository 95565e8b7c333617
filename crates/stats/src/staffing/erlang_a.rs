//! Erlang A: the M/M/N+M queue, in which waiting callers abandon.
//!
//! Model: Poisson arrivals at rate `λ` per second, exponential handle times with rate
//! `μ = 1 / AHT`, `N` agents, first-come-first-served, and every caller has an independent
//! exponential patience with mean `θ` seconds (abandonment rate `γ = 1 / θ`): a caller still
//! queued when their patience runs out hangs up. Unlike Erlang C this queue is stable for any
//! `N ≥ 1`, including `λ / μ ≥ N`, because the queue sheds callers by abandonment.
//!
//! # Method
//!
//! The number of callers in the system `k` is a birth–death chain with birth rate `λ` and
//! death rate `d(k) = min(k, N)·μ + max(0, k − N)·γ`, so the stationary distribution is
//! `π(k) ∝ Π_{i=1..k} λ / d(i)`. It is summed in one pass in log space with periodic
//! rescaling (no factorials, powers or overflow), and stopped once the remaining tail is
//! provably below `e^-60` of the largest term. By PASTA an arriving caller sees `π`.
//!
//! A caller who arrives to find `j` callers queued (state `N + j`) reaches an agent after an
//! offered wait `V_j = Σ_{m=0..j} Exp(Nμ + mγ)` (each step is a service completion or an
//! abandonment of someone ahead) unless their own patience `τ ~ Exp(γ)` runs out first. For
//! these exponential stages:
//!
//! * `P(answered | j) = E[e^{−γ V_j}] = Nμ / (Nμ + (j+1)γ)`;
//! * `P(answered within T | j) = Nμ / (Nμ + (j+1)γ) · I_x(j + 1, Nμ/γ + 1)` with
//!   `x = 1 − e^{−γT}` and `I` the regularised incomplete beta function (evaluated as
//!   `1 − Σ_{i=0..j}` of negative-binomial terms, updated incrementally in `j`);
//! * `E[wait · 1{answered} | j] = Nμ / (Nμ + (j+1)γ) · Σ_{i=1..j+1} 1 / (Nμ + iγ)`.
//!
//! These are exact for the model (the beta form follows from `e^{−γ·Exp(γ(a+i))}` being
//! `Beta(a + i, 1)` and the product of those being `Beta(a + 1, j + 1)`); only the truncation
//! of the state space is approximate.

use serde::{Deserialize, Serialize};

use super::{
    agent_count, fraction_closed, fraction_half_open, non_negative, positive, scheduled_agents,
    StaffingError, MAX_AGENTS,
};

/// The largest number of chain states one Erlang A evaluation will visit. An understaffed
/// queue holds about `(λ − Nμ)·θ` callers, so this allows e.g. 100 contacts per second with an
/// hour's patience; beyond it evaluations fail with [`StaffingError::StateLimit`].
pub const MAX_ERLANG_A_STATES: usize = 1_000_000;

/// Terms below `e^-TAIL_MARGIN` of the largest term are dropped.
const TAIL_MARGIN: f64 = 60.0;
/// Accumulators are rescaled when the log-weight exceeds the current scale by this much.
const RESCALE: f64 = 200.0;

/// An Erlang A queue model: arrival rate, handle time and caller patience.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangA {
    arrival_rate: f64,
    aht_secs: f64,
    patience_secs: f64,
}

/// Erlang A predictions for one headcount and target answer time `T`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErlangAMetrics {
    /// Agents on the phones, `N`.
    pub agents: u32,
    /// Offered traffic `λ × AHT` in Erlangs (may exceed `N`).
    pub offered_erlangs: f64,
    /// Probability an arriving caller has to queue: `P(k ≥ N)`.
    pub probability_of_waiting: f64,
    /// Probability an arriving caller abandons: `Σ_j π(N+j)·(j+1)γ / (Nμ + (j+1)γ)`, which
    /// equals `γ·E[queue] / λ` (abandonment flow over arrival flow).
    pub probability_of_abandonment: f64,
    /// Service level over **all** arrivals: the fraction of arriving callers who are answered
    /// within `T`. Callers who abandon, at any time, count as missed; this is the number to
    /// compare with an Erlang C service level.
    pub service_level: f64,
    /// Service level over **answered** callers: `P(answered within T | answered)`, i.e.
    /// `service_level / (1 − probability_of_abandonment)`. Abandoned calls are excluded from
    /// numerator and denominator.
    pub answered_service_level: f64,
    /// Average speed of answer of **answered** callers, in seconds (those answered immediately
    /// count as 0): `E[wait | answered]`.
    pub asa_secs: f64,
    /// Average time in queue over **all** arrivals, answered or abandoned, in seconds:
    /// `E[queue] / λ` (Little's law), computed as the equal `P(abandon) · θ`.
    pub mean_wait_secs: f64,
    /// Fraction of agent time spent handling calls: carried traffic / `N`
    /// `= λ·(1 − P(abandon))·AHT / N = E[min(k, N)] / N`.
    pub occupancy: f64,
}

/// What to staff for with Erlang A, for one interval of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErlangAInput {
    /// Contacts expected to arrive in the interval (`≥ 0`).
    pub arrivals: f64,
    /// Length of the interval in seconds (`> 0`).
    pub interval_secs: f64,
    /// Average handle time in seconds (`> 0`).
    pub aht_secs: f64,
    /// Mean caller patience `θ` in seconds (`> 0`): how long callers wait, on average, before
    /// abandoning.
    pub patience_secs: f64,
    /// Target answer time `T` in seconds (`≥ 0`).
    pub target_answer_secs: f64,
    /// Target service level over all arrivals ([`ErlangAMetrics::service_level`]), in `0..=1`.
    pub target_service_level: f64,
    /// Highest acceptable probability of abandonment, in `0..=1`; `None` for no cap.
    #[serde(default)]
    pub max_abandonment: Option<f64>,
    /// Shrinkage, the fraction of scheduled time agents are not available, in `0..1`.
    #[serde(default)]
    pub shrinkage: f64,
}

/// The Erlang A staffing answer for one interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErlangAStaffing {
    /// Agents required on the phones. Equal to `metrics.agents`.
    pub agents: u32,
    /// Agents to schedule, `ceil(agents / (1 - shrinkage))`.
    pub scheduled_agents: u32,
    /// What `agents` agents are predicted to deliver.
    pub metrics: ErlangAMetrics,
}

impl ErlangA {
    /// A model with arrival rate `λ` (contacts per **second**, `≥ 0`), average handle time
    /// (seconds, `> 0`) and mean patience `θ` (seconds, `> 0`, finite).
    ///
    /// # Errors
    ///
    /// If any value, or `1 / AHT`, `1 / θ` or `λ × AHT`, is out of range or not finite.
    pub fn new(
        arrival_rate_per_sec: f64,
        aht_secs: f64,
        patience_secs: f64,
    ) -> Result<Self, StaffingError> {
        let model = Self {
            arrival_rate: non_negative("arrival_rate", arrival_rate_per_sec)?,
            aht_secs: positive("aht_secs", aht_secs)?,
            patience_secs: positive("patience_secs", patience_secs)?,
        };
        // Guard the derived rates too: a subnormal AHT or patience overflows 1/x.
        positive("service_rate", model.service_rate())?;
        positive("abandonment_rate", model.abandonment_rate())?;
        non_negative("offered_erlangs", model.offered_erlangs())?;
        Ok(model)
    }

    /// A model from a forecast: `λ = arrivals / interval_secs`.
    ///
    /// # Errors
    ///
    /// If any value is out of range or not finite.
    pub fn from_interval(
        arrivals: f64,
        interval_secs: f64,
        aht_secs: f64,
        patience_secs: f64,
    ) -> Result<Self, StaffingError> {
        let arrivals = non_negative("arrivals", arrivals)?;
        let interval_secs = positive("interval_secs", interval_secs)?;
        Self::new(arrivals / interval_secs, aht_secs, patience_secs)
    }

    /// Arrival rate `λ`, contacts per second.
    pub fn arrival_rate(&self) -> f64 {
        self.arrival_rate
    }

    /// Service rate of one agent `μ = 1 / AHT`, per second.
    pub fn service_rate(&self) -> f64 {
        1.0 / self.aht_secs
    }

    /// Abandonment rate of one waiting caller `γ = 1 / θ`, per second.
    pub fn abandonment_rate(&self) -> f64 {
        1.0 / self.patience_secs
    }

    /// Offered traffic `λ / μ = λ × AHT` in Erlangs.
    pub fn offered_erlangs(&self) -> f64 {
        self.arrival_rate * self.aht_secs
    }

    /// Steady-state predictions for `agents` agents and target answer time
    /// `target_answer_secs` (see [`ErlangAMetrics`] for each definition and the module docs
    /// for the method). With no arrivals nobody waits: service levels are 1, everything else 0.
    ///
    /// # Errors
    ///
    /// [`StaffingError::NoAgents`] for 0 agents while contacts arrive,
    /// [`StaffingError::TooManyAgents`] above [`MAX_AGENTS`], [`StaffingError::StateLimit`]
    /// when more than [`MAX_ERLANG_A_STATES`] states would be needed, or a negative or
    /// non-finite `target_answer_secs`.
    pub fn metrics(
        &self,
        agents: u32,
        target_answer_secs: f64,
    ) -> Result<ErlangAMetrics, StaffingError> {
        let agents = agent_count(agents)?;
        let target = non_negative("target_answer_secs", target_answer_secs)?;
        if self.arrival_rate == 0.0 {
            return Ok(idle_metrics(agents));
        }
        if agents == 0 {
            return Err(StaffingError::NoAgents);
        }
        self.evaluate(agents, target)
    }

    fn evaluate(&self, agents: u32, target: f64) -> Result<ErlangAMetrics, StaffingError> {
        let lambda = self.arrival_rate;
        let mu = self.service_rate();
        let gamma = self.abandonment_rate();
        let n = agents as usize;
        let nf = f64::from(agents);
        let n_mu = nf * mu;

        // The queue peaks near (λ − Nμ)/γ callers when understaffed; refuse up front if that
        // alone is beyond the state budget.
        if (lambda - n_mu) / gamma > MAX_ERLANG_A_STATES as f64 {
            return Err(StaffingError::StateLimit {
                limit: MAX_ERLANG_A_STATES,
            });
        }

        let ln_lambda = lambda.ln();
        // Incomplete-beta series for P(answered within T | j queued ahead), b = Nμ/γ + 1:
        // nb_0 = (1 − x)^b = e^{−(Nμ + γ)T}, nb_{i+1} = nb_i · x · (i + b) / (i + 1).
        // x·(i + b) is formed as x·i + (x/γ)·Nμ + x, finite even when γ is tiny (x/γ → T).
        let x = -(-gamma * target).exp_m1();
        let x_over_gamma = if x > 0.0 { x / gamma } else { 0.0 };
        let x_b = x_over_gamma * n_mu + x;
        let mut ln_nb = -(n_mu + gamma) * target;
        let mut cum_nb = ln_nb.exp();
        // Nμ·H_j = Σ_{i=1..j+1} Nμ / (Nμ + iγ) ≤ j + 1, the tilted mean offered wait in units
        // of 1/(Nμ) seconds (kept in those units so that it cannot overflow).
        let mut harmonic = n_mu / (n_mu + gamma);

        let mut acc = Accumulators::default();
        let mut scale = 0.0_f64;
        let mut ln_w = 0.0_f64;
        let mut ln_w_max = 0.0_f64;
        let mut k = 0_usize;
        loop {
            if ln_w > scale + RESCALE {
                acc.rescale((scale - ln_w).exp());
                scale = ln_w;
            }
            let w = (ln_w - scale).exp();
            acc.total += w;
            if k < n {
                acc.no_wait += w;
                acc.busy += k as f64 * w;
            } else {
                let j = (k - n) as f64;
                let denom = n_mu + (j + 1.0) * gamma;
                let answered = n_mu / denom;
                let within = answered * (1.0 - cum_nb).max(0.0);
                acc.wait += w;
                acc.busy += nf * w;
                acc.abandon += w * ((j + 1.0) * gamma / denom);
                acc.answered += w * answered;
                acc.within += w * within;
                acc.answered_wait += w * answered * harmonic;
                ln_nb += (x * j + x_b).ln() - (j + 1.0).ln();
                cum_nb += ln_nb.exp();
                harmonic += n_mu / (n_mu + (j + 2.0) * gamma);
            }

            let next = k + 1;
            let death = if next <= n {
                next as f64 * mu
            } else {
                n_mu + (next - n) as f64 * gamma
            };
            let ratio = lambda / death;
            if ratio < 1.0 {
                // Death rates only grow, so every later term is at most w·ratio^i. Bound the
                // tail including the heaviest per-state multiplier (j + 1, for Nμ·H_j).
                let j_now = k.saturating_sub(n) as f64;
                let tail = ratio / ((1.0 - ratio) * (1.0 - ratio)) * (j_now + 2.0);
                if ln_w + tail.ln() < ln_w_max - TAIL_MARGIN {
                    break;
                }
            }
            if next >= MAX_ERLANG_A_STATES {
                return Err(StaffingError::StateLimit {
                    limit: MAX_ERLANG_A_STATES,
                });
            }
            ln_w += ln_lambda - death.ln();
            ln_w_max = ln_w_max.max(ln_w);
            k = next;
        }

        let total = acc.total;
        let answered = acc.no_wait + acc.answered;
        let probability_of_abandonment = (acc.abandon / total).clamp(0.0, 1.0);
        let service_level = ((acc.no_wait + acc.within) / total).clamp(0.0, 1.0);
        let answered_service_level = if answered > 0.0 {
            ((acc.no_wait + acc.within) / answered).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let asa_secs = if answered > 0.0 {
            acc.answered_wait / answered / n_mu
        } else {
            0.0
        };
        Ok(ErlangAMetrics {
            agents,
            offered_erlangs: self.offered_erlangs(),
            probability_of_waiting: (acc.wait / total).clamp(0.0, 1.0),
            probability_of_abandonment,
            service_level,
            answered_service_level,
            asa_secs,
            // Little's law: E[queue]/λ, which equals P(abandon)·θ; the latter cannot overflow.
            mean_wait_secs: probability_of_abandonment * self.patience_secs,
            occupancy: (acc.busy / (total * nf)).clamp(0.0, 1.0),
        })
    }
}

/// Unnormalised sums over the chain, all scaled by the same `e^-scale`.
#[derive(Debug, Default)]
struct Accumulators {
    /// Σ π(k).
    total: f64,
    /// Σ_{k<N} π(k): arrivals answered at once.
    no_wait: f64,
    /// Σ_{k≥N} π(k): arrivals that queue.
    wait: f64,
    /// Σ min(k, N)·π(k): busy agents.
    busy: f64,

    /// Σ π(N+j)·P(abandon | j).
    abandon: f64,
    /// Σ π(N+j)·P(answered | j).
    answered: f64,
    /// Σ π(N+j)·P(answered within T | j).
    within: f64,
    /// Σ π(N+j)·E[wait·1{answered} | j]·Nμ.
    answered_wait: f64,
}

impl Accumulators {
    fn rescale(&mut self, factor: f64) {
        for value in [
            &mut self.total,
            &mut self.no_wait,
            &mut self.wait,
            &mut self.busy,
            &mut self.abandon,
            &mut self.answered,
            &mut self.within,
            &mut self.answered_wait,
        ] {
            *value *= factor;
        }
    }
}

fn idle_metrics(agents: u32) -> ErlangAMetrics {
    ErlangAMetrics {
        agents,
        offered_erlangs: 0.0,
        probability_of_waiting: 0.0,
        probability_of_abandonment: 0.0,
        service_level: 1.0,
        answered_service_level: 1.0,
        asa_secs: 0.0,
        mean_wait_secs: 0.0,
        occupancy: 0.0,
    }
}

/// Erlang A staffing: the smallest `N ≥ 1` whose [`ErlangAMetrics::service_level`] (share
/// of **all** arrivals answered within `T`) is at least `target_service_level` and, if given,
/// whose probability of abandonment is at most `max_abandonment`; plus the headcount to
/// schedule after shrinkage and the predictions for `N`. With no arrivals the answer is 0.
///
/// Both criteria improve monotonically with `N`, so the search doubles `N` until the targets
/// are met and then bisects: `O(log N)` evaluations. A headcount whose evaluation would exceed
/// [`MAX_ERLANG_A_STATES`] (millions of callers queued) is treated as failing the targets.
///
/// # Errors
///
/// On invalid input, [`StaffingError::NoSolution`] if no `N` up to [`MAX_AGENTS`] meets the
/// targets, and [`StaffingError::ScheduleOverflow`] from the shrinkage step.
pub fn erlang_a_staffing(input: &ErlangAInput) -> Result<ErlangAStaffing, StaffingError> {
    let model = ErlangA::from_interval(
        input.arrivals,
        input.interval_secs,
        input.aht_secs,
        input.patience_secs,
    )?;
    let target = non_negative("target_answer_secs", input.target_answer_secs)?;
    let target_sl = fraction_closed("target_service_level", input.target_service_level)?;
    let max_abandonment = input
        .max_abandonment
        .map(|a| fraction_closed("max_abandonment", a))
        .transpose()?;
    fraction_half_open("shrinkage", input.shrinkage)?;

    if model.arrival_rate == 0.0 {
        return Ok(ErlangAStaffing {
            agents: 0,
            scheduled_agents: 0,
            metrics: idle_metrics(0),
        });
    }

    // `Some(metrics)` when `agents` meets the targets.
    let meets = |agents: u32| -> Result<Option<ErlangAMetrics>, StaffingError> {
        match model.evaluate(agents, target) {
            Ok(m) => {
                let abandonment_ok =
                    max_abandonment.is_none_or(|max| m.probability_of_abandonment <= max);
                Ok((m.service_level >= target_sl && abandonment_ok).then_some(m))
            }
            Err(StaffingError::StateLimit { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    };

    // Invariant: `failing` fails (0 counts as failing), `passing` passes.
    let mut failing = 0_u32;
    let mut passing = 1_u32;
    let mut best = loop {
        if let Some(m) = meets(passing)? {
            break m;
        }
        if passing >= MAX_AGENTS {
            return Err(StaffingError::NoSolution { limit: MAX_AGENTS });
        }
        failing = passing;
        passing = passing.saturating_mul(2).min(MAX_AGENTS);
    };
    while passing - failing > 1 {
        let mid = failing + (passing - failing) / 2;
        match meets(mid)? {
            Some(m) => {
                passing = mid;
                best = m;
            }
            None => failing = mid,
        }
    }
    Ok(ErlangAStaffing {
        agents: passing,
        scheduled_agents: scheduled_agents(passing, input.shrinkage)?,
        metrics: best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staffing::erlang_c;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    /// The published Erlang C example as a rate: 100 calls / 1800 s, AHT 180 s (10 Erlangs).
    fn example(patience_secs: f64) -> ErlangA {
        ErlangA::from_interval(100.0, 1800.0, 180.0, patience_secs).unwrap()
    }

    #[test]
    fn very_patient_callers_reduce_to_erlang_c() {
        let model = example(1e9);
        for agents in [11, 12, 14, 20] {
            let a = model.metrics(agents, 20.0).unwrap();
            let c = erlang_c::erlang_c_metrics(10.0, agents, 180.0, 20.0).unwrap();
            assert!(
                close(a.probability_of_waiting, c.probability_of_waiting, 1e-5),
                "{agents}: {a:?} vs {c:?}"
            );
            assert!(close(a.service_level, c.service_level, 1e-5), "{a:?} {c:?}");
            assert!(close(a.occupancy, c.occupancy, 1e-5), "{a:?} {c:?}");
            // Erlang C's ASA is over all callers; Erlang A's over answered ones.
            assert!(close(a.mean_wait_secs, c.asa_secs, 1e-2), "{a:?} {c:?}");
            assert!(close(a.asa_secs, c.asa_secs, 1e-2), "{a:?} {c:?}");
            assert!(a.probability_of_abandonment < 1e-4, "{a:?}");
        }
    }

    #[test]
    fn converges_to_erlang_c_as_patience_grows() {
        let c = erlang_c::probability_of_waiting(10.0, 12).unwrap();
        let gaps: Vec<f64> = [1e2, 1e3, 1e4, 1e5, 1e6]
            .iter()
            .map(|&theta| {
                let a = example(theta).metrics(12, 20.0).unwrap();
                (a.probability_of_waiting - c).abs()
            })
            .collect();
        // The gap shrinks roughly like 1/θ.
        assert!(gaps.windows(2).all(|w| w[1] < w[0] * 0.5), "{gaps:?}");
        assert!(gaps[4] < 2e-4, "{gaps:?}");
    }

    #[test]
    fn impatient_callers_abandon_and_improve_service_level() {
        for patience in [30.0, 60.0, 180.0, 600.0] {
            let model = example(patience);
            for agents in [11, 12, 14] {
                let a = model.metrics(agents, 20.0).unwrap();
                let c = erlang_c::erlang_c_metrics(10.0, agents, 180.0, 20.0).unwrap();
                assert!(a.probability_of_abandonment > 0.0, "{a:?}");
                assert!(a.service_level > c.service_level, "{a:?} vs {c:?}");
                assert!(a.probability_of_waiting < c.probability_of_waiting);
                assert!(a.asa_secs < c.asa_secs);
                assert!(a.answered_service_level >= a.service_level);
            }
        }
    }

    #[test]
    fn stable_when_overloaded() {
        // 10 Erlangs on 8 agents: Erlang C has no answer, Erlang A does.
        assert!(matches!(
            erlang_c::asa(10.0, 8, 180.0),
            Err(StaffingError::Unstable { .. })
        ));
        assert_eq!(erlang_c::service_level(10.0, 8, 180.0, 20.0), Ok(0.0));
        let a = example(120.0).metrics(8, 20.0).unwrap();
        assert!(a.probability_of_waiting > 0.5 && a.probability_of_waiting < 1.0);
        assert!(a.service_level > 0.0 && a.service_level < 0.5, "{a:?}");
        // Carried traffic ≤ N: at least 2 of the 10 Erlangs must abandon.
        assert!(a.probability_of_abandonment >= 0.2, "{a:?}");
        assert!(a.occupancy < 1.0 && a.occupancy > 0.9, "{a:?}");
        assert!(a.asa_secs.is_finite() && a.mean_wait_secs.is_finite());
        // Heavily overloaded: 1000 Erlangs on 100 agents.
        let heavy = ErlangA::new(1000.0 / 180.0, 180.0, 60.0).unwrap();
        let m = heavy.metrics(100, 20.0).unwrap();
        assert!(m.probability_of_abandonment > 0.85, "{m:?}");
        assert!(m.occupancy > 0.99, "{m:?}");
    }

    #[test]
    fn internal_identities_hold() {
        for (patience, agents) in [(30.0, 9), (90.0, 11), (600.0, 13), (1e4, 15)] {
            let model = example(patience);
            let m = model.metrics(agents, 20.0).unwrap();
            let lambda = model.arrival_rate();
            // Occupancy = λ(1 − P(ab))·AHT / N.
            let carried = lambda * (1.0 - m.probability_of_abandonment) * 180.0;
            assert!(
                close(m.occupancy, carried / f64::from(agents), 1e-12),
                "{m:?}"
            );
            // Answered SL = SL / P(answered).
            let answered = 1.0 - m.probability_of_abandonment;
            assert!(close(
                m.answered_service_level,
                m.service_level / answered,
                1e-12
            ));
        }
    }

    /// Brute force, independent of the closed forms: the plain (unlogged, fixed-length)
    /// birth–death chain gives P(wait), P(abandon) = γ·E[queue]/λ and occupancy
    /// E[min(k, N)]/N; P(answered within T) comes from uniformising the tagged caller's
    /// absorbing chain (m ahead → m−1 at rate Nμ + mγ, → abandoned at rate γ, head →
    /// answered at rate Nμ) started from the arrival distribution.
    fn brute_force(lambda: f64, mu: f64, gamma: f64, n: usize, t: f64) -> [f64; 4] {
        let states = 400;
        let mut pi = vec![1.0_f64; states];
        for k in 1..states {
            let death = k.min(n) as f64 * mu + k.saturating_sub(n) as f64 * gamma;
            pi[k] = pi[k - 1] * lambda / death;
        }
        let total: f64 = pi.iter().sum();
        let no_wait: f64 = pi[..n].iter().sum::<f64>() / total;
        let queue_len: f64 = (n..states).map(|k| (k - n) as f64 * pi[k]).sum::<f64>() / total;
        let busy: f64 = (0..states).map(|k| k.min(n) as f64 * pi[k]).sum::<f64>() / total;
        let abandonment = gamma * queue_len / lambda;
        let occupancy = busy / n as f64;
        // p[m] = P(tagged caller still queued with m ahead).
        let queue = states - n;
        let mut p: Vec<f64> = pi[n..].iter().map(|w| w / total).collect();
        let rate_max = n as f64 * mu + queue as f64 * gamma + gamma;
        let steps = (rate_max * t * 3.0 + 200.0) as usize;
        // Poisson(rate_max · t) weights of the uniformised chain, in a stable recurrence.
        let lt = rate_max * t;
        let mut weight = (-lt).exp();
        let mut answered_by_step = 0.0;
        let mut result = 0.0;
        let mut cumulative_weight = 0.0;
        for step in 0..steps {
            cumulative_weight += weight;
            result += weight * answered_by_step;
            let mut next = vec![0.0; queue];
            for m in 0..queue {
                let forward = n as f64 * mu + m as f64 * gamma;
                let stay = 1.0 - (forward + gamma) / rate_max;
                next[m] += p[m] * stay;
                if m == 0 {
                    answered_by_step += p[0] * forward / rate_max;
                } else {
                    next[m - 1] += p[m] * forward / rate_max;
                }
            }
            p = next;
            weight *= lt / (step as f64 + 1.0);
        }
        assert!(cumulative_weight > 1.0 - 1e-12);
        [1.0 - no_wait, abandonment, occupancy, no_wait + result]
    }

    #[test]
    fn matches_a_brute_force_computation() {
        for (lambda, aht, patience, n, t) in [
            (0.05, 60.0, 40.0, 3, 20.0),
            (1.0 / 18.0, 180.0, 120.0, 9, 20.0),
            (0.2, 20.0, 15.0, 3, 10.0),
            (0.02, 100.0, 300.0, 2, 60.0),
        ] {
            let model = ErlangA::new(lambda, aht, patience).unwrap();
            let m = model.metrics(n, t).unwrap();
            let [wait, abandon, occ, sl] =
                brute_force(lambda, 1.0 / aht, 1.0 / patience, n as usize, t);
            assert!(
                close(m.probability_of_waiting, wait, 1e-12),
                "{m:?} vs {wait}"
            );
            assert!(close(m.probability_of_abandonment, abandon, 1e-12), "{m:?}");
            assert!(close(m.occupancy, occ, 1e-12), "{m:?} vs {occ}");
            assert!(close(m.service_level, sl, 1e-9), "{m:?} vs {sl}");
            assert!(close(m.mean_wait_secs, abandon * patience, 1e-9));
        }
    }

    #[test]
    fn zero_target_time_counts_only_immediate_answers() {
        let m = example(120.0).metrics(12, 0.0).unwrap();
        assert!(
            close(m.service_level, 1.0 - m.probability_of_waiting, 1e-12),
            "{m:?}"
        );
    }

    #[test]
    fn staffing_finds_the_smallest_headcount() {
        let input = ErlangAInput {
            arrivals: 100.0,
            interval_secs: 1800.0,
            aht_secs: 180.0,
            patience_secs: 120.0,
            target_answer_secs: 20.0,
            target_service_level: 0.8,
            max_abandonment: None,
            shrinkage: 0.3,
        };
        let staffing = erlang_a_staffing(&input).unwrap();
        let model = example(120.0);
        assert!(staffing.metrics.service_level >= 0.8);
        let below = model.metrics(staffing.agents - 1, 20.0).unwrap();
        assert!(below.service_level < 0.8, "{below:?}");
        // Abandonment helps, so never more than Erlang C's 14.
        assert!(staffing.agents <= 14, "{staffing:?}");
        assert_eq!(
            staffing.scheduled_agents,
            scheduled_agents(staffing.agents, 0.3).unwrap()
        );

        // A tight abandonment cap can only raise the headcount.
        let capped = erlang_a_staffing(&ErlangAInput {
            max_abandonment: Some(0.005),
            ..input
        })
        .unwrap();
        assert!(capped.agents >= staffing.agents);
        assert!(capped.metrics.probability_of_abandonment <= 0.005);
        let below = model.metrics(capped.agents - 1, 20.0).unwrap();
        assert!(below.probability_of_abandonment > 0.005 || below.service_level < 0.8);
    }

    #[test]
    fn large_systems_are_stable() {
        // 5000 Erlangs.
        let input = ErlangAInput {
            arrivals: 50_000.0,
            interval_secs: 1800.0,
            aht_secs: 180.0,
            patience_secs: 300.0,
            target_answer_secs: 20.0,
            target_service_level: 0.9,
            max_abandonment: Some(0.01),
            shrinkage: 0.0,
        };
        let staffing = erlang_a_staffing(&input).unwrap();
        assert!(
            staffing.agents > 4900 && staffing.agents < 5200,
            "{staffing:?}"
        );
        let m = staffing.metrics;
        assert!(m.service_level >= 0.9 && m.probability_of_abandonment <= 0.01);
        assert!(m.asa_secs.is_finite() && m.occupancy <= 1.0);
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        assert!(ErlangA::new(-1.0, 180.0, 60.0).is_err());
        assert!(ErlangA::new(f64::NAN, 180.0, 60.0).is_err());
        assert!(ErlangA::new(1.0, 0.0, 60.0).is_err());
        assert!(ErlangA::new(1.0, 180.0, 0.0).is_err());
        assert!(ErlangA::new(1.0, 180.0, f64::INFINITY).is_err());
        assert!(ErlangA::from_interval(1.0, 0.0, 180.0, 60.0).is_err());
        let model = example(60.0);
        assert_eq!(model.metrics(0, 20.0), Err(StaffingError::NoAgents));
        assert!(model.metrics(5, -1.0).is_err());
        assert!(matches!(
            model.metrics(MAX_AGENTS + 1, 20.0),
            Err(StaffingError::TooManyAgents { .. })
        ));
        // Callers patient for decades on an understaffed queue.
        let patient = ErlangA::new(1.0, 180.0, 1e12).unwrap();
        assert!(matches!(
            patient.metrics(10, 20.0),
            Err(StaffingError::StateLimit { .. })
        ));
        let good = ErlangAInput {
            arrivals: 100.0,
            interval_secs: 1800.0,
            aht_secs: 180.0,
            patience_secs: 120.0,
            target_answer_secs: 20.0,
            target_service_level: 0.8,
            max_abandonment: None,
            shrinkage: 0.0,
        };
        for bad in [
            ErlangAInput {
                target_service_level: 1.5,
                ..good
            },
            ErlangAInput {
                max_abandonment: Some(-0.1),
                ..good
            },
            ErlangAInput {
                shrinkage: 1.0,
                ..good
            },
            ErlangAInput {
                patience_secs: -3.0,
                ..good
            },
        ] {
            assert!(erlang_a_staffing(&bad).is_err(), "{bad:?}");
        }
        // No arrivals: nobody needed.
        let none = erlang_a_staffing(&ErlangAInput {
            arrivals: 0.0,
            ..good
        })
        .unwrap();
        assert_eq!(none.agents, 0);
        assert_eq!(model.metrics(3, 20.0).map(|m| m.agents), Ok(3));
    }
}
