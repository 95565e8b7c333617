//! Several dispatcher instances over one Redis: racing submitters, and a process killed
//! mid-offer. Needs Redis (REDIS_URL, default 127.0.0.1:6379); fails when it is unreachable.

use std::{
    collections::{HashMap, HashSet},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use switchboard_dispatch::{
    fresh_contact_id, run_timers, Clock, QueueBackend, RedisBackend, SystemClock,
};
use switchboard_domain::*;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    sync::broadcast,
};

use switchboard_test_support::{
    redis::{unique_namespace as namespace, url as redis_url},
    time::t0,
};

async fn join(ns: &str, ephemeral: bool) -> RedisBackend {
    let url = redis_url();
    let b = if ephemeral {
        RedisBackend::ephemeral(&url, ns).await
    } else {
        RedisBackend::connect(&url, ns).await
    };
    b.unwrap_or_else(|e| panic!("Redis at {url} is required for these tests: {e}"))
}

const INSTANCES: usize = 4;
const AGENTS: usize = 200;
const CONTACTS: usize = 10_000;
const QUEUES: usize = 5;

/// Four instances share one Redis. Each submits a quarter of 10,000 calls, and accepts and
/// completes the offers of the agents "connected" to it (agent k on instance k mod 4), all at
/// once. Every call must be answered exactly once, no offer may go to a contact already
/// offered or assigned, and every instance must have seen the very same events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_race_without_double_or_lost_assignments() {
    let ns = namespace();
    // The first instance owns the keys' cleanup; it is dropped last.
    let mut nodes = vec![Arc::new(join(&ns, true).await)];
    for _ in 1..INSTANCES {
        nodes.push(Arc::new(join(&ns, false).await));
    }
    let mut streams: Vec<broadcast::Receiver<Event>> =
        nodes.iter().map(|n| n.subscribe()).collect();
    let clock = SystemClock;

    // Settings, through different instances.
    for i in 0..QUEUES {
        let mut q = QueueConfig::new(QueueId::parse(&format!("q{i}")).unwrap());
        q.required_skills = vec![SkillRequirement::new(
            SkillName::parse(&format!("s{i}")).unwrap(),
            SkillLevel::MIN,
        )];
        q.wrap_up = Duration::ZERO;
        q.offer_timeout = Duration::from_secs(120);
        nodes[i % INSTANCES]
            .execute(Command::UpsertQueue(q), clock.now())
            .await
            .unwrap();
    }
    for k in 0..AGENTS {
        let id = AgentId::parse(&format!("agent-{k}")).unwrap();
        // Each agent has two of the five skills.
        let p = AgentProfile::new(id.clone())
            .with_skill(
                SkillName::parse(&format!("s{}", k % QUEUES)).unwrap(),
                SkillLevel::new(5).unwrap(),
            )
            .with_skill(
                SkillName::parse(&format!("s{}", (k + 1) % QUEUES)).unwrap(),
                SkillLevel::new(5).unwrap(),
            );
        let node = &nodes[k % INSTANCES];
        node.execute(Command::UpsertAgent(p), clock.now())
            .await
            .unwrap();
        node.execute(
            Command::SetPresence {
                agent: id,
                presence: Presence::Available,
            },
            clock.now(),
        )
        .await
        .unwrap();
    }

    // Agents' consoles: each instance answers the offers of its own agents.
    let mut consoles = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let node = node.clone();
        let mut events = node.subscribe();
        consoles.push(tokio::spawn(async move {
            let mut answered = 0usize;
            while answered < CONTACTS {
                let e = match events.recv().await {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(n)) => panic!("console lagged {n}"),
                    Err(_) => break,
                };
                if let EventKind::ContactCompleted { .. } = e.kind {
                    answered += 1;
                }
                let EventKind::ContactOffered { contact, agent, .. } = e.kind else {
                    continue;
                };
                let k: usize = agent.as_str().trim_start_matches("agent-").parse().unwrap();
                if k % INSTANCES != i {
                    continue;
                }
                let node = node.clone();
                tokio::spawn(async move {
                    node.execute(Command::Accept { contact, agent }, SystemClock.now())
                        .await
                        .expect("accept");
                    node.execute(Command::Complete { contact }, SystemClock.now())
                        .await
                        .expect("complete");
                });
            }
        }));
    }

    // Callers: every instance submits its share, 32 at a time.
    let mut callers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let node = node.clone();
        callers.push(tokio::spawn(async move {
            let mine: Vec<usize> = (0..CONTACTS).filter(|n| n % INSTANCES == i).collect();
            for chunk in mine.chunks(32) {
                let mut calls = tokio::task::JoinSet::new();
                for n in chunk {
                    let new = NewContact::new(
                        fresh_contact_id(SystemClock.now()),
                        QueueId::parse(&format!("q{}", n % QUEUES)).unwrap(),
                        Channel::Voice,
                    );
                    let node = node.clone();
                    calls.spawn(async move {
                        node.execute(Command::Enqueue(new), SystemClock.now()).await
                    });
                }
                while let Some(r) = calls.join_next().await {
                    r.unwrap().expect("enqueue");
                }
            }
        }));
    }
    for c in callers {
        c.await.unwrap();
    }
    let done = tokio::time::timeout(Duration::from_secs(240), async {
        for c in consoles {
            c.await.unwrap();
        }
    })
    .await;
    assert!(done.is_ok(), "not every call was answered in time");

    // Every instance saw the same events, in the same order.
    let mut logs = Vec::new();
    for s in &mut streams {
        let mut log = Vec::new();
        while let Ok(e) = s.try_recv() {
            log.push(e);
        }
        logs.push(log);
    }
    for (i, log) in logs.iter().enumerate().skip(1) {
        assert_eq!(
            log.len(),
            logs[0].len(),
            "instance {i} saw a different number of events"
        );
        assert!(log == &logs[0], "instance {i} diverged");
    }
    check_assignments(&logs[0]);
    // Over 30,000 entries were appended, and snapshots were taken meanwhile (the log is
    // kept for 5 minutes of log time behind them, so nothing was trimmed in this short run:
    // an instance that falls behind under load catches up entry by entry).
    let (_, snapshot_bytes) = nodes[0].memory_usage().await.unwrap();
    assert!(snapshot_bytes > 0, "no snapshot was stored");
}

