//! The Redis backend is the engine behind a log: fed the same random commands at the same
//! instants, it must answer and emit exactly what the in-process backend does — including
//! every command surviving its JSON round trip through Redis unchanged.

use std::time::Duration;

use proptest::prelude::*;
use switchboard_dispatch::{Engine, JournalEntry, MemoryBackend, QueueBackend, RedisBackend};
use switchboard_domain::*;
use switchboard_test_support::time::T0;
use tokio::sync::broadcast;

/// Contact ids the steps draw from.
const POOL: usize = 12;

#[derive(Debug, Clone)]
enum Step {
    Enqueue {
        contact: usize,
        queue: usize,
        channel: usize,
        tier: usize,
        urgency: u8,
        extra: Option<u8>,
    },
    Presence {
        agent: usize,
        kind: usize,
    },
    Accept {
        contact: usize,
        agent: usize,
    },
    Reject {
        contact: usize,
        agent: usize,
    },
    Abandon {
        contact: usize,
    },
    Hold {
        contact: usize,
        hold: bool,
    },
    Complete {
        contact: usize,
    },
    Finish {
        contact: usize,
        agent: usize,
        resolved: bool,
    },
    Transfer {
        contact: usize,
        to_queue: Option<usize>,
        to_agent: usize,
    },
    Callback {
        contact: usize,
    },
    Urgency {
        contact: usize,
        urgency: u8,
    },
    Advance {
        ms: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0..POOL;
    let a = 0..4usize;
    prop_oneof![
        4 => (c.clone(), 0..3usize, 0..5usize, 0..4usize, 0..10u8, proptest::option::of(1..10u8))
            .prop_map(|(contact, queue, channel, tier, urgency, extra)| Step::Enqueue { contact, queue, channel, tier, urgency, extra }),
        2 => (a.clone(), 0..3usize).prop_map(|(agent, kind)| Step::Presence { agent, kind }),
        5 => (c.clone(), a.clone()).prop_map(|(contact, agent)| Step::Accept { contact, agent }),
        1 => (c.clone(), a.clone()).prop_map(|(contact, agent)| Step::Reject { contact, agent }),
        1 => c.clone().prop_map(|contact| Step::Abandon { contact }),
        1 => (c.clone(), any::<bool>()).prop_map(|(contact, hold)| Step::Hold { contact, hold }),
        2 => c.clone().prop_map(|contact| Step::Complete { contact }),
        2 => (c.clone(), a.clone(), any::<bool>()).prop_map(|(contact, agent, resolved)| Step::Finish { contact, agent, resolved }),
        1 => (c.clone(), proptest::option::of(0..3usize), a.clone()).prop_map(|(contact, to_queue, to_agent)| Step::Transfer { contact, to_queue, to_agent }),
        1 => c.clone().prop_map(|contact| Step::Callback { contact }),
        1 => (c.clone(), 0..10u8).prop_map(|(contact, urgency)| Step::Urgency { contact, urgency }),
        2 => (0..12_000u64).prop_map(|ms| Step::Advance { ms }),
    ]
}

fn contact_id(i: usize) -> ContactId {
    ContactId::from_uuid(uuid::Uuid::from_u128(0x5b00 + i as u128))
}
fn agent(i: usize) -> AgentId {
    AgentId::parse(&format!("agent-{i}")).unwrap()
}
fn queue(i: usize) -> QueueId {
    QueueId::parse(&format!("q{i}")).unwrap()
}
fn skill(name: &str) -> SkillName {
    SkillName::parse(name).unwrap()
}
fn level(l: u8) -> SkillLevel {
    SkillLevel::new(l).unwrap()
}

/// Three queues that exercise the settings: skills with expansion, overflow, wrap-up, delays,
/// aging, every strategy in turn; four agents with mixed skills and capacities.
fn setup() -> Vec<Command> {
    let strategies = [
        RoutingStrategy::BestSkill,
        RoutingStrategy::RoundRobin,
        RoutingStrategy::Random,
    ];
    let mut out = Vec::new();
    for (i, strategy) in strategies.into_iter().enumerate() {
        let mut q = QueueConfig::new(queue(i));
        q.strategy = strategy;
        q.offer_timeout = Duration::from_secs(10);
        q.wrap_up = Duration::from_secs(i as u64 * 5);
        q.reject_delay = Duration::from_secs(2);
        q.no_answer_delay = Duration::from_secs(3);
        q.max_no_answer = 2;
        q.priority_aging_per_min = 7;
        if i == 1 {
            q.required_skills = vec![SkillRequirement::new(skill("tech"), level(6))];
            q.expansion = vec![ExpansionStep {
                after: Duration::from_secs(20),
                min_level: level(2),
            }];
            q.max_wait = Some(MaxWait {
                after: Duration::from_millis(61_500),
                exit: WaitExit::Overflow { queue: queue(0) },
            });
        }
        if i == 2 {
            q.max_wait = Some(MaxWait {
                after: Duration::from_secs(90),
                exit: WaitExit::Leave,
            });
            q.leave_when_empty = true;
        }
        out.push(Command::UpsertQueue(q));
    }
    for k in 0..4 {
        let mut p = AgentProfile::new(agent(k))
            .with_skill(skill("tech"), level(1 + (k as u8 * 3) % 10))
            .with_skill(skill(&format!("x{}", k % 3)), level(5));
        p.capacity = Capacity {
            voice: (k % 3 != 2) as u8,
            chat: k as u8,
            email: 1,
            ticket: 0,
        };
        out.push(Command::UpsertAgent(p));
        out.push(Command::SetPresence {
            agent: agent(k),
            presence: Presence::Available,
        });
    }
    out
}

/// Pool contact number `pick` (modulo) among those whose state `want` selects; else `pick`
/// itself (a refused command, also worth comparing).
async fn among<B: QueueBackend>(b: &B, pick: usize, want: fn(&ContactState) -> bool) -> usize {
    let mut hits = Vec::new();
    for i in 0..POOL {
        if b.contact(contact_id(i))
            .await
            .unwrap()
            .as_ref()
            .is_some_and(want)
        {
            hits.push(i);
        }
    }
    if hits.is_empty() {
        pick
    } else {
        hits[pick % hits.len()]
    }
}

/// The agent holding `contact` now (offered, handling or wrapping up), else `fallback`:
/// accepts and rejects mostly hit real offers, and sometimes stale ones.
async fn holder<B: QueueBackend>(b: &B, contact: usize, fallback: usize) -> AgentId {
    match b.contact(contact_id(contact)).await.unwrap() {
        Some(ContactState::Offered { agent, .. })
        | Some(ContactState::Assigned { agent, .. })
        | Some(ContactState::Held { agent, .. })
        | Some(ContactState::WrapUp { agent, .. })
            if fallback != 0 =>
        {
            agent
        }
        _ => agent(fallback),
    }
}

async fn command<B: QueueBackend>(b: &B, step: &Step) -> Option<Command> {
    let offered = |s: &ContactState| matches!(s, ContactState::Offered { .. });
    let handled =
        |s: &ContactState| matches!(s, ContactState::Assigned { .. } | ContactState::Held { .. });
    let wrapping = |s: &ContactState| matches!(s, ContactState::WrapUp { .. });
    Some(match *step {
        Step::Enqueue {
            contact,
            queue: q,
            channel,
            tier,
            urgency,
            extra,
        } => {
            let mut n = NewContact::new(contact_id(contact), queue(q), Channel::ALL[channel]);
            n.tier = [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Platinum][tier];
            n.urgency = Urgency::new(urgency).unwrap();
            if let Some(x) = extra {
                n.skills.push(SkillRequirement::new(
                    skill(&format!("x{}", x % 3)),
                    level(x),
                ));
            }
            n.attributes.insert("language".into(), "fr".into());
            Command::Enqueue(n)
        }
        Step::Presence { agent: a, kind } => Command::SetPresence {
            agent: agent(a),
            presence: match kind {
                0 => Presence::Available,
                1 => Presence::Away {
                    reason: ReasonCode::parse("break").unwrap(),
                },
                _ => Presence::Offline,
            },
        },
        Step::Accept { contact, agent: a } => {
            let contact = among(b, contact, offered).await;
            Command::Accept {
                contact: contact_id(contact),
                agent: holder(b, contact, a).await,
            }
        }
        Step::Reject { contact, agent: a } => {
            let contact = among(b, contact, offered).await;
            Command::Reject {
                contact: contact_id(contact),
                agent: holder(b, contact, a).await,
            }
        }
        Step::Abandon { contact } => Command::Abandon {
            contact: contact_id(contact),
        },
        Step::Hold { contact, hold } => {
            let contact = contact_id(among(b, contact, handled).await);
            if hold {
                Command::Hold { contact }
            } else {
                Command::Resume { contact }
            }
        }
        Step::Complete { contact } => Command::Complete {
            contact: contact_id(among(b, contact, handled).await),
        },
        Step::Finish {
            contact,
            agent: a,
            resolved,
        } => {
            let contact = among(b, contact, wrapping).await;
            Command::FinishWrapUp {
                contact: contact_id(contact),
                agent: holder(b, contact, a).await,
                wrap_up: WrapUp {
                    disposition: Some("info".into()),
                    resolved: Some(resolved),
                },
            }
        }
        Step::Transfer {
            contact,
            to_queue,
            to_agent,
        } => Command::Transfer {
            contact: contact_id(contact),
            to: match to_queue {
                Some(q) => TransferTarget::Queue(queue(q)),
                None => TransferTarget::Agent(agent(to_agent)),
            },
        },
        Step::Callback { contact } => Command::CallbackInPlace {
            contact: contact_id(contact),
            number: "+44 20 7946 0000".into(),
            due: None,
        },
        Step::Urgency { contact, urgency } => Command::SetUrgency {
            contact: contact_id(contact),
            urgency: Urgency::new(urgency).unwrap(),
        },
        Step::Advance { .. } => return None,
    })
}

type Answers = Vec<Result<Vec<Event>, &'static str>>;

/// Runs the set-up and the steps on one backend: every answer (events or error code) and
/// every published event, in order.
async fn run<B: QueueBackend>(b: &B, steps: &[Step]) -> (Answers, Vec<Event>) {
    let mut sub = b.subscribe();
    let mut answers = Vec::new();
    for c in setup() {
        answers.push(
            b.execute(c, Timestamp::from_millis(T0))
                .await
                .map_err(|e| e.code()),
        );
    }
    let mut events = drain(&mut sub);
    let (more, more_events) = run_from(b, steps, Timestamp::from_millis(T0)).await;
    answers.extend(more);
    events.extend(more_events);
    (answers, events)
}

/// Runs the steps from `now` on; returns the answers and published events.
async fn run_from<B: QueueBackend>(
    b: &B,
    steps: &[Step],
    mut now: Timestamp,
) -> (Answers, Vec<Event>) {
    let mut sub = b.subscribe();
    let mut answers = Vec::new();
    for s in steps {
        match (s, command(b, s).await) {
            (Step::Advance { ms }, _) => {
                now = now.plus(Duration::from_millis(*ms));
                answers.push(b.fire_due(now).await.map_err(|e| e.code()));
            }
            (_, Some(c)) => answers.push(b.execute(c, now).await.map_err(|e| e.code())),
            (_, None) => unreachable!(),
        }
    }
    (answers, drain(&mut sub))
}

fn drain(sub: &mut broadcast::Receiver<Event>) -> Vec<Event> {
    let mut published = Vec::new();
    loop {
        match sub.try_recv() {
            Ok(e) => published.push(e),
            Err(broadcast::error::TryRecvError::Empty) => break,
            Err(e) => panic!("{e}"),
        }
    }
    published
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn redis_backend_behaves_exactly_like_the_in_process_one(steps in proptest::collection::vec(step(), 1..120)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let url = switchboard_test_support::redis::url();
            let ns = switchboard_test_support::redis::unique_namespace();
            let redis = RedisBackend::ephemeral(&url, &ns)
                .await
                .unwrap_or_else(|e| panic!("Redis at {url} is required for these tests: {e}"));
            let memory = MemoryBackend::new();
            let (mem_answers, mem_events) = run(&memory, &steps).await;
            let (redis_answers, redis_events) = run(&redis, &steps).await;
            assert_eq!(mem_answers, redis_answers);
            assert_eq!(mem_events, redis_events);
        });
    }
}

