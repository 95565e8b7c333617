//! What happened to a ticket: the audit trail, one event per change (who, when, from, to).

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, Channel, ContactId, Timestamp};

use super::{
    complaint::{ComplaintStep, RootCause, StepRecord},
    Actor, ContactAttempt, CustomFields, Escalation, EscalationReason, Evidence, Note, SlaTarget,
    Status, Team, Ticket, TicketId, TicketKind, TicketPriority, Verification, Visibility,
};
use crate::sla::{ClockChange, ClockState};

/// One change to one ticket, by `by` at `at`. `seq` numbers a ticket's events from 1 (the
/// creation) without gaps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub ticket: TicketId,
    pub seq: u64,
    pub at: Timestamp,
    pub by: Actor,
    pub change: Change,
}

/// The ticket as it was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub kind: TicketKind,
    pub priority: TicketPriority,
    pub subject: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Created(Box<Created>),
    /// The lifecycle moved. `note`: the resolution (to resolved), the customer's
    /// confirmation (to verified), the reason (a reopen).
    StatusChanged {
        from: Status,
        to: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    OwnerChanged {
        from: Option<AgentId>,
        to: Option<AgentId>,
    },
    TeamChanged {
        from: Option<Team>,
        to: Option<Team>,
    },
    PriorityChanged {
        from: TicketPriority,
        to: TicketPriority,
    },
    CustomFieldChanged {
        key: String,
        from: Option<String>,
        to: Option<String>,
    },
    NoteAdded {
        visibility: Visibility,
        text: String,
    },
    Escalated {
        reason: EscalationReason,
    },
    /// A documented failed attempt to reach the customer for the re-check.
    ContactAttemptFailed {
        note: String,
    },
    ComplaintStepRecorded {
        step: ComplaintStep,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    RootCauseSet {
        from: Option<RootCause>,
        to: RootCause,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    FeedBackChanged {
        from: bool,
        to: bool,
    },
    /// Closed into another ticket, for good.
    Merged {
        from: Status,
        into: TicketId,
    },
    /// An SLA clock runs, pauses or stops from `at` on.
    ClockChanged {
        target: SlaTarget,
        state: ClockState,
    },
}

impl Change {
    pub(super) fn apply_to(&self, t: &mut Ticket, e: &TicketEvent) {
        match self {
            // Only the first event of a trail; `Ticket::from_created` builds from it.
            Change::Created(_) => {}
            Change::StatusChanged { from, to, note } => {
                let reopened = *to == Status::Open
                    && matches!(from, Status::Resolved | Status::Verified | Status::Closed);
                match to {
                    Status::Resolved => t.resolution.clone_from(note),
                    Status::Verified => {
                        t.recheck.verified = Some(Verification {
                            at: e.at,
                            by: e.by.clone(),
                            note: note.clone(),
                        });
                    }
                    _ => {}
                }
                if reopened {
                    t.recheck = Default::default();
                    t.resolution = None;
                    if let Some(c) = &mut t.complaint {
                        c.solution = None;
                        c.acted = false;
                    }
                }
                t.status = *to;
            }
            Change::OwnerChanged { to, .. } => t.owner.clone_from(to),
            Change::TeamChanged { to, .. } => t.team.clone_from(to),
            Change::PriorityChanged { to, .. } => t.priority = *to,
            Change::CustomFieldChanged { key, to, .. } => t.custom_fields.set(key, to.as_deref()),
            Change::NoteAdded { visibility, text } => t.notes.push(Note {
                at: e.at,
                by: e.by.clone(),
                visibility: *visibility,
                text: text.clone(),
            }),
            Change::Escalated { reason } => t.escalations.push(Escalation {
                at: e.at,
                by: e.by.clone(),
                reason: reason.clone(),
            }),
            Change::ContactAttemptFailed { note } => {
                t.recheck.failed_attempts.push(ContactAttempt {
                    at: e.at,
                    by: e.by.clone(),
                    note: note.clone(),
                });
            }
            Change::ComplaintStepRecorded { step, note } => {
                if let Some(c) = &mut t.complaint {
                    match step {
                        ComplaintStep::AgreeSolution => {
                            c.solution.clone_from(note);
                            c.acted = false;
                        }
                        ComplaintStep::Act => c.acted = true,
                        _ => {}
                    }
                    c.steps.push(StepRecord {
                        step: *step,
                        at: e.at,
                        by: e.by.clone(),
                        note: note.clone(),
                    });
                }
            }
            Change::RootCauseSet { to, note, .. } => {
                if let Some(c) = &mut t.complaint {
                    c.root_cause = Some(*to);
                    c.root_cause_note.clone_from(note);
                }
            }
            Change::FeedBackChanged { to, .. } => {
                if let Some(c) = &mut t.complaint {
                    c.feed_back = *to;
                }
            }
            Change::Merged { into, .. } => {
                t.merged_into = Some(*into);
                t.status = Status::Closed;
            }
            Change::ClockChanged { target, state } => {
                t.sla.push(*target, ClockChange::new(e.at, *state));
            }
        }
    }
}
