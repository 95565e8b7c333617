-- Outbound webhooks to the PBX (we-route mode): which extension to ring, connect or stop
-- ringing. One row per instruction, whichever instance saw the event first inserts it (the
-- id is derived from the dispatcher's event id, identical on every instance); any instance
-- delivers it, with retries. Times are milliseconds since the epoch.
create table webhook_delivery (
    id text primary key,
    integration_id text not null,
    kind text not null,
    url text not null,
    body text not null,
    -- pending | delivered | failed
    status text not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    -- A worker that claimed the row holds it until then.
    locked_until bigint not null default 0,
    last_error text,
    last_status bigint,
    created_at bigint not null,
    delivered_at bigint
);

create index webhook_delivery_due on webhook_delivery (status, next_attempt_at);
create index webhook_delivery_integration on webhook_delivery (integration_id, created_at);

-- Finding a PBX call by the contact it became.
create index phone_call_contact on phone_call (contact_id);
