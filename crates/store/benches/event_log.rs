//! The event log's write path beside the database's own ceiling, in one run:
//!
//! * PostgreSQL: `Store::append_events` (one `insert … select from unnest(…) on conflict do
//!   nothing` per batch) against a plain `COPY event FROM STDIN` of the same rows, one COPY per
//!   batch; for comparison, the multi-row `insert … values (…), (…) on conflict do nothing`
//!   the store does not use there;
//! * SQLite: `Store::append_events` (multi-row inserts with `on conflict do nothing`, a
//!   transaction per batch) against the same multi-row inserts without the conflict clause.
//!
//! 200,000 events (`EVENTS` to change) in batches of 1,000, into an empty, indexed `event`
//! table each time; each measurement is taken twice, alternating, and the better one kept.
//! The ceilings get their rows pre-serialised; the store's figure includes serialising every
//! event to JSON. PostgreSQL at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`): the benchmark creates a database of its own
//! and drops it (`switchboard_test_support::database`).
//!
//! `cargo bench -p switchboard-store --bench event_log` (`BENCH_DB=postgres` or `sqlite` for
//! one database only)

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use sqlx::{
    postgres::{PgPool, PgPoolCopyExt, PgPoolOptions},
    sqlite::{SqlitePool, SqlitePoolOptions},
    AssertSqlSafe,
};
use switchboard_domain::*;
use switchboard_store::{spawn_event_writer, Store, WriterOptions};
use switchboard_test_support::{database::TestDatabase, time::T0};

const BATCH: usize = 1_000;
const ROUNDS: usize = 2;

/// An event and the columns of its row, for the ceilings.
struct Row {
    id: i64,
    at: i64,
    kind: &'static str,
    contact: String,
    agent: Option<String>,
    queue: String,
    body: String,
}

/// A realistic stream: contacts queued, offered, accepted, ended and completed, 20 queues,
/// 1,000 agents, a few milliseconds apart.
fn workload(n: usize) -> (Vec<Event>, Vec<Row>) {
    let mut events = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    let mut contact = ContactId::from_parts(Timestamp::from_millis(T0), [0; 10]);
    for i in 0..n {
        let step = i % 5;
        let c = i / 5;
        if step == 0 {
            let mut bits = [0; 10];
            bits[2..].copy_from_slice(&(c as u64).to_be_bytes());
            contact = ContactId::from_parts(Timestamp::from_millis(T0 + i as i64 * 3), bits);
        }
        let queue = QueueId::parse(&format!("queue-{}", c % 20)).unwrap();
        let agent = AgentId::parse(&format!("agent-{}", c % 1_000)).unwrap();
        let at = Timestamp::from_millis(T0 + i as i64 * 3);
        let kind = match step {
            0 => EventKind::ContactQueued {
                contact,
                queue: queue.clone(),
                channel: Channel::Voice,
                tier: Tier::default(),
                priority: Priority::default(),
                arrived_at: at,
                attributes: Default::default(),
            },
            1 => EventKind::ContactOffered {
                contact,
                queue: queue.clone(),
                agent: agent.clone(),
                deadline: at.plus(Duration::from_secs(15)),
            },
            2 => EventKind::OfferAccepted {
                contact,
                queue: queue.clone(),
                agent: agent.clone(),
                waited_ms: 4_200,
            },
            3 => EventKind::ContactEnded {
                contact,
                queue: queue.clone(),
                agent: agent.clone(),
                wrap_up_until: at.plus(Duration::from_secs(30)),
            },
            _ => EventKind::ContactCompleted {
                contact,
                queue: queue.clone(),
                agent: agent.clone(),
                wrap_up: WrapUp {
                    disposition: Some("sale".into()),
                    resolved: Some(true),
                },
            },
        };
        let event = Event {
            id: EventId(i as u64 + 1),
            at,
            kind,
        };
        rows.push(Row {
            id: i as i64 + 1,
            at: at.as_millis(),
            kind: event.kind.name(),
            contact: contact.to_string(),
            agent: (step != 0).then(|| agent.to_string()),
            queue: queue.to_string(),
            body: serde_json::to_string(&event).unwrap(),
        });
        events.push(event);
    }
    (events, rows)
}

