//! The ticket rules, as tables and stories: every transition (legal and illegal), four
//! no-misses, the complaint workflow, special calls, escalation, merge, SLA history.

use std::{collections::BTreeMap, time::Duration};

use chrono::Weekday::{Fri, Mon, Thu, Tue, Wed};
use switchboard_desk::{
    ticket::{
        create, decide, Action, Actor, ActorKind, Change, Command, ComplaintStep, CustomFields,
        EscalationReason, Evidence, NewTicket, PendingOn, RootCause, SlaTarget, SpecialCallKind,
        Status, Ticket, TicketError, TicketEvent, TicketId, TicketKind, TicketPriority, Visibility,
        MAX_CUSTOM_FIELDS, MIN_FAILED_ATTEMPTS,
    },
    BusinessCalendar, ClockChange, ClockState, Slot,
};
use switchboard_domain::{parse_instant, AgentId, Timestamp, ValidationError};

fn at(s: &str) -> Timestamp {
    parse_instant(s).unwrap()
}

fn id(n: u8) -> TicketId {
    format!("0190f0c4-0000-7000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn agent() -> Actor {
    Actor::Agent(AgentId::parse("ann").unwrap())
}

fn supervisor() -> Actor {
    Actor::Supervisor(AgentId::parse("sue").unwrap())
}

/// A ticket and its trail, moved by commands the way the application will: decide, then
/// apply the events (or nothing at all when refused).
struct Desk {
    ticket: Ticket,
    trail: Vec<TicketEvent>,
    now: Timestamp,
}

impl Desk {
    fn new(new: NewTicket) -> Self {
        let now = at("2026-03-30T09:00:00+02:00");
        let (ticket, trail) = create(id(1), new, agent(), now).unwrap();
        Self { ticket, trail, now }
    }

    fn inquiry() -> Self {
        Self::new(NewTicket::new(TicketKind::Inquiry, "Where is my parcel?"))
    }

    fn complaint() -> Self {
        Self::new(NewTicket::new(TicketKind::Complaint, "Rude technician"))
    }

    /// Runs `action` by `by` a minute after the last command.
    fn run_as(&mut self, by: Actor, action: Action) -> Result<Vec<TicketEvent>, TicketError> {
        self.now = self.now.plus(Duration::from_secs(60));
        self.run_at(by, self.now, action)
    }

    fn run_at(
        &mut self,
        by: Actor,
        now: Timestamp,
        action: Action,
    ) -> Result<Vec<TicketEvent>, TicketError> {
        let before = self.ticket.clone();
        match decide(&self.ticket, Command::new(by, now, action)) {
            Ok(events) => {
                for e in &events {
                    self.ticket.apply(e);
                }
                self.trail.extend(events.iter().cloned());
                assert_eq!(Ticket::replay(&self.trail).unwrap(), self.ticket);
                Ok(events)
            }
            Err(e) => {
                assert_eq!(self.ticket, before);
                Err(e)
            }
        }
    }

    fn run(&mut self, action: Action) -> Result<Vec<TicketEvent>, TicketError> {
        self.run_as(agent(), action)
    }

    fn ok(&mut self, action: Action) -> Vec<TicketEvent> {
        let name = action.name();
        self.run(action)
            .unwrap_or_else(|e| panic!("{name} refused: {e}"))
    }

    fn code(&mut self, action: Action) -> &'static str {
        self.run(action).unwrap_err().code()
    }

    /// A ticket driven to `status` along the ordinary path.
    fn inquiry_in(status: Status) -> Self {
        let mut d = Self::inquiry();
        let path: &[Action] = match status {
            Status::New => &[],
            Status::Open => &[Action::Open],
            Status::PendingOnCustomer => &[Action::Open, pend(PendingOn::Customer)],
            Status::PendingOnThirdParty => &[Action::Open, pend(PendingOn::ThirdParty)],
            Status::Resolved => &[Action::Open, resolve()],
            Status::Verified => &[Action::Open, resolve(), verify()],
            Status::Closed => &[Action::Open, resolve(), verify(), Action::Close],
        };
        for a in path {
            d.ok(a.clone());
        }
        assert_eq!(d.ticket.status, status);
        d
    }
}

