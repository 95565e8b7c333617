//! The behaviour every backend must have. Each scenario is a function of a fresh backend; the
//! `conformance_suite!` macro turns the list into tests for one backend.

use std::time::Duration;

use switchboard_dispatch::DispatchError;
#[allow(unused_imports)]
use switchboard_dispatch::QueueBackend;
use switchboard_domain::*;

use crate::harness::*;

/// Instantiates every scenario as a test, for the backend `$make` (an async expression).
macro_rules! conformance_suite {
    ($make:expr) => {
        conformance_suite!(@tests $make;
            longest_idle_agent_gets_the_contact,
            accept_assigns_and_reject_returns_to_the_same_place,
            missed_offers_delay_then_set_the_agent_away,
            regression_agent_not_stuck_reserved_when_caller_hangs_up_mid_offer,
            regression_no_offer_to_an_agent_who_just_went_on_break,
            regression_same_agent_not_picked_again_and_again,
            regression_wrap_up_not_ended_early_by_a_transfer,
            regression_head_of_line_contact_does_not_block_others,
            priority_then_fifo_with_aging,
            skill_expansion_widens_the_pool_over_time,
            max_wait_overflows_or_leaves,
            join_and_leave_when_empty,
            callback_in_place_keeps_the_place,
            a_waiting_chat_may_become_a_callback,
            transfer_to_queue_and_to_agent,
            chat_capacity_and_voice_exclusivity,
            position_and_estimated_wait,
            strategies_round_robin_best_skill_random,
            bad_commands_are_refused_and_change_nothing,
            queues_and_agents_can_be_removed_when_idle,
            agent_queues_are_those_whose_required_skills_the_agent_holds,
            regression_agent_freed_by_a_timeout_takes_the_best_contact,
            pbx_routed_answer_assigns_without_an_offer,
            pbx_routed_answer_takes_back_the_agents_own_offers,
            regression_pbx_answer_leaves_no_free_chat_slot_idle,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::scenarios::$name($make).await;
            }
        )*
    };
}

pub(crate) async fn longest_idle_agent_gets_the_contact<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    c.advance(secs(10)).await;
    c.add_agent("bob", &[]).await;
    let call = c.call("sales").await;
    // Ann has been idle 10 s longer.
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    assert_eq!(c.status("ann").await, AgentStatus::Reserved);
    assert_eq!(c.status("bob").await, AgentStatus::Available);
}

pub(crate) async fn accept_assigns_and_reject_returns_to_the_same_place<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    let first = c.call("sales").await;
    c.advance(secs(1)).await;
    let second = c.call("sales").await;
    assert_eq!(c.offered_to(first).await.as_deref(), Some("ann"));
    // Rejected, the first call goes back *ahead* of the second (its arrival time is kept)
    // and, with no reject delay, is offered again to the only agent.
    c.advance(secs(2)).await;
    c.reject(first, "ann").await;
    assert_eq!(c.offered_to(first).await.as_deref(), Some("ann"));
    assert!(matches!(
        c.state(second).await,
        Some(ContactState::Queued { .. })
    ));
    c.advance(secs(1)).await;
    let events = c.accept(first, "ann").await;
    match &events[..] {
        [Event {
            kind: EventKind::OfferAccepted {
                waited_ms, agent, ..
            },
            ..
        }] => {
            assert_eq!(*waited_ms, 4_000, "waited counts from entering the queue");
            assert_eq!(agent.as_str(), "ann");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(c.status("ann").await, AgentStatus::Busy);
    // Completing frees Ann (no wrap-up in this queue) and she gets the second call.
    c.complete(first).await;
    assert_eq!(c.offered_to(second).await.as_deref(), Some("ann"));
    assert_eq!(
        c.state(first).await,
        None,
        "a finished contact leaves the ACD"
    );
}

pub(crate) async fn missed_offers_delay_then_set_the_agent_away<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut cfg = queue("support");
    cfg.offer_timeout = secs(15);
    cfg.no_answer_delay = secs(10);
    cfg.max_no_answer = 2;
    c.add_queue(cfg).await;
    c.add_agent("ann", &[]).await;
    let call = c.call("support").await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    let mark = c.log.len();
    c.advance(secs(15)).await;
    assert_eq!(c.names_since(mark), ["offer_timed_out"]);
    assert!(matches!(
        c.status("ann").await,
        AgentStatus::NoAnswerDelay { .. }
    ));
    // A late accept is refused: the offer is gone.
    let late = c
        .try_run(Command::Accept {
            contact: call,
            agent: a("ann"),
        })
        .await;
    assert!(
        matches!(late, Err(DispatchError::NotOffered { .. })),
        "{late:?}"
    );
    // After the delay she is offered the same call again, misses again, and is set away.
    c.advance(secs(10)).await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    let mark = c.log.len();
    c.advance(secs(15)).await;
    assert_eq!(
        c.names_since(mark),
        ["offer_timed_out", "agent_presence_changed"]
    );
    assert_eq!(
        c.status("ann").await,
        AgentStatus::Away {
            reason: ReasonCode::no_answer()
        }
    );
    assert!(matches!(
        c.state(call).await,
        Some(ContactState::Queued { .. })
    ));
    // Coming back resets the count.
    c.login("ann").await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    c.advance(secs(15)).await;
    assert!(matches!(
        c.status("ann").await,
        AgentStatus::NoAnswerDelay { .. }
    ));
}

