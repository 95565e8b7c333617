//! Which agents have a console open, across every instance of a tenant.
//!
//! An agent may hold consoles on several instances at once (two tabs, or a reconnect that
//! landed elsewhere); "their last console closed" must mean *anywhere*, and an instance that
//! dies without saying goodbye must not leave its agents logged in. The [`ConsoleRegistry`]
//! keeps, per instance, how many consoles each agent has open on it:
//!
//! - in process (no Redis) the local counts are the whole truth;
//! - over Redis (the same connection, namespace and hash tag `{ns}` as the command log) each
//!   instance publishes its counts in a hash `switchboard:{ns}:consoles:on:<instance>` and keeps
//!   a heartbeat key `…:consoles:alive:<instance>` with a TTL; the set `…:consoles:instances`
//!   lists who published. An instance whose heartbeat expired is dead: [`ConsoleRegistry::sweep`]
//!   removes its entries (one atomic script, so concurrent sweeps by several instances are
//!   harmless: exactly one of them gets the dead instance's agents) and returns the agents left
//!   with no console on any live instance, for the caller to set away.
//!
//! Every write of an instance's own entries goes through one lock, in order, and states the
//! absolute count (from the local truth), so the shared view never drifts from the local one.
//! An instance that was swept while still alive (stalled past the TTL) notices at its next
//! write or heartbeat and publishes its counts again.
//!
//! This module knows nothing of WebSockets or of what "away" means: it counts and answers.

use std::{collections::HashMap, time::Duration};

use redis::{aio::ConnectionManager, Script};
use switchboard_domain::AgentId;

use crate::DispatchError;

/// Removes a dead instance's entries and returns the agents it had consoles for — unless its
/// heartbeat is back (it was only slow), or another sweep got there first (nothing left).
const SWEEP: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local agents = redis.call('HKEYS', KEYS[3])
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
return agents
";

/// Timing of the heartbeats.
#[derive(Debug, Clone, Copy)]
pub struct PresenceOptions {
    /// How often an instance refreshes its heartbeat (and sweeps for dead instances).
    pub heartbeat_every: Duration,
    /// How long a heartbeat lives: an instance silent this long is dead.
    pub expire_after: Duration,
}

impl Default for PresenceOptions {
    fn default() -> Self {
        Self {
            heartbeat_every: Duration::from_secs(2),
            expire_after: Duration::from_secs(6),
        }
    }
}

/// This instance's own consoles: the truth for its entries in the shared view.
#[derive(Debug, Default)]
struct Local {
    counts: HashMap<AgentId, usize>,
    /// Published to the shared view at least once (a later re-registration means we were
    /// swept meanwhile).
    registered: bool,
    /// Shut down: no more entries are published.
    left: bool,
    /// A write of the shared view failed: the next heartbeat publishes every count again.
    dirty: bool,
}

#[derive(Debug, Clone)]
struct Keys {
    instances: String,
    /// Prefix of the heartbeat keys, `…:consoles:alive:` + instance.
    alive: String,
    /// Prefix of the per-instance count hashes, `…:consoles:on:` + instance.
    on: String,
}

impl Keys {
    fn new(namespace: &str) -> Self {
        let key = |name: &str| format!("switchboard:{{{namespace}}}:consoles:{name}");
        Self {
            instances: key("instances"),
            alive: key("alive:"),
            on: key("on:"),
        }
    }

    fn alive(&self, instance: &str) -> String {
        format!("{}{instance}", self.alive)
    }

    fn on(&self, instance: &str) -> String {
        format!("{}{instance}", self.on)
    }
}

struct Shared {
    conn: ConnectionManager,
    keys: Keys,
    instance: String,
    sweep: Script,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("keys", &self.keys)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Open agent consoles per instance; see the module documentation.
#[derive(Debug)]
pub struct ConsoleRegistry {
    /// Held across the write of the shared view, so writes reach Redis in local order.
    local: tokio::sync::Mutex<Local>,
    shared: Option<Shared>,
    options: PresenceOptions,
}

impl Default for ConsoleRegistry {
    fn default() -> Self {
        Self::in_process()
    }
}

impl ConsoleRegistry {
    /// One instance alone: local counts are the truth; there is nobody to sweep.
    pub fn in_process() -> Self {
        Self {
            local: tokio::sync::Mutex::default(),
            shared: None,
            options: PresenceOptions::default(),
        }
    }

    /// The registry of `namespace` on the Redis at `url`, as instance `instance`.
    pub async fn connect(
        url: &str,
        namespace: &str,
        instance: &str,
        options: PresenceOptions,
    ) -> Result<Self, DispatchError> {
        crate::redis_conn::check_namespace(namespace)?;
        let conn = crate::redis_conn::connection_manager(url).await?;
        Self::over(conn, namespace, instance, options)
    }

