use switchboard_domain::{AgentId, ContactId, QueueId, ValidationError};
use thiserror::Error;

/// Why a command was refused. A refused command changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DispatchError {
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    #[error("unknown contact {0}")]
    UnknownContact(ContactId),
    #[error("contact {0} already exists")]
    DuplicateContact(ContactId),
    #[error("contact {contact} is not offered to agent {agent}")]
    NotOffered { contact: ContactId, agent: AgentId },
    #[error("agent {agent} has no wrap-up for contact {contact}")]
    NoWrapUp { contact: ContactId, agent: AgentId },
    #[error("contact {contact} is {state}; cannot {command}")]
    InvalidTransition {
        contact: ContactId,
        state: &'static str,
        command: &'static str,
    },
    #[error("agent {0} is offline")]
    AgentOffline(AgentId),
    /// The agent has no room for the contact (another conversation, or wrap-up).
    #[error("agent {0} is busy")]
    AgentBusy(AgentId),
    /// A queue or agent that still has contacts cannot be removed.
    #[error("{0} still has contacts")]
    InUse(String),
    /// The backend could not be reached or answered nonsense; the command may or may not
    /// have been applied (retry with the same ids is safe: duplicates are refused).
    #[error("backend: {0}")]
    Backend(String),
}

impl DispatchError {
    /// A stable, machine-readable code for the HTTP and WebSocket edges.
    pub fn code(&self) -> &'static str {
        match self {
            DispatchError::Invalid(_) => "invalid",
            DispatchError::UnknownQueue(_) => "unknown_queue",
            DispatchError::UnknownAgent(_) => "unknown_agent",
            DispatchError::UnknownContact(_) => "unknown_contact",
            DispatchError::DuplicateContact(_) => "duplicate_contact",
            DispatchError::NotOffered { .. } => "not_offered",
            DispatchError::NoWrapUp { .. } => "no_wrap_up",
            DispatchError::InvalidTransition { .. } => "invalid_transition",
            DispatchError::AgentOffline(_) => "agent_offline",
            DispatchError::AgentBusy(_) => "agent_busy",
            DispatchError::InUse(_) => "in_use",
            DispatchError::Backend(_) => "backend",
        }
    }
}