pub(crate) async fn regression_agent_not_stuck_reserved_when_caller_hangs_up_mid_offer<
    B: crate::Fresh,
>(
    b: B,
) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    let call = c.call("sales").await;
    let waiting = c.call("sales").await;
    assert_eq!(c.status("ann").await, AgentStatus::Reserved);
    c.advance(secs(3)).await;
    let mark = c.log.len();
    c.run(Command::Abandon { contact: call }).await;
    // The offer is withdrawn, the abandon recorded, and Ann at once gets the next call.
    assert_eq!(
        c.names_since(mark),
        ["offer_withdrawn", "contact_abandoned", "contact_offered"]
    );
    assert_eq!(c.offered_to(waiting).await.as_deref(), Some("ann"));
    // The old deadline firing later does nothing to her.
    c.advance(secs(14)).await;
    assert_eq!(c.offered_to(waiting).await.as_deref(), Some("ann"));
    assert_eq!(c.state(call).await, None);
}

pub(crate) async fn regression_no_offer_to_an_agent_who_just_went_on_break<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    c.advance(secs(1)).await;
    c.add_agent("bob", &[]).await;
    let call = c.call("sales").await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    // Ann goes on break while it rings: the offer moves to Bob at once.
    let events = c.away("ann").await;
    let names: Vec<_> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        names,
        [
            "agent_presence_changed",
            "offer_withdrawn",
            "contact_offered"
        ]
    );
    assert_eq!(c.offered_to(call).await.as_deref(), Some("bob"));
    // And while away she gets nothing, even when she is the only one free.
    c.accept(call, "bob").await;
    let next = c.call("sales").await;
    assert_eq!(c.offered_to(next).await, None);
    assert!(matches!(c.status("ann").await, AgentStatus::Away { .. }));
    c.login("ann").await;
    assert_eq!(c.offered_to(next).await.as_deref(), Some("ann"));
}

pub(crate) async fn regression_same_agent_not_picked_again_and_again<B: crate::Fresh>(b: B) {
    // An agent who rejects must not be chosen again first: each strategy rotates.
    for strategy in [
        RoutingStrategy::LongestIdle,
        RoutingStrategy::FewestContacts,
        RoutingStrategy::RoundRobin,
    ] {
        let mut c = Center::new(fresh(&b).await);
        let mut cfg = queue(&format!("q-{}", strategy.as_str()));
        cfg.strategy = strategy;
        let name = cfg.id.to_string();
        c.add_queue(cfg).await;
        for agent in ["ann", "bob", "cid"] {
            c.add_agent(agent, &[]).await;
            c.advance(secs(1)).await;
        }
        let call = c.call(&name).await;
        let mut seen = Vec::new();
        for _ in 0..3 {
            let agent = c.offered_to(call).await.expect("offered");
            seen.push(agent.clone());
            c.advance(secs(1)).await;
            c.reject(call, &agent).await;
        }
        seen.sort();
        assert_eq!(
            seen,
            ["ann", "bob", "cid"],
            "{strategy:?} offered the same agent twice"
        );
    }
}

/// Scenarios that need several fresh centers take them from the backend under test.
async fn fresh<B: crate::Fresh>(b: &B) -> B {
    crate::Fresh::fresh(b).await
}

pub(crate) async fn regression_wrap_up_not_ended_early_by_a_transfer<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut sales = queue("sales");
    sales.wrap_up = secs(30);
    c.add_queue(sales).await;
    c.add_queue(queue("billing")).await;
    c.add_agent("ann", &[]).await;
    c.add_agent("bob", &[]).await;
    let call = c.call("sales").await;
    let ann = c.offered_to(call).await.unwrap();
    c.accept(call, &ann).await;
    // Ann transfers the call to billing; Bob gets it. Ann is in wrap-up for her part.
    c.advance(secs(60)).await;
    c.run(Command::Transfer {
        contact: call,
        to: TransferTarget::Queue(q("billing")),
    })
    .await;
    assert!(matches!(c.status(&ann).await, AgentStatus::WrapUp { .. }));
    let bob = c.offered_to(call).await.expect("re-offered after transfer");
    assert_ne!(bob, ann);
    // A second transfer, straight to Ann while she wraps up, waits for her wrap-up to end.
    c.accept(call, &bob).await;
    c.advance(secs(5)).await;
    c.run(Command::Transfer {
        contact: call,
        to: TransferTarget::Agent(a(&ann)),
    })
    .await;
    assert!(
        matches!(c.status(&ann).await, AgentStatus::WrapUp { .. }),
        "wrap-up cut short"
    );
    assert!(matches!(
        c.state(call).await,
        Some(ContactState::Queued {
            target_agent: Some(_),
            ..
        })
    ));
    c.advance(secs(24)).await;
    assert!(matches!(c.status(&ann).await, AgentStatus::WrapUp { .. }));
    c.advance(secs(1)).await;
    // 30 s after her transfer: wrap-up done, and the call transferred to her rings.
    assert_eq!(c.offered_to(call).await.as_deref(), Some(ann.as_str()));
    // Ann's part completed exactly when her 30 s ran out (Bob's, in a queue without
    // wrap-up time, completed at his transfer).
    let transferred_at = c.now.as_millis() - 30_000;
    let anns: Vec<_> = c
        .log
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::ContactCompleted { agent, .. } if agent.as_str() == ann))
        .map(|e| e.at.as_millis() - transferred_at)
        .collect();
    assert_eq!(anns, [30_000]);
}

