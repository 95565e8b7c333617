//! Pre-computed report aggregates ("rollup"): the rollup's state row, cells per interval,
//! queue and channel, agent cells per interval, the visits that recognise repeat contacts,
//! and where each rated contact is counted.
//!
//! The store knows nothing of the statistics: cell bodies and the carried-over state are
//! opaque JSON text, written and read back whole. Everything happens inside a [`ReportTx`]:
//! [`Store::begin_rollup`] takes the rollup lock (one instance rolls up at a time),
//! [`Store::begin_report_read`] reads one consistent snapshot.

use std::{collections::BTreeMap, fmt};

use sqlx::{AssertSqlSafe, Postgres, Sqlite, Transaction};
use switchboard_domain::{AgentId, ContactId, Event, QueueId, Timestamp};

use crate::{
    store::{with_reader, Pool},
    Store, StoreError,
};

/// Rows per multi-row insert (visits have ten columns: 2,000 parameters).
const ROWS_PER_INSERT: usize = 200;
/// Composite keys per `in (values …)` lookup.
const KEYS_PER_SELECT: usize = 200;
/// Contact ids per `in (…)` lookup.
const IDS_PER_SELECT: usize = 500;

/// The rollup's progress, kept in the one `report_rollup` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupState {
    /// Events before this instant are rolled up; `None` if the rollup never ran.
    pub through: Option<Timestamp>,
    /// What the rollup carries over to its next run (JSON, `[]` at first), opaque here.
    pub carried: String,
}

/// The key of a report cell: interval span (its length in ms: 900000, 3600000 or
/// 86400000), interval start, queue, channel (`""` when unknown). Ordered as the store
/// orders cells.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub span: i64,
    pub start: Timestamp,
    pub queue: QueueId,
    pub channel: String,
}

/// A contact's visit to a queue, kept to recognise a customer's repeat contacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitRow {
    pub contact: ContactId,
    pub queue: QueueId,
    /// The customer reference (`contact_customer.customer_ref`).
    pub customer: String,
    /// When the contact first entered the queue.
    pub first_entered: Timestamp,
    pub channel: String,
    pub first_contact: bool,
    pub repeated: bool,
    pub settled: bool,
    pub agent: Option<AgentId>,
    pub resolved: bool,
}

/// Where a contact's survey answers are counted: interval start, queue, channel, agent;
/// and the scores already counted there (`None` when none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatedRow {
    pub contact: ContactId,
    pub start: Timestamp,
    pub queue: QueueId,
    pub channel: String,
    pub agent: AgentId,
    pub csat: Option<u8>,
    pub nps: Option<u8>,
}

/// A database transaction for the report tables. [`ReportTx::commit`] ends it; dropping it
/// without commit rolls everything back.
pub struct ReportTx {
    tx: Tx,
}

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl fmt::Debug for ReportTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let database = match self.tx {
            Tx::Sqlite(_) => "sqlite",
            Tx::Postgres(_) => "postgres",
        };
        f.debug_struct("ReportTx")
            .field("database", &database)
            .finish()
    }
}

