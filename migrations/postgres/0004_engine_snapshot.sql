-- The in-process dispatcher's state across restarts: one row, overwritten on every save.
-- `body` is the engine snapshot as JSON; `saved_at` is milliseconds since the Unix epoch.

create table engine_snapshot (
    engine_snapshot_id integer primary key check (engine_snapshot_id = 1),
    body text not null,
    saved_at bigint not null
);
