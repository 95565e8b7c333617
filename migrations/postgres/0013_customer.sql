-- Customer records (the help desk's customers): one row per customer, and the identities
-- (phone numbers, e-mail addresses, external references) a contact is matched on.
--
-- `number` is the human-readable customer number (`C-000123`), made by the application
-- from the id in the transaction that inserts the row (null only inside it). `name_folded`
-- is the name lowercased by the application, for prefix search. `tier` is `platinum`,
-- `gold`, `silver` or `standard`. A duplicate merged into another customer keeps its
-- row, with `merged_into` naming the survivor (always a live customer: merging into a
-- customer repoints the ones merged into the duplicate) and no identities left. `version`
-- is for optimistic concurrency. Times are milliseconds since the Unix epoch, set by the
-- application.
--
-- `contact_customer.customer_ref` (0006) stays as it is: the customer reference intake
-- attributes carry, for reports. It may name a customer by its number or by one of its
-- external identities; attaching arriving contacts to these records comes later.

create table customer (
    -- generated always: a number is never reused, so a customer number names one customer forever.
    customer_id bigint generated always as identity primary key,
    number text unique,
    name text not null,
    name_folded text not null,
    tier text not null,
    language text,
    notes text not null,
    merged_into bigint references customer (customer_id),
    version bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);

create index customer_name_folded_idx on customer (name_folded);
create index customer_merged_into_idx on customer (merged_into);

-- A normalised identity: `kind` is `phone` (E.164: `+` and digits), `email` (the whole
-- address lowercased) or `external` (as given). Unique across the table: only live
-- customers hold identities (a merge moves the duplicate's to the survivor).
create table customer_identity (
    kind text not null,
    value text not null,
    customer_id bigint not null references customer (customer_id),
    created_at bigint not null,
    primary key (kind, value)
);

create index customer_identity_customer_idx on customer_identity (customer_id);
