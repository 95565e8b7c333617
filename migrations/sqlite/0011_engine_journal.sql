-- The in-process dispatcher's journal, so that nothing acknowledged is lost on a crash.
--
-- Every step of the engine (the timers due at `at` fired, then `command` applied at `at`;
-- `command` null for a step of timers alone) is one row, written in the same transaction
-- as the events the step emitted, before the step is acknowledged to anyone. On start the
-- last snapshot is restored and the rows after its `journal_seq` are replayed: the engine is
-- deterministic, so it ends in the state it had, with the same event ids. Saving a snapshot
-- deletes the rows it covers. `command` is the `Command` as JSON.

create table engine_journal (
    engine_journal_id integer primary key,
    at bigint not null,
    command text
);

-- The journal position a snapshot includes (0: before any journal row).
alter table engine_snapshot add column journal_seq bigint not null default 0;
