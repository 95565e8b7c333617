-- What events do not carry, for reports: the customer a contact belongs to (true
-- first-contact resolution needs to recognise repeat contacts) and post-contact survey
-- answers (CSAT, NPS). Times are milliseconds since the epoch.

create table contact_customer (
    contact_id text primary key,
    customer_ref text not null,
    created_at bigint not null
);

create index contact_customer_created_at on contact_customer (created_at);

-- One answer per contact and scale (`csat5`: 1–5, `nps10`: 0–10); a new answer replaces it.
create table survey_answer (
    contact_id text not null,
    scale text not null,
    score integer not null,
    answered_at bigint not null,
    primary key (contact_id, scale)
);

create index survey_answer_answered_at on survey_answer (answered_at);