pub(crate) async fn regression_head_of_line_contact_does_not_block_others<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("support")).await;
    c.add_agent("ann", &[("lang-en", 5)]).await;
    c.add_agent("bob", &[("lang-en", 5)]).await;
    // Both busy.
    let x = c.call("support").await;
    let y = c.call("support").await;
    for id in [x, y] {
        let agent = c.offered_to(id).await.unwrap();
        c.accept(id, &agent).await;
    }
    // A French speaker waits first, then an English one.
    let mut fr = NewContact::new(new_contact_id(), q("support"), Channel::Voice);
    fr.skills
        .push(SkillRequirement::new(skill("lang-fr"), level(1)));
    let fr = c.contact(fr).await;
    c.advance(secs(1)).await;
    let mut en = NewContact::new(new_contact_id(), q("support"), Channel::Voice);
    en.skills
        .push(SkillRequirement::new(skill("lang-en"), level(1)));
    let en = c.contact(en).await;
    // Ann frees up: nobody free speaks French, so the English caller behind is served.
    c.complete(x).await;
    assert!(c.offered_to(en).await.is_some());
    assert!(matches!(
        c.state(fr).await,
        Some(ContactState::Queued { .. })
    ));
}

pub(crate) async fn priority_then_fifo_with_aging<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut cfg = queue("sales");
    cfg.priority_aging_per_min = 10;
    c.add_queue(cfg).await;
    let mk = |tier| {
        let mut n = NewContact::new(new_contact_id(), q("sales"), Channel::Voice);
        n.tier = tier;
        n
    };
    let early_std = c.contact(mk(Tier::Standard)).await;
    c.advance(secs(30)).await;
    let second_std = c.contact(mk(Tier::Standard)).await;
    let gold = c.contact(mk(Tier::Gold)).await; // +20 points, worth 2 minutes of waiting
    c.advance(secs(60)).await;
    // Early standard: 0 + 10 × 1.5 min = 15; gold: 20 + 10 = 30; second standard: 10.
    c.add_agent("ann", &[]).await;
    assert_eq!(c.offered_to(gold).await.as_deref(), Some("ann"));
    c.accept(gold, "ann").await;
    c.complete(gold).await;
    assert_eq!(
        c.offered_to(early_std).await.as_deref(),
        Some("ann"),
        "FIFO among equals"
    );
    c.accept(early_std, "ann").await;
    c.complete(early_std).await;
    assert_eq!(c.offered_to(second_std).await.as_deref(), Some("ann"));
    // After 3 more minutes a new gold contact (20) is still behind an old standard one
    // that waited 3.5 minutes (35).
    c.accept(second_std, "ann").await;
    let old = c.contact(mk(Tier::Standard)).await;
    c.advance(secs(210)).await;
    let new_gold = c.contact(mk(Tier::Gold)).await;
    c.complete(second_std).await;
    assert_eq!(c.offered_to(old).await.as_deref(), Some("ann"));
    assert!(matches!(
        c.state(new_gold).await,
        Some(ContactState::Queued { .. })
    ));
}

pub(crate) async fn skill_expansion_widens_the_pool_over_time<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut cfg = queue("tech");
    cfg.required_skills = vec![SkillRequirement::new(skill("network"), level(8))];
    cfg.expansion = vec![
        ExpansionStep {
            after: secs(30),
            min_level: level(5),
        },
        ExpansionStep {
            after: secs(90),
            min_level: level(2),
        },
    ];
    c.add_queue(cfg).await;
    c.add_agent("junior", &[("network", 3)]).await;
    c.add_agent("mid", &[("network", 6)]).await;
    let call = c.call("tech").await;
    assert_eq!(c.offered_to(call).await, None, "nobody at level 8");
    c.advance(secs(29)).await;
    assert_eq!(c.offered_to(call).await, None);
    c.advance(secs(1)).await;
    assert_eq!(
        c.offered_to(call).await.as_deref(),
        Some("mid"),
        "level 5 accepted after 30 s"
    );
    c.accept(call, "mid").await;
    let second = c.call("tech").await;
    c.advance(secs(89)).await;
    assert_eq!(c.offered_to(second).await, None);
    c.advance(secs(1)).await;
    assert_eq!(c.offered_to(second).await.as_deref(), Some("junior"));
}

