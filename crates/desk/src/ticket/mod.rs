//! Tickets: the help desk's work orders, as pure rules.
//!
//! A [`Ticket`] is a value. A [`Command`] (what, by whom, at `now`) is checked by
//! [`decide`] against the ticket and yields the [`TicketEvent`]s it causes, or a
//! [`TicketError`] — and then nothing changed. [`Ticket::apply`] folds an event in; the events
//! are the audit trail (who, when, what changed from what to what) and
//! [`Ticket::replay`] rebuilds the ticket from them. A ticket starts with [`create`].
//!
//! The rules (see [`decide`] for the table of transitions):
//! - **Lifecycle**: new → open → pending (on the customer | on a third party) → resolved →
//!   verified (the customer confirmed) → closed; reopen from resolved, verified or closed
//!   back to open. Merge closes a ticket into another and freezes it.
//! - **Four no-misses**: a ticket closes only once re-checked with the customer — verified,
//!   or at least [`MIN_FAILED_ATTEMPTS`] documented failed attempts to reach them.
//! - **Complaints** ([`complaint`]): resolved only after a solution was agreed and acted on,
//!   closed only with a root-cause category.
//! - **Escalation**: special calls escalate at creation; agents escalate with a reason; the
//!   application escalates on an SLA breach (`Action::Escalate` by the system).
//! - **SLA history**: the ticket records its clocks' changes ([`SlaHistory`]): it computes no
//!   calendar time; [`Ticket::sla_clock`] hands the history to an [`SlaClock`].

mod command;
pub mod complaint;
mod decide;
mod error;
mod event;
mod fields;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Channel, ContactId, Timestamp, ValidationError};

pub use command::{Action, Command, NewTicket};
pub use complaint::{Complaint, ComplaintStep, RootCause, StepRecord};
pub use decide::{create, decide, MIN_FAILED_ATTEMPTS};
pub use error::TicketError;
pub use event::{Change, Created, TicketEvent};
pub use fields::{
    CustomFields, Evidence, SpecialCallKind, Team, MAX_CUSTOM_FIELDS, MAX_FIELD_KEY_LEN,
    MAX_FIELD_VALUE_LEN, MAX_NOTE_LEN, MAX_SUBJECT_LEN,
};

use crate::sla::{ClockChange, ClockState, SlaClock};

/// A ticket is a contact (it is routed like a chat), so it is named by a [`ContactId`].
pub type TicketId = ContactId;

/// What the ticket is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Inquiry,
    Complaint,
    /// A repair or installation appointment (the details in custom fields).
    Appointment,
    ReturnExchange,
    /// Harassment or a threat: carries [`Evidence`] and is escalated at creation.
    SpecialCall,
}

/// How urgent the ticket is, lowest first.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl TicketPriority {
    /// One step up, `Urgent` staying `Urgent`.
    pub fn raised(self) -> Self {
        match self {
            TicketPriority::Low => TicketPriority::Normal,
            TicketPriority::Normal => TicketPriority::High,
            TicketPriority::High | TicketPriority::Urgent => TicketPriority::Urgent,
        }
    }
}

