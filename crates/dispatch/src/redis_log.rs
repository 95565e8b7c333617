//! The Redis backend: one deterministic engine, replicated through a Redis Stream.
//!
//! Every command is appended in one atomic step — a plain `XADD` at the submitter's instant
//! (the entry id's milliseconds), or a Lua script when the log is already ahead of that
//! instant — to a per-tenant stream, the **command log**, whose time thus never goes back. Every instance follows the log and
//! applies each entry, in log order, to its own [`Engine`] replica (first firing the timers due
//! at the entry's instant). The engine is deterministic, so every replica reaches the same state
//! and emits the same events with the same ids: there is one total order of transitions, hence
//! no lost or duplicated assignment however many instances submit at once.
//!
//! - A submitter waits until its own replica has applied its entry and answers with that
//!   entry's outcome (events or refusal), so callers keep read-your-writes.
//! - Timers: each instance knows the next deadline from its replica; when it comes, it appends
//!   a `tick` — unless the log already holds an entry at or after that instant (whichever
//!   instance gets there first expires the offer; the others' ticks are skipped by the script).
//!   An instance that dies mid-offer loses nothing: the reservation is in the log, and any
//!   surviving instance times it out.
//! - Keys share the hash tag `{namespace}`, so a tenant's keys sit on one Redis Cluster slot.
//!
//! Not yet here: snapshots with log trimming (a new instance replays the whole log, and the
//! log grows until trimmed by an operator).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    AsyncCommands, AsyncConnectionConfig, Client, Script, Value,
};
use switchboard_domain::{
    AgentId, AgentStatus, Command, ContactId, ContactState, Event, QueueId, Timestamp,
};
use tokio::{
    sync::{broadcast, oneshot, watch},
    task::JoinHandle,
};
use uuid::Uuid;

use crate::{
    DispatchError, Engine, QueueBackend, QueuePosition, QueueSnapshot, EVENT_CHANNEL_CAPACITY,
};

/// Appends one entry at the log's latest instant, for a submitter whose `now` is behind it
/// (another instance's clock runs ahead); returns its id. An entry's id carries its instant
/// (`<ms>-<seq>`), so the log's time never goes backwards.
const APPEND: &str = r"
local ok, id = pcall(redis.call, 'XADD', KEYS[1], ARGV[1] .. '-*', 'k', ARGV[2], 'r', ARGV[3], 'p', ARGV[4])
if ok then return id end
local tip = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local ms = string.match(tip[1][1], '^(%d+)')
return redis.call('XADD', KEYS[1], ms .. '-*', 'k', ARGV[2], 'r', ARGV[3], 'p', ARGV[4])
";

/// Appends a tick at `now` unless an entry at or after `now` exists already. Returns
/// `{1, id}` for a new tick, `{0, id of the newest entry}` otherwise.
const TICK: &str = r"
local tip = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if tip[1] and tonumber(string.match(tip[1][1], '^(%d+)')) >= tonumber(ARGV[1]) then
  return {0, tip[1][1]}
end
return {1, redis.call('XADD', KEYS[1], ARGV[1] .. '-*', 'k', 't', 'r', ARGV[2], 'p', '')}
";

/// How long a submitter waits for its entry to come back through the log.
const APPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Entries read per round trip while catching up.
const READ_BATCH: usize = 1024;
/// The follower's blocking read; the connection's response timeout is well above it.
const READ_BLOCK: Duration = Duration::from_millis(1000);

type Outcome = Result<Vec<Event>, DispatchError>;

/// A stream entry id, `ms-seq`, ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Position(u64, u64);

impl Position {
    fn parse(id: &str) -> Option<Self> {
        let (ms, seq) = id.split_once('-')?;
        Some(Self(ms.parse().ok()?, seq.parse().ok()?))
    }
}

#[derive(Debug, Clone)]
struct Keys {
    log: String,
}

impl Keys {
    fn new(namespace: &str) -> Self {
        Self {
            log: format!("switchboard:{{{namespace}}}:log"),
        }
    }
}