pub(crate) async fn max_wait_overflows_or_leaves<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut first = queue("first");
    first.required_skills = vec![SkillRequirement::new(skill("special"), level(1))];
    first.max_wait = Some(MaxWait {
        after: secs(60),
        exit: WaitExit::Overflow {
            queue: q("general"),
        },
    });
    c.add_queue(first).await;
    let mut general = queue("general");
    general.max_wait = Some(MaxWait {
        after: secs(120),
        exit: WaitExit::Leave,
    });
    c.add_queue(general).await;
    let call = c.call("first").await;
    c.advance(secs(59)).await;
    assert!(
        matches!(c.state(call).await, Some(ContactState::Queued { ref queue, .. }) if queue.as_str() == "first")
    );
    let fired = c.advance(secs(1)).await;
    assert_eq!(
        fired.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
        ["contact_overflowed"]
    );
    assert!(
        matches!(c.state(call).await, Some(ContactState::Queued { ref queue, .. }) if queue.as_str() == "general")
    );
    // The general queue's own clock starts at the overflow.
    c.advance(secs(119)).await;
    assert!(c.state(call).await.is_some());
    let fired = c.advance(secs(1)).await;
    assert!(matches!(
        fired[..],
        [Event {
            kind: EventKind::ContactExited {
                reason: ExitReason::MaxWait,
                ..
            },
            ..
        }]
    ));
    assert_eq!(c.state(call).await, None);
}

pub(crate) async fn join_and_leave_when_empty<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut cfg = queue("night");
    cfg.join_when_empty = false;
    cfg.leave_when_empty = true;
    c.add_queue(cfg).await;
    let refused = c.call("night").await;
    assert!(matches!(
        c.log.last().unwrap().kind,
        EventKind::ContactRefused {
            reason: ExitReason::NoAgents,
            ..
        }
    ));
    assert_eq!(c.state(refused).await, None);
    // An agent logged in (even busy) lets callers join.
    c.add_agent("ann", &[]).await;
    let x = c.call("night").await;
    c.accept(x, "ann").await;
    let waiting = c.call("night").await;
    assert!(matches!(
        c.state(waiting).await,
        Some(ContactState::Queued { .. })
    ));
    // The last agent logs out: waiting callers leave; the one in conversation stays.
    c.presence("ann", Presence::Offline).await;
    assert!(c.log.iter().any(|e| matches!(&e.kind, EventKind::ContactExited { contact, reason: ExitReason::NoAgents, .. } if *contact == waiting)));
    assert!(matches!(
        c.state(x).await,
        Some(ContactState::Assigned { .. })
    ));
}

pub(crate) async fn callback_in_place_keeps_the_place<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    let first = c.call("sales").await;
    c.advance(secs(1)).await;
    let second = c.call("sales").await;
    let promised = c.now.plus(Duration::from_secs(3600));
    assert_eq!(
        c.backend.contact_channel(first).await.unwrap(),
        Some(Channel::Voice)
    );
    let events = c
        .run(Command::CallbackInPlace {
            contact: first,
            number: "+33 1 23 45 67 89".into(),
            due: Some(promised),
        })
        .await;
    assert!(
        events.iter().any(|e| matches!(
            e.kind,
            EventKind::CallbackRequested { due: Some(d), .. } if d == promised
        )),
        "{events:?}"
    );
    // The read view follows: it is a callback now, where the call was.
    assert_eq!(
        c.backend.contact_channel(first).await.unwrap(),
        Some(Channel::Callback)
    );
    let pos = c.backend.position(first, c.now).await.unwrap().unwrap();
    assert_eq!(pos.position, 1);
    assert_eq!(
        c.backend
            .position(second, c.now)
            .await
            .unwrap()
            .unwrap()
            .position,
        2
    );
    c.add_agent("ann", &[]).await;
    assert_eq!(c.offered_to(first).await.as_deref(), Some("ann"));
    // Only a waiting call can become a callback.
    let err = c
        .try_run(Command::CallbackInPlace {
            contact: first,
            number: "1".into(),
            due: None,
        })
        .await;
    assert!(matches!(err, Err(DispatchError::InvalidTransition { .. })));
    // A promise for a time already past is refused.
    let err = c
        .try_run(Command::CallbackInPlace {
            contact: second,
            number: "+33 1 23 45 67 80".into(),
            due: Some(c.now),
        })
        .await;
    assert!(matches!(err, Err(DispatchError::Invalid(_))), "{err:?}");
}

/// A waiting chat ("call me instead" in the widget) becomes a callback in its place; an
/// e-mail or a ticket, which nobody waits on, does not. The callback needs a voice line, not
/// a chat slot: an agent free for calls (who takes no chats) gets it at once.
pub(crate) async fn a_waiting_chat_may_become_a_callback<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    let call = c.call("sales").await;
    c.advance(secs(1)).await;
    let chat = new_contact_id();
    c.run(Command::Enqueue(NewContact::new(
        chat,
        q("sales"),
        Channel::Chat,
    )))
    .await;
    let mail = new_contact_id();
    c.run(Command::Enqueue(NewContact::new(
        mail,
        q("sales"),
        Channel::Email,
    )))
    .await;
    // Ann takes the call; on the phone she is offered nothing else.
    c.add_agent("ann", &[]).await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    // Vic takes calls only: the chat and the e-mail wait.
    let mut vic = AgentProfile::new(a("vic"));
    vic.capacity.chat = 0;
    vic.capacity.email = 0;
    c.run(Command::UpsertAgent(vic)).await;
    c.login("vic").await;
    assert_eq!(c.offered_to(chat).await, None);
    let err = c
        .try_run(Command::CallbackInPlace {
            contact: mail,
            number: "+15550100".into(),
            due: None,
        })
        .await;
    assert!(
        matches!(err, Err(DispatchError::InvalidTransition { .. })),
        "{err:?}"
    );
    assert_eq!(
        c.backend.contact_channel(chat).await.unwrap(),
        Some(Channel::Chat)
    );
    let events = c
        .run(Command::CallbackInPlace {
            contact: chat,
            number: "+15550100".into(),
            due: None,
        })
        .await;
    assert!(
        events.iter().any(
            |e| matches!(e.kind, EventKind::CallbackRequested { contact, .. } if contact == chat)
        ),
        "{events:?}"
    );
    assert_eq!(
        c.backend.contact_channel(chat).await.unwrap(),
        Some(Channel::Callback)
    );
    assert_eq!(c.offered_to(chat).await.as_deref(), Some("vic"));
    assert_eq!(c.offered_to(mail).await, None);
}

