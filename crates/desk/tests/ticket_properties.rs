//! The ticket rules over random command sequences (random actors, random times, some going
//! backwards): a refused command changes nothing; an accepted one's events, applied, give the
//! ticket a replay of the whole trail gives; the trail grows by exactly those events; nothing
//! closes without the re-check; no complaint resolves without an agreed, acted-on solution;
//! the resolution clock always agrees with the status. Once over purely random commands,
//! once over walks guided by the ticket's state (which reach closes and reopens often).

use proptest::prelude::*;
use switchboard_desk::{
    ticket::{
        create, decide, Action, Actor, Change, Command, ComplaintStep, EscalationReason, Evidence,
        NewTicket, PendingOn, RootCause, SlaTarget, SpecialCallKind, Status, Ticket, TicketEvent,
        TicketId, TicketKind, TicketPriority, Visibility, MIN_FAILED_ATTEMPTS,
    },
    ClockState, SlaClock,
};
use switchboard_domain::{AgentId, Timestamp};

/// 2026-03-30T07:00:00Z.
const START_MS: i64 = 1_774_854_000_000;

fn id(n: u8) -> TicketId {
    format!("0190f0c4-0000-7000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        4 => Just(Actor::Agent(AgentId::parse("ann").unwrap())),
        1 => Just(Actor::Supervisor(AgentId::parse("sue").unwrap())),
        1 => Just(Actor::Customer),
        1 => Just(Actor::System),
    ]
}

fn note() -> impl Strategy<Value = String> {
    prop_oneof![4 => Just("noted".to_owned()), 1 => Just(" ".to_owned())]
}

fn action() -> impl Strategy<Value = Action> {
    let step = prop::sample::select(ComplaintStep::ALL.to_vec());
    prop_oneof![
        2 => Just(Action::Open),
        2 => prop_oneof![Just(PendingOn::Customer), Just(PendingOn::ThirdParty)]
            .prop_map(|on| Action::Pend { on }),
        2 => Just(Action::Resume),
        4 => note().prop_map(|resolution| Action::Resolve { resolution }),
        2 => prop::option::of(note()).prop_map(|note| Action::Verify { note }),
        3 => note().prop_map(|note| Action::RecordFailedAttempt { note }),
        4 => Just(Action::Close),
        2 => note().prop_map(|reason| Action::Reopen { reason }),
        1 => prop_oneof![Just(id(1)), Just(id(2))].prop_map(|into| Action::Merge { into }),
        1 => prop_oneof![
            note().prop_map(|reason| EscalationReason::Agent { reason }),
            Just(EscalationReason::SlaBreach { target: SlaTarget::Resolution }),
            Just(EscalationReason::SpecialCall),
        ]
        .prop_map(|reason| Action::Escalate { reason }),
        2 => (prop_oneof![Just(Visibility::Internal), Just(Visibility::Customer)], note())
            .prop_map(|(visibility, text)| Action::AddNote { visibility, text }),
        1 => prop::option::of(prop_oneof![Just("bob"), Just("ann")])
            .prop_map(|o| Action::Assign { owner: o.map(|a| AgentId::parse(a).unwrap()) }),
        1 => prop::sample::select(vec![
            TicketPriority::Low,
            TicketPriority::Normal,
            TicketPriority::High,
            TicketPriority::Urgent,
        ])
        .prop_map(|priority| Action::SetPriority { priority }),
        1 => (prop_oneof![Just("a"), Just("b c")], prop::option::of(Just("v".to_owned())))
            .prop_map(|(k, value)| Action::SetCustomField { key: k.into(), value }),
        5 => (step, prop::option::of(note()))
            .prop_map(|(step, note)| Action::RecordComplaintStep { step, note }),
        2 => (
            prop::sample::select(vec![RootCause::Product, RootCause::Other]),
            prop::option::of(note()),
        )
            .prop_map(|(cause, note)| Action::SetRootCause { cause, note }),
        1 => any::<bool>().prop_map(|feed_back| Action::SetFeedBack { feed_back }),
    ]
}

fn new_ticket() -> impl Strategy<Value = NewTicket> {
    prop::sample::select(vec![
        TicketKind::Inquiry,
        TicketKind::Complaint,
        TicketKind::SpecialCall,
    ])
    .prop_map(|kind| {
        let mut new = NewTicket::new(kind, "subject");
        if kind == TicketKind::SpecialCall {
            new.evidence = Some(Evidence {
                kind: SpecialCallKind::Threat,
                caller_number: "anonymous".into(),
                received_at: Timestamp::from_millis(START_MS),
                seat: "seat-1".into(),
                content: "threat".into(),
            });
        }
        new
    })
}