/// Runs `$body` with `$conn` bound to the transaction's connection, whichever database it
/// is: like `with_reader!`, the body is written once and compiled for both.
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.tx {
            Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Dynamically built SQL with placeholders in the database's style: anonymous `?` on
/// SQLite (binding `$n` there looks each name up, quadratically), `$n` on PostgreSQL.
struct Sql {
    text: String,
    params: usize,
    sqlite: bool,
}

impl Sql {
    fn new(sqlite: bool, start: &str) -> Self {
        Self {
            text: start.to_owned(),
            params: 0,
            sqlite,
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn param(&mut self) -> &mut Self {
        self.params += 1;
        if self.sqlite {
            self.text.push('?');
        } else {
            self.text.push_str(&format!("${}", self.params));
        }
        self
    }

    /// `p, p, …` (`count` placeholders).
    fn list(&mut self, count: usize) -> &mut Self {
        for i in 0..count {
            if i > 0 {
                self.push(", ");
            }
            self.param();
        }
        self
    }

    /// `(p, p), (p, p), …`: `rows` tuples of `columns` placeholders.
    fn tuples(&mut self, rows: usize, columns: usize) -> &mut Self {
        for r in 0..rows {
            if r > 0 {
                self.push(", ");
            }
            self.push("(").list(columns).push(")");
        }
        self
    }

    fn finish(&self) -> AssertSqlSafe<String> {
        AssertSqlSafe(self.text.clone())
    }
}

/// `insert into table (columns) values (…), … on conflict (key) do update set c =
/// excluded.c, …` for `rows` rows: insert or replace, on both databases.
fn upsert(sqlite: bool, table: &str, columns: &[&str], key: &[&str], rows: usize) -> Sql {
    let mut sql = Sql::new(
        sqlite,
        &format!("insert into {table} ({}) values ", columns.join(", ")),
    );
    sql.tuples(rows, columns.len());
    let set: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    sql.push(&format!(
        " on conflict ({}) do update set {}",
        key.join(", "),
        set.join(", ")
    ));
    sql
}

/// The last of `rows` per key, in key order: one multi-row upsert may not touch a row twice
/// on PostgreSQL.
fn last_per_key<T, K: Ord>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut by_key = BTreeMap::new();
    for row in rows {
        by_key.insert(key(row), row);
    }
    by_key.into_values().collect()
}

fn parse_contact(column: &str, raw: &str) -> Result<ContactId, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} {raw:?}")))
}

fn parse_queue(column: &str, raw: &str) -> Result<QueueId, StoreError> {
    QueueId::parse(raw).map_err(|_| StoreError::Corrupt(format!("{column} {raw:?}")))
}

fn parse_agent(column: &str, raw: &str) -> Result<AgentId, StoreError> {
    AgentId::parse(raw).map_err(|_| StoreError::Corrupt(format!("{column} {raw:?}")))
}

fn parse_score(column: &str, raw: i32) -> Result<u8, StoreError> {
    u8::try_from(raw).map_err(|_| StoreError::Corrupt(format!("{column} {raw}")))
}

/// The columns of `report_rated`, in [`RatedColumns`] order.
const RATED_COLUMNS: [&str; 7] = [
    "contact_id",
    "start_at",
    "queue_id",
    "channel",
    "agent_id",
    "csat",
    "nps",
];

type RatedColumns = (
    String,
    i64,
    String,
    String,
    String,
    Option<i32>,
    Option<i32>,
);

fn rated_row(row: RatedColumns) -> Result<RatedRow, StoreError> {
    let (c, start, q, channel, a, csat, nps) = row;
    Ok(RatedRow {
        contact: parse_contact("report_rated.contact_id", &c)?,
        start: Timestamp::from_millis(start),
        queue: parse_queue("report_rated.queue_id", &q)?,
        channel,
        agent: parse_agent("report_rated.agent_id", &a)?,
        csat: csat
            .map(|s| parse_score("report_rated.csat", s))
            .transpose()?,
        nps: nps
            .map(|s| parse_score("report_rated.nps", s))
            .transpose()?,
    })
}

/// The columns of `report_visit`, in [`VisitColumns`] order.
const VISIT_COLUMNS: [&str; 10] = [
    "contact_id",
    "queue_id",
    "customer_ref",
    "first_entered",
    "channel",
    "first_contact",
    "repeated",
    "settled",
    "agent_id",
    "resolved",
];

type VisitColumns = (
    String,
    String,
    String,
    i64,
    String,
    bool,
    bool,
    bool,
    Option<String>,
    bool,
);

fn visit_row(row: VisitColumns) -> Result<VisitRow, StoreError> {
    let (c, q, customer, first_entered, channel, first_contact, repeated, settled, a, resolved) =
        row;
    Ok(VisitRow {
        contact: parse_contact("report_visit.contact_id", &c)?,
        queue: parse_queue("report_visit.queue_id", &q)?,
        customer,
        first_entered: Timestamp::from_millis(first_entered),
        channel,
        first_contact,
        repeated,
        settled,
        agent: a
            .map(|a| parse_agent("report_visit.agent_id", &a))
            .transpose()?,
        resolved,
    })
}

