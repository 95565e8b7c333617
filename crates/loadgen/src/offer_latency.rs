//! Scenario `offer-latency`: N consoles, all available, take calls that arrive as signed
//! `call.arrived` hooks at a fixed rate (open loop: each call is sent at its scheduled
//! instant whatever the answers to earlier ones). For every call the clock starts just
//! before its hook request is written and stops when its `offer` frame is read by the
//! console (matched by the call id in the offer's data and checked against the contact id
//! the hook answered). Calls of the warm-up are sent but not counted.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use anyhow::{bail, Context};

use serde_json::{json, Value};
use switchboard_gateway::hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use tokio::{sync::watch, time::Instant};

use crate::{
    agent::{self, Observations},
    center::{Center, QUEUE},
    http::Pool,
    stats::Spread,
};

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Calls per second.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    /// From offer to `end` (talk time); wrap-up follows at once.
    pub handle: Duration,
    /// How long to wait after the last call for the offers still due.
    pub grace: Duration,
}

/// Consoles opened at once while connecting.
/// Connections opened ahead for the hooks.
const HOOK_CONNECTIONS: usize = 32;

/// What one hook delivery gave.
#[derive(Debug)]
struct Delivery {
    index: usize,
    scheduled: Instant,
    sent: Instant,
    answered: Option<Instant>,
    contact_id: Option<String>,
    error: Option<String>,
}

/// The figures of a run.
#[derive(Debug)]
pub struct LatencyReport {
    pub agents: usize,
    pub target_rate: f64,
    pub handle: Duration,
    pub connect_time: Duration,
    /// Measured calls (after the warm-up) sent, and of those: answered 200 `ok` by the hook,
    /// offered to an agent.
    pub sent: usize,
    pub hook_ok: usize,
    pub offered: usize,
    /// The offer named another contact than the hook answered.
    pub mismatched: usize,
    /// Calls offered more than once (a missed or withdrawn offer goes round again).
    pub reoffered: usize,
    pub offer_latency: Option<Spread>,
    pub hook_latency: Option<Spread>,
    /// How late the generator sent calls against their schedule.
    pub send_lag: Option<Spread>,
    /// Measured calls over the time from the first to the last one sent.
    pub achieved_rate: f64,
    pub hook_errors: Vec<String>,
    pub console_errors: Vec<(usize, String)>,
}

impl LatencyReport {
    /// Whether the generator held the target rate: within 1 % of it, and no call sent more
    /// than 100 ms behind its schedule at the 99th percentile.
    pub fn rate_kept(&self) -> bool {
        self.achieved_rate >= 0.99 * self.target_rate
            && self
                .send_lag
                .is_some_and(|l| l.p99 <= Duration::from_millis(100))
    }

    /// Every measured call answered and offered, with nothing going wrong.
    pub fn clean(&self) -> bool {
        self.sent > 0
            && self.hook_ok == self.sent
            && self.offered == self.sent
            && self.mismatched == 0
            && self.hook_errors.is_empty()
            && self.console_errors.is_empty()
    }
}