/// Steps: who, how many minutes after the previous command (a few go back), what.
fn steps() -> impl Strategy<Value = Vec<(Actor, i64, Action)>> {
    prop::collection::vec((actor(), -2i64..180, action()), 1..80)
}

/// Checks the trail on its own, without `Ticket::apply`: every close (not a merge) follows a
/// verification or enough failed attempts since the last resolution; every complaint
/// resolution follows an agreed solution acted on since the last reopen.
fn check_trail(trail: &[TicketEvent], complaint: bool) {
    let (mut verified, mut attempts) = (false, 0);
    let (mut agreed, mut acted) = (false, false);
    let mut cause = false;
    for e in trail {
        match &e.change {
            Change::StatusChanged { to, .. } => match to {
                Status::Resolved => {
                    assert!(!complaint || (agreed && acted), "resolved at seq {}", e.seq);
                    verified = false;
                    attempts = 0;
                }
                Status::Verified => verified = true,
                Status::Closed => {
                    assert!(
                        verified || attempts >= MIN_FAILED_ATTEMPTS,
                        "closed without the re-check at seq {}",
                        e.seq
                    );
                    assert!(
                        !complaint || cause,
                        "closed without a cause at seq {}",
                        e.seq
                    );
                }
                _ => {}
            },
            Change::ContactAttemptFailed { .. } => attempts += 1,
            Change::RootCauseSet { .. } => cause = true,
            Change::ComplaintStepRecorded { step, .. } => match step {
                ComplaintStep::AgreeSolution => (agreed, acted) = (true, false),
                ComplaintStep::Act => {
                    assert!(agreed, "acted without a solution at seq {}", e.seq);
                    acted = true;
                }
                _ => {}
            },
            _ => {}
        }
        if let Change::StatusChanged {
            from: Status::Resolved | Status::Verified | Status::Closed,
            to: Status::Open,
            ..
        } = &e.change
        {
            (agreed, acted) = (false, false);
        }
    }
}

fn check_clock(t: &Ticket) {
    for target in [SlaTarget::FirstResponse, SlaTarget::Resolution] {
        // Time-ordered: a valid SlaClock.
        SlaClock::new(
            std::time::Duration::from_secs(3600),
            80,
            t.sla.changes(target).iter().copied(),
        )
        .unwrap();
    }
    let expected = if t.merged_into.is_some() {
        ClockState::Stopped
    } else {
        match t.status {
            Status::PendingOnCustomer => ClockState::Paused,
            Status::Resolved | Status::Verified | Status::Closed => ClockState::Stopped,
            Status::New | Status::Open | Status::PendingOnThirdParty => ClockState::Running,
        }
    };
    assert_eq!(
        t.sla.state(SlaTarget::Resolution),
        Some(expected),
        "{:?}",
        t.status
    );
}