fn cell_row(
    (span, start, q, channel, body): (i64, i64, String, String, String),
) -> Result<(CellKey, String), StoreError> {
    Ok((
        CellKey {
            span,
            start: Timestamp::from_millis(start),
            queue: parse_queue("report_cell.queue_id", &q)?,
            channel,
        },
        body,
    ))
}

impl Store {
    /// Starts a write transaction and takes the rollup lock: its first statement stamps
    /// `locked_at` with `now` on the state row, which takes SQLite's write lock and
    /// PostgreSQL's row lock, so two instances never roll up at once (the second waits for
    /// the first to end; on SQLite at most the 5 s busy timeout). Then reads the state. On
    /// SQLite the transaction holds the store's one writer connection until it ends: the
    /// store's other writes wait for it.
    pub async fn begin_rollup(
        &self,
        now: Timestamp,
    ) -> Result<(ReportTx, RollupState), StoreError> {
        let mut tx = match &self.pool {
            Pool::Sqlite { write: pool, .. } => ReportTx {
                tx: Tx::Sqlite(pool.begin().await?),
            },
            Pool::Postgres(pool) => ReportTx {
                tx: Tx::Postgres(pool.begin().await?),
            },
        };
        let locked = with_tx!(tx, |conn| {
            sqlx::query("update report_rollup set locked_at = $1 where rollup_id = 1")
                .bind(now.as_millis())
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if locked != 1 {
            return Err(StoreError::Corrupt("report_rollup has no row".into()));
        }
        let state = tx.state().await?;
        Ok((tx, state))
    }

    /// Starts a transaction for reading that sees one consistent snapshot (PostgreSQL:
    /// repeatable read; SQLite: a transaction whose first statement is a read), and reads
    /// the state; on SQLite it runs on a read-only connection, beside the writer. End it with
    /// `commit(None)` or drop it: it cannot write.
    pub async fn begin_report_read(&self) -> Result<(ReportTx, RollupState), StoreError> {
        let mut tx = match &self.pool {
            Pool::Sqlite { read: pool, .. } => ReportTx {
                tx: Tx::Sqlite(pool.begin().await?),
            },
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("set transaction isolation level repeatable read")
                    .execute(&mut *tx)
                    .await?;
                ReportTx {
                    tx: Tx::Postgres(tx),
                }
            }
        };
        let state = tx.state().await?;
        Ok((tx, state))
    }

    /// The earliest event time in the log, `None` if the log is empty.
    pub async fn first_event_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let min: Option<i64> = with_reader!(self, |pool| {
            sqlx::query_scalar("select min(at) from event")
                .fetch_one(pool)
                .await?
        });
        Ok(min.map(Timestamp::from_millis))
    }
}

impl ReportTx {
    fn sqlite(&self) -> bool {
        matches!(self.tx, Tx::Sqlite(_))
    }

    /// The state row. [`StoreError::Corrupt`] if it is missing (the migration inserts it).
    async fn state(&mut self) -> Result<RollupState, StoreError> {
        let row: Option<(Option<i64>, String)> = with_tx!(self, |conn| {
            sqlx::query_as("select through_at, carried from report_rollup where rollup_id = 1")
                .fetch_optional(&mut *conn)
                .await?
        });
        let (through, carried) =
            row.ok_or_else(|| StoreError::Corrupt("report_rollup has no row".into()))?;
        Ok(RollupState {
            through: through.map(Timestamp::from_millis),
            carried,
        })
    }

