//! The rules: which command is legal in which state, and which events it causes.
//!
//! | command                | from                                   | to / effect            |
//! |------------------------|----------------------------------------|------------------------|
//! | open                   | new                                    | open                   |
//! | pend {customer}        | open, pending on third party           | pending on customer    |
//! | pend {third_party}     | open, pending on customer              | pending on third party |
//! | resume                 | pending (either)                       | open                   |
//! | resolve                | open, pending (either)                 | resolved               |
//! | verify                 | resolved                               | verified               |
//! | record_failed_attempt  | resolved                               | (an attempt recorded)  |
//! | close                  | verified; resolved with ≥ 2 attempts   | closed                 |
//! | reopen                 | resolved, verified, closed             | open                   |
//! | merge                  | any but closed                         | closed, `merged_into`  |
//! | assign, set_team, set_priority, set_custom_field, add_note, escalate, set_root_cause | any but closed | (the field) |
//! | record_complaint_step  | new, open, pending; follow_up and thank also resolved, verified | (the step) |
//! | set_feed_back          | any (a closed complaint is fed back too) | (the flag)           |
//!
//! Anything else is `invalid_transition`; a merged ticket refuses everything (`merged`).
//! A command that would set a field to the value it has is accepted with no event.
//!
//! Who may do what: agents and supervisors everything but the SLA-breach escalation (the
//! system's); the system (the application's rules) may open, assign, set the team, priority
//! and custom fields, add notes, pend, resume, record failed attempts (a dialler), close
//! and escalate on a breach; the customer may add customer-visible notes, verify and
//! reopen. A customer's message while pending on the customer brings the ticket back to
//! open.
//!
//! `now` may not go back before the ticket's last event (the SLA clocks need time order).

use switchboard_domain::{Timestamp, ValidationError};

use super::{
    command::{Action, Command, NewTicket},
    complaint::{ComplaintStep, RootCause},
    error::TicketError,
    event::{Change, Created, TicketEvent},
    fields::{check_text, optional_text, MAX_NOTE_LEN, MAX_SUBJECT_LEN},
    Actor, ActorKind, EscalationReason, PendingOn, SlaTarget, Status, Ticket, TicketId, TicketKind,
    TicketPriority, Visibility,
};
use crate::sla::ClockState;

/// Four no-misses: how many documented failed attempts to reach the customer stand in for
/// their confirmation. Two, because one missed call is usually bad timing (a meeting, a
/// dead battery) and proves no effort, while the domain's own practice — call back a
/// dropped call, warn twice before hanging up — treats a second try as the diligent
/// minimum; more would keep tickets open for customers who simply do not answer. Each
/// attempt must come later than the one before (a double click is not a second try).
pub const MIN_FAILED_ATTEMPTS: usize = 2;

/// Creates a ticket: the ticket and its first events (the creation, the clocks started,
/// and for a special call its escalation).
///
/// A special call needs [`super::Evidence`] (any other kind refuses it) and is escalated at
/// once; a threat is urgent, harassment at least high.
///
/// # Errors
/// `invalid` (subject, description, evidence), `forbidden` (a customer recording a special
/// call).
pub fn create(
    id: TicketId,
    new: NewTicket,
    by: Actor,
    now: Timestamp,
) -> Result<(Ticket, Vec<TicketEvent>), TicketError> {
    check_text("subject", &new.subject, MAX_SUBJECT_LEN, false)?;
    optional_text("description", &new.description, MAX_NOTE_LEN, true)?;
    let mut priority = new.priority;
    match (&new.evidence, new.kind) {
        (Some(evidence), TicketKind::SpecialCall) => {
            if by.kind() == ActorKind::Customer {
                return Err(TicketError::Forbidden {
                    actor: ActorKind::Customer,
                    command: "record a special call",
                });
            }
            evidence.check(now)?;
            let floor = match evidence.kind {
                super::SpecialCallKind::Threat => TicketPriority::Urgent,
                super::SpecialCallKind::Harassment => TicketPriority::High,
            };
            priority = priority.max(floor);
        }
        (None, TicketKind::SpecialCall) => {
            return Err(ValidationError::new(
                "evidence",
                "a special call needs its evidence: caller number, time, seat and content",
            )
            .into())
        }
        (Some(_), _) => {
            return Err(
                ValidationError::new("evidence", "only special calls carry evidence").into(),
            )
        }
        (None, _) => {}
    }
    let special = new.kind == TicketKind::SpecialCall;
    let created = Created {
        kind: new.kind,
        priority,
        subject: new.subject,
        description: new.description,
        channel: new.channel,
        source_contact: new.source_contact,
        owner: new.owner,
        team: new.team,
        custom_fields: new.custom_fields,
        evidence: new.evidence,
    };
    let mut changes = vec![
        Change::Created(Box::new(created.clone())),
        clock(SlaTarget::FirstResponse, ClockState::Running),
        clock(SlaTarget::Resolution, ClockState::Running),
    ];
    if special {
        changes.push(Change::Escalated {
            reason: EscalationReason::SpecialCall,
        });
    }
    let events: Vec<TicketEvent> = changes
        .into_iter()
        .zip(1..)
        .map(|(change, seq)| TicketEvent {
            ticket: id,
            seq,
            at: now,
            by: by.clone(),
            change,
        })
        .collect();
    let mut ticket = Ticket::born(id, 1, now, created);
    for e in &events[1..] {
        ticket.apply(e);
    }
    Ok((ticket, events))
}

