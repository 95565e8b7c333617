//! The Redis backend: one deterministic engine, replicated through a Redis Stream.
//!
//! Every command is appended — by one atomic Lua script that also keeps the log's clock
//! monotonic — to a per-tenant stream, the **command log**. Every instance follows the log and
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
    streams::{StreamId, StreamReadOptions, StreamReadReply},
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

/// Appends one entry at `max(now, log clock)`; returns its id.
const APPEND: &str = r"
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < last then now = last end
redis.call('SET', KEYS[2], now)
return redis.call('XADD', KEYS[1], '*', 't', now, 'k', ARGV[2], 'r', ARGV[3], 'p', ARGV[4])
";

/// Appends a tick at `now` unless an entry at or after `now` exists already. Returns
/// `{1, id}` for a new tick, `{0, id of the newest entry}` otherwise.
const TICK: &str = r"
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if now <= last then
  local tip = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if tip[1] then return {0, tip[1][1]} end
  return {0, '0-0'}
end
redis.call('SET', KEYS[2], now)
return {1, redis.call('XADD', KEYS[1], '*', 't', now, 'k', 't', 'r', ARGV[2], 'p', '')}
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
    clock: String,
}

impl Keys {
    fn new(namespace: &str) -> Self {
        Self {
            log: format!("switchboard:{{{namespace}}}:log"),
            clock: format!("switchboard:{{{namespace}}}:clock"),
        }
    }
}

struct Inner {
    keys: Keys,
    conn: ConnectionManager,
    engine: Mutex<Engine>,
    events: broadcast::Sender<Event>,
    waiters: Mutex<HashMap<Uuid, oneshot::Sender<Outcome>>>,
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

    async fn submit(
        &self,
        kind: &str,
        payload: String,
        now: Timestamp,
    ) -> Result<(String, Uuid, oneshot::Receiver<Outcome>), DispatchError> {
        let request = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        self.inner.lock_waiters().insert(request, tx);
        let mut conn = self.inner.conn.clone();
        let id: Result<String, _> = self
            .inner
            .append
            .key(&self.inner.keys.log)
            .key(&self.inner.keys.clock)
            .arg(now.as_millis())
            .arg(kind)
            .arg(request.to_string())
            .arg(payload)
            .invoke_async(&mut conn)
            .await;
        match id {
            Ok(id) => Ok((id, request, rx)),
            Err(e) => {
                self.inner.lock_waiters().remove(&request);
                Err(backend(e))
            }
        }
    }

    async fn await_outcome(&self, request: Uuid, rx: oneshot::Receiver<Outcome>) -> Outcome {
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
                    .arg(&self.inner.keys.log)
                    .arg(&self.inner.keys.clock)
                    .query(&mut c);
            }
        }
    }
}

impl Inner {
    fn lock_engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_waiters(&self) -> MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Outcome>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, events: &[Event]) {
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
        let mut opts = StreamReadOptions::default().count(READ_BATCH);
        if let Some(b) = block {
            opts = opts.block(b.as_millis() as usize);
        }
        let from = format!("{}-{}", tip.0, tip.1);
        let reply: Option<StreamReadReply> = conn
            .xread_options(&[&self.keys.log], &[&from], &opts)
            .await?;
        let mut n = 0;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                if let Some(p) = Position::parse(&entry.id) {
                    self.apply_entry(&entry);
                    *tip = p;
                    self.applied.send_replace(p);
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Applies one log entry to this replica: the timers due at its instant, then its command.
    fn apply_entry(&self, entry: &StreamId) {
        let field = |name: &str| -> Option<String> {
            entry
                .map
                .get(name)
                .and_then(|v: &Value| redis::from_redis_value_ref::<String>(v).ok())
        };
        let Some(now) = field("t")
            .and_then(|t| t.parse::<f64>().ok())
            .map(|t| Timestamp::from_millis(t as i64))
        else {
            tracing::error!(entry = %entry.id, "log entry without a time; skipped");
            return;
        };
        let request = field("r").and_then(|r| Uuid::parse_str(&r).ok());
        let kind = field("k").unwrap_or_default();
        let mut engine = self.lock_engine();
        let fired = engine.fire_due(now);
        self.publish(&fired);
        let outcome = match kind.as_str() {
            "c" => match field("p").map(|p| serde_json::from_str::<Command>(&p)) {
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
        let (_, request, rx) = self.submit("c", payload, now).await?;
        self.await_outcome(request, rx).await
    }

    async fn fire_due(&self, now: Timestamp) -> Result<Vec<Event>, DispatchError> {
        let request = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        self.inner.lock_waiters().insert(request, tx);
        let mut conn = self.inner.conn.clone();
        let reply: Result<(i64, String), _> = self
            .inner
            .tick
            .key(&self.inner.keys.log)
            .key(&self.inner.keys.clock)
            .arg(now.as_millis())
            .arg(request.to_string())
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