/// Runs the scenario against the server at `addr`, with one console per token of `center`.
pub async fn run(
    addr: SocketAddr,
    center: &Center,
    spec: &LoadSpec,
) -> anyhow::Result<LatencyReport> {
    if !(spec.rate > 0.0 && spec.rate.is_finite()) {
        bail!("the rate must be a positive number of calls per second");
    }
    let agents = center.tokens.len();
    let (sockets, connect_time) = agent::connect_all(addr, &center.tokens).await?;

    let seen = Arc::new(Observations::default());
    let (stop, stopped) = watch::channel(false);
    let consoles: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            tokio::spawn(agent::take_calls(
                s,
                i,
                spec.handle,
                seen.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    let ready_by = Instant::now() + Duration::from_secs(60);
    while seen.available.load(Ordering::Relaxed) < agents {
        if Instant::now() > ready_by {
            bail!(
                "only {} of {agents} agents became available within 60 s",
                seen.available.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let pool = Arc::new(Pool::new(addr));
    pool.warm(HOOK_CONNECTIONS).await?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let warmup_calls = (spec.rate * spec.warmup.as_secs_f64()).round() as usize;
    let total = warmup_calls + (spec.rate * spec.duration.as_secs_f64()).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / spec.rate);
    let path = format!("/api/v1/hooks/{}", center.integration);
    let start = Instant::now() + Duration::from_millis(50);
    let mut deliveries = Vec::with_capacity(total);
    for index in 0..total {
        let scheduled = start + interval.mul_f64(index as f64);
        tokio::time::sleep_until(scheduled).await;
        let (pool, path, secret) = (pool.clone(), path.clone(), center.secret.clone());
        let call_id = format!("lg-{run_id}-{index}");
        deliveries.push(tokio::spawn(async move {
            deliver(&pool, &path, &secret, index, &call_id, scheduled).await
        }));
    }
    let mut by_call: HashMap<String, Delivery> = HashMap::with_capacity(total);
    for (index, d) in deliveries.into_iter().enumerate() {
        let d = d.await.context("a hook task failed")?;
        if index >= warmup_calls {
            by_call.insert(format!("lg-{run_id}-{index}"), d);
        }
    }

    // Wait for the offers still due, then stop the consoles.
    let until = Instant::now() + spec.grace;
    loop {
        let offered = {
            let offers = seen.offers.lock().unwrap_or_else(|p| p.into_inner());
            offers
                .iter()
                .filter(|o| o.call_id.as_ref().is_some_and(|c| by_call.contains_key(c)))
                .count()
        };
        if offered >= by_call.len() || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    for c in consoles {
        let _ = c.await;
    }

    // First offer per call.
    let offers = std::mem::take(&mut *seen.offers.lock().unwrap_or_else(|p| p.into_inner()));
    let mut first: HashMap<&str, &agent::OfferSeen> = HashMap::new();
    let mut reoffered = 0;
    for o in &offers {
        let Some(call) = o.call_id.as_deref() else {
            continue;
        };
        if !by_call.contains_key(call) {
            continue;
        }
        match first.get(call) {
            Some(_) => reoffered += 1,
            None => {
                first.insert(call, o);
            }
        }
    }
    let mut offer_latency = Vec::with_capacity(by_call.len());
    let mut mismatched = 0;
    for (call, o) in &first {
        let d = &by_call[*call];
        offer_latency.push(o.at.saturating_duration_since(d.sent));
        if d.contact_id.as_deref().is_some_and(|c| c != o.contact_id) {
            mismatched += 1;
        }
    }
    let mut measured: Vec<&Delivery> = by_call.values().collect();
    measured.sort_by_key(|d| d.index);
    let achieved_rate = match (measured.first(), measured.last()) {
        (Some(a), Some(b)) if measured.len() > 1 && b.sent > a.sent => {
            (measured.len() - 1) as f64 / b.sent.duration_since(a.sent).as_secs_f64()
        }
        _ => 0.0,
    };
    let console_errors =
        std::mem::take(&mut *seen.errors.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(LatencyReport {
        agents,
        target_rate: spec.rate,
        handle: spec.handle,
        connect_time,
        sent: measured.len(),
        hook_ok: measured.iter().filter(|d| d.error.is_none()).count(),
        offered: first.len(),
        mismatched,
        reoffered,
        offer_latency: Spread::of(offer_latency),
        hook_latency: Spread::of(
            measured
                .iter()
                .filter_map(|d| d.answered.map(|a| a.duration_since(d.sent)))
                .collect(),
        ),
        send_lag: Spread::of(
            measured
                .iter()
                .map(|d| d.sent.saturating_duration_since(d.scheduled))
                .collect(),
        ),
        achieved_rate,
        hook_errors: measured.iter().filter_map(|d| d.error.clone()).collect(),
        console_errors,
    })
}

/// The body of a `call.arrived` for `call_id` into the center's queue, and the headers that
/// sign it with `secret` (timestamp and signature).
pub fn signed_call_arrived(secret: &str, call_id: &str) -> (String, Vec<(String, String)>) {
    let body = json!({
        "event_id": format!("{call_id}-arrived"), "type": "call.arrived",
        "call_id": call_id, "queue": QUEUE,
    })
    .to_string();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let signature = sign(secret, timestamp, body.as_bytes());
    let headers = vec![
        (TIMESTAMP_HEADER.to_owned(), timestamp.to_string()),
        (SIGNATURE_HEADER.to_owned(), signature),
    ];
    (body, headers)
}

/// Sends one signed `call.arrived`.
async fn deliver(
    pool: &Pool,
    path: &str,
    secret: &str,
    index: usize,
    call_id: &str,
    scheduled: Instant,
) -> Delivery {
    let (body, headers) = signed_call_arrived(secret, call_id);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut delivery = Delivery {
        index,
        scheduled,
        sent: Instant::now(),
        answered: None,
        contact_id: None,
        error: None,
    };
    let mut connection = match pool.take().await {
        Ok(c) => c,
        Err(e) => {
            delivery.error = Some(format!("connect: {e:#}"));
            return delivery;
        }
    };
    delivery.sent = Instant::now();
    match connection
        .request("POST", path, &headers, body.as_bytes())
        .await
    {
        Ok(answer) => {
            delivery.answered = Some(Instant::now());
            pool.give_back(connection);
            let v: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            delivery.contact_id = v["contact_id"].as_str().map(str::to_owned);
            if answer.status != 200 || v["status"] != "ok" {
                delivery.error = Some(format!(
                    "hook answered {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                ));
            }
        }
        Err(e) => delivery.error = Some(format!("request: {e:#}")),
    }
    delivery
}