/// The events `command` causes on `ticket`, or why it is refused (and then nothing
/// changed). Apply the events with [`Ticket::apply`]. See the module documentation for the
/// table.
///
/// # Errors
/// [`TicketError`]: `merged`, `invalid`, `forbidden`, `invalid_transition`,
/// `recheck_required`, `complaint_step_missing`, `root_cause_required`, `not_a_complaint`.
pub fn decide(ticket: &Ticket, command: Command) -> Result<Vec<TicketEvent>, TicketError> {
    if let Some(into) = ticket.merged_into {
        return Err(TicketError::Merged { into });
    }
    if command.now < ticket.updated_at {
        return Err(ValidationError::new(
            "now",
            format!(
                "{} is before the ticket's last change, at {}",
                command.now, ticket.updated_at
            ),
        )
        .into());
    }
    let Command { by, now, action } = command;
    let name = action.name();
    if !permitted(by.kind(), &action) {
        return Err(TicketError::Forbidden {
            actor: by.kind(),
            command: name,
        });
    }
    let illegal = || TicketError::InvalidTransition {
        from: ticket.status,
        command: name,
    };
    let status = ticket.status;
    let mut changes = Vec::new();
    match action {
        Action::Open => {
            if status != Status::New {
                return Err(illegal());
            }
            changes.push(to(status, Status::Open, None));
        }
        Action::Assign { owner } => {
            not_closed(status, illegal)?;
            if owner != ticket.owner {
                changes.push(Change::OwnerChanged {
                    from: ticket.owner.clone(),
                    to: owner,
                });
            }
        }
        Action::SetTeam { team } => {
            not_closed(status, illegal)?;
            if team != ticket.team {
                changes.push(Change::TeamChanged {
                    from: ticket.team.clone(),
                    to: team,
                });
            }
        }
        Action::SetPriority { priority } => {
            not_closed(status, illegal)?;
            if priority != ticket.priority {
                changes.push(Change::PriorityChanged {
                    from: ticket.priority,
                    to: priority,
                });
            }
        }
        Action::SetCustomField { key, value } => {
            not_closed(status, illegal)?;
            ticket.custom_fields.check_set(&key, value.as_deref())?;
            let from = ticket.custom_fields.get(&key).map(str::to_owned);
            if from != value {
                changes.push(Change::CustomFieldChanged {
                    key,
                    from,
                    to: value,
                });
            }
        }
        Action::AddNote { visibility, text } => {
            not_closed(status, illegal)?;
            check_text("text", &text, MAX_NOTE_LEN, true)?;
            let kind = by.kind();
            if kind == ActorKind::Customer && visibility == Visibility::Internal {
                return Err(TicketError::Forbidden {
                    actor: kind,
                    command: "add an internal note",
                });
            }
            changes.push(Change::NoteAdded { visibility, text });
            let staff = matches!(kind, ActorKind::Agent | ActorKind::Supervisor);
            if staff && visibility == Visibility::Customer {
                stop_first_response(ticket, &mut changes);
            }
            if kind == ActorKind::Customer && status == Status::PendingOnCustomer {
                changes.push(to(status, Status::Open, None));
                changes.push(clock(SlaTarget::Resolution, ClockState::Running));
            }
        }
        Action::Pend { on } => {
            let target = on.status();
            let legal = status == Status::Open || (status.is_pending() && status != target);
            if !legal {
                return Err(illegal());
            }
            changes.push(to(status, target, None));
            match on {
                PendingOn::Customer => {
                    changes.push(clock(SlaTarget::Resolution, ClockState::Paused));
                }
                PendingOn::ThirdParty if status == Status::PendingOnCustomer => {
                    changes.push(clock(SlaTarget::Resolution, ClockState::Running));
                }
                PendingOn::ThirdParty => {}
            }
        }
        Action::Resume => {
            if !status.is_pending() {
                return Err(illegal());
            }
            changes.push(to(status, Status::Open, None));
            if status == Status::PendingOnCustomer {
                changes.push(clock(SlaTarget::Resolution, ClockState::Running));
            }
        }
        Action::Resolve { resolution } => {
            if !(status == Status::Open || status.is_pending()) {
                return Err(illegal());
            }
            check_text("resolution", &resolution, MAX_NOTE_LEN, true)?;
            if let Some(c) = &ticket.complaint {
                for step in [ComplaintStep::AgreeSolution, ComplaintStep::Act] {
                    if !c.has(step) {
                        return Err(TicketError::ComplaintStepMissing {
                            missing: step,
                            command: name,
                        });
                    }
                }
            }
            changes.push(to(status, Status::Resolved, Some(resolution)));
            stop_first_response(ticket, &mut changes);
            changes.push(clock(SlaTarget::Resolution, ClockState::Stopped));
        }
        Action::Verify { note } => {
            if status != Status::Resolved {
                return Err(illegal());
            }
            if let Some(note) = &note {
                check_text("note", note, MAX_NOTE_LEN, true)?;
            }
            changes.push(to(status, Status::Verified, note));
        }
        Action::RecordFailedAttempt { note } => {
            if status != Status::Resolved {
                return Err(illegal());
            }
            check_text("note", &note, MAX_NOTE_LEN, true)?;
            if let Some(last) = ticket.recheck.failed_attempts.last() {
                if now <= last.at {
                    return Err(ValidationError::new(
                        "now",
                        format!(
                            "an attempt must come after the previous one, at {}",
                            last.at
                        ),
                    )
                    .into());
                }
            }
            changes.push(Change::ContactAttemptFailed { note });
        }
        Action::Close => {
            match status {
                Status::Verified => {}
                Status::Resolved if ticket.recheck.is_done() => {}
                Status::Resolved => {
                    return Err(TicketError::RecheckRequired {
                        attempts: ticket.recheck.failed_attempts.len(),
                        required: MIN_FAILED_ATTEMPTS,
                    })
                }
                _ => return Err(illegal()),
            }
            if let Some(c) = &ticket.complaint {
                if c.root_cause.is_none() {
                    return Err(TicketError::RootCauseRequired);
                }
            }
            changes.push(to(status, Status::Closed, None));
        }
        Action::Reopen { reason } => {
            if !matches!(status, Status::Resolved | Status::Verified | Status::Closed) {
                return Err(illegal());
            }
            check_text("reason", &reason, MAX_NOTE_LEN, true)?;
            changes.push(to(status, Status::Open, Some(reason)));
            changes.push(clock(SlaTarget::Resolution, ClockState::Running));
        }
        Action::Merge { into } => {
            not_closed(status, illegal)?;
            if into == ticket.id {
                return Err(
                    ValidationError::new("into", "a ticket cannot merge into itself").into(),
                );
            }
            stop_first_response(ticket, &mut changes);
            if ticket.sla.state(SlaTarget::Resolution) != Some(ClockState::Stopped) {
                changes.push(clock(SlaTarget::Resolution, ClockState::Stopped));
            }
            changes.push(Change::Merged { from: status, into });
        }
        Action::Escalate { reason } => {
            not_closed(status, illegal)?;
            match (&reason, by.kind()) {
                (EscalationReason::Agent { reason }, ActorKind::Agent | ActorKind::Supervisor) => {
                    check_text("reason", reason, MAX_NOTE_LEN, true)?;
                }
                (EscalationReason::SlaBreach { .. }, ActorKind::System) => {}
                (EscalationReason::SpecialCall, _) => {
                    return Err(ValidationError::new(
                        "reason",
                        "special calls are escalated when they are recorded",
                    )
                    .into())
                }
                (_, actor) => {
                    return Err(TicketError::Forbidden {
                        actor,
                        command: "escalate for this reason",
                    })
                }
            }
            changes.push(Change::Escalated { reason });
            if ticket.priority != TicketPriority::Urgent {
                changes.push(Change::PriorityChanged {
                    from: ticket.priority,
                    to: ticket.priority.raised(),
                });
            }
        }
        Action::RecordComplaintStep { step, note } => {
            let c = ticket
                .complaint
                .as_ref()
                .ok_or(TicketError::NotAComplaint { command: name })?;
            let after = matches!(status, Status::Resolved | Status::Verified);
            if !(status.is_active() || (after && step.allowed_after_resolution())) {
                return Err(illegal());
            }
            match &note {
                Some(n) => check_text("note", n, MAX_NOTE_LEN, true)?,
                None if step.needs_note() => {
                    return Err(ValidationError::new(
                        "note",
                        format!("the step {step} is recorded with what was agreed or done"),
                    )
                    .into())
                }
                None => {}
            }
            let needs = match step {
                ComplaintStep::Act => Some(ComplaintStep::AgreeSolution),
                ComplaintStep::FollowUp => Some(ComplaintStep::Act),
                _ => None,
            };
            if let Some(missing) = needs.filter(|s| !c.has(*s)) {
                return Err(TicketError::ComplaintStepMissing {
                    missing,
                    command: name,
                });
            }
            changes.push(Change::ComplaintStepRecorded { step, note });
        }
        Action::SetRootCause { cause, note } => {
            let c = ticket
                .complaint
                .as_ref()
                .ok_or(TicketError::NotAComplaint { command: name })?;
            not_closed(status, illegal)?;
            match &note {
                Some(n) => check_text("note", n, MAX_NOTE_LEN, true)?,
                None if cause == RootCause::Other => {
                    return Err(
                        ValidationError::new("note", "the cause `other` needs its detail").into(),
                    )
                }
                None => {}
            }
            if c.root_cause != Some(cause) || c.root_cause_note != note {
                changes.push(Change::RootCauseSet {
                    from: c.root_cause,
                    to: cause,
                    note,
                });
            }
        }
        Action::SetFeedBack { feed_back } => {
            let c = ticket
                .complaint
                .as_ref()
                .ok_or(TicketError::NotAComplaint { command: name })?;
            if c.feed_back != feed_back {
                changes.push(Change::FeedBackChanged {
                    from: c.feed_back,
                    to: feed_back,
                });
            }
        }
    }
    Ok(changes
        .into_iter()
        .zip(ticket.version + 1..)
        .map(|(change, seq)| TicketEvent {
            ticket: ticket.id,
            seq,
            at: now,
            by: by.clone(),
            change,
        })
        .collect())
}