/// The model check on one event stream: an offer only for a contact nobody holds; each
/// contact accepted and completed exactly once.
fn check_assignments(events: &[Event]) {
    let mut holder: HashMap<ContactId, AgentId> = HashMap::new();
    let mut accepted: HashMap<ContactId, usize> = HashMap::new();
    let mut completed: HashSet<ContactId> = HashSet::new();
    let mut queued = HashSet::new();
    for e in events {
        match &e.kind {
            EventKind::ContactQueued { contact, .. } => {
                queued.insert(*contact);
            }
            EventKind::ContactOffered { contact, agent, .. } => {
                if let Some(other) = holder.insert(*contact, agent.clone()) {
                    panic!("{contact} offered to {agent} while held by {other}");
                }
            }
            EventKind::OfferRejected { contact, .. }
            | EventKind::OfferTimedOut { contact, .. }
            | EventKind::OfferWithdrawn { contact, .. } => {
                holder.remove(contact);
            }
            EventKind::OfferAccepted { contact, .. } => {
                *accepted.entry(*contact).or_default() += 1;
            }
            EventKind::ContactCompleted { contact, .. } => {
                assert!(completed.insert(*contact), "{contact} completed twice");
                holder.remove(contact);
            }
            _ => {}
        }
    }
    assert_eq!(queued.len(), CONTACTS);
    assert_eq!(completed.len(), CONTACTS, "lost contacts");
    assert!(
        accepted.values().all(|&n| n == 1),
        "a contact was accepted twice"
    );
    assert_eq!(accepted.len(), CONTACTS);
}