/// Where the ticket is in its lifecycle. Pending is two states, because only pending on the
/// customer pauses the resolution clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Open,
    PendingOnCustomer,
    PendingOnThirdParty,
    Resolved,
    Verified,
    Closed,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::Open,
        Status::PendingOnCustomer,
        Status::PendingOnThirdParty,
        Status::Resolved,
        Status::Verified,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::PendingOnCustomer => "pending_on_customer",
            Status::PendingOnThirdParty => "pending_on_third_party",
            Status::Resolved => "resolved",
            Status::Verified => "verified",
            Status::Closed => "closed",
        }
    }

    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingOnCustomer | Status::PendingOnThirdParty
        )
    }

    /// New, open or pending: the work is not done.
    pub fn is_active(self) -> bool {
        matches!(self, Status::New | Status::Open) || self.is_pending()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is waiting for whom while a ticket is pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingOn {
    /// Waiting for the customer's answer: the resolution clock pauses.
    Customer,
    /// Waiting for a supplier or another department: the customer still waits on us, so the
    /// resolution clock keeps running.
    ThirdParty,
}

impl PendingOn {
    pub fn status(self) -> Status {
        match self {
            PendingOn::Customer => Status::PendingOnCustomer,
            PendingOn::ThirdParty => Status::PendingOnThirdParty,
        }
    }
}

/// Who gave a command. Supervisors are agents with the supervisor role (the application
/// checks the role; here it only widens what they may do).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Agent(AgentId),
    Supervisor(AgentId),
    Customer,
    /// The application acting on a rule (an SLA breach, an automatic dialler attempt).
    System,
}

impl Actor {
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::Agent(_) => ActorKind::Agent,
            Actor::Supervisor(_) => ActorKind::Supervisor,
            Actor::Customer => ActorKind::Customer,
            Actor::System => ActorKind::System,
        }
    }
}

/// The kind of an [`Actor`], for permission rules and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Agent,
    Supervisor,
    Customer,
    System,
}

impl std::fmt::Display for ActorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActorKind::Agent => "agent",
            ActorKind::Supervisor => "supervisor",
            ActorKind::Customer => "customer",
            ActorKind::System => "system",
        })
    }
}

/// Who may read a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Staff only.
    Internal,
    /// A reply the customer sees (an agent's reply, or the customer's own message).
    Customer,
}

/// A note or reply on the ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub at: Timestamp,
    pub by: Actor,
    pub visibility: Visibility,
    pub text: String,
}

/// One documented failed attempt to reach the customer for the re-check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAttempt {
    pub at: Timestamp,
    pub by: Actor,
    pub note: String,
}

/// The customer confirmed the resolution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub at: Timestamp,
    pub by: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The re-check of the current resolution with the customer (four no-misses). Cleared by a
/// reopen: a new resolution needs a new re-check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<ContactAttempt>,
}

impl Recheck {
    /// Verified with the customer, or enough documented failed attempts.
    pub fn is_done(&self) -> bool {
        self.verified.is_some() || self.failed_attempts.len() >= MIN_FAILED_ATTEMPTS
    }
}

/// Why a ticket was escalated to a supervisor.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum EscalationReason {
    /// An agent (or supervisor) escalated it, saying why.
    Agent { reason: String },
    /// A special call: escalated when it was recorded.
    SpecialCall,
    /// An SLA target was breached (the application noticed and escalated).
    SlaBreach { target: SlaTarget },
}

/// One escalation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub at: Timestamp,
    pub by: Actor,
    pub reason: EscalationReason,
}

/// The SLA targets whose clocks a ticket keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    /// Runs from creation to the first customer-visible reply by staff (or the resolution,
    /// the merge, whichever comes first).
    FirstResponse,
    /// Runs from creation to the resolution; paused while pending on the customer; resumed
    /// (not restarted) by a reopen.
    Resolution,
}

/// The changes of the ticket's SLA clocks, in time order: what [`SlaClock`] needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaHistory {
    pub first_response: Vec<ClockChange>,
    pub resolution: Vec<ClockChange>,
}

impl SlaHistory {
    pub fn changes(&self, target: SlaTarget) -> &[ClockChange] {
        match target {
            SlaTarget::FirstResponse => &self.first_response,
            SlaTarget::Resolution => &self.resolution,
        }
    }

    /// The clock's current state; `None` before it started.
    pub fn state(&self, target: SlaTarget) -> Option<ClockState> {
        self.changes(target).last().map(|c| c.state)
    }

    fn push(&mut self, target: SlaTarget, change: ClockChange) {
        match target {
            SlaTarget::FirstResponse => self.first_response.push(change),
            SlaTarget::Resolution => self.resolution.push(change),
        }
    }
}

