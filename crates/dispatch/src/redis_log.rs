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
//! - Snapshots: every `snapshot_every` entries (10,000 by default) an instance stores its
//!   replica's full state at that log position and trims the log before the *previous*
//!   snapshot. A joining instance loads the latest snapshot and replays only what follows; one
//!   that fell more than an interval behind notices the trim and reloads the snapshot.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use redis::{
    aio::{ConnectionManager, MultiplexedConnection},
    AsyncCommands, AsyncConnectionConfig, Client, Script, Value,
};
use switchboard_domain::{
    AgentId, AgentStatus, Channel, Command, ContactId, ContactState, Event, QueueId, Timestamp,
};
use tokio::{
    sync::{broadcast, oneshot, watch},
    task::JoinHandle,
};
use uuid::Uuid;

use crate::{
    redis_conn::{backend, check_namespace, manager},
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

/// Makes the snapshot staged in KEYS[5] (taken at position ARGV[1]) the stored one unless a
/// later one is stored, then trims the log before the *previous* snapshot — and never the last
/// ARGV[2] milliseconds of log time — so that instances a whole interval (or a burst) behind
/// still find their next entries, and records how far it trimmed. Returns 1 if stored. The
/// snapshot itself (megabytes for a large center) is written by a plain `SET` beforehand,
/// which Redis reads in pieces between other clients' commands: a script carrying it would
/// hold every other client for tens of milliseconds.
const SAVE: &str = r"
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local prev = redis.call('GET', KEYS[3])
if prev and not before(prev, ARGV[1]) then
  redis.call('UNLINK', KEYS[5])
  return 0
end
if redis.call('EXISTS', KEYS[5]) == 0 then return 0 end
redis.call('RENAME', KEYS[5], KEYS[2])
redis.call('PERSIST', KEYS[2])
redis.call('SET', KEYS[3], ARGV[1])
if prev then
  -- Keep at least ARGV[2] ms of log before this snapshot, whatever the previous one says.
  local cutoff = tonumber(string.match(ARGV[1], '^(%d+)')) - tonumber(ARGV[2])
  local trim = prev
  if tonumber(string.match(prev, '^(%d+)')) > cutoff then trim = string.format('%.0f-0', math.max(cutoff, 0)) end
  redis.call('XTRIM', KEYS[1], 'MINID', trim)
  redis.call('SET', KEYS[4], trim)
end
return 1
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
    /// The engine snapshot JSON: the state after applying the log up to `snapshot_at`.
    snapshot: String,
    /// The position of the stored snapshot, cheap to poll (read with `snapshot` in one `MGET`).
    snapshot_at: String,
    /// Entries before this position are gone from the log.
    trimmed_to: String,
}

impl Keys {
    fn new(namespace: &str) -> Self {
        let key = |name: &str| format!("switchboard:{{{namespace}}}:{name}");
        Self {
            log: key("log"),
            snapshot: key("snapshot"),
            snapshot_at: key("snapshot-at"),
            trimmed_to: key("trimmed-to"),
        }
    }

    fn all(&self) -> [&str; 4] {
        [
            &self.log,
            &self.snapshot,
            &self.snapshot_at,
            &self.trimmed_to,
        ]
    }
}

/// Settings of a Redis backend instance.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Save a snapshot (and trim the log before the previous one) every this many entries.
    pub snapshot_every: u64,
    /// Log kept before each snapshot at the least, in log time: an instance this far behind
    /// still catches up entry by entry instead of reloading a snapshot (and skipping the
    /// events in between).
    pub keep_log: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            snapshot_every: 10_000,
            keep_log: Duration::from_secs(300),
        }
    }
}

