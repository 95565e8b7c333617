-- Telephony: calls the PBX told us about, by its own call id, and hook deliveries already
-- processed (idempotency by the sender's event id). Times are milliseconds since the epoch.

-- A call known to the ACD (`call` would be a keyword in PostgreSQL). `contact_id` is the ACD contact it became (null when the call
-- was only ever reported ended: a hang-up delivered before the arrival must not enqueue it
-- later); `ended_at` is set once it ended.
create table phone_call (
    integration_id text not null,
    call_id text not null,
    contact_id text,
    created_at bigint not null,
    ended_at bigint,
    primary key (integration_id, call_id)
);

-- The answer given to a hook delivery, replayed when the same event id comes again.
create table hook_event (
    integration_id text not null,
    event_id text not null,
    response text not null,
    received_at bigint not null,
    primary key (integration_id, event_id)
);

create index hook_event_received_at on hook_event (received_at);
