//! What can be asked of a ticket.

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Channel, ContactId, Timestamp};

use super::{
    complaint::{ComplaintStep, RootCause},
    Actor, CustomFields, EscalationReason, Evidence, PendingOn, Team, TicketId, TicketKind,
    TicketPriority, Visibility,
};

/// One command: what (`action`), by whom, at `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub by: Actor,
    pub now: Timestamp,
    pub action: Action,
}

impl Command {
    pub fn new(by: Actor, now: Timestamp, action: Action) -> Self {
        Self { by, now, action }
    }
}

/// The closed set of things one can do to an existing ticket. Creation is [`super::create`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Someone picked the new ticket up: new → open.
    Open,
    /// Sets (or clears) the owner agent.
    Assign {
        owner: Option<AgentId>,
    },
    /// Sets (or clears) the owning team.
    SetTeam {
        team: Option<Team>,
    },
    SetPriority {
        priority: TicketPriority,
    },
    /// Sets (`Some`) or removes (`None`) a custom field.
    SetCustomField {
        key: String,
        value: Option<String>,
    },
    /// An internal note or a customer-visible reply.
    AddNote {
        visibility: Visibility,
        text: String,
    },
    /// Waiting on the customer or a third party.
    Pend {
        on: PendingOn,
    },
    /// Back from pending to open.
    Resume,
    /// The work is done; `resolution` says what was done.
    Resolve {
        resolution: String,
    },
    /// The customer confirmed the resolution (given by the customer, or recorded by staff).
    Verify {
        note: Option<String>,
    },
    /// A documented failed attempt to reach the customer for the re-check.
    RecordFailedAttempt {
        note: String,
    },
    Close,
    Reopen {
        reason: String,
    },
    /// Closes this ticket into `into`, for good.
    Merge {
        into: TicketId,
    },
    /// To a supervisor: by an agent with a reason, or by the system on an SLA breach.
    Escalate {
        reason: EscalationReason,
    },
    /// Complaints: one step of the workflow (the note is required for `agree_solution` and
    /// `act`).
    RecordComplaintStep {
        step: ComplaintStep,
        note: Option<String>,
    },
    /// Complaints: the root-cause category (`other` needs the note).
    SetRootCause {
        cause: RootCause,
        note: Option<String>,
    },
    /// Complaints: flag (or unflag) it to be fed back to the product owner.
    SetFeedBack {
        feed_back: bool,
    },
}

impl Action {
    /// The command's name in refusals.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Open => "open",
            Action::Assign { .. } => "assign",
            Action::SetTeam { .. } => "set_team",
            Action::SetPriority { .. } => "set_priority",
            Action::SetCustomField { .. } => "set_custom_field",
            Action::AddNote { .. } => "add_note",
            Action::Pend { .. } => "pend",
            Action::Resume => "resume",
            Action::Resolve { .. } => "resolve",
            Action::Verify { .. } => "verify",
            Action::RecordFailedAttempt { .. } => "record_failed_attempt",
            Action::Close => "close",
            Action::Reopen { .. } => "reopen",
            Action::Merge { .. } => "merge",
            Action::Escalate { .. } => "escalate",
            Action::RecordComplaintStep { .. } => "record_complaint_step",
            Action::SetRootCause { .. } => "set_root_cause",
            Action::SetFeedBack { .. } => "set_feed_back",
        }
    }
}

/// What a new ticket starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    pub kind: TicketKind,
    #[serde(default)]
    pub priority: TicketPriority,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub source_contact: Option<ContactId>,
    #[serde(default)]
    pub owner: Option<AgentId>,
    #[serde(default)]
    pub team: Option<Team>,
    #[serde(default)]
    pub custom_fields: CustomFields,
    /// Required for special calls, refused for the other kinds.
    #[serde(default)]
    pub evidence: Option<Evidence>,
}

impl NewTicket {
    /// A ticket of `kind` about `subject`, everything else empty.
    pub fn new(kind: TicketKind, subject: impl Into<String>) -> Self {
        Self {
            kind,
            priority: TicketPriority::Normal,
            subject: subject.into(),
            description: String::new(),
            channel: None,
            source_contact: None,
            owner: None,
            team: None,
            custom_fields: CustomFields::default(),
            evidence: None,
        }
    }
}