/// COPY text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_text(rows: &[Row]) -> Vec<u8> {
    fn field(out: &mut String, value: Option<&str>) {
        let Some(value) = value else {
            out.push_str("\\N");
            return;
        };
        for ch in value.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
    let mut out = String::with_capacity(rows.len() * 400);
    for r in rows {
        out.push_str(&format!("{}\t{}\t{}\t", r.id, r.at, r.kind));
        field(&mut out, Some(&r.contact));
        out.push('\t');
        field(&mut out, r.agent.as_deref());
        out.push('\t');
        field(&mut out, Some(&r.queue));
        out.push('\t');
        field(&mut out, Some(&r.body));
        out.push('\n');
    }
    out.into_bytes()
}

/// `insert into event … values (…), (…) …` for `rows` rows, with `$n` placeholders
/// (PostgreSQL) or `?` (SQLite, where `$n` are named parameters, slow to bind by the
/// thousand: see the store's `multi_row_insert`).
fn multi_row_insert(rows: usize, on_conflict: bool, numbered: bool) -> String {
    let mut sql = String::from(
        "insert into event (event_id, at, kind, contact_id, agent_id, queue_id, body) values ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let p: Vec<String> = (1..=7)
            .map(|c| {
                if numbered {
                    format!("${}", r * 7 + c)
                } else {
                    "?".to_owned()
                }
            })
            .collect();
        sql.push_str(&format!("({})", p.join(", ")));
    }
    if on_conflict {
        sql.push_str(" on conflict (event_id) do nothing");
    }
    sql
}

/// Binds `rows` to a multi-row insert (the same code serves both databases).
macro_rules! bind_rows {
    ($sql:expr, $rows:expr) => {{
        let mut query = sqlx::query(AssertSqlSafe($sql.clone()));
        for r in $rows {
            query = query
                .bind(r.id)
                .bind(r.at)
                .bind(r.kind)
                .bind(r.contact.as_str())
                .bind(r.agent.as_deref())
                .bind(r.queue.as_str())
                .bind(r.body.as_str());
        }
        query
    }};
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Through the batching writer (default options), the events sent 10 at a time as the
/// dispatcher would, until the writer has drained.
async fn through_writer(store: &Store, events: &[Event]) -> Duration {
    let start = Instant::now();
    let (writer, task) = spawn_event_writer(store.clone(), WriterOptions::default());
    for few in events.chunks(10) {
        writer.send(few.to_vec());
    }
    writer.close();
    assert_eq!(task.await.unwrap().unwrap() as usize, events.len());
    start.elapsed()
}

async fn store_append(store: &Store, events: &[Event]) -> Duration {
    let start = Instant::now();
    for batch in events.chunks(BATCH) {
        let n = store.append_events(batch).await.unwrap();
        assert_eq!(n as usize, batch.len());
    }
    start.elapsed()
}

async fn postgres(events: &[Event], rows: &[Row]) {
    let db = TestDatabase::postgres().await;
    let url = db.url().to_owned();
    let store = db.store().await;
    let raw: PgPool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&raw)
        .await
        .unwrap();
    let copies: Vec<Vec<u8>> = rows.chunks(BATCH).map(copy_text).collect();
    let insert_sql = multi_row_insert(BATCH, true, true);
    let truncate = || async {
        sqlx::query("truncate event").execute(&raw).await.unwrap();
    };

    let (mut ours, mut ceiling, mut multi) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        truncate().await;
        let start = Instant::now();
        for copy in &copies {
            let mut c = raw
                .copy_in_raw("copy event (event_id, at, kind, contact_id, agent_id, queue_id, body) from stdin")
                .await
                .unwrap();
            c.send(copy.as_slice()).await.unwrap();
            c.finish().await.unwrap();
        }
        ceiling = ceiling.min(start.elapsed());

        truncate().await;
        ours = ours.min(store_append(&store, events).await);

        truncate().await;
        let start = Instant::now();
        for batch in rows.chunks(BATCH) {
            let sql = if batch.len() == BATCH {
                insert_sql.clone()
            } else {
                multi_row_insert(batch.len(), true, true)
            };
            bind_rows!(sql, batch).execute(&raw).await.unwrap();
        }
        multi = multi.min(start.elapsed());
    }
    // Re-appending what is already there (every row a conflict).
    let start = Instant::now();
    for batch in events.chunks(BATCH) {
        assert_eq!(store.append_events(batch).await.unwrap(), 0);
    }
    let duplicates = start.elapsed();
    truncate().await;
    let writer = through_writer(&store, events).await;

    let n = events.len();
    println!("PostgreSQL {version} — {n} events in batches of {BATCH}, best of {ROUNDS}");
    println!(
        "  Store::append_events (unnest, on conflict do nothing)  {:>10} events/s",
        thousands(rate(n, ours))
    );
    println!(
        "  ceiling: COPY event FROM STDIN, one COPY per batch      {:>10} events/s",
        thousands(rate(n, ceiling))
    );
    println!(
        "  ratio                                                   {:>10.2}   (target ≥ 0.50; ≥ 50,000 events/s)",
        ceiling.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "  for comparison: multi-row insert … values, on conflict  {:>10} events/s",
        thousands(rate(n, multi))
    );
    println!(
        "  re-appending the same events (all duplicates)           {:>10} events/s",
        thousands(rate(n, duplicates))
    );
    println!(
        "  EventWriter, sent 10 at a time, until drained           {:>10} events/s",
        thousands(rate(n, writer))
    );

    store.close().await;
    raw.close().await;
    db.remove().await.unwrap();
}