    /// Over an existing connection (the Redis backend's).
    pub(crate) fn over(
        conn: ConnectionManager,
        namespace: &str,
        instance: &str,
        options: PresenceOptions,
    ) -> Result<Self, DispatchError> {
        if instance.is_empty() || !instance.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(switchboard_domain::ValidationError::new(
                "instance",
                "must be letters and digits only",
            )
            .into());
        }
        if options.heartbeat_every.is_zero() || options.expire_after <= options.heartbeat_every {
            return Err(switchboard_domain::ValidationError::new(
                "expire_after",
                "must be longer than the (non-zero) heartbeat interval",
            )
            .into());
        }
        Ok(Self {
            local: tokio::sync::Mutex::default(),
            shared: Some(Shared {
                conn,
                keys: Keys::new(namespace),
                instance: instance.to_owned(),
                sweep: Script::new(SWEEP),
            }),
            options,
        })
    }

    /// This instance's id in the shared view (none in process).
    pub fn instance(&self) -> Option<&str> {
        self.shared.as_ref().map(|s| s.instance.as_str())
    }

    pub fn options(&self) -> PresenceOptions {
        self.options
    }

    /// Whether instances share the registry (and must heartbeat and sweep).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// A console of `agent` opened on this instance.
    pub async fn opened(&self, agent: &AgentId) -> Result<(), DispatchError> {
        let mut local = self.local.lock().await;
        if local.left {
            return Ok(());
        }
        let n = {
            let n = local.counts.entry(agent.clone()).or_default();
            *n += 1;
            *n
        };
        self.publish(&mut local, agent, n).await
    }

    /// A console of `agent` closed on this instance. True when that was their last console
    /// on any live instance (the caller sets them away). After [`ConsoleRegistry::leave`],
    /// always false: leaving dealt with every agent.
    pub async fn closed(&self, agent: &AgentId) -> Result<bool, DispatchError> {
        let remaining = {
            let mut local = self.local.lock().await;
            if local.left {
                return Ok(false);
            }
            let n = match local.counts.get_mut(agent) {
                Some(n) => {
                    *n = n.saturating_sub(1);
                    *n
                }
                None => 0,
            };
            if n == 0 {
                local.counts.remove(agent);
            }
            self.publish(&mut local, agent, n).await?;
            n
        };
        if remaining > 0 {
            return Ok(false);
        }
        Ok(!self.elsewhere(agent).await?)
    }

    /// Whether `agent` has a console open on this instance.
    pub async fn has_local_console(&self, agent: &AgentId) -> bool {
        self.local
            .lock()
            .await
            .counts
            .get(agent)
            .is_some_and(|n| *n > 0)
    }

    /// Whether `agent` has a console open here or on another live instance.
    pub async fn has_console(&self, agent: &AgentId) -> Result<bool, DispatchError> {
        Ok(self.has_local_console(agent).await || self.elsewhere(agent).await?)
    }