/// Where the steps leave the clock.
fn end_time(steps: &[Step]) -> Timestamp {
    let ms: u64 = steps
        .iter()
        .map(|s| if let Step::Advance { ms } = s { *ms } else { 0 })
        .sum();
    Timestamp::from_millis(T0).plus(Duration::from_millis(ms))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Saving the engine half-way (through JSON, as Redis stores it) and continuing from the
    /// restored copy changes nothing that follows.
    #[test]
    fn a_restored_snapshot_continues_exactly_like_the_original(
        steps in proptest::collection::vec(step(), 1..120),
        cut in 0.0..1.0f64,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let whole = MemoryBackend::new();
            let (answers, events) = run(&whole, &steps).await;
            let split = (steps.len() as f64 * cut) as usize;
            let first = MemoryBackend::new();
            let (mut answers2, mut events2) = run(&first, &steps[..split]).await;
            let json = serde_json::to_string(&first.snapshot()).unwrap();
            let restored = Engine::restore(serde_json::from_str(&json).unwrap()).unwrap();
            let second = MemoryBackend::from_engine(restored);
            let (more, more_events) = run_from(&second, &steps[split..], end_time(&steps[..split])).await;
            answers2.extend(more);
            events2.extend(more_events);
            assert_eq!(answers, answers2);
            assert_eq!(events, events2);
        });
    }
}