/// A ticket: the current state, as folded from its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub kind: TicketKind,
    pub status: Status,
    pub priority: TicketPriority,
    pub subject: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The door the ticket came through, and the contact (call, chat, e-mail) it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_contact: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
    #[serde(default, skip_serializing_if = "CustomFields::is_empty")]
    pub custom_fields: CustomFields,
    /// Special calls only: what the agent recorded as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Complaints only: the workflow's progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<Complaint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
    #[serde(default)]
    pub recheck: Recheck,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Set by a merge: the ticket lives on there, this one is frozen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<TicketId>,
    #[serde(default)]
    pub sla: SlaHistory,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// How many events have been applied (the last event's `seq`): an ETag for the store.
    pub version: u64,
}

impl Ticket {
    /// The ticket rebuilt from its audit trail (its first event is the creation).
    ///
    /// # Errors
    /// [`ValidationError`] (field `events`) when the trail is empty, does not start with a
    /// creation, contains a second creation or is out of sequence.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a TicketEvent>,
    ) -> Result<Self, ValidationError> {
        let mut events = events.into_iter();
        let first = events
            .next()
            .ok_or_else(|| ValidationError::new("events", "a ticket's trail is never empty"))?;
        let mut ticket = Ticket::from_created(first)
            .filter(|t| t.version == 1)
            .ok_or_else(|| {
                ValidationError::new("events", "the trail must start with created, number 1")
            })?;
        for (i, event) in events.enumerate() {
            if matches!(event.change, Change::Created(_))
                || event.seq != ticket.version + 1
                || event.ticket != ticket.id
            {
                return Err(ValidationError::new(
                    format!("events[{}]", i + 1),
                    "out of sequence: a trail is one creation then consecutive events",
                ));
            }
            ticket.apply(event);
        }
        Ok(ticket)
    }

    /// The ticket as its creation event describes it; `None` for any other event.
    pub fn from_created(event: &TicketEvent) -> Option<Self> {
        let Change::Created(c) = &event.change else {
            return None;
        };
        Some(Self::born(
            event.ticket,
            event.seq,
            event.at,
            c.as_ref().clone(),
        ))
    }

    pub(super) fn born(id: TicketId, seq: u64, at: Timestamp, c: Created) -> Self {
        Ticket {
            id,
            kind: c.kind,
            status: Status::New,
            priority: c.priority,
            subject: c.subject,
            description: c.description,
            channel: c.channel,
            source_contact: c.source_contact,
            owner: c.owner,
            team: c.team,
            custom_fields: c.custom_fields,
            evidence: c.evidence,
            complaint: (c.kind == TicketKind::Complaint).then(Complaint::default),
            notes: Vec::new(),
            escalations: Vec::new(),
            recheck: Recheck::default(),
            resolution: None,
            merged_into: None,
            sla: SlaHistory::default(),
            created_at: at,
            updated_at: at,
            version: seq,
        }
    }

    /// Folds one event in. Events come from [`decide`] (or the store's trail of them), so
    /// they are trusted: nothing is checked here.
    pub fn apply(&mut self, event: &TicketEvent) {
        self.version = event.seq;
        self.updated_at = event.at;
        event.change.apply_to(self, event);
    }

    /// This ticket's clock for `target`, given the policy's duration and warning percentage
    /// (the SLA policy is the application's to choose).
    ///
    /// # Errors
    /// [`ValidationError`] on a bad target or warning (see [`SlaClock::new`]).
    pub fn sla_clock(
        &self,
        target: SlaTarget,
        duration: Duration,
        warn_percent: u8,
    ) -> Result<SlaClock, ValidationError> {
        SlaClock::new(
            duration,
            warn_percent,
            self.sla.changes(target).iter().copied(),
        )
    }

    /// Escalated at least once.
    pub fn is_escalated(&self) -> bool {
        !self.escalations.is_empty()
    }
}
