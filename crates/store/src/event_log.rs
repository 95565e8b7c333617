//! The append-only event log: every dispatcher event once, idempotent by event id.

use std::sync::OnceLock;

use sqlx::AssertSqlSafe;
use switchboard_domain::{
    AgentId, ContactId, Event, EventId, EventKind, QueueId, Timestamp, TransferTarget,
};

use crate::{
    store::{with_reader, Pool},
    Store, StoreError,
};

/// Which events to read: every `Some` narrows the selection; results come in event order.
#[derive(Clone, Debug, PartialEq)]
pub struct EventFilter {
    /// Only events after this one (exclusive): where a reader stopped.
    pub after: Option<EventId>,
    /// Only events at or after this instant (inclusive).
    pub from: Option<Timestamp>,
    /// Only events before this instant (exclusive).
    pub to: Option<Timestamp>,
    pub contact: Option<ContactId>,
    /// Only events about this agent (see [`EventFilter`]'s note on transfers).
    pub agent: Option<AgentId>,
    pub queue: Option<QueueId>,
    /// An event kind's snake_case name, e.g. `contact_queued` (`EventKind::name`).
    pub kind: Option<String>,
    /// At most this many events, clamped to `1..=`[`EventFilter::MAX_LIMIT`].
    pub limit: u32,
}

impl EventFilter {
    pub const MAX_LIMIT: u32 = 1_000;
}

impl Default for EventFilter {
    /// Everything, [`EventFilter::MAX_LIMIT`] at a time.
    fn default() -> Self {
        Self {
            after: None,
            from: None,
            to: None,
            contact: None,
            agent: None,
            queue: None,
            kind: None,
            limit: Self::MAX_LIMIT,
        }
    }
}

/// The agent and queue an event is filed under (the contact is `EventKind::contact`).
/// A transfer is filed under the queue it left and the agent who had the contact (or, if
/// nobody had it, the agent it goes to); an overflow under the queue it left. The match is
/// exhaustive on purpose: a new kind of event must decide.
pub(crate) fn agent_and_queue(kind: &EventKind) -> (Option<&AgentId>, Option<&QueueId>) {
    use EventKind::*;
    match kind {
        AgentPresenceChanged { agent, .. } => (Some(agent), None),
        ContactQueued { queue, .. }
        | ContactRefused { queue, .. }
        | ContactAbandoned { queue, .. }
        | ContactExited { queue, .. }
        | CallbackRequested { queue, .. } => (None, Some(queue)),
        ContactOffered { agent, queue, .. }
        | OfferAccepted { agent, queue, .. }
        | OfferRejected { agent, queue, .. }
        | OfferTimedOut { agent, queue, .. }
        | OfferWithdrawn { agent, queue, .. }
        | ContactEnded { agent, queue, .. }
        | ContactCompleted { agent, queue, .. } => (Some(agent), Some(queue)),
        ContactHeld { agent, .. } | ContactResumed { agent, .. } => (Some(agent), None),
        ContactTransferred {
            from_queue,
            from_agent,
            to,
            ..
        } => {
            let agent = from_agent.as_ref().or(match to {
                TransferTarget::Agent(a) => Some(a),
                TransferTarget::Queue(_) => None,
            });
            (agent, Some(from_queue))
        }
        ContactOverflowed { from_queue, .. } => (None, Some(from_queue)),
        PriorityChanged { .. } => (None, None),
    }
}

/// An event as the columns of its row.
pub(crate) struct EventRow {
    pub(crate) event_id: i64,
    pub(crate) at: i64,
    pub(crate) kind: &'static str,
    pub(crate) contact_id: Option<String>,
    pub(crate) agent_id: Option<String>,
    pub(crate) queue_id: Option<String>,
    pub(crate) body: String,
}

impl EventRow {
    pub(crate) fn new(event: &Event) -> Result<Self, StoreError> {
        let event_id = i64::try_from(event.id.0).map_err(|_| {
            StoreError::Invalid(format!("event id {} is beyond i64::MAX", event.id.0))
        })?;
        let body = serde_json::to_string(event)
            .map_err(|e| StoreError::Invalid(format!("event {event_id}: {e}")))?;
        let (agent, queue) = agent_and_queue(&event.kind);
        Ok(Self {
            event_id,
            at: event.at.as_millis(),
            kind: event.kind.name(),
            contact_id: event.kind.contact().map(|c| c.to_string()),
            agent_id: agent.map(|a| a.as_str().to_owned()),
            queue_id: queue.map(|q| q.as_str().to_owned()),
            body,
        })
    }
}

/// Rows per multi-row INSERT on SQLite, largest first: a batch is cut greedily into
/// statements of these sizes, so however batches vary (the writer's do) only five statements
/// are ever prepared and cached. The largest has 3,500 parameters, far under SQLite's 32,766.
const SQLITE_ROWS_PER_INSERT: [usize; 5] = [500, 100, 25, 5, 1];
/// Rows per UNNEST insert on PostgreSQL: seven array parameters whatever the count; the
/// chunk only bounds one message's size.
const POSTGRES_ROWS_PER_INSERT: usize = 5_000;