    /// Refreshes this instance's heartbeat (publishing its counts again if it had been swept).
    pub async fn heartbeat(&self) -> Result<(), DispatchError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let mut local = self.local.lock().await;
        if local.left {
            return Ok(());
        }
        let mut conn = shared.conn.clone();
        let added: i64 = self
            .beat(shared)
            .query_async::<(i64,)>(&mut conn)
            .await
            .map_err(backend)?
            .0;
        self.after_beat(&mut local, added).await
    }

    /// Finds instances whose heartbeat expired, removes their entries, and returns the agents
    /// they had consoles for that now have none on any live instance. Several instances may
    /// sweep at once: each dead instance's agents are returned to one of them.
    pub async fn sweep(&self) -> Result<Vec<AgentId>, DispatchError> {
        let Some(shared) = &self.shared else {
            return Ok(Vec::new());
        };
        let mut conn = shared.conn.clone();
        let others = self.other_instances(shared).await?;
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for i in &others {
            pipe.exists(shared.keys.alive(i));
        }
        let alive: Vec<bool> = pipe.query_async(&mut conn).await.map_err(backend)?;
        let mut orphans = Vec::new();
        for (dead, _) in others.iter().zip(alive).filter(|(_, alive)| !alive) {
            let agents: Vec<String> = shared
                .sweep
                .key(&shared.keys.instances)
                .key(shared.keys.alive(dead))
                .key(shared.keys.on(dead))
                .arg(dead)
                .invoke_async(&mut conn)
                .await
                .map_err(backend)?;
            if !agents.is_empty() {
                tracing::warn!(
                    instance = %dead,
                    consoles_of = agents.len(),
                    "an instance stopped its heartbeat; its consoles count as closed"
                );
            }
            for agent in agents {
                let Ok(agent) = AgentId::parse(&agent) else {
                    continue;
                };
                if !orphans.contains(&agent) && !self.has_console(&agent).await? {
                    orphans.push(agent);
                }
            }
        }
        Ok(orphans)
    }

    /// A clean shutdown: removes this instance's entries and heartbeat and returns the agents
    /// that had a console here and have none on another live instance. Later opens and closes
    /// change nothing.
    pub async fn leave(&self) -> Result<Vec<AgentId>, DispatchError> {
        let mine: Vec<AgentId> = {
            let mut local = self.local.lock().await;
            local.left = true;
            let mine = local
                .counts
                .drain()
                .filter(|(_, n)| *n > 0)
                .map(|(a, _)| a)
                .collect();
            if let Some(shared) = &self.shared {
                let mut conn = shared.conn.clone();
                redis::pipe()
                    .atomic()
                    .del(shared.keys.on(&shared.instance))
                    .del(shared.keys.alive(&shared.instance))
                    .srem(&shared.keys.instances, &shared.instance)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(backend)?;
            }
            mine
        };
        let mut orphans = Vec::new();
        for agent in mine {
            if !self.elsewhere(&agent).await? {
                orphans.push(agent);
            }
        }
        Ok(orphans)
    }

    /// Writes this instance's count for `agent` (and its heartbeat) to the shared view.
    async fn publish(
        &self,
        local: &mut Local,
        agent: &AgentId,
        n: usize,
    ) -> Result<(), DispatchError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let mut pipe = self.beat(shared);
        let on = shared.keys.on(&shared.instance);
        if n > 0 {
            pipe.hset(&on, agent.as_str(), n).ignore();
        } else {
            pipe.hdel(&on, agent.as_str()).ignore();
        }
        let mut conn = shared.conn.clone();
        match pipe.query_async::<(i64,)>(&mut conn).await {
            Ok((added,)) => self.after_beat(local, added).await,
            Err(e) => {
                local.dirty = true;
                Err(backend(e))
            }
        }
    }

    /// A transaction refreshing the heartbeat and the membership; answers SADD's count.
    fn beat(&self, shared: &Shared) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(shared.keys.alive(&shared.instance))
            .arg(1)
            .arg("PX")
            .arg(self.options.expire_after.as_millis() as u64)
            .ignore()
            .sadd(&shared.keys.instances, &shared.instance);
        pipe
    }

    /// After a heartbeat: if this instance was (re-)added to the set although it had been
    /// registered, someone swept it as dead: publish every count again.
    async fn after_beat(&self, local: &mut Local, added: i64) -> Result<(), DispatchError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let swept = added == 1 && local.registered;
        local.registered = true;
        if swept {
            tracing::warn!(
                instance = %shared.instance,
                "this instance was taken for dead (heartbeat late); publishing its consoles again"
            );
        } else if !local.dirty {
            return Ok(());
        }
        let on = shared.keys.on(&shared.instance);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&on).ignore();
        for (agent, n) in &local.counts {
            pipe.hset(&on, agent.as_str(), *n).ignore();
        }
        let mut conn = shared.conn.clone();
        let written = pipe.query_async::<()>(&mut conn).await.map_err(backend);
        local.dirty = written.is_err();
        written
    }

    /// Every other instance that published entries.
    async fn other_instances(&self, shared: &Shared) -> Result<Vec<String>, DispatchError> {
        let mut conn = shared.conn.clone();
        let all: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&shared.keys.instances)
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        Ok(all.into_iter().filter(|i| *i != shared.instance).collect())
    }

    /// Whether `agent` has a console on another instance whose heartbeat is alive.
    async fn elsewhere(&self, agent: &AgentId) -> Result<bool, DispatchError> {
        let Some(shared) = &self.shared else {
            return Ok(false);
        };
        let others = self.other_instances(shared).await?;
        if others.is_empty() {
            return Ok(false);
        }
        let mut pipe = redis::pipe();
        for i in &others {
            pipe.exists(shared.keys.alive(i))
                .hget(shared.keys.on(i), agent.as_str());
        }
        let mut conn = shared.conn.clone();
        // Flat: per instance, EXISTS (0 or 1) then its count (nil if none).
        let replies: Vec<Option<u64>> = pipe.query_async(&mut conn).await.map_err(backend)?;
        Ok(replies
            .chunks(2)
            .any(|r| matches!(r, [Some(1), Some(n)] if *n > 0)))
    }
}

fn backend(e: impl std::fmt::Display) -> DispatchError {
    DispatchError::Backend(e.to_string())
}