pub(crate) async fn transfer_to_queue_and_to_agent<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    let mut billing = queue("billing");
    billing.required_skills = vec![SkillRequirement::new(skill("billing"), level(1))];
    c.add_queue(billing).await;
    c.add_agent("ann", &[]).await;
    c.add_agent("bea", &[("billing", 5)]).await;
    c.advance(secs(1)).await;
    c.add_agent("cat", &[]).await;
    let call = c.call("sales").await;
    let first = c.offered_to(call).await.unwrap();
    c.accept(call, &first).await;
    c.run(Command::Transfer {
        contact: call,
        to: TransferTarget::Queue(q("billing")),
    })
    .await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("bea"));
    c.accept(call, "bea").await;
    // Bea sends it to Cat by name: only Cat is offered it, though others are free.
    c.run(Command::Transfer {
        contact: call,
        to: TransferTarget::Agent(a("cat")),
    })
    .await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("cat"));
    // Cat rejects: it falls back to billing's line.
    c.reject(call, "cat").await;
    assert_eq!(c.offered_to(call).await.as_deref(), Some("bea"));
    let transfers: Vec<_> = c
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ContactTransferred { from_agent, to, .. } => {
                Some((from_agent.clone().map(|x| x.to_string()), to.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        transfers,
        [
            (Some(first.clone()), TransferTarget::Queue(q("billing"))),
            (Some("bea".into()), TransferTarget::Agent(a("cat"))),
        ]
    );
    // Transfers to an offline agent are refused.
    c.presence("ann", Presence::Offline).await;
    let err = c
        .try_run(Command::Transfer {
            contact: call,
            to: TransferTarget::Agent(a("ann")),
        })
        .await;
    assert!(
        matches!(err, Err(DispatchError::AgentOffline(_))),
        "{err:?}"
    );
}

pub(crate) async fn chat_capacity_and_voice_exclusivity<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("chat")).await;
    c.add_queue(queue("phone")).await;
    let mut p = AgentProfile::new(a("ann"));
    p.capacity = Capacity {
        voice: 1,
        chat: 2,
        email: 0,
        ticket: 0,
    };
    c.run(Command::UpsertAgent(p)).await;
    c.login("ann").await;
    let chat = |queue| NewContact::new(new_contact_id(), q(queue), Channel::Chat);
    let c1 = c.contact(chat("chat")).await;
    let c2 = c.contact(chat("chat")).await;
    let c3 = c.contact(chat("chat")).await;
    assert_eq!(c.offered_to(c1).await.as_deref(), Some("ann"));
    assert_eq!(c.offered_to(c2).await.as_deref(), Some("ann"));
    assert_eq!(c.offered_to(c3).await, None, "capacity 2");
    c.accept(c1, "ann").await;
    c.accept(c2, "ann").await;
    // Chatting, she is not offered a call.
    let call = c.call("phone").await;
    assert_eq!(c.offered_to(call).await, None);
    c.complete(c1).await;
    // A chat slot freed: the waiting chat (same priority, earlier) comes before the call?
    // The call arrived later; the chat is older, so the chat is offered.
    assert_eq!(c.offered_to(c3).await.as_deref(), Some("ann"));
    c.accept(c3, "ann").await;
    c.complete(c2).await;
    c.complete(c3).await;
    // Free of all chats: the call rings, and then no chat is offered while on the phone.
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
    let c4 = c.contact(chat("chat")).await;
    assert_eq!(c.offered_to(c4).await, None);
}

pub(crate) async fn position_and_estimated_wait<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut cfg = queue("sales");
    cfg.offer_timeout = secs(3600);
    c.add_queue(cfg).await;
    let first = c.call("sales").await;
    let second = c.call("sales").await;
    let pos = c.backend.position(second, c.now).await.unwrap().unwrap();
    assert_eq!(
        (pos.position, pos.waiting, pos.estimated_wait),
        (2, 2, None),
        "no history yet"
    );
    c.add_agent("ann", &[]).await;
    // Answer one call every 2 minutes for 10 minutes, while two more arrive each time.
    let mut line = std::collections::VecDeque::from([first, second]);
    for _ in 0..5 {
        c.advance(secs(120)).await;
        let current = line.pop_front().unwrap();
        c.accept(current, "ann").await;
        c.complete(current).await;
        line.push_back(c.call("sales").await);
        line.push_back(c.call("sales").await);
    }
    let last = *line.back().unwrap();
    let pos = c.backend.position(last, c.now).await.unwrap().unwrap();
    // The head of the line rings at Ann; the others wait.
    assert_eq!(
        (pos.position, pos.waiting),
        (line.len() as u32 - 1, line.len() as u32 - 1)
    );
    let ewt = pos.estimated_wait.expect("estimate after answers");
    // Five answers over 600 s: one per 120 s for each contact up to and including it.
    assert_eq!(ewt, Duration::from_secs(120) * pos.position);
    let snap = c
        .backend
        .queue_snapshot(&q("sales"), c.now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((snap.waiting, snap.offered), (pos.waiting, 1));
    assert_eq!(snap.agents.get("reserved"), Some(&1));
    // Served: the first two and rounds 1–2; ringing: round 2's second; oldest waiting: round 3.
    assert_eq!(snap.longest_wait, secs(240));
    assert!(c
        .backend
        .position(new_contact_id(), c.now)
        .await
        .unwrap()
        .is_none());
}

