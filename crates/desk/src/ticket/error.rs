//! Why a ticket command was refused. A refused command changed nothing and emitted no event.

use switchboard_domain::ValidationError;
use thiserror::Error;

use super::{ActorKind, ComplaintStep, Status, TicketId};

/// A refusal, with a stable [`code`](TicketError::code) for the edges. The HTTP mapping the
/// gateway is meant to use: `invalid` → 422 (with the field), `forbidden` → 403, every other
/// code → 409 (the request is well formed but the ticket's state does not allow it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TicketError {
    /// A field of the command is wrong (too long, empty, out of order in time…).
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// The lifecycle does not lead from `from` through `command`.
    #[error("a ticket that is {from} cannot {command}")]
    InvalidTransition { from: Status, command: &'static str },
    /// This kind of actor may not give this command.
    #[error("a {actor} may not {command}")]
    Forbidden {
        actor: ActorKind,
        command: &'static str,
    },
    /// The ticket was merged into another one and is frozen.
    #[error("the ticket was merged into {into}; change that ticket instead")]
    Merged { into: TicketId },
    /// Four no-misses: nothing closes without the re-check with the customer.
    #[error(
        "the resolution has not been re-checked with the customer: verify it with them, or \
         record at least {required} failed attempts to reach them ({attempts} so far)"
    )]
    RecheckRequired { attempts: usize, required: usize },
    /// A complaint step the command depends on has not been recorded yet.
    #[error("the complaint cannot {command} before the step {missing}")]
    ComplaintStepMissing {
        missing: ComplaintStep,
        command: &'static str,
    },
    /// A complaint closes only with its root-cause category captured.
    #[error("a complaint cannot close without a root-cause category")]
    RootCauseRequired,
    /// The command exists for complaints only.
    #[error("the ticket is not a complaint; {command} is for complaints")]
    NotAComplaint { command: &'static str },
}

impl TicketError {
    /// A stable, machine-readable code: part of the API, never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            TicketError::Invalid(_) => "invalid",
            TicketError::InvalidTransition { .. } => "invalid_transition",
            TicketError::Forbidden { .. } => "forbidden",
            TicketError::Merged { .. } => "merged",
            TicketError::RecheckRequired { .. } => "recheck_required",
            TicketError::ComplaintStepMissing { .. } => "complaint_step_missing",
            TicketError::RootCauseRequired => "root_cause_required",
            TicketError::NotAComplaint { .. } => "not_a_complaint",
        }
    }

    /// The offending field, for `invalid`.
    pub fn field(&self) -> Option<&str> {
        match self {
            TicketError::Invalid(e) => Some(&e.field),
            _ => None,
        }
    }
}