struct Inner {
    keys: Keys,
    conn: ConnectionManager,
    engine: Mutex<Engine>,
    events: broadcast::Sender<Event>,
    /// This instance's name in the log's request tags (`<instance>/<n>`).
    instance: String,
    next_request: std::sync::atomic::AtomicU64,
    waiters: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    applied: watch::Sender<Position>,
    append: Script,
    tick: Script,
}

/// An instance of the dispatcher whose state is shared, through Redis, with every other
/// instance using the same URL and namespace.
pub struct RedisBackend {
    inner: Arc<Inner>,
    follower: JoinHandle<()>,
    client: Client,
    /// Delete the namespace's keys when dropped (tests).
    ephemeral: bool,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("log", &self.inner.keys.log)
            .field("ephemeral", &self.ephemeral)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Joins (or starts) the dispatcher of `namespace` on the Redis at `url`, replaying the
    /// log so far before returning.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, DispatchError> {
        if namespace.is_empty()
            || !namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(switchboard_domain::ValidationError::new(
                "namespace",
                "must be letters, digits, - _ . only",
            )
            .into());
        }
        let client = Client::open(url).map_err(backend)?;
        let conn = ConnectionManager::new_with_config(
            client.clone(),
            ConnectionManagerConfig::new().set_response_timeout(Some(Duration::from_secs(5))),
        )
        .await
        .map_err(backend)?;
        let inner = Arc::new(Inner {
            keys: Keys::new(namespace),
            conn,
            engine: Mutex::new(Engine::new()),
            events: broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
            instance: Uuid::new_v4().simple().to_string(),
            next_request: std::sync::atomic::AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            applied: watch::channel(Position::default()).0,
            append: Script::new(APPEND),
            tick: Script::new(TICK),
        });
        // Catch up with what is there before serving.
        let mut reader = follower_connection(&client).await.map_err(backend)?;
        let mut tip = Position::default();
        loop {
            let n = inner
                .read_batch(&mut reader, &mut tip, None)
                .await
                .map_err(backend)?;
            if n < READ_BATCH {
                break;
            }
        }
        let follower = tokio::spawn(follow(inner.clone(), client.clone(), reader, tip));
        Ok(Self {
            inner,
            follower,
            client,
            ephemeral: false,
        })
    }

    /// Like [`RedisBackend::connect`], for tests: the namespace's keys are deleted on drop.
    pub async fn ephemeral(url: &str, namespace: &str) -> Result<Self, DispatchError> {
        let mut b = Self::connect(url, namespace).await?;
        b.ephemeral = true;
        Ok(b)
    }

    /// Number of entries in the command log.
    pub async fn log_len(&self) -> Result<u64, DispatchError> {
        let mut conn = self.inner.conn.clone();
        conn.xlen(&self.inner.keys.log).await.map_err(backend)
    }

    /// Appends a command; the receiver gets its outcome once this replica has applied it.
    async fn submit(
        &self,
        payload: String,
        now: Timestamp,
    ) -> Result<(u64, oneshot::Receiver<Outcome>), DispatchError> {
        let (request, rx) = self.inner.expect_outcome();
        let tag = self.inner.request_tag(request);
        let mut conn = self.inner.conn.clone();
        // The common case is one plain XADD at the submitter's instant; only when the log is
        // already ahead of it (another instance's clock runs ahead) does the script append at
        // the log's instant instead. Either way one atomic step.
        let fast: Result<String, redis::RedisError> = redis::cmd("XADD")
            .arg(&self.inner.keys.log)
            .arg(format!("{}-*", now.as_millis().max(0)))
            .arg("k")
            .arg("c")
            .arg("r")
            .arg(&tag)
            .arg("p")
            .arg(&payload)
            .query_async(&mut conn)
            .await;
        let appended = match fast {
            Err(e) if e.to_string().contains("equal or smaller") => {
                self.inner
                    .append
                    .key(&self.inner.keys.log)
                    .arg(now.as_millis().max(0))
                    .arg("c")
                    .arg(&tag)
                    .arg(&payload)
                    .invoke_async::<String>(&mut conn)
                    .await
            }
            other => other,
        };
        match appended {
            Ok(_) => Ok((request, rx)),
            Err(e) => {
                self.inner.lock_waiters().remove(&request);
                Err(backend(e))
            }
        }
    }

    async fn await_outcome(&self, request: u64, rx: oneshot::Receiver<Outcome>) -> Outcome {
        match tokio::time::timeout(APPLY_TIMEOUT, rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => {
                self.inner.lock_waiters().remove(&request);
                Err(DispatchError::Backend(
                    "appended, but not applied in time by this instance; it may still take effect"
                        .into(),
                ))
            }
        }
    }

    /// Waits until this replica has applied the log up to `id`.
    async fn caught_up(&self, id: Position) -> Result<(), DispatchError> {
        let mut applied = self.inner.applied.subscribe();
        let reached = matches!(
            tokio::time::timeout(APPLY_TIMEOUT, applied.wait_for(|p| *p >= id)).await,
            Ok(Ok(_))
        );
        if reached {
            Ok(())
        } else {
            Err(DispatchError::Backend(
                "this instance is not following the log".into(),
            ))
        }
    }
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        self.follower.abort();
        if self.ephemeral {
            if let Ok(mut c) = self.client.get_connection() {
                let _: Result<(), _> = redis::cmd("DEL").arg(&self.inner.keys.log).query(&mut c);
            }
        }
    }
}