pub(crate) async fn strategies_round_robin_best_skill_random<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    let mut best = queue("best");
    best.strategy = RoutingStrategy::BestSkill;
    best.required_skills = vec![SkillRequirement::new(skill("french"), level(1))];
    c.add_queue(best).await;
    let mut random = queue("random");
    random.strategy = RoutingStrategy::Random;
    c.add_queue(random).await;
    c.add_agent("ann", &[("french", 4)]).await;
    c.add_agent("bob", &[("french", 9)]).await;
    c.add_agent("cid", &[("french", 6)]).await;
    let x = c.call("best").await;
    assert_eq!(c.offered_to(x).await.as_deref(), Some("bob"));
    c.reject(x, "bob").await;
    // Declined, it goes to the next best: Cid (6), not Ann (4).
    assert_eq!(c.offered_to(x).await.as_deref(), Some("cid"));
    c.reject(x, "cid").await;
    // Bob (no reject delay) is free again and still the best.
    assert_eq!(c.offered_to(x).await.as_deref(), Some("bob"));
    c.accept(x, "bob").await;
    // Random spreads, but is reproducible: the same contact id picks the same agent.
    let mut picks = std::collections::BTreeSet::new();
    for i in 0..30u128 {
        let id = ContactId::from_uuid(uuid::Uuid::from_u128(i + 1));
        c.contact(NewContact::new(id, q("random"), Channel::Voice))
            .await;
        let agent = c.offered_to(id).await.unwrap();
        picks.insert(agent.clone());
        c.run(Command::Abandon { contact: id }).await;
    }
    assert_eq!(picks.len(), 2, "both free agents get picked: {picks:?}");
}

pub(crate) async fn bad_commands_are_refused_and_change_nothing<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    let call = c.call("sales").await;
    let before = c.log.len();
    let ghost = new_contact_id();
    let cases: Vec<(Command, &str)> = vec![
        (
            Command::Enqueue(NewContact::new(new_contact_id(), q("nope"), Channel::Voice)),
            "unknown_queue",
        ),
        (
            Command::Enqueue(NewContact::new(call, q("sales"), Channel::Voice)),
            "duplicate_contact",
        ),
        (
            Command::Accept {
                contact: ghost,
                agent: a("ann"),
            },
            "unknown_contact",
        ),
        (
            Command::Accept {
                contact: call,
                agent: a("zed"),
            },
            "unknown_agent",
        ),
        (Command::Complete { contact: call }, "invalid_transition"),
        (Command::Hold { contact: call }, "invalid_transition"),
        (
            Command::FinishWrapUp {
                contact: call,
                agent: a("ann"),
                wrap_up: WrapUp::default(),
            },
            "no_wrap_up",
        ),
        (
            Command::SetPresence {
                agent: a("zed"),
                presence: Presence::Available,
            },
            "unknown_agent",
        ),
        (
            Command::Transfer {
                contact: call,
                to: TransferTarget::Queue(q("nope")),
            },
            "unknown_queue",
        ),
        (
            {
                let mut bad = queue("bad");
                bad.offer_timeout = Duration::ZERO;
                Command::UpsertQueue(bad)
            },
            "invalid",
        ),
        (
            {
                let mut n = NewContact::new(new_contact_id(), q("sales"), Channel::Voice);
                n.skills = vec![
                    SkillRequirement::new(skill("x"), level(1)),
                    SkillRequirement::new(skill("x"), level(2)),
                ];
                Command::Enqueue(n)
            },
            "invalid",
        ),
    ];
    for (cmd, code) in cases {
        let name = cmd.name();
        let err = c.try_run(cmd).await.expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
    }
    assert_eq!(c.log.len(), before, "refused commands emit nothing");
    assert_eq!(c.offered_to(call).await.as_deref(), Some("ann"));
}