struct Inner {
    keys: Keys,
    namespace: String,
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
    save: Script,
    options: RedisOptions,
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
    /// Joins (or starts) the dispatcher of `namespace` on the Redis at `url`: loads the latest
    /// snapshot, replays the log after it, and returns once caught up.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, DispatchError> {
        Self::connect_with(url, namespace, RedisOptions::default()).await
    }

    /// [`RedisBackend::connect`] with explicit settings.
    pub async fn connect_with(
        url: &str,
        namespace: &str,
        options: RedisOptions,
    ) -> Result<Self, DispatchError> {
        check_namespace(namespace)?;
        let client = Client::open(url).map_err(backend)?;
        let conn = manager(&client).await?;
        let inner = Arc::new(Inner {
            keys: Keys::new(namespace),
            namespace: namespace.to_owned(),
            conn,
            engine: Mutex::new(Engine::new()),
            events: broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
            instance: Uuid::new_v4().simple().to_string(),
            next_request: std::sync::atomic::AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            applied: watch::channel(Position::default()).0,
            append: Script::new(APPEND),
            tick: Script::new(TICK),
            save: Script::new(SAVE),
            options,
        });
        // Catch up with what is there before serving.
        let mut follower = Follower {
            inner: inner.clone(),
            conn: follower_connection(&client).await.map_err(backend)?,
            tip: Position::default(),
            since_snapshot: 0,
            snapshot_seen: None,
        };
        follower.load_snapshot().await?;
        loop {
            match follower.read_batch(None).await.map_err(backend)? {
                Batch::Behind => follower.load_snapshot().await?,
                Batch::Applied(n) if n < READ_BATCH => break,
                Batch::Applied(_) => {}
            }
        }
        let follower = tokio::spawn(follow(follower, client.clone()));
        Ok(Self {
            inner,
            follower,
            client,
            ephemeral: false,
        })
    }

    /// Like [`RedisBackend::connect`], for tests: the namespace's keys are deleted on drop.
    pub async fn ephemeral(url: &str, namespace: &str) -> Result<Self, DispatchError> {
        Self::ephemeral_with(url, namespace, RedisOptions::default()).await
    }

    /// [`RedisBackend::ephemeral`] with explicit settings.
    pub async fn ephemeral_with(
        url: &str,
        namespace: &str,
        options: RedisOptions,
    ) -> Result<Self, DispatchError> {
        let mut b = Self::connect_with(url, namespace, options).await?;
        b.ephemeral = true;
        Ok(b)
    }

    /// The registry of open agent consoles of this tenant, over this backend's connection,
    /// with this instance's id.
    pub fn console_registry(
        &self,
        options: crate::PresenceOptions,
    ) -> Result<crate::ConsoleRegistry, DispatchError> {
        crate::ConsoleRegistry::over(
            self.inner.conn.clone(),
            &self.inner.namespace,
            &self.inner.instance,
            options,
        )
    }

    /// This replica's full state, as a snapshot would store it.
    pub fn engine_snapshot(&self) -> crate::EngineSnapshot {
        self.inner.lock_engine().snapshot()
    }

    /// Bytes Redis uses for the command log and for the stored snapshot.
    pub async fn memory_usage(&self) -> Result<(u64, u64), DispatchError> {
        let conn = self.inner.conn.clone();
        let usage = |key: String| {
            let mut conn = conn.clone();
            async move {
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0)
                    .query_async::<Option<u64>>(&mut conn)
                    .await
                    .map(Option::unwrap_or_default)
                    .map_err(backend)
            }
        };
        let log = usage(self.inner.keys.log.clone()).await?;
        let snapshot = usage(self.inner.keys.snapshot.clone()).await?;
        Ok((log, snapshot))
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
                let _: Result<(), _> = redis::cmd("DEL")
                    .arg(&self.inner.keys.all()[..])
                    .query(&mut c);
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
                    let outcome = engine.apply(command, now).map_err(DispatchError::from);
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

/// What one read of the log found.
enum Batch {
    Applied(usize),
    /// Entries this replica still needs were trimmed: it must reload a snapshot.
    Behind,
}

/// The task that keeps one replica in step with the log.
struct Follower {
    inner: Arc<Inner>,
    conn: MultiplexedConnection,
    tip: Position,
    since_snapshot: u64,
    snapshot_seen: Option<String>,
}

impl Follower {
    /// Reads and applies up to one batch after `tip`. The same round trip reads how far the
    /// log was trimmed (after the read, so a trim during a blocking read is noticed) and where
    /// the latest snapshot is.
    async fn read_batch(&mut self, block: Option<Duration>) -> redis::RedisResult<Batch> {
        let keys = &self.inner.keys;
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT").arg(READ_BATCH);
        if let Some(b) = block {
            read.arg("BLOCK").arg(b.as_millis() as u64);
        }
        read.arg("STREAMS")
            .arg(&keys.log)
            .arg(format!("{}-{}", self.tip.0, self.tip.1));
        let mut pipe = redis::pipe();
        pipe.add_command(read)
            .cmd("GET")
            .arg(&keys.trimmed_to)
            .cmd("GET")
            .arg(&keys.snapshot_at);
        let (reply, trimmed, snapshot_at): (Value, Option<String>, Option<String>) =
            pipe.query_async(&mut self.conn).await?;
        if trimmed
            .as_deref()
            .and_then(Position::parse)
            .is_some_and(|t| t > self.tip)
        {
            return Ok(Batch::Behind);
        }
        if snapshot_at != self.snapshot_seen {
            // Someone saved: count from here.
            self.snapshot_seen = snapshot_at;
            self.since_snapshot = 0;
        }
        let mut n = 0;
        for entry in stream_entries(reply) {
            let Some(p) = Position::parse(&entry.id) else {
                continue;
            };
            self.inner.apply_entry(p, &entry);
            self.tip = p;
            self.inner.applied.send_replace(p);
            n += 1;
        }
        self.since_snapshot += n as u64;
        if self.since_snapshot >= self.inner.options.snapshot_every {
            self.since_snapshot = 0;
            self.save_snapshot();
        }
        Ok(Batch::Applied(n))
    }

