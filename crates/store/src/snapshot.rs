//! The in-process dispatcher's state across restarts and crashes: the last snapshot (one
//! row, overwritten on every save) and the journal of the steps taken since.
//!
//! A step and the events it emitted are written in one transaction ([`Store::append_journal`]),
//! so the event log is never ahead of the journal nor behind it; a snapshot is saved together
//! with the journal position it includes, and the rows it covers are deleted with it.

use switchboard_domain::{Command, Event, Timestamp};

use crate::{
    event_log::{insert_postgres, insert_sqlite, EventRow},
    store::{with_reader, with_writer, Pool},
    Store, StoreError,
};

/// One step of the in-process engine: the timers due at `at` fired, then `command` (if any)
/// applied at `at`. `seq` is the journal's own gapless number, from 1.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalStep {
    pub seq: u64,
    pub at: Timestamp,
    pub command: Option<Command>,
}

/// The saved snapshot and the journal position it includes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedSnapshot {
    pub body: String,
    pub journal_seq: u64,
}

fn seq_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Invalid(format!("journal seq {seq} > i64::MAX")))
}

impl Store {
    /// Writes journal steps and the events they emitted, in one transaction: after it
    /// returns `Ok` both survive a crash of the process; they survive a power cut once
    /// [`Store::sync_to_disk`] returned too (on PostgreSQL, already at the commit). On a SQLite
    /// file the commit is in the WAL (the OS's page cache) without waiting for the disk, so
    /// the dispatcher can publish the step's events at once and acknowledge it after the sync.
    /// Writing a step or an event again is harmless (same ids are skipped).
    pub async fn append_journal(
        &self,
        steps: &[JournalStep],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let rows = events
            .iter()
            .map(EventRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut step_rows = Vec::with_capacity(steps.len());
        for s in steps {
            let command = s
                .command
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| StoreError::Invalid(format!("journal step {}: {e}", s.seq)))?;
            step_rows.push((seq_i64(s.seq)?, s.at.as_millis(), command));
        }
        const INSERT: &str = "insert into engine_journal (engine_journal_id, at, command) \
                              values ($1, $2, $3) on conflict (engine_journal_id) do nothing";
        match &self.pool {
            Pool::Sqlite { write: pool, .. } => {
                let mut tx = pool.begin().await?;
                for (seq, at, command) in &step_rows {
                    sqlx::query(INSERT)
                        .bind(seq)
                        .bind(at)
                        .bind(command.as_deref())
                        .execute(&mut *tx)
                        .await?;
                }
                insert_sqlite(&mut tx, &rows).await?;
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let (seqs, ats, commands): (Vec<i64>, Vec<i64>, Vec<Option<String>>) =
                    step_rows.into_iter().fold(
                        (Vec::new(), Vec::new(), Vec::new()),
                        |(mut s, mut a, mut c), (seq, at, command)| {
                            s.push(seq);
                            a.push(at);
                            c.push(command);
                            (s, a, c)
                        },
                    );
                sqlx::query(
                    "insert into engine_journal (engine_journal_id, at, command) \
                     select * from unnest($1::bigint[], $2::bigint[], $3::text[]) \
                     on conflict (engine_journal_id) do nothing",
                )
                .bind(seqs)
                .bind(ats)
                .bind(commands)
                .execute(&mut *tx)
                .await?;
                insert_postgres(&mut tx, &rows).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The journal steps after `seq`, in order. [`StoreError::Corrupt`] if a stored command
    /// no longer parses.
    pub async fn journal_after(&self, seq: u64) -> Result<Vec<JournalStep>, StoreError> {
        let rows: Vec<(i64, i64, Option<String>)> = with_reader!(self, |pool| {
            sqlx::query_as(
                "select engine_journal_id, at, command from engine_journal \
                 where engine_journal_id > $1 order by engine_journal_id",
            )
            .bind(seq_i64(seq)?)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(seq, at, command)| {
                let command = command
                    .map(|c| serde_json::from_str(&c))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("journal step {seq}: {e}")))?;
                Ok(JournalStep {
                    seq: seq as u64,
                    at: Timestamp::from_millis(at),
                    command,
                })
            })
            .collect()
    }

    /// Stores the engine snapshot (JSON, opaque to the store) that includes the journal up to
    /// `journal_seq`, replacing the previous one, and deletes the journal steps it covers —
    /// in one transaction, on disk when it returns ([`Store::sync_to_disk`]).
    pub async fn save_engine_snapshot(
        &self,
        json: &str,
        journal_seq: u64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let seq = seq_i64(journal_seq)?;
        const UPSERT: &str =
            "insert into engine_snapshot (engine_snapshot_id, body, saved_at, journal_seq) \
             values (1, $1, $2, $3) \
             on conflict (engine_snapshot_id) do update \
                 set body = excluded.body, saved_at = excluded.saved_at, \
                     journal_seq = excluded.journal_seq";
        const DELETE: &str = "delete from engine_journal where engine_journal_id <= $1";
        with_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(UPSERT)
                .bind(json)
                .bind(now.as_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            sqlx::query(DELETE).bind(seq).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        // The journal steps it replaces are gone: the snapshot must be on disk before the
        // caller counts on it.
        self.sync_to_disk().await
    }

    /// The last snapshot saved, if any, with the journal position it includes.
    pub async fn load_engine_snapshot(&self) -> Result<Option<SavedSnapshot>, StoreError> {
        let row: Option<(String, i64)> = with_reader!(self, |pool| {
            sqlx::query_as(
                "select body, journal_seq from engine_snapshot where engine_snapshot_id = 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(body, seq)| SavedSnapshot {
            body,
            journal_seq: seq.max(0) as u64,
        }))
    }
}