fn pend(on: PendingOn) -> Action {
    Action::Pend { on }
}

fn resolve() -> Action {
    Action::Resolve {
        resolution: "Parcel re-sent by express".into(),
    }
}

fn verify() -> Action {
    Action::Verify {
        note: Some("Customer confirmed on the phone".into()),
    }
}

fn attempt(note: &str) -> Action {
    Action::RecordFailedAttempt { note: note.into() }
}

fn reopen() -> Action {
    Action::Reopen {
        reason: "Parcel still missing".into(),
    }
}

fn step(step: ComplaintStep, note: Option<&str>) -> Action {
    Action::RecordComplaintStep {
        step,
        note: note.map(str::to_owned),
    }
}

/// What a command does from a state: the status it leads to, or the refusal's code.
type Outcome = Result<Status, &'static str>;

const X: Outcome = Err("invalid_transition");

#[test]
fn every_lifecycle_transition_legal_or_not() {
    use Status::*;
    let actions: [(&str, Action); 10] = [
        ("open", Action::Open),
        ("pend customer", pend(PendingOn::Customer)),
        ("pend third party", pend(PendingOn::ThirdParty)),
        ("resume", Action::Resume),
        ("resolve", resolve()),
        ("verify", verify()),
        ("failed attempt", attempt("no answer")),
        ("close", Action::Close),
        ("reopen", reopen()),
        ("merge", Action::Merge { into: id(2) }),
    ];
    let recheck = Err("recheck_required");
    #[rustfmt::skip]
    let table: [(Status, [Outcome; 10]); 7] = [
        //                   open      pend c                  pend t                    resume    resolve        verify        attempt        close        reopen    merge
        (New,                [Ok(Open), X,                      X,                        X,        X,             X,            X,             X,           X,        Ok(Closed)]),
        (Open,               [X,        Ok(PendingOnCustomer),  Ok(PendingOnThirdParty),  X,        Ok(Resolved),  X,            X,             X,           X,        Ok(Closed)]),
        (PendingOnCustomer,  [X,        X,                      Ok(PendingOnThirdParty),  Ok(Open), Ok(Resolved),  X,            X,             X,           X,        Ok(Closed)]),
        (PendingOnThirdParty,[X,        Ok(PendingOnCustomer),  X,                        Ok(Open), Ok(Resolved),  X,            X,             X,           X,        Ok(Closed)]),
        (Resolved,           [X,        X,                      X,                        X,        X,             Ok(Verified), Ok(Resolved),  recheck,     Ok(Open), Ok(Closed)]),
        (Verified,           [X,        X,                      X,                        X,        X,             X,            X,             Ok(Closed),  Ok(Open), Ok(Closed)]),
        (Closed,             [X,        X,                      X,                        X,        X,             X,            X,             X,           Ok(Open), X]),
    ];
    for (from, outcomes) in table {
        for ((name, action), expected) in actions.iter().zip(outcomes) {
            let mut d = Desk::inquiry_in(from);
            let got = d
                .run(action.clone())
                .map(|_| d.ticket.status)
                .map_err(|e| e.code());
            assert_eq!(got, expected, "{name} from {from}");
        }
    }
}

#[test]
fn a_closed_ticket_refuses_every_change_but_a_reopen() {
    let changes = [
        Action::Assign {
            owner: Some(AgentId::parse("bob").unwrap()),
        },
        Action::SetTeam { team: None },
        Action::SetPriority {
            priority: TicketPriority::High,
        },
        Action::SetCustomField {
            key: "order".into(),
            value: Some("A-1".into()),
        },
        Action::AddNote {
            visibility: Visibility::Internal,
            text: "late note".into(),
        },
        Action::Escalate {
            reason: EscalationReason::Agent {
                reason: "why not".into(),
            },
        },
    ];
    for action in changes {
        let mut d = Desk::inquiry_in(Status::Closed);
        let name = action.name();
        assert_eq!(d.code(action), "invalid_transition", "{name}");
    }
}