    /// Saves the replica's state at `tip`, off the follower's path: the engine is cloned
    /// under the lock (fast), serialised on a blocking thread and stored by a separate task.
    fn save_snapshot(&self) {
        let engine = self.inner.lock_engine().clone();
        let at = format!("{}-{}", self.tip.0, self.tip.1);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            // Serialising a large center takes tens of milliseconds of CPU: on a blocking
            // thread, so the runtime's workers keep serving hooks and consoles meanwhile.
            let json =
                tokio::task::spawn_blocking(move || serde_json::to_string(&engine.snapshot()))
                    .await;
            let json = match json {
                Ok(Ok(json)) => json,
                Ok(Err(e)) => return tracing::error!(error = %e, "snapshot serialisation failed"),
                Err(e) => return tracing::error!(error = %e, "snapshot serialisation panicked"),
            };
            let mut conn = inner.conn.clone();
            // Staged under a key of its own (expiring, should this instance die before the
            // swap), then swapped in by the script.
            let staging = format!(
                "{}-staging:{}",
                inner.keys.snapshot,
                uuid::Uuid::new_v4().simple()
            );
            let staged: redis::RedisResult<()> = redis::cmd("SET")
                .arg(&staging)
                .arg(json)
                .arg("PX")
                .arg(60_000)
                .query_async(&mut conn)
                .await;
            if let Err(e) = staged {
                return tracing::warn!(error = %e, "saving a snapshot failed");
            }
            let stored: redis::RedisResult<i64> = inner
                .save
                .key(&inner.keys.log)
                .key(&inner.keys.snapshot)
                .key(&inner.keys.snapshot_at)
                .key(&inner.keys.trimmed_to)
                .key(&staging)
                .arg(&at)
                .arg(inner.options.keep_log.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            match stored {
                Ok(1) => {
                    tracing::debug!(at = %at, "snapshot saved; log trimmed before the previous one")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "saving a snapshot failed"),
            }
        });
    }

    /// Replaces the replica with the stored snapshot, if there is one, and reads on from its
    /// position. Subscribers miss the events in between (as after a `Lagged`).
    async fn load_snapshot(&mut self) -> Result<(), DispatchError> {
        // Position and snapshot in one command, so that a save in between cannot pair them
        // wrongly.
        let (at, json): (Option<String>, Option<String>) = redis::cmd("MGET")
            .arg(&self.inner.keys.snapshot_at)
            .arg(&self.inner.keys.snapshot)
            .query_async(&mut self.conn)
            .await
            .map_err(backend)?;
        let (Some(at), Some(json)) = (at, json) else {
            return Ok(());
        };
        let at = Position::parse(&at)
            .ok_or_else(|| DispatchError::Backend("malformed snapshot position".into()))?;
        if at <= self.tip {
            return Ok(());
        }
        let snapshot = serde_json::from_str(&json)
            .map_err(|e| DispatchError::Backend(format!("unreadable snapshot: {e}")))?;
        let engine = Engine::restore(snapshot)?;
        *self.inner.lock_engine() = engine;
        self.tip = at;
        self.inner.applied.send_replace(at);
        tracing::info!(at = %format!("{}-{}", at.0, at.1), "replica loaded from snapshot");
        Ok(())
    }
}

/// Follows the log for the lifetime of the backend, reconnecting after errors.
async fn follow(mut f: Follower, client: Client) {
    loop {
        let outcome = match f.read_batch(Some(READ_BLOCK)).await {
            Ok(Batch::Applied(_)) => Ok(()),
            Ok(Batch::Behind) => {
                tracing::warn!("fell behind the trimmed log; reloading from the snapshot");
                f.load_snapshot().await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "following the command log failed; reconnecting");
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                match follower_connection(&client).await {
                    Ok(c) => {
                        f.conn = c;
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "redis reconnect failed"),
                }
            }
        }
    }
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

    async fn ping(&self) -> Result<(), DispatchError> {
        let mut conn = self.inner.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn next_deadline(&self) -> Result<Option<Timestamp>, DispatchError> {
        Ok(self.inner.lock_engine().next_deadline())
    }

    async fn contact(&self, id: ContactId) -> Result<Option<ContactState>, DispatchError> {
        Ok(self.inner.lock_engine().contact(id))
    }

    async fn contact_channel(&self, id: ContactId) -> Result<Option<Channel>, DispatchError> {
        Ok(self.inner.lock_engine().contact_channel(id))
    }

    async fn agent_status(&self, id: &AgentId) -> Result<Option<AgentStatus>, DispatchError> {
        Ok(self.inner.lock_engine().agent_status(id))
    }

    async fn agent_contacts(&self, id: &AgentId) -> Result<Vec<ContactId>, DispatchError> {
        Ok(self.inner.lock_engine().agent_contacts(id))
    }

    async fn agent_queues(&self, id: &AgentId) -> Result<Vec<QueueId>, DispatchError> {
        Ok(self.inner.lock_engine().agent_queues(id))
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
