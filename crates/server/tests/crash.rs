//! Durability on one machine: the real binary with embedded defaults (a SQLite file, the
//! in-process dispatcher) under a stream of signed hooks and REST contacts, SIGKILLed at
//! random moments. After every restart each acknowledged contact is waiting exactly once, in
//! the order it was acknowledged, and the event log's ids go on without gap or reuse.

mod support;

use std::{
    collections::{BTreeMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use support::{http, login, put, try_http, Hook, Server, ServerOptions, TestDatabase, PASSWORD};

const SECRET: &str = "pbx-secret-0123456789abcdef";
const SETUP_SECRET: &str = "a-setup-secret-for-crash-tests";
/// SIGKILLs in one run.
const KILLS: usize = 24;

/// One contact a stream asked for: when the request went out, and when (if ever) it was
/// acknowledged, with the contact id the answer named.
#[derive(Clone, Debug)]
struct Sent {
    /// Which stream and how many before it in that stream (for messages).
    label: String,
    sent: Instant,
    acked: Option<Instant>,
    contact: Option<String>,
    /// The hook's call id, to find an unacknowledged hook's contact in the log.
    call_id: Option<String>,
}

/// xorshift64*, seeded from the clock; the seed is printed in every failure message.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn options(url: &str) -> ServerOptions {
    ServerOptions {
        database_url: url.into(),
        redis: None,
        setup_secret: Some(SETUP_SECRET.into()),
    }
}

/// Signed `call.arrived` hooks, one after the other, until the server stops answering.
async fn hook_stream(addr: SocketAddr, round: usize, log: Arc<Mutex<Vec<Sent>>>) {
    for i in 0.. {
        let call_id = format!("r{round}-call-{i}");
        let body = json!({
            "event_id": format!("ev-{call_id}"), "type": "call.arrived",
            "call_id": call_id, "queue": "line", "caller": "+15550100",
        });
        let at = log.lock().unwrap().len();
        log.lock().unwrap().push(Sent {
            label: format!("round {round} hook {i}"),
            sent: Instant::now(),
            acked: None,
            contact: None,
            call_id: Some(call_id.clone()),
        });
        match Hook::signed(SECRET, body).try_post(addr, "pbx").await {
            Ok((200, answer)) if answer["status"] == "ok" => {
                let mut log = log.lock().unwrap();
                log[at].acked = Some(Instant::now());
                log[at].contact = answer["contact_id"].as_str().map(str::to_owned);
            }
            Ok((status, answer)) => panic!("hook {call_id}: {status} {answer}"),
            Err(()) => return,
        }
    }
}

/// REST contacts (chats), one after the other, until the server stops answering.
async fn rest_stream(addr: SocketAddr, token: String, round: usize, log: Arc<Mutex<Vec<Sent>>>) {
    for i in 0.. {
        let body = json!({"queue": "line", "channel": "chat"}).to_string();
        let at = log.lock().unwrap().len();
        log.lock().unwrap().push(Sent {
            label: format!("round {round} rest {i}"),
            sent: Instant::now(),
            acked: None,
            contact: None,
            call_id: None,
        });
        match try_http(
            addr,
            "POST",
            "/api/v1/contacts",
            Some(&token),
            Some(body),
            &[],
        )
        .await
        {
            Ok((201, answer)) => {
                let mut log = log.lock().unwrap();
                log[at].acked = Some(Instant::now());
                log[at].contact = answer["contact_id"].as_str().map(str::to_owned);
            }
            Ok((status, answer)) => panic!("contact {i} of round {round}: {status} {answer}"),
            Err(()) => return,
        }
    }
}

/// Every event in the log, by id.
async fn event_log(addr: SocketAddr, token: &str) -> BTreeMap<u64, Value> {
    support::event_log(addr, token, None)
        .await
        .into_iter()
        .map(|e| (e["id"].as_u64().expect("an event id"), e))
        .collect()
}

/// Each contact's position in the queue (`None`: not waiting), asked 16 at a time.
async fn positions(addr: SocketAddr, token: &str, contacts: &[String]) -> Vec<Option<u64>> {
    let mut out = Vec::with_capacity(contacts.len());
    for chunk in contacts.chunks(16) {
        let asks = chunk.iter().map(|c| {
            let path = format!("/api/v1/contacts/{c}/position");
            async move { http(addr, "GET", &path, Some(token), None).await }
        });
        for (status, body) in futures_util::future::join_all(asks).await {
            match status {
                200 => out.push(Some(body["position"].as_u64().expect("a position"))),
                404 => out.push(None),
                _ => panic!("position: {status} {body}"),
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_contacts_survive_sigkill_at_any_moment() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let data = TestDatabase::sqlite();
    let url = data.url().to_owned();
    let mut server = Server::start("first", &options(&url)).await;
    let (s, body) = http(
        server.addr,
        "POST",
        "/api/v1/auth/setup",
        None,
        Some(json!({"setup_secret": SETUP_SECRET, "username": "admin", "display_name": "Admin", "password": PASSWORD})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let admin = login(server.addr, "admin").await;
    put(
        server.addr,
        &admin,
        "/api/v1/skills/line",
        json!({"name": "line"}),
    )
    .await;
    // Nobody serves the queue, so every contact waits: its place is what must survive.
    put(
        server.addr,
        &admin,
        "/api/v1/queues/line",
        json!({"id": "line", "required_skills": [{"skill": "line"}]}),
    )
    .await;
    put(
        server.addr,
        &admin,
        "/api/v1/integrations/pbx",
        json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET}),
    )
    .await;

    let mut all: Vec<Sent> = Vec::new();
    let mut seen_events: BTreeMap<u64, Value> = BTreeMap::new();
    for round in 0..KILLS {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hooks = tokio::spawn(hook_stream(server.addr, round, log.clone()));
        let rest = tokio::spawn(rest_stream(server.addr, admin.clone(), round, log.clone()));
        // Any moment: right away, mid-burst, or after a few hundred contacts.
        let wait = Duration::from_millis(rng.next() % 400);
        tokio::time::sleep(wait).await;
        server.kill();
        hooks.await.expect("the hook stream");
        rest.await.expect("the REST stream");
        all.extend(log.lock().unwrap().drain(..));

        server = Server::start("restarted", &options(&url)).await;
        let at = server.addr;
        let context =
            |what: &str| format!("round {round} (seed {seed}, killed after {wait:?}): {what}");

        // The log: ids gapless from the first, every event seen before unchanged.
        let events = event_log(at, &admin).await;
        let (first, last) = (
            *events.keys().next().expect("events"),
            *events.keys().last().expect("events"),
        );
        assert_eq!(
            events.len() as u64,
            last - first + 1,
            "{}",
            context("event ids have a gap")
        );
        for (id, before) in &seen_events {
            assert_eq!(
                events.get(id),
                Some(before),
                "{}",
                context(&format!(
                    "event {id} changed or vanished across the restart"
                ))
            );
        }
        seen_events = events;

        // A request cut by the kill may or may not have been done; if it was, it is a
        // contact like the others (a hook's contact is found through its call in the log).
        let queued: BTreeMap<String, &Value> = seen_events
            .values()
            .filter(|e| e["type"] == "contact_queued")
            .map(|e| (e["contact"].as_str().unwrap_or_default().to_owned(), e))
            .collect();
        let queued_counts = seen_events
            .values()
            .filter(|e| e["type"] == "contact_queued")
            .fold(BTreeMap::<String, usize>::new(), |mut m, e| {
                *m.entry(e["contact"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
                m
            });
        for sent in all.iter_mut().filter(|s| s.contact.is_none()) {
            if let Some(call) = &sent.call_id {
                if let Some((id, _)) = queued
                    .iter()
                    .find(|(_, e)| e["attributes"]["call_id"].as_str() == Some(call))
                {
                    sent.contact = Some(id.clone());
                }
            }
        }
        let acked: Vec<&Sent> = all.iter().filter(|s| s.acked.is_some()).collect();
        assert!(
            round < 3 || acked.len() > 10 * round / 2,
            "{}",
            context(&format!(
                "only {} contacts acknowledged so far",
                acked.len()
            ))
        );
        let ids: Vec<String> = acked
            .iter()
            .map(|s| {
                s.contact
                    .clone()
                    .expect("an acknowledged contact has an id")
            })
            .collect();
        let place = positions(at, &admin, &ids).await;
        for (sent, (id, p)) in acked.iter().zip(ids.iter().zip(&place)) {
            assert!(
                p.is_some(),
                "{}",
                context(&format!(
                    "{} ({id}) was acknowledged and is gone",
                    sent.label
                ))
            );
            assert_eq!(
                queued_counts.get(id),
                Some(&1),
                "{}",
                context(&format!(
                    "{} ({id}) is not queued exactly once in the log",
                    sent.label
                ))
            );
        }
        // Order: a contact acknowledged before another was even sent waits ahead of it.
        let mut by_place: Vec<(u64, &Sent)> = place
            .iter()
            .zip(&acked)
            .map(|(p, s)| (p.expect("checked"), *s))
            .collect();
        by_place.sort_by_key(|(p, _)| *p);
        // The latest send among the contacts ahead: the one behind must have been
        // acknowledged after it.
        let mut latest_sent_ahead: Option<&Sent> = None;
        for (_, behind) in &by_place {
            if let Some(ahead) = latest_sent_ahead {
                assert!(
                    behind.acked.expect("acknowledged") > ahead.sent,
                    "{}",
                    context(&format!(
                        "{} waits behind {} though it was acknowledged before that was sent",
                        behind.label, ahead.label
                    ))
                );
            }
            if latest_sent_ahead.is_none_or(|a| behind.sent > a.sent) {
                latest_sent_ahead = Some(behind);
            }
        }
        // Exactly once: the queue holds the acknowledged contacts and those of cut requests
        // that were done, nothing else.
        let present_unacked: HashSet<&String> = all
            .iter()
            .filter(|s| s.acked.is_none())
            .filter_map(|s| s.contact.as_ref())
            .collect();
        let (s, snap) = http(
            at,
            "GET",
            "/api/v1/queues/line/snapshot",
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, 200, "{snap}");
        let waiting = snap["waiting"].as_u64().expect("waiting");
        let unacked_rest_done = queued.len() - ids.len() - present_unacked.len();
        assert_eq!(
            waiting as usize,
            queued.len(),
            "{}",
            context(&format!(
                "{waiting} waiting, {} queued in the log ({} acknowledged, {} cut hooks done, {unacked_rest_done} cut REST requests done)",
                queued.len(),
                ids.len(),
                present_unacked.len()
            ))
        );
        assert!(
            unacked_rest_done <= round + 1,
            "{}",
            context("more contacts than requests")
        );
    }
}