/// A real dispatcher process reserves an offer and is killed with SIGKILL. The reservation
/// lives on in the shared log: a surviving instance times it out and offers the call again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_instance_loses_nothing_its_offer_expires_and_is_reoffered() {
    let ns = namespace();
    let survivor = Arc::new(join(&ns, true).await);
    let mut events = survivor.subscribe();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard-dispatch-node"))
        .arg(&ns)
        .env("REDIS_URL", redis_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the node process");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

    let mut queue = QueueConfig::new(QueueId::parse("sales").unwrap());
    queue.offer_timeout = Duration::from_secs(2);
    queue.no_answer_delay = Duration::from_secs(60);
    let ann = AgentId::parse("ann").unwrap();
    let bob = AgentId::parse("bob").unwrap();
    let call = fresh_contact_id(SystemClock.now());
    let mut commands = vec![Command::UpsertQueue(queue)];
    for agent in [&ann, &bob] {
        commands.push(Command::UpsertAgent(AgentProfile::new(agent.clone())));
        commands.push(Command::SetPresence {
            agent: agent.clone(),
            presence: Presence::Available,
        });
    }
    commands.push(Command::Enqueue(NewContact::new(
        call,
        QueueId::parse("sales").unwrap(),
        Channel::Voice,
    )));
    let mut first_offer = None;
    for command in commands {
        let line = serde_json::to_string(&command).unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        let reply = stdout.next_line().await.unwrap().expect("the node answers");
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        let events: Vec<Event> = serde_json::from_value(reply["ok"].clone())
            .unwrap_or_else(|_| panic!("refused: {reply}"));
        for e in events {
            if let EventKind::ContactOffered { agent, .. } = e.kind {
                first_offer = Some(agent);
            }
        }
    }
    let first = first_offer.expect("the node reserved an agent for the call");
    // Kill it while the offer rings.
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    // The survivor's timer loop expires the reservation and re-offers the call.
    let timers = tokio::spawn(run_timers(
        survivor.clone(),
        SystemClock,
        std::future::pending(),
    ));
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        let mut timed_out = false;
        loop {
            let e = events.recv().await.unwrap();
            match e.kind {
                EventKind::OfferTimedOut {
                    contact, ref agent, ..
                } if contact == call => {
                    assert_eq!(agent, &first);
                    timed_out = true;
                }
                EventKind::ContactOffered { contact, agent, .. }
                    if contact == call && timed_out =>
                {
                    return agent
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the orphaned offer expired and the call was offered again");
    assert_ne!(
        outcome, first,
        "re-offered to the other agent (the first is in no-answer delay)"
    );
    timers.abort();
}

/// Instances' clocks differ a little. A command stamped earlier than the newest log entry is
/// applied at the log's instant: the log's time never goes backwards, and both instances agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_clock_never_moves_the_log_back_in_time() {
    let ns = namespace();
    let ahead = join(&ns, true).await;
    let behind = join(&ns, false).await;
    let t = t0();
    let queue = QueueConfig::new(QueueId::parse("sales").unwrap());
    ahead
        .execute(Command::UpsertQueue(queue), t.plus(Duration::from_secs(5)))
        .await
        .unwrap();
    let call = fresh_contact_id(SystemClock.now());
    let events = behind
        .execute(
            Command::Enqueue(NewContact::new(
                call,
                QueueId::parse("sales").unwrap(),
                Channel::Voice,
            )),
            t,
        )
        .await
        .unwrap();
    assert_eq!(
        events[0].at,
        t.plus(Duration::from_secs(5)),
        "stamped with the log's instant"
    );
    // Both replicas hold the same contact, entered at that instant (the other replica
    // applies the entry when it reads it: give it a moment).
    for node in [&ahead, &behind] {
        let mut state = node.contact(call).await.unwrap();
        for _ in 0..200 {
            if state.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            state = node.contact(call).await.unwrap();
        }
        match state {
            Some(ContactState::Queued { entered_at, .. }) => {
                assert_eq!(entered_at, t.plus(Duration::from_secs(5)))
            }
            other => panic!("{other:?}"),
        }
    }
    drop(behind);
}

/// Snapshots keep the log short, and an instance joining later starts from the latest one
/// (its replay would otherwise be impossible: the early log is gone) and ends up in exactly
/// the state of an instance that saw everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_bound_the_log_and_late_joiners_start_from_them() {
    let ns = namespace();
    let every = 100;
    let first = join_with(&ns, every).await;
    let clock = SystemClock;
    let mut queue = QueueConfig::new(QueueId::parse("sales").unwrap());
    queue.wrap_up = Duration::ZERO;
    first
        .execute(Command::UpsertQueue(queue), clock.now())
        .await
        .unwrap();
    for k in 0..5 {
        let id = AgentId::parse(&format!("agent-{k}")).unwrap();
        first
            .execute(
                Command::UpsertAgent(AgentProfile::new(id.clone())),
                clock.now(),
            )
            .await
            .unwrap();
        first
            .execute(
                Command::SetPresence {
                    agent: id,
                    presence: Presence::Available,
                },
                clock.now(),
            )
            .await
            .unwrap();
    }
    // 400 calls answered and completed: 1,200 entries, plus 3 left waiting or ringing.
    for i in 0..403 {
        let call = fresh_contact_id(SystemClock.now());
        let events = first
            .execute(
                Command::Enqueue(NewContact::new(
                    call,
                    QueueId::parse("sales").unwrap(),
                    Channel::Voice,
                )),
                clock.now(),
            )
            .await
            .unwrap();
        if i >= 400 {
            continue;
        }
        let agent = events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::ContactOffered { agent, .. } => Some(agent.clone()),
                _ => None,
            })
            .expect("a free agent");
        first
            .execute(
                Command::Accept {
                    contact: call,
                    agent,
                },
                clock.now(),
            )
            .await
            .unwrap();
        first
            .execute(Command::Complete { contact: call }, clock.now())
            .await
            .unwrap();
    }
    // Snapshots are saved off the follower's path; give the last one a moment.
    let mut len = u64::MAX;
    for _ in 0..100 {
        len = first.log_len().await.unwrap();
        if len <= 3 * every {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        len <= 3 * every,
        "the log keeps {len} entries; snapshots every {every} should bound it"
    );

    let late = join(&ns, false).await;
    let mut same = false;
    for _ in 0..100 {
        let (a, b) = (first.engine_snapshot(), late.engine_snapshot());
        if serde_json::to_string(&a).unwrap() == serde_json::to_string(&b).unwrap() {
            same = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(same, "the late joiner's replica differs from the original");
    // And it keeps working: the late joiner's command reaches the first instance.
    let call = fresh_contact_id(SystemClock.now());
    late.execute(
        Command::Enqueue(NewContact::new(
            call,
            QueueId::parse("sales").unwrap(),
            Channel::Voice,
        )),
        clock.now(),
    )
    .await
    .unwrap();
    let mut seen = false;
    for _ in 0..100 {
        if first.contact(call).await.unwrap().is_some() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen);
    drop(late);
}

async fn join_with(ns: &str, snapshot_every: u64) -> RedisBackend {
    let url = redis_url();
    RedisBackend::ephemeral_with(
        &url,
        ns,
        // Trim as soon as the snapshots allow, to see it happen within a test.
        switchboard_dispatch::RedisOptions {
            snapshot_every,
            keep_log: Duration::ZERO,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("Redis at {url} is required for these tests: {e}"))
}
