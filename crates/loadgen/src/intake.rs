//! Scenario `intake`: how fast the server takes new contacts in, and how long each caller
//! waits for its acknowledgement. C clients, each on its own kept-alive connection, send
//! contacts one after another (closed loop: the next as soon as the previous is answered)
//! through one door — `POST /api/v1/contacts` as a supervisor, or a signed `call.arrived`
//! hook — into the center's queue, where nobody is logged in, so every contact stays queued.
//! The first `warmup` contacts are sent but not counted. A run stops after `contacts`
//! contacts or at `limit`, whichever comes first.
//!
//! The acknowledgement is what a durable server waits for (the contact journaled), so this
//! is where the cost of durability shows.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{
    center::{Center, QUEUE},
    http::Connection,
    offer_latency::signed_call_arrived,
    stats::Spread,
};

/// The way contacts come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `POST /api/v1/contacts` with a supervisor's session (a chat contact); answered 201.
    Rest,
    /// `POST /api/v1/hooks/{integration}`, a signed `call.arrived`; answered 200 `ok`.
    Hook,
}

impl Door {
    pub fn name(self) -> &'static str {
        match self {
            Door::Rest => "rest",
            Door::Hook => "hook",
        }
    }
}

/// How many contacts, how many at once, for how long at most.
#[derive(Debug, Clone)]
pub struct IntakeSpec {
    pub door: Door,
    /// Concurrent clients (requests in flight).
    pub clients: usize,
    /// Contacts counted, after the warm-up.
    pub contacts: usize,
    /// Contacts sent first and not counted.
    pub warmup: usize,
    /// The run stops here even if not all contacts were sent.
    pub limit: Duration,
}

/// What one request gave.
#[derive(Debug)]
struct Sent {
    index: usize,
    sent: Instant,
    answered: Instant,
    contact_id: Option<String>,
    error: Option<String>,
}

/// The figures of an intake run (counted contacts only).
#[derive(Debug)]
pub struct IntakeReport {
    pub door: Door,
    pub clients: usize,
    /// Every request sent, the warm-up's included.
    pub total_sent: usize,
    /// Counted contacts sent, and of those acknowledged with a contact id.
    pub sent: usize,
    pub acknowledged: usize,
    /// Acknowledged contacts per second, from the first counted request written to the last
    /// counted answer read.
    pub rate: f64,
    /// Request written → answer read, acknowledged contacts only.
    pub latency: Option<Spread>,
    /// Distinct contact ids among the acknowledgements (equal to `acknowledged` when each
    /// contact got an id of its own).
    pub distinct_ids: usize,
    pub errors: Vec<String>,
    /// Whether the run hit its time limit before sending every contact.
    pub cut_short: bool,
}

impl IntakeReport {
    /// Every counted contact acknowledged once, nothing failed, not cut short.
    pub fn clean(&self) -> bool {
        self.sent > 0
            && self.acknowledged == self.sent
            && self.distinct_ids == self.acknowledged
            && self.errors.is_empty()
            && !self.cut_short
    }
}

/// Runs the scenario against the server at `addr` (whose center is `center`).
pub async fn run(
    addr: SocketAddr,
    center: &Center,
    spec: &IntakeSpec,
) -> anyhow::Result<IntakeReport> {
    if spec.clients == 0 || spec.contacts == 0 {
        bail!("intake needs at least one client and one contact");
    }
    let total = spec.warmup + spec.contacts;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + spec.limit;
    let mut connections = Vec::with_capacity(spec.clients);
    for _ in 0..spec.clients {
        connections.push(Connection::open(addr).await?);
    }
    let clients: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            let (next, center, run_id, door) =
                (next.clone(), center.clone(), run_id.clone(), spec.door);
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= total || Instant::now() >= deadline {
                        break;
                    }
                    let s = send(&mut connection, &center, door, &run_id, index).await;
                    let broken = s.error.as_deref().is_some_and(|e| e.starts_with("request"));
                    done.push(s);
                    if broken {
                        // The connection is unusable after a failed request: open another.
                        match Connection::open(addr).await {
                            Ok(c) => connection = c,
                            Err(_) => break,
                        }
                    }
                }
                done
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for c in clients {
        all.extend(c.await.context("an intake client failed")?);
    }
    let cut_short = all.len() < total;
    let counted: Vec<&Sent> = all.iter().filter(|s| s.index >= spec.warmup).collect();
    let ok: Vec<&&Sent> = counted.iter().filter(|s| s.error.is_none()).collect();
    let rate = match (
        counted.iter().map(|s| s.sent).min(),
        counted.iter().map(|s| s.answered).max(),
    ) {
        (Some(first), Some(last)) if last > first => {
            ok.len() as f64 / last.duration_since(first).as_secs_f64()
        }
        _ => 0.0,
    };
    let mut ids: Vec<&str> = ok.iter().filter_map(|s| s.contact_id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(IntakeReport {
        door: spec.door,
        clients: spec.clients,
        total_sent: all.len(),
        sent: counted.len(),
        acknowledged: ok.len(),
        rate,
        latency: Spread::of(
            ok.iter()
                .map(|s| s.answered.duration_since(s.sent))
                .collect(),
        ),
        distinct_ids: ids.len(),
        errors: counted.iter().filter_map(|s| s.error.clone()).collect(),
        cut_short,
    })
}

/// Sends contact `index` through `door` and reads the acknowledgement.
async fn send(
    connection: &mut Connection,
    center: &Center,
    door: Door,
    run_id: &str,
    index: usize,
) -> Sent {
    let reference = format!("lg-{run_id}-{index}");
    let (path, body, headers, expected) = match door {
        Door::Rest => (
            "/api/v1/contacts".to_owned(),
            json!({"queue": QUEUE, "channel": "chat", "attributes": {"reference": reference}})
                .to_string(),
            vec![(
                "authorization".to_owned(),
                format!("Bearer {}", center.supervisor_token),
            )],
            201,
        ),
        Door::Hook => {
            let (body, headers) = signed_call_arrived(&center.secret, &reference);
            (
                format!("/api/v1/hooks/{}", center.integration),
                body,
                headers,
                200,
            )
        }
    };
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let sent = Instant::now();
    let answer = connection
        .request("POST", &path, &headers, body.as_bytes())
        .await;
    let answered = Instant::now();
    let mut s = Sent {
        index,
        sent,
        answered,
        contact_id: None,
        error: None,
    };
    match answer {
        Ok(a) => {
            let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
            s.contact_id = v["contact_id"].as_str().map(str::to_owned);
            let ok_status = door == Door::Rest || v["status"] == "ok";
            if a.status != expected || !ok_status || s.contact_id.is_none() {
                s.error = Some(format!(
                    "{} answered {}: {}",
                    door.name(),
                    a.status,
                    String::from_utf8_lossy(&a.body)
                ));
            }
        }
        Err(e) => s.error = Some(format!("request: {e:#}")),
    }
    s
}
