use thiserror::Error;

/// Why a value could not be built. `field` names the offending input so that the HTTP edge
/// can report it as a field detail.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// The input that was wrong, e.g. `agent_id` or `expansion[1].after`.
    pub field: String,
    /// What was wrong with it, in words an operator understands.
    pub problem: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