pub(crate) async fn queues_and_agents_can_be_removed_when_idle<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_queue(queue("old")).await;
    c.add_agent("ann", &[]).await;
    c.add_agent("bob", &[]).await;
    let call = c.call("old").await;
    let holder = c.offered_to(call).await.unwrap();
    let busy = c.try_run(Command::RemoveQueue { queue: q("old") }).await;
    assert_eq!(busy.unwrap_err().code(), "in_use");
    let busy = c.try_run(Command::RemoveAgent { agent: a(&holder) }).await;
    assert_eq!(busy.unwrap_err().code(), "in_use");
    c.run(Command::Abandon { contact: call }).await;
    c.run(Command::RemoveQueue { queue: q("old") }).await;
    let gone = c
        .try_run(Command::Enqueue(NewContact::new(
            new_contact_id(),
            q("old"),
            Channel::Voice,
        )))
        .await;
    assert_eq!(gone.unwrap_err().code(), "unknown_queue");
    assert!(c
        .backend
        .queue_snapshot(&q("old"), c.now)
        .await
        .unwrap()
        .is_none());
    // Removing an agent logs them out; they get nothing more.
    let events = c.run(Command::RemoveAgent { agent: a("ann") }).await;
    assert!(matches!(
        &events[..],
        [Event {
            kind: EventKind::AgentPresenceChanged {
                presence: Presence::Offline,
                ..
            },
            ..
        }]
    ));
    assert!(c.backend.agent_status(&a("ann")).await.unwrap().is_none());
    let next = c.call("sales").await;
    assert_eq!(c.offered_to(next).await.as_deref(), Some("bob"));
    // The same names can be created again, fresh.
    c.add_queue(queue("old")).await;
    c.add_agent("ann", &[]).await;
    let again = c.call("old").await;
    assert_eq!(c.offered_to(again).await.as_deref(), Some("ann"));
}

/// An agent whose offer timed out at the same instant another contact became matchable for
/// them (a skill-expansion step) takes the best waiting contact — not the one the timer
/// happened to release.
/// The read view consoles use for "my queues": the engine's own eligibility (every required
/// skill held, at any level), kept up to date as queues and agents change.
pub(crate) async fn agent_queues_are_those_whose_required_skills_the_agent_holds<
    B: crate::Fresh,
>(
    b: B,
) {
    let mut c = Center::new(b);
    c.add_queue(queue("general")).await;
    let mut french = queue("french");
    french.required_skills = vec![SkillRequirement::new(skill("french"), level(8))];
    c.add_queue(french).await;
    let mut billing = queue("billing");
    billing.required_skills = vec![SkillRequirement::new(skill("billing"), level(1))];
    c.add_queue(billing).await;
    c.add_agent("ann", &[("french", 2)]).await;
    let mine = |mut v: Vec<QueueId>| {
        v.sort();
        v
    };
    assert_eq!(
        mine(c.backend.agent_queues(&a("ann")).await.unwrap()),
        [q("french"), q("general")]
    );
    c.run(Command::RemoveQueue {
        queue: q("general"),
    })
    .await;
    c.add_agent("ann", &[("french", 2), ("billing", 1)]).await;
    assert_eq!(
        mine(c.backend.agent_queues(&a("ann")).await.unwrap()),
        [q("billing"), q("french")]
    );
    assert!(c
        .backend
        .agent_queues(&a("nobody"))
        .await
        .unwrap()
        .is_empty());
}

pub(crate) async fn regression_agent_freed_by_a_timeout_takes_the_best_contact<B: crate::Fresh>(
    b: B,
) {
    let mut c = Center::new(b);
    let mut general = queue("general");
    general.offer_timeout = secs(20);
    general.max_no_answer = 0;
    c.add_queue(general).await;
    let mut tech = queue("tech");
    tech.required_skills = vec![SkillRequirement::new(skill("tech"), level(6))];
    tech.expansion = vec![ExpansionStep {
        after: secs(20),
        min_level: level(3),
    }];
    c.add_queue(tech).await;
    c.add_agent("ann", &[("tech", 3)]).await;
    let lesser = c.call("tech").await;
    let missed = c.call("general").await;
    assert_eq!(c.offered_to(missed).await.as_deref(), Some("ann"));
    let mut urgent = NewContact::new(new_contact_id(), q("general"), Channel::Voice);
    urgent.urgency = Urgency::new(9).unwrap();
    let urgent = c.contact(urgent).await;
    // t = 20 s: Ann's offer times out and the tech call's expansion step comes due.
    c.advance(secs(20)).await;
    assert_eq!(c.offered_to(urgent).await.as_deref(), Some("ann"));
    assert!(matches!(
        c.state(lesser).await,
        Some(ContactState::Queued { .. })
    ));
}