#[test]
fn the_audit_trail_says_who_when_and_from_what_to_what() {
    let mut d = Desk::inquiry();
    let bob = AgentId::parse("bob").unwrap();
    let events = d
        .run_as(
            supervisor(),
            Action::Assign {
                owner: Some(bob.clone()),
            },
        )
        .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.by.clone(), e.at, e.seq), (supervisor(), d.now, 4));
    assert_eq!(
        e.change,
        Change::OwnerChanged {
            from: None,
            to: Some(bob.clone()),
        }
    );
    // The same value again is accepted and changes nothing.
    assert!(d.ok(Action::Assign { owner: Some(bob) }).is_empty());
    let events = d.ok(Action::SetPriority {
        priority: TicketPriority::Urgent,
    });
    assert_eq!(
        events[0].change,
        Change::PriorityChanged {
            from: TicketPriority::Normal,
            to: TicketPriority::Urgent,
        }
    );
    assert_eq!(d.ticket.version, d.trail.len() as u64);
    // Time does not run backwards on a ticket.
    let earlier = Timestamp::from_millis(d.now.as_millis() - 1);
    let e = d.run_at(agent(), earlier, Action::Open).unwrap_err();
    assert_eq!((e.code(), e.field()), ("invalid", Some("now")));
}

#[test]
fn four_no_misses_nothing_closes_without_the_recheck() {
    assert_eq!(MIN_FAILED_ATTEMPTS, 2);
    let mut d = Desk::inquiry_in(Status::Resolved);
    let e = d.run(Action::Close).unwrap_err();
    assert_eq!(
        e,
        TicketError::RecheckRequired {
            attempts: 0,
            required: 2
        }
    );
    // An attempt needs its note.
    assert_eq!(d.code(attempt("  ")), "invalid");
    d.ok(attempt("Called 10:02, no answer"));
    assert_eq!(d.code(Action::Close), "recheck_required");
    // A second attempt at the same instant is a double click, not a second try.
    let same = d.ticket.recheck.failed_attempts[0].at;
    let e = d
        .run_at(agent(), same, attempt("Called again"))
        .unwrap_err();
    assert_eq!(e.field(), Some("now"));
    // The system may record a dialler's attempt and close.
    d.run_as(Actor::System, attempt("Dialler: busy at 15:00"))
        .unwrap();
    assert_eq!(d.ticket.recheck.failed_attempts.len(), 2);
    d.run_as(Actor::System, Action::Close).unwrap();
    assert_eq!(d.ticket.status, Status::Closed);
    // A reopen asks for a new re-check: the old attempts do not count for the next close.
    d.ok(reopen());
    assert!(d.ticket.recheck.failed_attempts.is_empty());
    d.ok(resolve());
    assert_eq!(d.code(Action::Close), "recheck_required");
    // The customer confirming is the other way.
    d.run_as(Actor::Customer, Action::Verify { note: None })
        .unwrap();
    let v = d.ticket.recheck.verified.clone().unwrap();
    assert_eq!((v.by, v.at), (Actor::Customer, d.now));
    d.ok(Action::Close);
}

