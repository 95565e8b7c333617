-- Configuration documents: one table per kind, each row one document as JSON.
--
-- The body is the document exactly as the application serialised it (text, not jsonb, so
-- it comes back byte for byte and reads the same in both databases); the store never
-- queries inside it. `<kind>_id` is the document's own id (a queue's id, a skill's name, a
-- disposition's code...). `version` is 1 on create and +1 on every write, for optimistic
-- concurrency. Times are milliseconds since the Unix epoch, set by the application.
--
-- Ids sort bytewise (collate "C"), as SQLite's default binary collation does, so a
-- list comes back in the same order from either database.

-- A queue's routing settings (`QueueConfig`).
create table queue (
    queue_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- An agent: profile, skills, capacity, name and number (`Agent`).
create table agent (
    agent_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- The skill catalogue (`Skill`).
create table skill (
    skill_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- Greeting scripts (`GreetingScript`).
create table greeting_script (
    greeting_script_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- Wrap-up (disposition) codes (`Disposition`).
create table disposition (
    disposition_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- Away reasons (`AwayReason`).
create table away_reason (
    away_reason_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

-- Telephony integrations, secret included (`Integration`).
create table integration (
    integration_id text collate "C" primary key,
    body text not null,
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