/// PBX-routes mode: the PBX connects a call itself and tells us who picked it up.
pub(crate) async fn pbx_routed_answer_assigns_without_an_offer<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    c.advance(secs(10)).await;
    c.add_agent("bob", &[]).await;
    let answer = |contact, agent: &str| Command::Answer {
        contact,
        agent: a(agent),
    };
    // Ringing at Ann, but Bob picked it up: Ann's offer is withdrawn, Bob has the call.
    let first = c.call("sales").await;
    assert_eq!(c.offered_to(first).await.as_deref(), Some("ann"));
    let from = c.log.len();
    c.run(answer(first, "bob")).await;
    assert_eq!(c.names_since(from), ["offer_withdrawn", "offer_accepted"]);
    assert!(matches!(
        &c.log[from].kind,
        EventKind::OfferWithdrawn { reason: WithdrawReason::TakenElsewhere, agent, .. } if agent == &a("ann")
    ));
    assert_eq!(
        c.state(first).await,
        Some(ContactState::Assigned {
            agent: a("bob"),
            queue: q("sales")
        })
    );
    assert_eq!(c.status("bob").await, AgentStatus::Busy);
    assert_eq!(c.status("ann").await, AgentStatus::Available);
    // Ringing at Ann and answered by Ann: an ordinary accept.
    let second = c.call("sales").await;
    assert_eq!(c.offered_to(second).await.as_deref(), Some("ann"));
    let from = c.log.len();
    c.run(answer(second, "ann")).await;
    assert_eq!(c.names_since(from), ["offer_accepted"]);
    // Nobody free: the third call waits. A busy agent, an agent logged out and a contact
    // that is no longer waiting are refused, changing nothing.
    let third = c.call("sales").await;
    assert!(matches!(
        c.state(third).await,
        Some(ContactState::Queued { .. })
    ));
    let before = c.log.len();
    assert!(matches!(
        c.try_run(answer(third, "bob")).await,
        Err(DispatchError::AgentBusy(_))
    ));
    c.run(Command::UpsertAgent(AgentProfile::new(a("cy"))))
        .await;
    assert!(matches!(
        c.try_run(answer(third, "cy")).await,
        Err(DispatchError::AgentOffline(_))
    ));
    assert!(matches!(
        c.try_run(answer(first, "cy")).await,
        Err(DispatchError::InvalidTransition { .. })
    ));
    assert!(matches!(
        c.try_run(answer(new_contact_id(), "ann")).await,
        Err(DispatchError::UnknownContact(_))
    ));
    assert_eq!(c.log.len(), before);
    // An agent on a break who picks up a waiting call is busy with it; the line moves on.
    c.run(Command::SetPresence {
        agent: a("cy"),
        presence: Presence::Away {
            reason: ReasonCode::parse("break").unwrap(),
        },
    })
    .await;
    c.run(answer(third, "cy")).await;
    assert_eq!(
        c.state(third).await,
        Some(ContactState::Assigned {
            agent: a("cy"),
            queue: q("sales")
        })
    );
    assert_eq!(c.status("cy").await, AgentStatus::Busy);
    let fourth = c.call("sales").await;
    c.complete(first).await;
    assert_eq!(c.offered_to(fourth).await.as_deref(), Some("bob"));
}

/// The agent picks up another call while one of ours rings at them: ours goes to someone else.
pub(crate) async fn pbx_routed_answer_takes_back_the_agents_own_offers<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("sales")).await;
    c.add_agent("ann", &[]).await;
    let ringing = c.call("sales").await;
    let waiting = c.call("sales").await;
    assert_eq!(c.offered_to(ringing).await.as_deref(), Some("ann"));
    c.add_agent("bob", &[]).await;
    assert_eq!(c.offered_to(waiting).await.as_deref(), Some("bob"));
    c.away("bob").await;
    // Bob's offer came back; Ann answers the *waiting* call on her phone.
    assert!(matches!(
        c.state(waiting).await,
        Some(ContactState::Queued { .. })
    ));
    let from = c.log.len();
    c.run(Command::Answer {
        contact: waiting,
        agent: a("ann"),
    })
    .await;
    assert_eq!(c.names_since(from), ["offer_withdrawn", "offer_accepted"]);
    assert_eq!(
        c.state(waiting).await,
        Some(ContactState::Assigned {
            agent: a("ann"),
            queue: q("sales")
        })
    );
    // The call that rang at her waits again, at its old place, for the next free agent.
    assert!(matches!(
        c.state(ringing).await,
        Some(ContactState::Queued { .. })
    ));
    c.login("bob").await;
    assert_eq!(c.offered_to(ringing).await.as_deref(), Some("bob"));
}

/// Regression (found by the property tests): a chat agent whose two chat slots ring picks up
/// a third chat; the offers taken back to make room must not wait while a slot is free.
pub(crate) async fn regression_pbx_answer_leaves_no_free_chat_slot_idle<B: crate::Fresh>(b: B) {
    let mut c = Center::new(b);
    c.add_queue(queue("chat")).await;
    let mut p = AgentProfile::new(a("ann"));
    p.capacity = Capacity {
        voice: 0,
        chat: 2,
        email: 0,
        ticket: 0,
    };
    c.run(Command::UpsertAgent(p)).await;
    c.login("ann").await;
    let chat = || NewContact::new(new_contact_id(), q("chat"), Channel::Chat);
    let (x, y, z) = (
        c.contact(chat()).await,
        c.contact(chat()).await,
        c.contact(chat()).await,
    );
    assert_eq!(c.offered_to(x).await.as_deref(), Some("ann"));
    assert_eq!(c.offered_to(y).await.as_deref(), Some("ann"));
    assert!(matches!(
        c.state(z).await,
        Some(ContactState::Queued { .. })
    ));
    c.run(Command::Answer {
        contact: z,
        agent: a("ann"),
    })
    .await;
    assert_eq!(
        c.state(z).await,
        Some(ContactState::Assigned {
            agent: a("ann"),
            queue: q("chat")
        })
    );
    // One slot left: the older of the two chats rings at her again, the other waits.
    assert_eq!(c.offered_to(x).await.as_deref(), Some("ann"));
    assert!(matches!(
        c.state(y).await,
        Some(ContactState::Queued { .. })
    ));
}
