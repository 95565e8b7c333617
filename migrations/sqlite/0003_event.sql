-- The append-only event log: every event the dispatcher emitted, once.
--
-- `event_id` is the dispatcher's own gapless number, so writing an event twice is
-- recognised (insert ... on conflict (event_id) do nothing) and a reader resumes after the
-- last id it saw. `body` is the whole event as JSON; `kind` and the contact, agent and
-- queue it concerns are copied out of it only to be filtered on. Rows are never updated
-- or deleted by the application.
--
-- `integer primary key` (not `bigint`) makes `event_id` SQLite's rowid: 64 bits, and the
-- table is stored in event order with no separate key index.

create table event (
    event_id integer primary key,
    at bigint not null,
    kind text not null,
    contact_id text,
    agent_id text,
    queue_id text,
    body text not null
);

create index event_at_idx on event (at);
create index event_kind_idx on event (kind, event_id);
create index event_contact_id_idx on event (contact_id, event_id) where contact_id is not null;
create index event_agent_id_idx on event (agent_id, event_id) where agent_id is not null;
create index event_queue_id_idx on event (queue_id, event_id) where queue_id is not null;
