//! Switchboard's persistence: what must survive a restart, in SQLite or PostgreSQL.
//!
//! One [`Store`] (connections to either database, chosen by the URL: on a SQLite file one
//! connection for every write and read-only ones beside it) keeps:
//!
//! * **users and sessions** ([`User`], [`NewUser`], [`UserUpdate`], [`Role`]): the people
//!   who sign in, and their sessions by token hash;
//! * **API keys** ([`ApiKey`], [`NewApiKey`]): service accounts by key hash, with their
//!   scopes' names, creator, expiry, last use and revocation;
//! * **customers** ([`Customer`], [`NewCustomer`], [`CustomerIdentity`]): the help desk's
//!   customer records, numbered `C-000123`, with the identities (phone, e-mail, external
//!   reference) that find them, versions, and merges that move a duplicate's identities to
//!   the survivor;
//! * **configuration documents** ([`Document`], [`Versioned`]): queues, agents, skills,
//!   greeting scripts, dispositions, away reasons and integrations, one table per kind,
//!   each row a JSON body with a version for optimistic concurrency;
//! * **the event log** ([`EventFilter`]): every dispatcher [`Event`](switchboard_domain::Event)
//!   once, idempotent by event id, fed off the hot path by the batching [`EventWriter`];
//! * **the engine snapshot and journal** ([`JournalStep`], [`SavedSnapshot`]): the in-process
//!   dispatcher's last snapshot and every step it took since, written with the step's events
//!   before the step is acknowledged, so a crash loses nothing acknowledged;
//! * **telephony** (`telephony.rs`): PBX calls by call id, hook answers for idempotency,
//!   customers and survey answers; **outbound webhooks** to the PBX ([`WebhookDelivery`]);
//! * **report aggregates** (`report.rs`, [`ReportTx`]): the rollup's state and its opaque
//!   JSON cells, visits and rated contacts, written under a lock one instance at a time.
//!
//! The schema lives in the repository's `migrations/sqlite` and `migrations/postgres` sets,
//! embedded at compile time and applied by [`Store::migrate`]. The same SQL text serves both
//! databases wherever it is portable.
//!
//! This crate knows nothing about HTTP, routing policy, password hashing or tokens: it stores
//! what it is given (a password *hash*, a token *hash*) and answers questions about it.
//! Time is a parameter (`now`) wherever the caller has one; the few user operations whose
//! signature has none stamp rows with the system clock.
//!
//! Layout: `store.rs` (connecting, migrating, the pools: which one reads, which one
//! writes), `user.rs`, `api_key.rs`, `customer.rs`, `document.rs`, `event_log.rs`, `snapshot.rs`,
//! `writer.rs` (the batching event-log writer), `error.rs`.

mod api_key;
mod customer;
mod document;
mod error;
mod event_log;
mod report;
mod snapshot;
mod store;
mod telephony;
mod user;
mod webhook;
mod writer;

pub use api_key::{ApiKey, NewApiKey};
pub use customer::{
    customer_number, Customer, CustomerFilter, CustomerIdentity, CustomerUpdate, IdentityKind,
    NewCustomer,
};
pub use document::{Document, Versioned};
pub use error::StoreError;
pub use event_log::EventFilter;
pub use report::{CellKey, RatedRow, ReportTx, RollupState, VisitRow};
pub use snapshot::{JournalStep, SavedSnapshot};
pub use store::{PoolStatus, Store};
pub use telephony::{CallRecord, StoredSurveyAnswer};
pub use user::{NewUser, Role, User, UserUpdate};
pub use webhook::{NewWebhook, WebhookAttempt, WebhookDelivery};
pub use writer::{spawn_event_writer, EventWriter, WriterOptions};