#[test]
fn who_may_do_what() {
    let mut d = Desk::inquiry_in(Status::Open);
    for action in [
        resolve(),
        Action::Close,
        Action::Open,
        Action::Merge { into: id(2) },
    ] {
        let e = d.run_as(Actor::Customer, action).unwrap_err();
        assert_eq!(e.code(), "forbidden");
    }
    let e = d
        .run_as(
            Actor::Customer,
            Action::AddNote {
                visibility: Visibility::Internal,
                text: "psst".into(),
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert_eq!(
        d.run_as(Actor::System, resolve()).unwrap_err().code(),
        "forbidden"
    );
    // The customer answering while we wait on them brings the ticket back and resumes the
    // resolution clock.
    d.ok(pend(PendingOn::Customer));
    d.run_as(
        Actor::Customer,
        Action::AddNote {
            visibility: Visibility::Customer,
            text: "Here is the photo".into(),
        },
    )
    .unwrap();
    assert_eq!(d.ticket.status, Status::Open);
    assert_eq!(
        d.ticket.sla.state(SlaTarget::Resolution),
        Some(ClockState::Running)
    );
}

#[test]
fn the_first_customer_visible_reply_stops_the_first_response_clock() {
    let mut d = Desk::inquiry_in(Status::Open);
    d.ok(Action::AddNote {
        visibility: Visibility::Internal,
        text: "Checking with the warehouse".into(),
    });
    assert_eq!(
        d.ticket.sla.state(SlaTarget::FirstResponse),
        Some(ClockState::Running)
    );
    let events = d.ok(Action::AddNote {
        visibility: Visibility::Customer,
        text: "We are on it".into(),
    });
    assert_eq!(events.len(), 2);
    assert_eq!(
        d.ticket.sla.state(SlaTarget::FirstResponse),
        Some(ClockState::Stopped)
    );
    assert_eq!(d.ticket.notes.len(), 2);
    // Further replies add no clock change.
    let events = d.ok(Action::AddNote {
        visibility: Visibility::Customer,
        text: "Still on it".into(),
    });
    assert_eq!(events.len(), 1);
    assert_eq!(
        d.code(Action::AddNote {
            visibility: Visibility::Customer,
            text: "x".repeat(10_001),
        }),
        "invalid"
    );
}

/// Mon–Fri 08:00–12:00 and 13:00–18:00, Europe/Berlin.
fn office() -> BusinessCalendar {
    BusinessCalendar::weekly(
        "Europe/Berlin".parse().unwrap(),
        &[Mon, Tue, Wed, Thu, Fri],
        &[
            Slot::parse("08:00", "12:00").unwrap(),
            Slot::parse("13:00", "18:00").unwrap(),
        ],
        [],
    )
    .unwrap()
}

#[test]
fn pending_on_the_customer_pauses_resolved_stops_and_reopen_resumes_the_clock() {
    use ClockState::{Paused, Running, Stopped};
    let mut d = Desk::inquiry(); // Monday 09:00
    let mut run = |t: &str, a: Action| d.run_at(agent(), at(t), a).map(|_| ()).unwrap();
    run("2026-03-30T09:30:00+02:00", Action::Open);
    run("2026-03-30T10:00:00+02:00", pend(PendingOn::Customer));
    run("2026-03-31T09:00:00+02:00", pend(PendingOn::ThirdParty));
    run("2026-03-31T10:00:00+02:00", Action::Resume);
    run("2026-03-31T11:00:00+02:00", resolve());
    run("2026-04-01T09:00:00+02:00", reopen());
    let change = |t: &str, s| ClockChange::new(at(t), s);
    assert_eq!(
        d.ticket.sla.changes(SlaTarget::Resolution),
        [
            change("2026-03-30T09:00:00+02:00", Running),
            change("2026-03-30T10:00:00+02:00", Paused),
            // Pending on a third party: the customer still waits on us.
            change("2026-03-31T09:00:00+02:00", Running),
            change("2026-03-31T11:00:00+02:00", Stopped),
            change("2026-04-01T09:00:00+02:00", Running),
        ]
    );
    // Resolution within 8 business hours: 1 h Monday, 2 h Tuesday, then resumed on
    // Wednesday with 5 h left: due 15:00 (lunch 12–13 not counted).
    let clock = d
        .ticket
        .sla_clock(SlaTarget::Resolution, Duration::from_secs(8 * 3600), 80)
        .unwrap();
    let s = clock
        .status(&office(), at("2026-04-01T10:00:00+02:00"))
        .unwrap();
    assert_eq!(s.elapsed, Duration::from_secs(4 * 3600));
    assert_eq!(s.deadline, Some(at("2026-04-01T15:00:00+02:00")));
    // The first response was never given before the resolution: it stopped there.
    assert_eq!(
        d.ticket.sla.changes(SlaTarget::FirstResponse).last(),
        Some(&change("2026-03-31T11:00:00+02:00", Stopped))
    );
}

#[test]
fn a_complaint_follows_the_workflow_to_its_root_cause() {
    let mut d = Desk::complaint();
    d.ok(Action::Open);
    for s in [
        ComplaintStep::Listen,
        ComplaintStep::Apologise,
        ComplaintStep::Clarify,
    ] {
        d.ok(step(s, None));
    }
    let missing = |m| TicketError::ComplaintStepMissing {
        missing: m,
        command: "resolve",
    };
    assert_eq!(
        d.run(resolve()).unwrap_err(),
        missing(ComplaintStep::AgreeSolution)
    );
    assert_eq!(
        d.run(step(ComplaintStep::Act, Some("refund sent")))
            .unwrap_err()
            .code(),
        "complaint_step_missing"
    );
    assert_eq!(
        d.run(step(ComplaintStep::FollowUp, None))
            .unwrap_err()
            .code(),
        "complaint_step_missing"
    );
    // The solution is the note; without it the step says nothing.
    let e = d.run(step(ComplaintStep::AgreeSolution, None)).unwrap_err();
    assert_eq!(e.field(), Some("note"));
    d.ok(step(ComplaintStep::AgreeSolution, Some("Refund the visit")));
    assert_eq!(d.run(resolve()).unwrap_err(), missing(ComplaintStep::Act));
    d.ok(step(ComplaintStep::Act, Some("Refund of 80 EUR sent")));
    d.ok(resolve());
    // Follow-up and thanks come after the resolution; clarifying does not.
    d.ok(step(ComplaintStep::FollowUp, Some("Refund arrived")));
    assert_eq!(
        d.code(step(ComplaintStep::Clarify, None)),
        "invalid_transition"
    );
    d.ok(verify());
    d.ok(step(ComplaintStep::Thank, None));
    assert_eq!(
        d.run(Action::Close).unwrap_err(),
        TicketError::RootCauseRequired
    );
    let e = d
        .run(Action::SetRootCause {
            cause: RootCause::Other,
            note: None,
        })
        .unwrap_err();
    assert_eq!(e.field(), Some("note"));
    d.ok(Action::SetRootCause {
        cause: RootCause::Service,
        note: Some("Technician behaviour".into()),
    });
    d.ok(Action::Close);
    // A closed complaint can still be fed back to the product owner.
    let events = d.ok(Action::SetFeedBack { feed_back: true });
    assert_eq!(
        events[0].change,
        Change::FeedBackChanged {
            from: false,
            to: true
        }
    );
    let c = d.ticket.complaint.clone().unwrap();
    assert_eq!(c.root_cause, Some(RootCause::Service));
    assert_eq!(c.steps.len(), 7);
    assert!(c.feed_back);
    // Reopened, the old solution evidently did not hold: agree and act again.
    d.ok(reopen());
    assert_eq!(
        d.run(resolve()).unwrap_err(),
        missing(ComplaintStep::AgreeSolution)
    );
}

#[test]
fn complaint_commands_are_for_complaints() {
    let mut d = Desk::inquiry_in(Status::Open);
    for action in [
        step(ComplaintStep::Listen, None),
        Action::SetRootCause {
            cause: RootCause::Product,
            note: None,
        },
        Action::SetFeedBack { feed_back: true },
    ] {
        assert_eq!(d.code(action), "not_a_complaint");
    }
}

fn evidence(kind: SpecialCallKind) -> Evidence {
    Evidence {
        kind,
        caller_number: "+4930123456".into(),
        received_at: at("2026-03-30T08:55:00+02:00"),
        seat: "seat-12".into(),
        content: "Caller threatened to come to the shop".into(),
    }
}

#[test]
fn a_special_call_keeps_its_evidence_and_is_escalated_at_once() {
    let mut new = NewTicket::new(TicketKind::SpecialCall, "Threatening caller");
    new.evidence = Some(evidence(SpecialCallKind::Threat));
    let d = Desk::new(new.clone());
    assert_eq!(d.ticket.priority, TicketPriority::Urgent);
    assert!(d.ticket.is_escalated());
    assert_eq!(
        d.ticket.escalations[0].reason,
        EscalationReason::SpecialCall
    );
    assert_eq!(d.ticket.evidence, new.evidence);
    assert!(matches!(
        d.trail.last().unwrap().change,
        Change::Escalated {
            reason: EscalationReason::SpecialCall
        }
    ));
    let now = at("2026-03-30T09:00:00+02:00");
    // Harassment is at least high.
    new.evidence = Some(evidence(SpecialCallKind::Harassment));
    let (t, _) = create(id(3), new.clone(), agent(), now).unwrap();
    assert_eq!(t.priority, TicketPriority::High);
    // Refusals: no evidence, evidence elsewhere, blank content, a call from the future, a
    // customer filing it.
    let field = |new: NewTicket, by: Actor| create(id(3), new, by, now).unwrap_err();
    let mut bad = new.clone();
    bad.evidence = None;
    assert_eq!(field(bad, agent()).field(), Some("evidence"));
    let mut bad = NewTicket::new(TicketKind::Inquiry, "x");
    bad.evidence = Some(evidence(SpecialCallKind::Threat));
    assert_eq!(field(bad, agent()).field(), Some("evidence"));
    let mut bad = new.clone();
    bad.evidence.as_mut().unwrap().content = " ".into();
    assert_eq!(field(bad, agent()).field(), Some("evidence.content"));
    let mut bad = new.clone();
    bad.evidence.as_mut().unwrap().received_at = now.plus(Duration::from_secs(1));
    assert_eq!(field(bad, agent()).field(), Some("evidence.received_at"));
    assert_eq!(field(new, Actor::Customer).code(), "forbidden");
    // Nobody escalates "as a special call" later.
    let mut d = Desk::inquiry();
    let e = d
        .run(Action::Escalate {
            reason: EscalationReason::SpecialCall,
        })
        .unwrap_err();
    assert_eq!(e.field(), Some("reason"));
}

#[test]
fn escalation_by_an_agent_or_by_an_sla_breach_raises_the_priority() {
    let mut d = Desk::inquiry_in(Status::Open);
    let by_agent = Action::Escalate {
        reason: EscalationReason::Agent {
            reason: "Customer asks for a refund beyond my authority".into(),
        },
    };
    let events = d.ok(by_agent.clone());
    assert_eq!(events.len(), 2);
    assert_eq!(d.ticket.priority, TicketPriority::High);
    let breach = Action::Escalate {
        reason: EscalationReason::SlaBreach {
            target: SlaTarget::Resolution,
        },
    };
    assert_eq!(d.run(breach.clone()).unwrap_err().code(), "forbidden");
    assert_eq!(
        d.run_as(Actor::System, by_agent).unwrap_err().code(),
        "forbidden"
    );
    d.run_as(Actor::System, breach.clone()).unwrap();
    assert_eq!(d.ticket.priority, TicketPriority::Urgent);
    // Urgent stays urgent: the escalation alone is recorded.
    assert_eq!(d.run_as(Actor::System, breach).unwrap().len(), 1);
    assert_eq!(d.ticket.escalations.len(), 3);
    assert_eq!(
        d.code(Action::Escalate {
            reason: EscalationReason::Agent { reason: "".into() }
        }),
        "invalid"
    );
}

#[test]
fn a_merged_ticket_is_closed_into_the_other_and_frozen() {
    let mut d = Desk::inquiry_in(Status::PendingOnCustomer);
    assert_eq!(
        d.run(Action::Merge { into: id(1) }).unwrap_err().field(),
        Some("into")
    );
    d.ok(Action::Merge { into: id(2) });
    assert_eq!(d.ticket.status, Status::Closed);
    assert_eq!(d.ticket.merged_into, Some(id(2)));
    assert_eq!(
        d.ticket.sla.state(SlaTarget::Resolution),
        Some(ClockState::Stopped)
    );
    for action in [
        reopen(),
        Action::AddNote {
            visibility: Visibility::Internal,
            text: "x".into(),
        },
        Action::Close,
    ] {
        let e = d.run(action).unwrap_err();
        assert_eq!(e, TicketError::Merged { into: id(2) });
        assert_eq!(e.code(), "merged");
    }
}

#[test]
fn custom_fields_are_bounded() {
    let mut d = Desk::inquiry();
    let set = |k: &str, v: Option<&str>| Action::SetCustomField {
        key: k.into(),
        value: v.map(str::to_owned),
    };
    let events = d.ok(set("order_no", Some("A-17")));
    assert_eq!(
        events[0].change,
        Change::CustomFieldChanged {
            key: "order_no".into(),
            from: None,
            to: Some("A-17".into())
        }
    );
    d.ok(set("order_no", None));
    assert!(d.ticket.custom_fields.is_empty());
    assert_eq!(d.code(set("bad key", Some("x"))), "invalid");
    assert_eq!(d.code(set("", Some("x"))), "invalid");
    assert_eq!(d.code(set("k", Some(&"v".repeat(1_001)))), "invalid");
    let many: BTreeMap<String, String> = (0..=MAX_CUSTOM_FIELDS)
        .map(|i| (format!("k{i}"), "v".into()))
        .collect();
    assert_eq!(
        CustomFields::new(many.clone()).unwrap_err().field,
        "custom_fields"
    );
    let full: BTreeMap<String, String> = many.into_iter().skip(1).collect();
    let mut new = NewTicket::new(TicketKind::Appointment, "Install the washer");
    new.custom_fields = CustomFields::new(full).unwrap();
    let mut d = Desk::new(new);
    assert_eq!(d.code(set("one_more", Some("x"))), "invalid");
    d.ok(set("k1", Some("replaced")));
    // Deserialising checks the bounds as well.
    assert!(serde_json::from_str::<CustomFields>(r#"{"a b": "x"}"#).is_err());
}

#[test]
fn tickets_and_events_are_json_in_snake_case() {
    let mut d = Desk::complaint();
    d.ok(Action::Open);
    d.ok(pend(PendingOn::Customer));
    let json = serde_json::to_string(&d.ticket).unwrap();
    assert!(json.contains(r#""status":"pending_on_customer""#), "{json}");
    assert!(json.contains(r#""kind":"complaint""#), "{json}");
    assert_eq!(serde_json::from_str::<Ticket>(&json).unwrap(), d.ticket);
    let json = serde_json::to_string(&d.trail).unwrap();
    assert!(json.contains(r#""type":"status_changed""#), "{json}");
    assert!(
        json.contains(r#""by":{"kind":"agent","id":"ann"}"#),
        "{json}"
    );
    let back: Vec<TicketEvent> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d.trail);
    let cmd = Command::new(agent(), d.now, pend(PendingOn::ThirdParty));
    let json = serde_json::to_string(&cmd).unwrap();
    assert!(
        json.contains(r#""action":"pend","on":"third_party""#),
        "{json}"
    );
}

#[test]
fn a_trail_replays_only_in_sequence() {
    let d = Desk::inquiry_in(Status::Verified);
    assert_eq!(Ticket::replay(&d.trail).unwrap(), d.ticket);
    assert!(Ticket::replay(&[]).is_err());
    assert!(Ticket::replay(&d.trail[1..]).is_err());
    let mut gap = d.trail.clone();
    gap.remove(3);
    assert_eq!(Ticket::replay(&gap).unwrap_err().field, "events[3]");
}

/// The edges map these codes: they are part of the API and must not change.
#[test]
fn error_codes_are_stable() {
    let cases = [
        (
            TicketError::Invalid(ValidationError::new("subject", "blank")),
            "invalid",
        ),
        (
            TicketError::InvalidTransition {
                from: Status::New,
                command: "close",
            },
            "invalid_transition",
        ),
        (
            TicketError::Forbidden {
                actor: ActorKind::Customer,
                command: "close",
            },
            "forbidden",
        ),
        (TicketError::Merged { into: id(2) }, "merged"),
        (
            TicketError::RecheckRequired {
                attempts: 1,
                required: 2,
            },
            "recheck_required",
        ),
        (
            TicketError::ComplaintStepMissing {
                missing: ComplaintStep::Act,
                command: "resolve",
            },
            "complaint_step_missing",
        ),
        (TicketError::RootCauseRequired, "root_cause_required"),
        (
            TicketError::NotAComplaint {
                command: "set_root_cause",
            },
            "not_a_complaint",
        ),
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code);
        assert_eq!(e.field().is_some(), code == "invalid");
    }
    let e = TicketError::InvalidTransition {
        from: Status::PendingOnCustomer,
        command: "verify",
    };
    assert_eq!(
        e.to_string(),
        "a ticket that is pending_on_customer cannot verify"
    );
}