async fn sqlite(events: &[Event], rows: &[Row]) {
    let db = TestDatabase::sqlite();
    let url = db.url().to_owned();
    let store = db.store().await;
    // The same pragmas as the store's pool: WAL, synchronous = normal.
    let raw: SqlitePool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            url.parse::<sqlx::sqlite::SqliteConnectOptions>()
                .unwrap()
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
        )
        .await
        .unwrap();
    let version: String = sqlx::query_scalar("select sqlite_version()")
        .fetch_one(&raw)
        .await
        .unwrap();
    // The store's statement size: 500 rows.
    const ROWS: usize = 500;
    let insert_sql = multi_row_insert(ROWS, false, false);
    let clear = || async {
        sqlx::query("delete from event")
            .execute(&raw)
            .await
            .unwrap();
    };

    let (mut ours, mut ceiling) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        clear().await;
        let start = Instant::now();
        for batch in rows.chunks(BATCH) {
            let mut tx = raw.begin().await.unwrap();
            for chunk in batch.chunks(ROWS) {
                let sql = if chunk.len() == ROWS {
                    insert_sql.clone()
                } else {
                    multi_row_insert(chunk.len(), false, false)
                };
                bind_rows!(sql, chunk).execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        ceiling = ceiling.min(start.elapsed());

        clear().await;
        ours = ours.min(store_append(&store, events).await);
    }
    clear().await;
    let writer = through_writer(&store, events).await;

    let n = events.len();
    println!("SQLite {version} (WAL, synchronous = normal) — {n} events in batches of {BATCH}, best of {ROUNDS}");
    println!(
        "  Store::append_events (multi-row, on conflict do nothing) {:>10} events/s",
        thousands(rate(n, ours))
    );
    println!(
        "  ceiling: the same inserts without on conflict            {:>10} events/s",
        thousands(rate(n, ceiling))
    );
    println!(
        "  ratio                                                    {:>10.2}   (target ≥ 0.50)",
        ceiling.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "  EventWriter, sent 10 at a time, until drained            {:>10} events/s",
        thousands(rate(n, writer))
    );

    store.close().await;
    raw.close().await;
    db.remove().await.unwrap();
}

fn main() {
    let n: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let (events, rows) = workload(n);
    let bytes: usize = rows.iter().map(|r| r.body.len()).sum();
    println!(
        "event log: {n} events, average JSON body {} bytes\n",
        bytes / n.max(1)
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("BENCH_DB").unwrap_or_default();
    rt.block_on(async {
        if only != "sqlite" {
            postgres(&events, &rows).await;
            println!();
        }
        if only != "postgres" {
            sqlite(&events, &rows).await;
        }
    });
}
