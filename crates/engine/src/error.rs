use switchboard_domain::{AgentId, ContactId, QueueId, ValidationError};
use thiserror::Error;

/// Why the engine refused a command (or a snapshot to restore). A refused command changed
/// nothing and emitted no event.
///
/// These are decisions of the routing policy, the same on every backend; a backend adds its
/// own failure (unreachable, nonsense answers) in `switchboard_dispatch::DispatchError`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
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
}

impl EngineError {
    /// A stable, machine-readable code for the HTTP and WebSocket edges.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Invalid(_) => "invalid",
            EngineError::UnknownQueue(_) => "unknown_queue",
            EngineError::UnknownAgent(_) => "unknown_agent",
            EngineError::UnknownContact(_) => "unknown_contact",
            EngineError::DuplicateContact(_) => "duplicate_contact",
            EngineError::NotOffered { .. } => "not_offered",
            EngineError::NoWrapUp { .. } => "no_wrap_up",
            EngineError::InvalidTransition { .. } => "invalid_transition",
            EngineError::AgentOffline(_) => "agent_offline",
            EngineError::AgentBusy(_) => "agent_busy",
            EngineError::InUse(_) => "in_use",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edges map these codes to JSON `code`s: they are part of the API and must not change.
    #[test]
    fn codes_are_stable() {
        let contact: ContactId = "0190f0c4-0000-7000-8000-000000000001".parse().unwrap();
        let agent = AgentId::parse("ann").unwrap();
        let cases = [
            (
                EngineError::Invalid(ValidationError::new("queue_id", "empty")),
                "invalid",
            ),
            (
                EngineError::UnknownQueue(QueueId::parse("q").unwrap()),
                "unknown_queue",
            ),
            (EngineError::UnknownAgent(agent.clone()), "unknown_agent"),
            (EngineError::UnknownContact(contact), "unknown_contact"),
            (EngineError::DuplicateContact(contact), "duplicate_contact"),
            (
                EngineError::NotOffered {
                    contact,
                    agent: agent.clone(),
                },
                "not_offered",
            ),
            (
                EngineError::NoWrapUp {
                    contact,
                    agent: agent.clone(),
                },
                "no_wrap_up",
            ),
            (
                EngineError::InvalidTransition {
                    contact,
                    state: "queued",
                    command: "hold",
                },
                "invalid_transition",
            ),
            (EngineError::AgentOffline(agent.clone()), "agent_offline"),
            (EngineError::AgentBusy(agent), "agent_busy"),
            (EngineError::InUse("queue q".into()), "in_use"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
        }
    }
}