/// `insert into event (…) values (?, ?, ?, ?, ?, ?, ?), (?, …), … on conflict (event_id) do
/// nothing` for `rows` rows, or without the conflict clause.
///
/// SQLite only, and with anonymous `?` placeholders rather than `$n`: SQLite treats `$n` as a
/// *named* parameter, and binding by name looks each one up in a list, so a statement with
/// thousands of `$n` spends its time (quadratically) in `sqlite3_bind_parameter_name`.
pub(crate) fn multi_row_insert(rows: usize, on_conflict: bool) -> String {
    const ROW: &str = "(?, ?, ?, ?, ?, ?, ?)";
    let mut sql = String::with_capacity(100 + rows * (ROW.len() + 2));
    sql.push_str(
        "insert into event (event_id, at, kind, contact_id, agent_id, queue_id, body) values ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(ROW);
    }
    if on_conflict {
        sql.push_str(" on conflict (event_id) do nothing");
    }
    sql
}

/// The statement for `SQLITE_ROWS_PER_INSERT[i]` rows, built once.
fn sqlite_insert(i: usize) -> &'static str {
    static SQL: OnceLock<[String; SQLITE_ROWS_PER_INSERT.len()]> = OnceLock::new();
    &SQL.get_or_init(|| SQLITE_ROWS_PER_INSERT.map(|rows| multi_row_insert(rows, true)))[i]
}

const POSTGRES_UNNEST_INSERT: &str = "insert into event \
     (event_id, at, kind, contact_id, agent_id, queue_id, body) \
     select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[]) \
     on conflict (event_id) do nothing";

/// The PostgreSQL insert of `rows`, one array per column.
fn unnest_insert(
    rows: &[EventRow],
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut ats = Vec::with_capacity(rows.len());
    let mut kinds = Vec::with_capacity(rows.len());
    let mut contacts = Vec::with_capacity(rows.len());
    let mut agents = Vec::with_capacity(rows.len());
    let mut queues = Vec::with_capacity(rows.len());
    let mut bodies = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.event_id);
        ats.push(row.at);
        kinds.push(row.kind);
        contacts.push(row.contact_id.as_deref());
        agents.push(row.agent_id.as_deref());
        queues.push(row.queue_id.as_deref());
        bodies.push(row.body.as_str());
    }
    sqlx::query(POSTGRES_UNNEST_INSERT)
        .bind(ids)
        .bind(ats)
        .bind(kinds)
        .bind(contacts)
        .bind(agents)
        .bind(queues)
        .bind(bodies)
}

