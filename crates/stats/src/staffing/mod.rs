//! Staffing math: Erlang C (M/M/N) and Erlang A (M/M/N+M).
//!
//! Units used throughout: times are in **seconds**, rates are **per second**, traffic is in
//! **Erlangs** (arrival rate × average handle time, i.e. the average number of agents the
//! offered work would keep busy), and probabilities, service levels, occupancy and shrinkage
//! are **fractions** in `0..=1` (not percentages).

mod erlang_a;
mod erlang_c;
mod error;

pub use erlang_a::{
    erlang_a_staffing, ErlangA, ErlangAInput, ErlangAMetrics, ErlangAStaffing, MAX_ERLANG_A_STATES,
};
pub use erlang_c::{
    asa, erlang_b, erlang_c_metrics, erlang_c_staffing, occupancy, probability_of_waiting,
    service_level, traffic_intensity, ErlangCInput, ErlangCMetrics, ErlangCStaffing,
};
pub use error::StaffingError;

/// The largest agent count any function here evaluates or searches up to.
///
/// Staffing searches that find no solution at or below this count fail with
/// [`StaffingError::NoSolution`]; per-headcount functions asked about more agents fail with
/// [`StaffingError::TooManyAgents`]. This bounds the work (every evaluation is `O(agents)`).
pub const MAX_AGENTS: u32 = 100_000;

/// Agents to schedule so that `agents` are on the phones after shrinkage.
///
/// Shrinkage is the fraction of paid time agents are unavailable (breaks, training, absence),
/// so the result is `ceil(agents / (1 - shrinkage))`, the smallest headcount `M` with
/// `M × (1 - shrinkage) ≥ agents`. A quotient within a relative `1e-9` of an integer is taken
/// as that integer, so that `14 / (1 - 0.3)` gives 20 and not 21 through floating-point noise.
///
/// # Errors
///
/// [`StaffingError::NotFinite`] or [`StaffingError::FractionOutOfRange`] if `shrinkage` is
/// not in `0..1`; [`StaffingError::ScheduleOverflow`] if the result does not fit in a `u32`.
pub fn scheduled_agents(agents: u32, shrinkage: f64) -> Result<u32, StaffingError> {
    let shrinkage = fraction_half_open("shrinkage", shrinkage)?;
    let exact = f64::from(agents) / (1.0 - shrinkage);
    let nearest = exact.round();
    let scheduled = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    if scheduled > f64::from(u32::MAX) {
        return Err(StaffingError::ScheduleOverflow { agents, shrinkage });
    }
    // In range and integral, so the cast is exact.
    Ok(scheduled as u32)
}

/// `value` if it is finite.
fn finite(field: &'static str, value: f64) -> Result<f64, StaffingError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(StaffingError::NotFinite { field, value })
    }
}

/// `value` if it is finite and `≥ 0`.
fn non_negative(field: &'static str, value: f64) -> Result<f64, StaffingError> {
    let value = finite(field, value)?;
    if value < 0.0 {
        Err(StaffingError::Negative { field, value })
    } else {
        Ok(value)
    }
}

/// `value` if it is finite and `> 0`.
fn positive(field: &'static str, value: f64) -> Result<f64, StaffingError> {
    let value = finite(field, value)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(StaffingError::NotPositive { field, value })
    }
}

/// `value` if it is a fraction in `0..=1`.
fn fraction_closed(field: &'static str, value: f64) -> Result<f64, StaffingError> {
    let value = finite(field, value)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(StaffingError::FractionOutOfRange {
            field,
            value,
            range: "0..=1",
        })
    }
}

/// `value` if it is a fraction in `0..1` (1 excluded), e.g. shrinkage.
fn fraction_half_open(field: &'static str, value: f64) -> Result<f64, StaffingError> {
    let value = finite(field, value)?;
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(StaffingError::FractionOutOfRange {
            field,
            value,
            range: "0..1",
        })
    }
}

/// `value` if it is a fraction in `0<..=1` (0 excluded), e.g. maximum occupancy.
fn fraction_positive(field: &'static str, value: f64) -> Result<f64, StaffingError> {
    let value = finite(field, value)?;
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(StaffingError::FractionOutOfRange {
            field,
            value,
            range: "0<..=1",
        })
    }
}

/// `agents` if it is at most [`MAX_AGENTS`].
fn agent_count(agents: u32) -> Result<u32, StaffingError> {
    if agents > MAX_AGENTS {
        Err(StaffingError::TooManyAgents {
            agents,
            limit: MAX_AGENTS,
        })
    } else {
        Ok(agents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_agents_applies_shrinkage_without_float_noise() {
        assert_eq!(scheduled_agents(14, 0.0), Ok(14));
        assert_eq!(scheduled_agents(14, 0.3), Ok(20));
        assert_eq!(scheduled_agents(14, 0.25), Ok(19)); // 18.67 -> 19
        assert_eq!(scheduled_agents(0, 0.5), Ok(0));
        assert_eq!(scheduled_agents(1, 0.5), Ok(2));
    }

    #[test]
    fn scheduled_agents_rejects_bad_shrinkage() {
        for bad in [1.0, 1.5, -0.1, f64::NAN, f64::INFINITY] {
            assert!(scheduled_agents(10, bad).is_err(), "{bad}");
        }
        assert!(matches!(
            scheduled_agents(MAX_AGENTS, 1.0 - 1e-12),
            Err(StaffingError::ScheduleOverflow { .. })
        ));
    }
}
