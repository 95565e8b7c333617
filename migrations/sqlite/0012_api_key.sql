-- API keys (service accounts) for PBX bridges, BI tools and scripts.
--
-- A key is known by the SHA-256 of its secret (`key_hash`), never by the secret itself,
-- which is shown once when the key is created. `prefix` (`sbk_` and 8 characters) lets
-- an operator recognise a key in a config file. `scopes` is the scopes' names separated by
-- single spaces (`reports:read contacts:write`). A revoked key keeps its row, for the
-- record, with `revoked_at` set. Times are milliseconds since the Unix epoch, set by the
-- application.

create table api_key (
    -- autoincrement: an id is never reused, so a revoked key's id never names a new one.
    api_key_id integer primary key autoincrement,
    name text not null,
    key_hash text not null unique,
    prefix text not null,
    scopes text not null,
    created_by bigint references app_user (app_user_id) on delete set null,
    created_at bigint not null,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint
);

-- A name says which key is which: unique among the keys that still work.
create unique index api_key_live_name_idx on api_key (name) where revoked_at is null;
