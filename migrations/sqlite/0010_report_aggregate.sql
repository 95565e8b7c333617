-- Pre-computed report aggregates ("rollup"). The store knows nothing of the statistics:
-- cell bodies are opaque JSON written and read back whole. Times are milliseconds since the
-- epoch; a channel is '' when unknown.
--
-- `report_rollup` is one row: how far the event log has been rolled up (`through_at`, null
-- when never), what the rollup carries over to its next run (`carried`, JSON), and when the
-- last run began (`locked_at`). A run's first statement updates this row, so two instances
-- never roll up at once: the second waits for the first to commit.

create table report_rollup (
    rollup_id integer primary key check (rollup_id = 1),
    through_at bigint,
    carried text not null default '[]',
    locked_at bigint
);

insert into report_rollup (rollup_id) values (1);

-- One cell per interval span (its length: 900000, 3600000 or 86400000), start, queue and
-- channel.
create table report_cell (
    span_ms bigint not null,
    start_at bigint not null,
    queue_id text not null,
    channel text not null,
    body text not null,
    primary key (span_ms, start_at, queue_id, channel)
);

-- One cell per interval span and start, for the agents.
create table report_agent_cell (
    span_ms bigint not null,
    start_at bigint not null,
    body text not null,
    primary key (span_ms, start_at)
);

-- One row per contact's visit to a queue, to recognise repeat contacts of a customer.
create table report_visit (
    contact_id text not null,
    queue_id text not null,
    customer_ref text not null,
    first_entered bigint not null,
    channel text not null,
    first_contact boolean not null,
    repeated boolean not null,
    settled boolean not null,
    agent_id text,
    resolved boolean not null,
    primary key (contact_id, queue_id)
);

create index report_visit_customer on report_visit (customer_ref, queue_id, first_entered, contact_id);

-- Where a contact's survey answers are counted: the interval, queue, channel and agent, and
-- the scores already counted there (`csat`, `nps`; null when none).
create table report_rated (
    contact_id text primary key,
    start_at bigint not null,
    queue_id text not null,
    channel text not null,
    agent_id text not null,
    csat integer,
    nps integer
);

create index report_rated_start_at on report_rated (start_at);