/// Inserts `rows` on `conn` (inside the caller's transaction), skipping ids already there;
/// returns how many were inserted.
pub(crate) async fn insert_sqlite(
    conn: &mut sqlx::SqliteConnection,
    rows: &[EventRow],
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    let mut rest = rows;
    while !rest.is_empty() {
        let i = SQLITE_ROWS_PER_INSERT
            .iter()
            .position(|&n| n <= rest.len())
            .unwrap_or(SQLITE_ROWS_PER_INSERT.len() - 1);
        let (chunk, tail) = rest.split_at(SQLITE_ROWS_PER_INSERT[i]);
        rest = tail;
        let mut query = sqlx::query(sqlite_insert(i));
        for row in chunk {
            query = query
                .bind(row.event_id)
                .bind(row.at)
                .bind(row.kind)
                .bind(row.contact_id.as_deref())
                .bind(row.agent_id.as_deref())
                .bind(row.queue_id.as_deref())
                .bind(row.body.as_str());
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// [`insert_sqlite`] for PostgreSQL.
pub(crate) async fn insert_postgres(
    conn: &mut sqlx::PgConnection,
    rows: &[EventRow],
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    for chunk in rows.chunks(POSTGRES_ROWS_PER_INSERT) {
        inserted += unnest_insert(chunk)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(inserted)
}

/// One bind value of a dynamically built query.
enum Arg {
    Int(i64),
    Text(String),
}

impl Store {
    /// Appends events; returns how many rows were inserted. Events already in the log (same
    /// id) are skipped, so writing a batch again is harmless. The whole call is one
    /// transaction. [`StoreError::Invalid`] (nothing written) if an id exceeds `i64::MAX`.
    pub async fn append_events(&self, events: &[Event]) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let rows = events
            .iter()
            .map(EventRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let inserted = match &self.pool {
            Pool::Sqlite { write: pool, .. } => {
                let mut tx = pool.begin().await?;
                let inserted = insert_sqlite(&mut tx, &rows).await?;
                tx.commit().await?;
                inserted
            }
            // One statement is atomic by itself: no BEGIN/COMMIT round trips for it.
            Pool::Postgres(pool) if rows.len() <= POSTGRES_ROWS_PER_INSERT => {
                unnest_insert(&rows).execute(pool).await?.rows_affected()
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let inserted = insert_postgres(&mut tx, &rows).await?;
                tx.commit().await?;
                inserted
            }
        };
        Ok(inserted)
    }

    /// The events matching `filter`, in event order, at most `filter.limit` (clamped to
    /// 1..=1000). To page through, pass the last id returned as the next `after`.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        let mut sql = String::from("select body from event");
        let mut args = Vec::new();
        let mut add = |condition: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(if args.len() == 1 { " where " } else { " and " });
            sql.push_str(condition);
            sql.push_str(&format!(" ${}", args.len()));
        };
        if let Some(after) = filter.after {
            add(
                "event_id >",
                Arg::Int(i64::try_from(after.0).unwrap_or(i64::MAX)),
            );
        }
        if let Some(from) = filter.from {
            add("at >=", Arg::Int(from.as_millis()));
        }
        if let Some(to) = filter.to {
            add("at <", Arg::Int(to.as_millis()));
        }
        if let Some(contact) = filter.contact {
            add("contact_id =", Arg::Text(contact.to_string()));
        }
        if let Some(agent) = &filter.agent {
            add("agent_id =", Arg::Text(agent.as_str().to_owned()));
        }
        if let Some(queue) = &filter.queue {
            add("queue_id =", Arg::Text(queue.as_str().to_owned()));
        }
        if let Some(kind) = &filter.kind {
            add("kind =", Arg::Text(kind.clone()));
        }
        let limit = filter.limit.clamp(1, EventFilter::MAX_LIMIT);
        sql.push_str(&format!(" order by event_id limit {limit}"));

        let bodies: Vec<String> = with_reader!(self, |pool| {
            let mut query = sqlx::query_scalar(AssertSqlSafe(sql));
            for arg in args {
                query = match arg {
                    Arg::Int(v) => query.bind(v),
                    Arg::Text(v) => query.bind(v),
                };
            }
            query.fetch_all(pool).await?
        });
        bodies
            .iter()
            .map(|body| {
                serde_json::from_str(body)
                    .map_err(|e| StoreError::Corrupt(format!("event body: {e}: {body:.200}")))
            })
            .collect()
    }

    /// The highest event id in the log, where a dispatcher resumes numbering.
    pub async fn last_event_id(&self) -> Result<Option<EventId>, StoreError> {
        let max: Option<i64> = with_reader!(self, |pool| {
            sqlx::query_scalar("select max(event_id) from event")
                .fetch_one(pool)
                .await?
        });
        max.map(|id| {
            u64::try_from(id)
                .map(EventId)
                .map_err(|_| StoreError::Corrupt(format!("negative event id {id}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use switchboard_domain::{ExitReason, Presence, WrapUp};

    use super::*;

    fn a(name: &str) -> AgentId {
        AgentId::parse(name).unwrap()
    }
    fn q(name: &str) -> QueueId {
        QueueId::parse(name).unwrap()
    }

    #[test]
    fn events_are_filed_under_their_agent_and_queue() {
        let c = ContactId::from_parts(Timestamp::from_millis(0), [1; 10]);
        let check = |kind: EventKind, agent: Option<&str>, queue: Option<&str>| {
            let (got_agent, got_queue) = agent_and_queue(&kind);
            assert_eq!(got_agent.map(AgentId::as_str), agent, "{kind:?}");
            assert_eq!(got_queue.map(QueueId::as_str), queue, "{kind:?}");
        };
        check(
            EventKind::AgentPresenceChanged {
                agent: a("ann"),
                presence: Presence::Available,
            },
            Some("ann"),
            None,
        );
        check(
            EventKind::ContactExited {
                contact: c,
                queue: q("sales"),
                reason: ExitReason::MaxWait,
            },
            None,
            Some("sales"),
        );
        check(
            EventKind::ContactCompleted {
                contact: c,
                queue: q("sales"),
                agent: a("ann"),
                wrap_up: WrapUp::default(),
            },
            Some("ann"),
            Some("sales"),
        );
        check(
            EventKind::ContactTransferred {
                contact: c,
                from_queue: q("sales"),
                from_agent: Some(a("ann")),
                to: TransferTarget::Agent(a("bob")),
            },
            Some("ann"),
            Some("sales"),
        );
        check(
            EventKind::ContactTransferred {
                contact: c,
                from_queue: q("sales"),
                from_agent: None,
                to: TransferTarget::Agent(a("bob")),
            },
            Some("bob"),
            Some("sales"),
        );
        check(
            EventKind::ContactOverflowed {
                contact: c,
                from_queue: q("sales"),
                to_queue: q("general"),
            },
            None,
            Some("sales"),
        );
        check(
            EventKind::ContactHeld {
                contact: c,
                agent: a("ann"),
            },
            Some("ann"),
            None,
        );
    }

    #[test]
    fn multi_row_inserts_repeat_the_row() {
        assert_eq!(
            multi_row_insert(2, true),
            "insert into event (event_id, at, kind, contact_id, agent_id, queue_id, body) values \
             (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?) \
             on conflict (event_id) do nothing"
        );
    }
}
