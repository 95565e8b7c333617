-- People who sign in (agents, supervisors, administrators) and their sessions.
--
-- The table is `app_user`, not `user`: `user` is a reserved word in PostgreSQL, and both
-- migration sets use the same names.
--
-- Times are milliseconds since the Unix epoch (the domain's `Timestamp`), set by the
-- application, never by a database clock or trigger. `version` counts updates (1 on
-- create) for optimistic concurrency: a writer names the version it read and loses on a
-- mismatch.

create table app_user (
    -- autoincrement: an id is never reused, so a stale reference cannot reach a new user.
    app_user_id integer primary key autoincrement,
    username text not null unique,
    display_name text not null,
    role text not null check (role in ('agent', 'supervisor', 'admin')),
    password_hash text not null,
    agent_id text,
    disabled boolean not null default false,
    version bigint not null default 1,
    created_at bigint not null,
    updated_at bigint not null
);

-- A session is known by the hash of its bearer token, never by the token itself.
create table session (
    token_hash text primary key,
    app_user_id bigint not null references app_user (app_user_id) on delete cascade,
    created_at bigint not null,
    expires_at bigint not null
);

create index session_app_user_id_idx on session (app_user_id);
create index session_expires_at_idx on session (expires_at);