/// A durable in-process backend whose journal writer keeps every step in memory (what the
/// database does in production), and the steps it stored.
fn durable(
    engine: Engine,
    seq: u64,
) -> (
    MemoryBackend,
    std::sync::Arc<std::sync::Mutex<Vec<JournalEntry>>>,
) {
    let (backend, mut feed) = MemoryBackend::durable(engine, seq);
    let stored = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = stored.clone();
    tokio::spawn(async move {
        while let Some(batch) = feed.next_batch(7).await {
            keep.lock().unwrap().extend(batch.iter().cloned());
            feed.committed(batch);
        }
    });
    (backend, stored)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The durable backend answers and publishes exactly what the plain one does; and the
    /// snapshot taken at any step plus the journal after it, replayed, is the engine that
    /// ran — the same state (queue positions, offers and their deadlines, agents) and the
    /// same event numbering. The journal is gapless and its events are the published ones.
    #[test]
    fn a_snapshot_and_the_journal_after_it_give_back_the_engine(
        steps in proptest::collection::vec(step(), 1..120),
        cut in 0.0..1.0f64,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let plain = MemoryBackend::new();
            let (answers, events) = run(&plain, &steps).await;

            let (backend, stored) = durable(Engine::new(), 0);
            let split = (steps.len() as f64 * cut) as usize;
            let (mut answers2, mut events2) = run(&backend, &steps[..split]).await;
            let (snapshot, at_seq) = backend.snapshot_at();
            let (more, more_events) = run_from(&backend, &steps[split..], end_time(&steps[..split])).await;
            answers2.extend(more);
            events2.extend(more_events);
            assert_eq!(answers, answers2);
            assert_eq!(events, events2);

            let journal = stored.lock().unwrap().clone();
            let seqs: Vec<u64> = journal.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (1..=journal.len() as u64).collect::<Vec<_>>());
            let journaled: Vec<Event> = journal.iter().flat_map(|e| e.events.clone()).collect();
            assert_eq!(journaled, events);

            let json = serde_json::to_string(&snapshot).unwrap();
            let mut restored = Engine::restore(serde_json::from_str(&json).unwrap()).unwrap();
            for entry in journal.iter().filter(|e| e.seq > at_seq) {
                let emitted = switchboard_dispatch::journal::replay_step(&mut restored, entry.at, entry.command.clone())
                    .expect("a journaled step is accepted again");
                assert_eq!(emitted, entry.events.len());
            }
            // Timers that fired without an event (an expansion step nobody could take) are
            // not journaled: they fire again, at their own deadline, at the next step.
            let silent = restored.fire_due(end_time(&steps));
            assert_eq!(silent, Vec::<Event>::new());
            assert_eq!(
                serde_json::to_value(restored.snapshot()).unwrap(),
                serde_json::to_value(backend.snapshot()).unwrap()
            );
        });
    }
}