impl Inner {
    fn lock_engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_waiters(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Outcome>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a request of this instance; its outcome arrives on the receiver.
    fn expect_outcome(&self) -> (u64, oneshot::Receiver<Outcome>) {
        let request = self
            .next_request
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock_waiters().insert(request, tx);
        (request, rx)
    }

    fn request_tag(&self, request: u64) -> String {
        format!("{}/{request}", self.instance)
    }

    /// The request number in `tag` if this instance made it.
    fn own_request(&self, tag: &[u8]) -> Option<u64> {
        let (instance, n) = std::str::from_utf8(tag).ok()?.split_once('/')?;
        (instance == self.instance)
            .then(|| n.parse().ok())
            .flatten()
    }

    fn publish(&self, events: &[Event]) {
        if self.events.receiver_count() == 0 {
            return;
        }
        for e in events {
            let _ = self.events.send(e.clone());
        }
    }

    /// Reads and applies up to one batch after `tip`; returns how many entries it applied.
    async fn read_batch(
        &self,
        conn: &mut MultiplexedConnection,
        tip: &mut Position,
        block: Option<Duration>,
    ) -> redis::RedisResult<usize> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(READ_BATCH);
        if let Some(b) = block {
            cmd.arg("BLOCK").arg(b.as_millis() as u64);
        }
        cmd.arg("STREAMS")
            .arg(&self.keys.log)
            .arg(format!("{}-{}", tip.0, tip.1));
        let reply: Value = cmd.query_async(conn).await?;
        let mut n = 0;
        for entry in stream_entries(reply) {
            let Some(p) = Position::parse(&entry.id) else {
                continue;
            };
            self.apply_entry(p, &entry);
            *tip = p;
            self.applied.send_replace(p);
            n += 1;
        }
        Ok(n)
    }

    /// Applies one log entry to this replica: the timers due at its instant, then its command.
    fn apply_entry(&self, at: Position, entry: &Entry) {
        let now = Timestamp::from_millis(at.0 as i64);
        let request = entry.field("r").and_then(|r| self.own_request(r));
        let mut engine = self.lock_engine();
        let fired = engine.fire_due(now);
        self.publish(&fired);
        let outcome = match entry.field("k") {
            Some(b"c") => match entry.field("p").map(serde_json::from_slice::<Command>) {
                Some(Ok(command)) => {
                    let outcome = engine.apply(command, now);
                    if let Ok(events) = &outcome {
                        self.publish(events);
                    }
                    outcome
                }
                _ => {
                    tracing::error!(entry = %entry.id, "unreadable command in the log; skipped");
                    Err(DispatchError::Backend("unreadable command".into()))
                }
            },
            _ => Ok(fired),
        };
        drop(engine);
        if let Some(tx) = request.and_then(|r| self.lock_waiters().remove(&r)) {
            let _ = tx.send(outcome);
        }
    }
}