/// Runs one command the way the application will and checks everything about it; `true`
/// when it was accepted.
fn run(
    ticket: &mut Ticket,
    trail: &mut Vec<TicketEvent>,
    command: Command,
) -> Result<bool, TestCaseError> {
    let before = ticket.clone();
    let (by, now) = (command.by.clone(), command.now);
    let accepted = match decide(ticket, command.clone()) {
        Err(_) => {
            // Refused: the ticket and the trail stay as they were (decide only reads;
            // nothing to apply).
            prop_assert_eq!(&*ticket, &before);
            prop_assert_eq!(trail.len() as u64, ticket.version);
            false
        }
        Ok(events) => {
            // Deterministic: the same command on the same ticket decides the same.
            prop_assert_eq!(&decide(&before, command).unwrap(), &events);
            for (i, e) in events.iter().enumerate() {
                prop_assert_eq!(e.seq, before.version + 1 + i as u64);
                prop_assert_eq!(e.at, now);
                prop_assert_eq!(&e.by, &by);
                prop_assert_eq!(e.ticket, ticket.id);
                ticket.apply(e);
            }
            // The status the events announce is the status applied.
            let mut expected = before.status;
            for e in &events {
                match &e.change {
                    Change::StatusChanged { from, to, .. } => {
                        prop_assert_eq!(*from, expected);
                        expected = *to;
                    }
                    Change::Merged { from, .. } => {
                        prop_assert_eq!(*from, expected);
                        expected = Status::Closed;
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(ticket.status, expected);
            let grown = trail.len() + events.len();
            trail.extend(events);
            prop_assert_eq!(trail.len(), grown);
            prop_assert_eq!(ticket.version, grown as u64);
            prop_assert_eq!(&Ticket::replay(trail.iter()).unwrap(), &*ticket);
            true
        }
    };
    if ticket.status == Status::Closed && ticket.merged_into.is_none() {
        prop_assert!(ticket.recheck.is_done());
        if let Some(c) = &ticket.complaint {
            prop_assert!(c.root_cause.is_some());
        }
    }
    check_clock(ticket);
    Ok(accepted)
}

fn check_json(ticket: &Ticket, trail: &[TicketEvent]) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(ticket).unwrap();
    prop_assert_eq!(&serde_json::from_str::<Ticket>(&json).unwrap(), ticket);
    let json = serde_json::to_string(trail).unwrap();
    prop_assert_eq!(
        &serde_json::from_str::<Vec<TicketEvent>>(&json).unwrap(),
        trail
    );
    Ok(())
}

/// A command that makes sense in the ticket's state (most of the time): walks that reach
/// the later states often, where random commands are mostly refused early on.
fn guided(t: &Ticket, choice: u8) -> Action {
    let noted = || "noted".to_owned();
    let step = |step, note: bool| Action::RecordComplaintStep {
        step,
        note: note.then(noted),
    };
    let complaint = t.complaint.is_some();
    let options: Vec<Action> = match t.status {
        Status::New => vec![Action::Open, step(ComplaintStep::Listen, false)],
        Status::Open | Status::PendingOnCustomer | Status::PendingOnThirdParty => {
            let mut o = vec![
                Action::Resolve {
                    resolution: noted(),
                },
                Action::Pend {
                    on: PendingOn::Customer,
                },
                Action::Pend {
                    on: PendingOn::ThirdParty,
                },
                Action::Resume,
            ];
            if complaint {
                o.extend([
                    step(ComplaintStep::AgreeSolution, true),
                    step(ComplaintStep::Act, true),
                    step(ComplaintStep::Act, true),
                    Action::SetRootCause {
                        cause: RootCause::Product,
                        note: None,
                    },
                ]);
            }
            o
        }
        Status::Resolved => vec![
            Action::Verify { note: None },
            Action::RecordFailedAttempt { note: noted() },
            Action::RecordFailedAttempt { note: noted() },
            Action::Close,
            Action::Close,
            Action::Reopen { reason: noted() },
        ],
        Status::Verified => vec![
            Action::Close,
            Action::Close,
            Action::Reopen { reason: noted() },
            step(ComplaintStep::Thank, false),
        ],
        Status::Closed => vec![
            Action::Reopen { reason: noted() },
            Action::SetFeedBack { feed_back: true },
        ],
    };
    options[usize::from(choice) % options.len()].clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_commands_keep_every_rule(new in new_ticket(), steps in steps()) {
        let complaint = new.kind == TicketKind::Complaint;
        let mut now = Timestamp::from_millis(START_MS);
        let (mut ticket, mut trail) = create(id(1), new, Actor::System, now).unwrap();
        check_clock(&ticket);
        for (by, minutes, action) in steps {
            now = Timestamp::from_millis(now.as_millis() + minutes * 60_000);
            run(&mut ticket, &mut trail, Command::new(by, now, action))?;
        }
        check_trail(&trail, complaint);
        check_json(&ticket, &trail)?;
    }

    /// The same rules on walks that mostly make sense (and now and then a random command),
    /// so that resolutions, re-checks, closes and reopens happen in most cases.
    #[test]
    fn guided_walks_keep_every_rule(
        new in new_ticket(),
        walk in prop::collection::vec(
            (actor(), 0i64..600, any::<u8>(), prop::option::weighted(0.15, action())),
            1..60,
        ),
    ) {
        let complaint = new.kind == TicketKind::Complaint;
        let mut now = Timestamp::from_millis(START_MS);
        let (mut ticket, mut trail) = create(id(1), new, Actor::System, now).unwrap();
        for (by, minutes, choice, random) in walk {
            now = Timestamp::from_millis(now.as_millis() + minutes * 60_000);
            let action = random.unwrap_or_else(|| guided(&ticket, choice));
            run(&mut ticket, &mut trail, Command::new(by, now, action))?;
        }
        check_trail(&trail, complaint);
        check_json(&ticket, &trail)?;
    }
}