/// Who may give which command (the module documentation's rules).
fn permitted(actor: ActorKind, action: &Action) -> bool {
    match actor {
        ActorKind::Agent | ActorKind::Supervisor => true,
        ActorKind::Customer => matches!(
            action,
            Action::AddNote { .. } | Action::Verify { .. } | Action::Reopen { .. }
        ),
        ActorKind::System => matches!(
            action,
            Action::Open
                | Action::Assign { .. }
                | Action::SetTeam { .. }
                | Action::SetPriority { .. }
                | Action::SetCustomField { .. }
                | Action::AddNote { .. }
                | Action::Pend { .. }
                | Action::Resume
                | Action::RecordFailedAttempt { .. }
                | Action::Close
                | Action::Escalate { .. }
        ),
    }
}

fn not_closed(status: Status, illegal: impl Fn() -> TicketError) -> Result<(), TicketError> {
    if status == Status::Closed {
        Err(illegal())
    } else {
        Ok(())
    }
}

fn to(from: Status, to: Status, note: Option<String>) -> Change {
    Change::StatusChanged { from, to, note }
}

fn clock(target: SlaTarget, state: ClockState) -> Change {
    Change::ClockChanged { target, state }
}

fn stop_first_response(ticket: &Ticket, changes: &mut Vec<Change>) {
    if ticket.sla.state(SlaTarget::FirstResponse) == Some(ClockState::Running) {
        changes.push(clock(SlaTarget::FirstResponse, ClockState::Stopped));
    }
}