/// One stream entry as read: its id and its fields, raw.
struct Entry {
    id: String,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

fn bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        _ => None,
    }
}

/// The entries of a one-stream `XREAD` reply (`[[key, [[id, [f, v, …]], …]]]`, or a map
/// under RESP3); nil (a timed-out block) gives none.
fn stream_entries(reply: Value) -> Vec<Entry> {
    let streams = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(kv) => kv.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for entries in streams {
        let Value::Array(entries) = entries else {
            continue;
        };
        for entry in entries {
            let Value::Array(mut parts) = entry else {
                continue;
            };
            if parts.len() != 2 {
                continue;
            }
            let (Some(Value::Array(kvs)), Some(id)) = (parts.pop(), parts.pop().and_then(bytes))
            else {
                continue;
            };
            let mut fields = Vec::with_capacity(kvs.len() / 2);
            let mut it = kvs.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if let (Some(k), Some(v)) = (bytes(k), bytes(v)) {
                    fields.push((k, v));
                }
            }
            out.push(Entry {
                id: String::from_utf8_lossy(&id).into_owned(),
                fields,
            });
        }
    }
    out
}

async fn follower_connection(client: &Client) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new().set_response_timeout(Some(READ_BLOCK * 5));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Follows the log for the lifetime of the backend, reconnecting after errors.
async fn follow(
    inner: Arc<Inner>,
    client: Client,
    mut conn: MultiplexedConnection,
    mut tip: Position,
) {
    loop {
        match inner
            .read_batch(&mut conn, &mut tip, Some(READ_BLOCK))
            .await
        {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "command log read failed; reconnecting");
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    match follower_connection(&client).await {
                        Ok(c) => {
                            conn = c;
                            break;
                        }
                        Err(e) => tracing::warn!(error = %e, "redis reconnect failed"),
                    }
                }
            }
        }
    }
}

fn backend(e: impl std::fmt::Display) -> DispatchError {
    DispatchError::Backend(e.to_string())
}

impl QueueBackend for RedisBackend {
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    async fn execute(&self, command: Command, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let payload = serde_json::to_string(&command).map_err(backend)?;
        let (request, rx) = self.submit(payload, now).await?;
        self.await_outcome(request, rx).await
    }

    async fn fire_due(&self, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let (request, rx) = self.inner.expect_outcome();
        let mut conn = self.inner.conn.clone();
        let reply: Result<(i64, String), _> = self
            .inner
            .tick
            .key(&self.inner.keys.log)
            .arg(now.as_millis().max(0))
            .arg(self.inner.request_tag(request))
            .invoke_async(&mut conn)
            .await;
        match reply {
            Ok((1, _)) => self.await_outcome(request, rx).await,
            Ok((_, tip)) => {
                self.inner.lock_waiters().remove(&request);
                // Someone else's entry at or after `now` fires the timers; wait to have seen it.
                let tip = Position::parse(&tip).unwrap_or_default();
                self.caught_up(tip).await?;
                Ok(Vec::new())
            }
            Err(e) => {
                self.inner.lock_waiters().remove(&request);
                Err(backend(e))
            }
        }
    }

    async fn next_deadline(&self) -> Result<Option<Timestamp>, DispatchError> {
        Ok(self.inner.lock_engine().next_deadline())
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactState>, DispatchError> {
        Ok(self.inner.lock_engine().contact(id))
    }

    async fn agent_status(&self, id: &AgentId) -> Result<Option<AgentStatus>, DispatchError> {
        Ok(self.inner.lock_engine().agent_status(id))
    }

    async fn position(
        &self,
        id: ContactId,
        now: Timestamp,
    ) -> Result<Option<QueuePosition>, DispatchError> {
        Ok(self.inner.lock_engine().position(id, now))
    }

    async fn queue_snapshot(
        &self,
        id: &QueueId,
        now: Timestamp,
    ) -> Result<Option<QueueSnapshot>, DispatchError> {
        Ok(self.inner.lock_engine().queue_snapshot(id, now))
    }
}