    /// Every event with `from <= at < to`, in event-id order, all of them.
    pub async fn events_between(
        &mut self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Event>, StoreError> {
        let bodies: Vec<String> = with_tx!(self, |conn| {
            sqlx::query_scalar(
                "select body from event where at >= $1 and at < $2 order by event_id",
            )
            .bind(from.as_millis())
            .bind(to.as_millis())
            .fetch_all(&mut *conn)
            .await?
        });
        bodies
            .iter()
            .map(|body| {
                serde_json::from_str(body)
                    .map_err(|e| StoreError::Corrupt(format!("event body: {e}: {body:.200}")))
            })
            .collect()
    }

    /// The customer of each given contact that has one (`contact_customer`).
    pub async fn customers_of(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<BTreeMap<ContactId, String>, StoreError> {
        let mut customers = BTreeMap::new();
        for chunk in contacts.chunks(IDS_PER_SELECT) {
            let mut sql = Sql::new(
                self.sqlite(),
                "select contact_id, customer_ref from contact_customer where contact_id in (",
            );
            sql.list(chunk.len()).push(")");
            let rows: Vec<(String, String)> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == IDS_PER_SELECT);
                for c in chunk {
                    query = query.bind(c.to_string());
                }
                query.fetch_all(&mut *conn).await?
            });
            for (c, customer) in rows {
                customers.insert(parse_contact("contact_customer.contact_id", &c)?, customer);
            }
        }
        Ok(customers)
    }

    /// For each `(customer, queue)` key, its latest visit, if any: the greatest
    /// `(first_entered, contact_id)`, contact ids compared as text. In key order.
    pub async fn latest_visits(
        &mut self,
        keys: &[(String, QueueId)],
    ) -> Result<Vec<VisitRow>, StoreError> {
        let mut visits = Vec::new();
        for chunk in keys.chunks(KEYS_PER_SELECT) {
            let columns = VISIT_COLUMNS.join(", ");
            let mut sql = Sql::new(
                self.sqlite(),
                &format!(
                    "select {columns} from (select v.*, row_number() over \
                     (partition by customer_ref, queue_id order by first_entered desc, contact_id desc) \
                     as visit_rank from report_visit v where (customer_ref, queue_id) in (values "
                ),
            );
            sql.tuples(chunk.len(), 2)
                .push(")) latest where visit_rank = 1 order by customer_ref, queue_id");
            let rows: Vec<VisitColumns> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == KEYS_PER_SELECT);
                for (customer, q) in chunk {
                    query = query.bind(customer.as_str()).bind(q.as_str());
                }
                query.fetch_all(&mut *conn).await?
            });
            for row in rows {
                visits.push(visit_row(row)?);
            }
        }
        visits.sort_by(|a, b| (&a.customer, &a.queue).cmp(&(&b.customer, &b.queue)));
        Ok(visits)
    }

    /// The visits with these `(contact, queue)` keys that exist, in key order.
    pub async fn visits_of(
        &mut self,
        keys: &[(ContactId, QueueId)],
    ) -> Result<Vec<VisitRow>, StoreError> {
        let mut visits = Vec::new();
        for chunk in keys.chunks(KEYS_PER_SELECT) {
            let mut sql = Sql::new(
                self.sqlite(),
                &format!(
                    "select {} from report_visit where (contact_id, queue_id) in (values ",
                    VISIT_COLUMNS.join(", ")
                ),
            );
            sql.tuples(chunk.len(), 2).push(")");
            let rows: Vec<VisitColumns> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == KEYS_PER_SELECT);
                for (c, q) in chunk {
                    query = query.bind(c.to_string()).bind(q.as_str());
                }
                query.fetch_all(&mut *conn).await?
            });
            for row in rows {
                visits.push(visit_row(row)?);
            }
        }
        visits.sort_by(|a, b| (a.contact, &a.queue).cmp(&(b.contact, &b.queue)));
        visits.dedup_by(|a, b| (a.contact, &a.queue) == (b.contact, &b.queue));
        Ok(visits)
    }

    /// Inserts or replaces (every column) each visit; of two with the same key, the last
    /// given wins.
    pub async fn put_visits(&mut self, rows: &[VisitRow]) -> Result<(), StoreError> {
        let rows = last_per_key(rows, |v| (v.contact, v.queue.clone()));
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = upsert(
                self.sqlite(),
                "report_visit",
                &VISIT_COLUMNS,
                &["contact_id", "queue_id"],
                chunk.len(),
            );
            with_tx!(self, |conn| {
                let mut query =
                    sqlx::query(sql.finish()).persistent(chunk.len() == ROWS_PER_INSERT);
                for v in chunk {
                    query = query
                        .bind(v.contact.to_string())
                        .bind(v.queue.as_str())
                        .bind(v.customer.as_str())
                        .bind(v.first_entered.as_millis())
                        .bind(v.channel.as_str())
                        .bind(v.first_contact)
                        .bind(v.repeated)
                        .bind(v.settled)
                        .bind(v.agent.as_ref().map(AgentId::as_str))
                        .bind(v.resolved);
                }
                query.execute(&mut *conn).await?;
            });
        }
        Ok(())
    }

    /// The cells with these keys that exist, with their bodies, in key order.
    pub async fn cells(&mut self, keys: &[CellKey]) -> Result<Vec<(CellKey, String)>, StoreError> {
        let mut cells = Vec::new();
        for chunk in keys.chunks(KEYS_PER_SELECT) {
            let mut sql = Sql::new(
                self.sqlite(),
                "select span_ms, start_at, queue_id, channel, body from report_cell \
                 where (span_ms, start_at, queue_id, channel) in (values ",
            );
            sql.tuples(chunk.len(), 4).push(")");
            let rows: Vec<(i64, i64, String, String, String)> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == KEYS_PER_SELECT);
                for key in chunk {
                    query = query
                        .bind(key.span)
                        .bind(key.start.as_millis())
                        .bind(key.queue.as_str())
                        .bind(key.channel.as_str());
                }
                query.fetch_all(&mut *conn).await?
            });
            for row in rows {
                cells.push(cell_row(row)?);
            }
        }
        cells.sort_by(|a, b| a.0.cmp(&b.0));
        cells.dedup_by(|a, b| a.0 == b.0);
        Ok(cells)
    }

    /// The cells of `span` with `from <= start < to`, only of `queue` and/or only of
    /// `channel` (the exact channel text) if given, in key order.
    pub async fn cells_between(
        &mut self,
        span: i64,
        from: Timestamp,
        to: Timestamp,
        queue: Option<&QueueId>,
        channel: Option<&str>,
    ) -> Result<Vec<(CellKey, String)>, StoreError> {
        let mut sql = Sql::new(
            self.sqlite(),
            "select span_ms, start_at, queue_id, channel, body from report_cell \
             where span_ms = ",
        );
        sql.param()
            .push(" and start_at >= ")
            .param()
            .push(" and start_at < ")
            .param();
        if queue.is_some() {
            sql.push(" and queue_id = ").param();
        }
        if channel.is_some() {
            sql.push(" and channel = ").param();
        }
        sql.push(" order by start_at, queue_id, channel");
        let rows: Vec<(i64, i64, String, String, String)> = with_tx!(self, |conn| {
            let mut query = sqlx::query_as(sql.finish())
                .bind(span)
                .bind(from.as_millis())
                .bind(to.as_millis());
            if let Some(q) = queue {
                query = query.bind(q.as_str());
            }
            if let Some(c) = channel {
                query = query.bind(c);
            }
            query.fetch_all(&mut *conn).await?
        });
        rows.into_iter().map(cell_row).collect()
    }

    /// Inserts or replaces each cell's body; of two with the same key, the last given wins.
    pub async fn put_cells(&mut self, cells: &[(CellKey, String)]) -> Result<(), StoreError> {
        let cells = last_per_key(cells, |(key, _)| key.clone());
        for chunk in cells.chunks(ROWS_PER_INSERT) {
            let sql = upsert(
                self.sqlite(),
                "report_cell",
                &["span_ms", "start_at", "queue_id", "channel", "body"],
                &["span_ms", "start_at", "queue_id", "channel"],
                chunk.len(),
            );
            with_tx!(self, |conn| {
                let mut query =
                    sqlx::query(sql.finish()).persistent(chunk.len() == ROWS_PER_INSERT);
                for (key, body) in chunk.iter().copied() {
                    query = query
                        .bind(key.span)
                        .bind(key.start.as_millis())
                        .bind(key.queue.as_str())
                        .bind(key.channel.as_str())
                        .bind(body.as_str());
                }
                query.execute(&mut *conn).await?;
            });
        }
        Ok(())
    }

    /// Inserts or replaces each agent cell's body (by interval span and start); of two with
    /// the same key, the last given wins.
    pub async fn put_agent_cells(
        &mut self,
        cells: &[(i64, Timestamp, String)],
    ) -> Result<(), StoreError> {
        let cells = last_per_key(cells, |(span, start, _)| (*span, *start));
        for chunk in cells.chunks(ROWS_PER_INSERT) {
            let sql = upsert(
                self.sqlite(),
                "report_agent_cell",
                &["span_ms", "start_at", "body"],
                &["span_ms", "start_at"],
                chunk.len(),
            );
            with_tx!(self, |conn| {
                let mut query =
                    sqlx::query(sql.finish()).persistent(chunk.len() == ROWS_PER_INSERT);
                for (span, start, body) in chunk.iter().copied() {
                    query = query
                        .bind(*span)
                        .bind(start.as_millis())
                        .bind(body.as_str());
                }
                query.execute(&mut *conn).await?;
            });
        }
        Ok(())
    }

    /// The agent cells with these `(span, start)` keys that exist, with their bodies, in
    /// key order.
    pub async fn agent_cells(
        &mut self,
        keys: &[(i64, Timestamp)],
    ) -> Result<Vec<((i64, Timestamp), String)>, StoreError> {
        let mut cells = Vec::new();
        for chunk in keys.chunks(KEYS_PER_SELECT) {
            let mut sql = Sql::new(
                self.sqlite(),
                "select span_ms, start_at, body from report_agent_cell \
                 where (span_ms, start_at) in (values ",
            );
            sql.tuples(chunk.len(), 2).push(")");
            let rows: Vec<(i64, i64, String)> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == KEYS_PER_SELECT);
                for (span, start) in chunk {
                    query = query.bind(*span).bind(start.as_millis());
                }
                query.fetch_all(&mut *conn).await?
            });
            for (span, start, body) in rows {
                cells.push(((span, Timestamp::from_millis(start)), body));
            }
        }
        cells.sort_by_key(|a| a.0);
        cells.dedup_by(|a, b| a.0 == b.0);
        Ok(cells)
    }

    /// The agent cells of `span` with `from <= start < to`, in start order.
    pub async fn agent_cells_between(
        &mut self,
        span: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, String)>, StoreError> {
        let rows: Vec<(i64, String)> = with_tx!(self, |conn| {
            sqlx::query_as(
                "select start_at, body from report_agent_cell \
                 where span_ms = $1 and start_at >= $2 and start_at < $3 order by start_at",
            )
            .bind(span)
            .bind(from.as_millis())
            .bind(to.as_millis())
            .fetch_all(&mut *conn)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(start, body)| (Timestamp::from_millis(start), body))
            .collect())
    }

    /// Inserts or replaces each row (by contact); of two for the same contact, the last
    /// given wins.
    pub async fn put_rated(&mut self, rows: &[RatedRow]) -> Result<(), StoreError> {
        let rows = last_per_key(rows, |r| r.contact);
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = upsert(
                self.sqlite(),
                "report_rated",
                &RATED_COLUMNS,
                &["contact_id"],
                chunk.len(),
            );
            with_tx!(self, |conn| {
                let mut query =
                    sqlx::query(sql.finish()).persistent(chunk.len() == ROWS_PER_INSERT);
                for r in chunk {
                    query = query
                        .bind(r.contact.to_string())
                        .bind(r.start.as_millis())
                        .bind(r.queue.as_str())
                        .bind(r.channel.as_str())
                        .bind(r.agent.as_str())
                        .bind(r.csat.map(i32::from))
                        .bind(r.nps.map(i32::from));
                }
                query.execute(&mut *conn).await?;
            });
        }
        Ok(())
    }

    /// The rows of these contacts that exist, by contact.
    pub async fn rated_of(&mut self, contacts: &[ContactId]) -> Result<Vec<RatedRow>, StoreError> {
        let mut rated = Vec::new();
        for chunk in contacts.chunks(IDS_PER_SELECT) {
            let mut sql = Sql::new(
                self.sqlite(),
                &format!(
                    "select {} from report_rated where contact_id in (",
                    RATED_COLUMNS.join(", ")
                ),
            );
            sql.list(chunk.len()).push(")");
            let rows: Vec<RatedColumns> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == IDS_PER_SELECT);
                for c in chunk {
                    query = query.bind(c.to_string());
                }
                query.fetch_all(&mut *conn).await?
            });
            for row in rows {
                rated.push(rated_row(row)?);
            }
        }
        rated.sort_by_key(|r| r.contact);
        rated.dedup_by_key(|r| r.contact);
        Ok(rated)
    }

    /// The survey answers (`survey_answer`) with `from <= answered_at < to` of the contacts
    /// that have a `report_rated` row: `(row, scale, score)`, by answer time, contact and
    /// scale. One join query, driven by the answers' time index.
    pub async fn rated_surveys_answered_between(
        &mut self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(RatedRow, String, u8)>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            String,
            String,
            Option<i32>,
            Option<i32>,
            String,
            i32,
        );
        let rows: Vec<Row> = with_tx!(self, |conn| {
            sqlx::query_as(
                "select r.contact_id, r.start_at, r.queue_id, r.channel, r.agent_id, r.csat, r.nps, \
                 s.scale, s.score \
                 from survey_answer s join report_rated r on r.contact_id = s.contact_id \
                 where s.answered_at >= $1 and s.answered_at < $2 \
                 order by s.answered_at, s.contact_id, s.scale",
            )
            .bind(from.as_millis())
            .bind(to.as_millis())
            .fetch_all(&mut *conn)
            .await?
        });
        rows.into_iter()
            .map(|(c, start, q, channel, a, csat, nps, scale, s)| {
                Ok((
                    rated_row((c, start, q, channel, a, csat, nps))?,
                    scale,
                    parse_score("survey_answer.score", s)?,
                ))
            })
            .collect()
    }

    /// The survey answers `(contact, scale, score)` of the given contacts, by contact and
    /// scale.
    pub async fn surveys_of(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<Vec<(ContactId, String, u8)>, StoreError> {
        let mut answers = Vec::new();
        for chunk in contacts.chunks(IDS_PER_SELECT) {
            let mut sql = Sql::new(
                self.sqlite(),
                "select contact_id, scale, score from survey_answer where contact_id in (",
            );
            sql.list(chunk.len()).push(")");
            let rows: Vec<(String, String, i32)> = with_tx!(self, |conn| {
                let mut query =
                    sqlx::query_as(sql.finish()).persistent(chunk.len() == IDS_PER_SELECT);
                for c in chunk {
                    query = query.bind(c.to_string());
                }
                query.fetch_all(&mut *conn).await?
            });
            for (c, scale, s) in rows {
                answers.push((
                    parse_contact("survey_answer.contact_id", &c)?,
                    scale,
                    parse_score("survey_answer.score", s)?,
                ));
            }
        }
        answers.sort();
        answers.dedup();
        Ok(answers)
    }

    /// Writes the state row (`through`, `carried`) if `state` is given, then commits.
    pub async fn commit(mut self, state: Option<&RollupState>) -> Result<(), StoreError> {
        if let Some(state) = state {
            with_tx!(self, |conn| {
                sqlx::query(
                    "update report_rollup set through_at = $1, carried = $2 where rollup_id = 1",
                )
                .bind(state.through.map(Timestamp::as_millis))
                .bind(state.carried.as_str())
                .execute(&mut *conn)
                .await?;
            });
        }
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_replace_every_column_but_the_key() {
        assert_eq!(
            upsert(true, "t", &["a", "b", "c"], &["a"], 2).text,
            "insert into t (a, b, c) values (?, ?, ?), (?, ?, ?) \
             on conflict (a) do update set b = excluded.b, c = excluded.c"
        );
        assert_eq!(
            upsert(false, "t", &["a", "b"], &["a"], 2).text,
            "insert into t (a, b) values ($1, $2), ($3, $4) \
             on conflict (a) do update set b = excluded.b"
        );
    }

    #[test]
    fn the_last_row_per_key_wins() {
        let rows = [(2, "a"), (1, "b"), (2, "c")];
        assert_eq!(last_per_key(&rows, |r| r.0), vec![&(1, "b"), &(2, "c")]);
    }
}
