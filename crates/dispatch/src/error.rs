use switchboard_domain::{AgentId, ContactId, QueueId, ValidationError};
use switchboard_engine::EngineError;
use thiserror::Error;

/// Why a command failed: a refusal by the engine (every variant but [`DispatchError::Backend`],
/// each the [`EngineError`] of the same name, with the same message and code), or a backend
/// that could not answer. A refused command changed nothing.
///
/// The refusals are repeated here rather than wrapped so that callers match one flat enum
/// (`DispatchError::UnknownContact(_)`) whichever backend they use.
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

impl From<EngineError> for DispatchError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(v) => DispatchError::Invalid(v),
            EngineError::UnknownQueue(q) => DispatchError::UnknownQueue(q),
            EngineError::UnknownAgent(a) => DispatchError::UnknownAgent(a),
            EngineError::UnknownContact(c) => DispatchError::UnknownContact(c),
            EngineError::DuplicateContact(c) => DispatchError::DuplicateContact(c),
            EngineError::NotOffered { contact, agent } => {
                DispatchError::NotOffered { contact, agent }
            }
            EngineError::NoWrapUp { contact, agent } => DispatchError::NoWrapUp { contact, agent },
            EngineError::InvalidTransition {
                contact,
                state,
                command,
            } => DispatchError::InvalidTransition {
                contact,
                state,
                command,
            },
            EngineError::AgentOffline(a) => DispatchError::AgentOffline(a),
            EngineError::AgentBusy(a) => DispatchError::AgentBusy(a),
            EngineError::InUse(what) => DispatchError::InUse(what),
        }
    }
}

impl DispatchError {
    /// A stable, machine-readable code for the HTTP and WebSocket edges: the engine's
    /// ([`EngineError::code`]) for a refusal, `backend` otherwise.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refusal keeps its engine code and message through the conversion.
    #[test]
    fn a_refusal_keeps_its_code_and_message() {
        let contact: ContactId = "0190f0c4-0000-7000-8000-000000000001".parse().unwrap();
        let agent = AgentId::parse("ann").unwrap();
        let refusals = [
            EngineError::Invalid(ValidationError::new("queue_id", "empty")),
            EngineError::UnknownQueue(QueueId::parse("q").unwrap()),
            EngineError::UnknownAgent(agent.clone()),
            EngineError::UnknownContact(contact),
            EngineError::DuplicateContact(contact),
            EngineError::NotOffered {
                contact,
                agent: agent.clone(),
            },
            EngineError::NoWrapUp {
                contact,
                agent: agent.clone(),
            },
            EngineError::InvalidTransition {
                contact,
                state: "queued",
                command: "hold",
            },
            EngineError::AgentOffline(agent.clone()),
            EngineError::AgentBusy(agent),
            EngineError::InUse("queue q".into()),
        ];
        for refusal in refusals {
            let dispatch = DispatchError::from(refusal.clone());
            assert_eq!(dispatch.code(), refusal.code(), "{refusal}");
            assert_eq!(dispatch.to_string(), refusal.to_string());
        }
        assert_eq!(DispatchError::Backend("down".into()).code(), "backend");
    }
}
