use thiserror::Error;

/// Why a staffing calculation was refused. `field` names the offending input.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
#[non_exhaustive]
pub enum StaffingError {
    /// The input was NaN or infinite.
    #[error("{field} must be a finite number, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    /// The input must be zero or more.
    #[error("{field} must not be negative, got {value}")]
    Negative { field: &'static str, value: f64 },
    /// The input must be strictly positive (e.g. a zero average handle time).
    #[error("{field} must be greater than zero, got {value}")]
    NotPositive { field: &'static str, value: f64 },
    /// A fraction (service level, occupancy, shrinkage, abandonment) outside its range.
    #[error("{field} must be a fraction in {range}, got {value}")]
    FractionOutOfRange {
        field: &'static str,
        value: f64,
        range: &'static str,
    },
    /// Erlang C has no steady state when the agents do not exceed the traffic: the queue
    /// grows without bound and the average wait is infinite.
    #[error("{agents} agents cannot carry {erlangs} Erlangs without abandonment: the Erlang C queue is unstable (agents must exceed the traffic)")]
    Unstable { erlangs: f64, agents: u32 },
    /// A per-headcount function was asked about more than [`crate::MAX_AGENTS`] agents.
    #[error("{agents} agents is more than the supported maximum of {limit}")]
    TooManyAgents { agents: u32, limit: u32 },
    /// No agent count up to `limit` meets the target.
    #[error("no agent count up to {limit} meets the target")]
    NoSolution { limit: u32 },
    /// `agents / (1 - shrinkage)` does not fit in a `u32`.
    #[error(
        "{agents} agents at {shrinkage} shrinkage needs more scheduled agents than can be counted"
    )]
    ScheduleOverflow { agents: u32, shrinkage: f64 },
    /// Erlang A with contacts arriving and nobody to answer them has no answered callers.
    #[error("Erlang A needs at least one agent when contacts arrive")]
    NoAgents,
    /// The Erlang A queue would hold more than `limit` callers in its typical state (callers
    /// far more patient than the staffing can absorb); the computation is refused rather than
    /// run for minutes.
    #[error("the Erlang A state space needs more than {limit} states: callers are far too patient for this staffing")]
    StateLimit { limit: usize },
}
