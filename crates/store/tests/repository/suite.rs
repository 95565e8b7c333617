//! The scenarios. `repository_suite!(backend)` makes one `#[tokio::test]` per scenario.

use std::{fmt::Debug, time::Duration};

use switchboard_domain::*;
use switchboard_store::{
    customer_number, spawn_event_writer, ApiKey, CellKey, Customer, CustomerFilter,
    CustomerIdentity, CustomerUpdate, Document, EventFilter, IdentityKind, JournalStep, NewApiKey,
    NewCustomer, NewUser, RatedRow, Role, RollupState, SavedSnapshot, Store, StoreError,
    UserUpdate, Versioned, VisitRow, WriterOptions,
};

use switchboard_test_support::{
    database::TestStore as TestDb,
    time::{t, T0},
};

macro_rules! repository_suite {
    ($backend:expr) => {
        repository_suite!(@tests $backend;
            migrations_apply_from_empty_and_again,
            users_are_unique_by_username,
            users_update_with_optimistic_versions,
            user_debug_hides_the_password_hash,
            counting_users_by_role_skips_disabled_ones,
            sessions_expire_and_end_with_a_disabled_user,
            deleting_a_user_deletes_their_sessions,
            a_users_sessions_are_deleted_together,
            the_first_admin_is_created_once_even_concurrently,
            api_keys_are_found_by_hash_until_revoked_or_expired,
            queues_are_versioned_documents,
            agents_are_versioned_documents,
            skills_are_versioned_documents,
            greeting_scripts_are_versioned_documents,
            dispositions_are_versioned_documents,
            away_reasons_are_versioned_documents,
            integrations_are_versioned_documents,
            a_corrupt_stored_row_is_an_error_not_a_panic,
            events_append_once_and_read_back,
            events_filter_by_each_field,
            five_thousand_events_in_one_call,
            engine_snapshot_saves_loads_and_overwrites,
            journal_steps_are_stored_with_their_events_and_trimmed_by_a_snapshot,
            writer_persists_many_small_batches_exactly_once,
            writer_flushes_after_max_delay,
            writer_retries_while_the_database_fails,
            calls_are_claimed_once_and_remember_their_end,
            webhooks_are_queued_once_claimed_once_and_kept_with_their_outcome,
            hook_answers_are_kept_once,
            customers_and_survey_answers_are_kept_for_reports,
            customer_records_are_numbered_found_by_identity_and_versioned,
            customer_identities_belong_to_one_customer,
            merging_customers_moves_identities_to_the_survivor,
            report_rollup_state_cells_visits_and_ratings_round_trip,
            report_rollup_without_commit_changes_nothing,
            report_rollup_lock_serialises_two_rollups,
            report_rollup_reads_and_writes_many_rows_in_chunks,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                switchboard_test_support::database::with_store($backend, $crate::suite::$name).await;
            }
        )*
    };
}

fn a(name: &str) -> AgentId {
    AgentId::parse(name).unwrap()
}
fn q(name: &str) -> QueueId {
    QueueId::parse(name).unwrap()
}
fn contact(n: u128) -> ContactId {
    ContactId::from_uuid(uuid::Uuid::from_u128(
        0x0192_f0c4_0000_7000_8000_0000_0000_0000 + n,
    ))
}

fn new_user(username: &str, role: Role) -> NewUser {
    NewUser {
        username: username.into(),
        display_name: format!("{username} (display)"),
        role,
        password_hash: format!("$argon2id$v=19$hash-of-{username}"),
        agent_id: (role == Role::Agent).then(|| a(username)),
    }
}

/// Migrations in each set (`migrations/sqlite`, `migrations/postgres`).
const MIGRATIONS: i64 = 11;

pub(crate) async fn migrations_apply_from_empty_and_again(db: TestDb) {
    let files = |set: &str| {
        std::fs::read_dir(format!(
            "{}/../../migrations/{set}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .is_ok_and(|f| f.path().extension().is_some_and(|e| e == "sql"))
        })
        .count() as i64
    };
    assert_eq!(
        (files("sqlite"), files("postgres")),
        (MIGRATIONS, MIGRATIONS),
        "both sets move together"
    );
    let s = &db.store;
    assert_eq!(
        db.database
            .query_i64("select count(*) from _sqlx_migrations")
            .await,
        MIGRATIONS
    );
    s.migrate().await.expect("migrating again is a no-op");
    assert_eq!(
        db.database
            .query_i64("select count(*) from _sqlx_migrations")
            .await,
        MIGRATIONS
    );
    s.ping().await.unwrap();
    assert!(s.list_users().await.unwrap().is_empty());
    assert!(s.list::<QueueConfig>().await.unwrap().is_empty());
    assert_eq!(s.last_event_id().await.unwrap(), None);
    assert_eq!(s.load_engine_snapshot().await.unwrap(), None);
    assert!(["sqlite", "postgres"].contains(&s.kind()));
}

pub(crate) async fn users_are_unique_by_username(db: TestDb) {
    let s = &db.store;
    let ann = s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
    assert_eq!(ann.username, "ann");
    assert_eq!(ann.display_name, "ann (display)");
    assert_eq!(ann.role, Role::Agent);
    assert_eq!(ann.agent_id, Some(a("ann")));
    assert_eq!(ann.password_hash, "$argon2id$v=19$hash-of-ann");
    assert!(!ann.disabled);
    assert_eq!(ann.version, 1);
    assert_eq!(ann.created_at, ann.updated_at);

    let err = s
        .create_user(&new_user("ann", Role::Admin))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(err.code(), "conflict");

    let root = s.create_user(&new_user("root", Role::Admin)).await.unwrap();
    assert!(root.user_id > ann.user_id);
    assert_eq!(root.agent_id, None);
    assert_eq!(s.user_by_username("ann").await.unwrap(), Some(ann.clone()));
    assert_eq!(s.user(root.user_id).await.unwrap(), Some(root.clone()));
    assert_eq!(s.user_by_username("nobody").await.unwrap(), None);
    assert_eq!(s.user(root.user_id + 100).await.unwrap(), None);
    assert_eq!(s.list_users().await.unwrap(), vec![ann, root]);
}

pub(crate) async fn users_update_with_optimistic_versions(db: TestDb) {
    let s = &db.store;
    let ann = s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
    let id = ann.user_id;

    let renamed = UserUpdate {
        display_name: Some("Ann Smith".into()),
        ..UserUpdate::default()
    };
    let v2 = s.update_user(id, &renamed, Some(1)).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.display_name, "Ann Smith");
    assert_eq!(
        (
            &v2.username,
            v2.role,
            &v2.password_hash,
            &v2.agent_id,
            v2.disabled
        ),
        (
            &ann.username,
            ann.role,
            &ann.password_hash,
            &ann.agent_id,
            false
        ),
        "fields not named in the update stay as they were"
    );
    assert_eq!(v2.created_at, ann.created_at);
    assert!(v2.updated_at >= ann.updated_at);

    // A writer that read version 1 loses.
    let err = s.update_user(id, &renamed, Some(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.user(id).await.unwrap().unwrap().version, 2);

    // Without a version the last write wins; every field can change.
    let everything = UserUpdate {
        display_name: None,
        role: Some(Role::Supervisor),
        password_hash: Some("$argon2id$new".into()),
        agent_id: Some(None),
        disabled: Some(true),
    };
    let v3 = s.update_user(id, &everything, None).await.unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(v3.display_name, "Ann Smith");
    assert_eq!(v3.role, Role::Supervisor);
    assert_eq!(v3.password_hash, "$argon2id$new");
    assert_eq!(v3.agent_id, None);
    assert!(v3.disabled);

    let relink = UserUpdate {
        agent_id: Some(Some(a("ann-2"))),
        disabled: Some(false),
        ..UserUpdate::default()
    };
    let v4 = s.update_user(id, &relink, Some(3)).await.unwrap();
    assert_eq!(v4.agent_id, Some(a("ann-2")));
    assert!(!v4.disabled);
    assert_eq!(s.user(id).await.unwrap(), Some(v4));

    let err = s.update_user(id + 100, &relink, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = s.update_user(id + 100, &relink, Some(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub(crate) async fn user_debug_hides_the_password_hash(db: TestDb) {
    let ann = db
        .store
        .create_user(&new_user("ann", Role::Agent))
        .await
        .unwrap();
    let printed = format!("{ann:?}");
    assert!(!printed.contains("hash-of-ann"), "{printed}");
    assert!(printed.contains("redacted"), "{printed}");
    assert!(printed.contains("ann (display)"), "{printed}");
}

pub(crate) async fn counting_users_by_role_skips_disabled_ones(db: TestDb) {
    let s = &db.store;
    let root = s.create_user(&new_user("root", Role::Admin)).await.unwrap();
    s.create_user(&new_user("admin2", Role::Admin))
        .await
        .unwrap();
    s.create_user(&new_user("sue", Role::Supervisor))
        .await
        .unwrap();
    assert_eq!(s.count_users_with_role(Role::Admin).await.unwrap(), 2);
    assert_eq!(s.count_users_with_role(Role::Supervisor).await.unwrap(), 1);
    assert_eq!(s.count_users_with_role(Role::Agent).await.unwrap(), 0);
    let disable = UserUpdate {
        disabled: Some(true),
        ..UserUpdate::default()
    };
    s.update_user(root.user_id, &disable, None).await.unwrap();
    assert_eq!(s.count_users_with_role(Role::Admin).await.unwrap(), 1);
}

pub(crate) async fn sessions_expire_and_end_with_a_disabled_user(db: TestDb) {
    let s = &db.store;
    let ann = s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
    s.create_session("h1", ann.user_id, t(0), t(1_000))
        .await
        .unwrap();
    s.create_session("h2", ann.user_id, t(0), t(5_000))
        .await
        .unwrap();

    let check = |token: &'static str, now: i64, expected: Option<i64>| async move {
        let got = s.session_user(token, t(now)).await.unwrap();
        assert_eq!(got.map(|u| u.user_id), expected, "{token} at +{now} ms");
    };
    check("h1", 0, Some(ann.user_id)).await;
    check("h1", 999, Some(ann.user_id)).await;
    check("h1", 1_000, None).await; // expires_at is the first instant it is invalid
    check("nope", 0, None).await;

    // A disabled user has no valid session; enabled again, the session is back.
    let set_disabled = |d: bool| UserUpdate {
        disabled: Some(d),
        ..UserUpdate::default()
    };
    s.update_user(ann.user_id, &set_disabled(true), None)
        .await
        .unwrap();
    check("h2", 0, None).await;
    s.update_user(ann.user_id, &set_disabled(false), None)
        .await
        .unwrap();
    check("h2", 0, Some(ann.user_id)).await;

    // Errors: an unknown user, a token hash already in use.
    let err = s
        .create_session("h3", ann.user_id + 100, t(0), t(1_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = s
        .create_session("h2", ann.user_id, t(0), t(1_000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // Expired ones are swept; sign-out deletes one.
    assert_eq!(s.delete_expired_sessions(t(1_000)).await.unwrap(), 1);
    assert_eq!(s.delete_expired_sessions(t(1_000)).await.unwrap(), 0);
    assert!(!s.delete_session("h1").await.unwrap());
    assert!(s.delete_session("h2").await.unwrap());
    assert!(!s.delete_session("h2").await.unwrap());
    check("h2", 0, None).await;
}

pub(crate) async fn deleting_a_user_deletes_their_sessions(db: TestDb) {
    let s = &db.store;
    let ann = s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
    let bob = s.create_user(&new_user("bob", Role::Agent)).await.unwrap();
    for (token, user) in [("a1", &ann), ("a2", &ann), ("b1", &bob)] {
        s.create_session(token, user.user_id, t(0), t(60_000))
            .await
            .unwrap();
    }
    assert!(s.delete_user(ann.user_id).await.unwrap());
    assert!(!s.delete_user(ann.user_id).await.unwrap());
    assert_eq!(s.user(ann.user_id).await.unwrap(), None);
    assert_eq!(
        db.database.query_i64("select count(*) from session").await,
        1
    );
    assert_eq!(s.session_user("a1", t(0)).await.unwrap(), None);
    assert_eq!(
        s.session_user("b1", t(0)).await.unwrap().map(|u| u.user_id),
        Some(bob.user_id)
    );
    // The username is free again.
    s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
}

fn new_key(name: &str, hash: &str, created_by: Option<i64>) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        key_hash: hash.into(),
        prefix: format!("sbk_{name}"),
        scopes: vec!["reports:read".into(), "contacts:write".into()],
        created_by,
        created_at: t(0),
        expires_at: None,
    }
}

pub(crate) async fn api_keys_are_found_by_hash_until_revoked_or_expired(db: TestDb) {
    let s = &db.store;
    let admin = s.create_user(&new_user("root", Role::Admin)).await.unwrap();
    let bi = s
        .create_api_key(&new_key("bi", "h-bi", Some(admin.user_id)))
        .await
        .unwrap();
    assert_eq!(
        bi,
        ApiKey {
            api_key_id: bi.api_key_id,
            name: "bi".into(),
            prefix: "sbk_bi".into(),
            scopes: vec!["reports:read".into(), "contacts:write".into()],
            created_by: Some(admin.user_id),
            created_by_username: Some("root".into()),
            created_at: t(0),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        }
    );
    // A working key's name is taken; a revoked key's is free again.
    let taken = s.create_api_key(&new_key("bi", "h-other", None)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let pbx = s
        .create_api_key(&NewApiKey {
            expires_at: Some(t(10_000)),
            ..new_key("pbx", "h-pbx", None)
        })
        .await
        .unwrap();

    let found = |hash: &'static str, at: i64| async move {
        s.api_key_by_hash(hash, t(at))
            .await
            .unwrap()
            .map(|k| k.api_key_id)
    };
    assert_eq!(found("h-bi", 5_000).await, Some(bi.api_key_id));
    assert_eq!(found("h-pbx", 9_999).await, Some(pbx.api_key_id));
    assert_eq!(found("h-pbx", 10_000).await, None, "expired");
    assert_eq!(found("nothing", 0).await, None);

    // Last use only moves forward.
    s.touch_api_key(bi.api_key_id, t(7_000)).await.unwrap();
    s.touch_api_key(bi.api_key_id, t(6_000)).await.unwrap();
    let bi_now = s.api_key(bi.api_key_id).await.unwrap().unwrap();
    assert_eq!(bi_now.last_used_at, Some(t(7_000)));

    // Revoking keeps the row and the first revocation time.
    assert!(s.revoke_api_key(bi.api_key_id, t(8_000)).await.unwrap());
    assert!(s.revoke_api_key(bi.api_key_id, t(9_000)).await.unwrap());
    assert!(!s.revoke_api_key(9_999, t(9_000)).await.unwrap());
    assert_eq!(found("h-bi", 8_000).await, None, "revoked");
    let listed = s.list_api_keys().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|k| (k.name.as_str(), k.revoked_at))
            .collect::<Vec<_>>(),
        [("bi", Some(t(8_000))), ("pbx", None)]
    );
    s.create_api_key(&new_key("bi", "h-bi-2", None))
        .await
        .unwrap();

    // The creator's deletion keeps the key, without its creator.
    s.delete_user(admin.user_id).await.unwrap();
    let orphan = s.api_key(bi.api_key_id).await.unwrap().unwrap();
    assert_eq!(
        (orphan.created_by, orphan.created_by_username),
        (None, None)
    );
    // Debug never prints the hash.
    assert!(!format!("{:?}", new_key("x", "secret-hash", None)).contains("secret-hash"));
}

pub(crate) async fn a_users_sessions_are_deleted_together(db: TestDb) {
    let s = &db.store;
    let ann = s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
    let bob = s.create_user(&new_user("bob", Role::Agent)).await.unwrap();
    for (token, user) in [("a1", &ann), ("a2", &ann), ("b1", &bob)] {
        s.create_session(token, user.user_id, t(0), t(60_000))
            .await
            .unwrap();
    }
    assert_eq!(s.delete_sessions_of_user(ann.user_id).await.unwrap(), 2);
    assert_eq!(s.delete_sessions_of_user(ann.user_id).await.unwrap(), 0);
    assert_eq!(s.session_user("a2", t(0)).await.unwrap(), None);
    assert!(s.session_user("b1", t(0)).await.unwrap().is_some());
}

pub(crate) async fn the_first_admin_is_created_once_even_concurrently(db: TestDb) {
    let s = &db.store;
    // An agent or supervisor does not count; a taken username is a conflict.
    s.create_user(&new_user("sue", Role::Supervisor))
        .await
        .unwrap();
    let err = s
        .create_first_admin(&new_user("sue", Role::Admin))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let (root, boss, chief) = (
        new_user("root", Role::Admin),
        new_user("boss", Role::Admin),
        new_user("chief", Role::Admin),
    );
    let (a, b, c) = tokio::join!(
        s.create_first_admin(&root),
        s.create_first_admin(&boss),
        s.create_first_admin(&chief),
    );
    let created: Vec<_> = [a, b, c].into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].role, Role::Admin);
    assert_eq!(s.count_users_with_role(Role::Admin).await.unwrap(), 1);
    assert_eq!(
        s.create_first_admin(&new_user("late", Role::Admin))
            .await
            .unwrap(),
        None
    );
}

/// The whole document contract for one kind. `make(id, variant)` builds a document whose
/// content differs with `variant`. Ids are chosen so that bytewise order (`B` < `a` < `b`)
/// differs from a case-insensitive one.
async fn check_document_kind<D>(s: &Store, make: impl Fn(&str, u32) -> D)
where
    D: Document + Clone + PartialEq + Debug,
{
    let conflict = |r: Result<Versioned<D>, StoreError>| match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    };
    assert!(s.list::<D>().await.unwrap().is_empty());
    assert_eq!(s.get::<D>("a").await.unwrap(), None);

    // Create: without a version, or with version 0.
    let b = s.put(&make("b", 0), None, t(0)).await.unwrap();
    assert_eq!((b.version, b.created_at, b.updated_at), (1, t(0), t(0)));
    assert_eq!(b.doc, make("b", 0));
    let a1 = s.put(&make("a", 0), Some(0), t(1)).await.unwrap();
    assert_eq!(a1.version, 1);
    s.put(&make("B", 0), None, t(2)).await.unwrap();
    assert_eq!(s.get::<D>("a").await.unwrap(), Some(a1.clone()));

    let ids = |list: Vec<Versioned<D>>| list.into_iter().map(|v| v.doc.id()).collect::<Vec<_>>();
    assert_eq!(ids(s.list::<D>().await.unwrap()), ["B", "a", "b"]);

    // Replace the version read.
    let a2 = s.put(&make("a", 1), Some(1), t(10)).await.unwrap();
    assert_eq!((a2.version, a2.created_at, a2.updated_at), (2, t(1), t(10)));
    assert_eq!(s.get::<D>("a").await.unwrap(), Some(a2.clone()));

    // Stale or impossible versions conflict and change nothing.
    conflict(s.put(&make("a", 2), Some(1), t(20)).await);
    conflict(s.put(&make("a", 2), Some(0), t(20)).await);
    conflict(s.put(&make("zz", 2), Some(3), t(20)).await);
    assert_eq!(s.get::<D>("a").await.unwrap(), Some(a2));
    assert_eq!(s.get::<D>("zz").await.unwrap(), None);

    // No version: the last write wins.
    let a3 = s.put(&make("a", 3), None, t(30)).await.unwrap();
    assert_eq!((a3.version, a3.doc.clone()), (3, make("a", 3)));

    // Delete: a stale version conflicts; the right one, or none, deletes.
    assert!(matches!(
        s.delete::<D>("a", Some(2)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.delete::<D>("a", Some(3)).await.unwrap());
    assert_eq!(s.get::<D>("a").await.unwrap(), None);
    assert!(!s.delete::<D>("a", None).await.unwrap());
    assert!(!s.delete::<D>("a", Some(3)).await.unwrap());
    assert!(s.delete::<D>("b", None).await.unwrap());
    assert_eq!(ids(s.list::<D>().await.unwrap()), ["B"]);

    // Created again from scratch: version 1.
    assert_eq!(
        s.put(&make("a", 4), Some(0), t(40)).await.unwrap().version,
        1
    );
}

pub(crate) async fn queues_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| {
        let mut c = QueueConfig::new(q(id));
        c.offer_timeout = Duration::from_secs(10 + u64::from(v));
        c.strategy = RoutingStrategy::RoundRobin;
        c
    })
    .await;
}

pub(crate) async fn agents_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| Agent {
        profile: AgentProfile::new(a(id)).with_skill(
            SkillName::parse("billing").unwrap(),
            SkillLevel::new(5).unwrap(),
        ),
        display_name: format!("Agent {id}"),
        number: format!("{}", 1000 + v),
        extension: Some("201".into()),
        team: None,
    })
    .await;
}

pub(crate) async fn skills_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| Skill {
        name: SkillName::parse(id).unwrap(),
        description: format!("skill {id}, take {v}"),
    })
    .await;
}

pub(crate) async fn greeting_scripts_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| GreetingScript {
        script_id: id.into(),
        queue: (v % 2 == 1).then(|| q("sales")),
        language: "en".into(),
        template: format!("Hello, {{company}}, this is {{agent_name}} ({v})."),
    })
    .await;
}

pub(crate) async fn dispositions_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| Disposition {
        code: id.into(),
        label: format!("Outcome {v}"),
        resolves: v % 2 == 0,
    })
    .await;
}

pub(crate) async fn away_reasons_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| AwayReason {
        code: ReasonCode::parse(id).unwrap(),
        label: format!("Break {v}"),
    })
    .await;
}

pub(crate) async fn integrations_are_versioned_documents(db: TestDb) {
    check_document_kind(&db.store, |id, v| Integration {
        integration_id: id.into(),
        kind: IntegrationKind::Generic,
        secret: format!("0123456789abcdef-{v}"),
        callback_url: Some("https://pbx.example/route".into()),
    })
    .await;
}

pub(crate) async fn a_corrupt_stored_row_is_an_error_not_a_panic(db: TestDb) {
    let s = &db.store;
    s.put(&QueueConfig::new(q("fine")), None, t(0))
        .await
        .unwrap();
    // Not JSON, and JSON that fails the domain's validation.
    db.database
        .execute(
            "insert into queue (queue_id, body, version, created_at, updated_at) \
         values ('garbled', 'not json', 1, 0, 0), ('invalid', '{\"id\": \"no spaces\"}', 1, 0, 0)",
        )
        .await;
    for id in ["garbled", "invalid"] {
        let err = s.get::<QueueConfig>(id).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        assert_eq!(err.code(), "corrupt");
    }
    assert!(matches!(
        s.list::<QueueConfig>().await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(s.get::<QueueConfig>("fine").await.unwrap().is_some());

    // An event body, and a user's agent id.
    db.database
        .execute(
            "insert into event (event_id, at, kind, body) values (1, 0, 'contact_queued', '{}')",
        )
        .await;
    assert!(matches!(
        s.events(&EventFilter::default()).await,
        Err(StoreError::Corrupt(_))
    ));
    let ann = s.create_user(&new_user("ann", Role::Agent)).await.unwrap();
    db.database
        .execute("update app_user set agent_id = 'not an id' where username = 'ann'")
        .await;
    assert!(matches!(
        s.user(ann.user_id).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// Ten events about two contacts, two agents and two queues, 1 s apart, ids 1–10.
pub(crate) fn fixture_events() -> Vec<Event> {
    let (c1, c2) = (contact(1), contact(2));
    let kinds = vec![
        EventKind::AgentPresenceChanged {
            agent: a("ann"),
            presence: Presence::Available,
        },
        EventKind::ContactQueued {
            contact: c1,
            queue: q("sales"),
            channel: Channel::Voice,
            tier: Tier::default(),
            priority: Priority::default(),
            arrived_at: t(1_000),
            attributes: Default::default(),
        },
        EventKind::ContactOffered {
            contact: c1,
            queue: q("sales"),
            agent: a("ann"),
            deadline: t(17_000),
        },
        EventKind::OfferAccepted {
            contact: c1,
            queue: q("sales"),
            agent: a("ann"),
            waited_ms: 2_000,
        },
        EventKind::ContactQueued {
            contact: c2,
            queue: q("support"),
            channel: Channel::Chat,
            tier: Tier::default(),
            priority: Priority::default(),
            arrived_at: t(4_000),
            attributes: Default::default(),
        },
        EventKind::ContactEnded {
            contact: c1,
            queue: q("sales"),
            agent: a("ann"),
            wrap_up_until: t(35_000),
        },
        EventKind::ContactCompleted {
            contact: c1,
            queue: q("sales"),
            agent: a("ann"),
            wrap_up: WrapUp {
                disposition: Some("sale".into()),
                resolved: Some(true),
            },
        },
        EventKind::ContactOffered {
            contact: c2,
            queue: q("support"),
            agent: a("bob"),
            deadline: t(22_000),
        },
        EventKind::AgentPresenceChanged {
            agent: a("bob"),
            presence: Presence::Away {
                reason: ReasonCode::parse("lunch").unwrap(),
            },
        },
        EventKind::ContactTransferred {
            contact: c2,
            from_queue: q("support"),
            from_agent: Some(a("bob")),
            to: TransferTarget::Queue(q("sales")),
        },
    ];
    kinds
        .into_iter()
        .zip(0..)
        .map(|(kind, i)| Event {
            id: EventId(i + 1),
            at: t(i as i64 * 1_000),
            kind,
        })
        .collect()
}

/// Simple presence events with the given ids, `at` = T0 + id ms.
pub(crate) fn numbered_events(ids: impl IntoIterator<Item = u64>) -> Vec<Event> {
    ids.into_iter()
        .map(|id| Event {
            id: EventId(id),
            at: t(id as i64),
            kind: EventKind::AgentPresenceChanged {
                agent: a(&format!("agent-{}", id % 50)),
                presence: Presence::Available,
            },
        })
        .collect()
}

fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.id.0).collect()
}

pub(crate) async fn events_append_once_and_read_back(db: TestDb) {
    let s = &db.store;
    let events = fixture_events();
    assert_eq!(s.append_events(&[]).await.unwrap(), 0);
    assert_eq!(s.append_events(&events[..6]).await.unwrap(), 6);
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(6)));
    // Writing again is harmless: only the new ones count.
    assert_eq!(s.append_events(&events[..6]).await.unwrap(), 0);
    assert_eq!(s.append_events(&events).await.unwrap(), 4);
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(10)));
    // The whole event comes back, field for field.
    assert_eq!(s.events(&EventFilter::default()).await.unwrap(), events);
    assert_eq!(
        db.database.query_i64("select count(*) from event").await,
        10
    );

    let err = s
        .append_events(&numbered_events([u64::MAX]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(10)));
}

pub(crate) async fn events_filter_by_each_field(db: TestDb) {
    let s = &db.store;
    s.append_events(&fixture_events()).await.unwrap();
    let check = |filter: EventFilter, expected: &'static [u64]| async move {
        let got = s.events(&filter).await.unwrap();
        assert_eq!(ids(&got), expected, "{filter:?}");
    };
    let all = EventFilter::default;
    check(all(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).await;
    check(
        EventFilter {
            contact: Some(contact(1)),
            ..all()
        },
        &[2, 3, 4, 6, 7],
    )
    .await;
    check(
        EventFilter {
            contact: Some(contact(99)),
            ..all()
        },
        &[],
    )
    .await;
    check(
        EventFilter {
            agent: Some(a("ann")),
            ..all()
        },
        &[1, 3, 4, 6, 7],
    )
    .await;
    check(
        EventFilter {
            agent: Some(a("bob")),
            ..all()
        },
        &[8, 9, 10],
    )
    .await;
    check(
        EventFilter {
            queue: Some(q("sales")),
            ..all()
        },
        &[2, 3, 4, 6, 7],
    )
    .await;
    check(
        EventFilter {
            queue: Some(q("support")),
            ..all()
        },
        &[5, 8, 10],
    )
    .await;
    check(
        EventFilter {
            kind: Some("contact_queued".into()),
            ..all()
        },
        &[2, 5],
    )
    .await;
    // from is inclusive, to exclusive.
    check(
        EventFilter {
            from: Some(t(3_000)),
            to: Some(t(7_000)),
            ..all()
        },
        &[4, 5, 6, 7],
    )
    .await;
    check(
        EventFilter {
            from: Some(t(8_000)),
            ..all()
        },
        &[9, 10],
    )
    .await;
    check(
        EventFilter {
            to: Some(t(1_000)),
            ..all()
        },
        &[1],
    )
    .await;
    check(
        EventFilter {
            after: Some(EventId(7)),
            ..all()
        },
        &[8, 9, 10],
    )
    .await;
    check(
        EventFilter {
            after: Some(EventId(u64::MAX)),
            ..all()
        },
        &[],
    )
    .await;
    // Everything together narrows further.
    check(
        EventFilter {
            agent: Some(a("ann")),
            kind: Some("contact_offered".into()),
            queue: Some(q("sales")),
            contact: Some(contact(1)),
            after: Some(EventId(1)),
            from: Some(t(0)),
            to: Some(t(10_000)),
            limit: 10,
        },
        &[3],
    )
    .await;
    // The limit, clamped to 1..=1000.
    check(EventFilter { limit: 2, ..all() }, &[1, 2]).await;
    check(EventFilter { limit: 0, ..all() }, &[1]).await;
    check(
        EventFilter {
            limit: 3,
            after: Some(EventId(4)),
            ..all()
        },
        &[5, 6, 7],
    )
    .await;
}

pub(crate) async fn five_thousand_events_in_one_call(db: TestDb) {
    let s = &db.store;
    let events = numbered_events(1..=5_000);
    assert_eq!(s.append_events(&events).await.unwrap(), 5_000);
    assert_eq!(s.append_events(&events).await.unwrap(), 0);
    // A call mixing old and new ones inserts the new ones only.
    assert_eq!(
        s.append_events(&numbered_events(4_990..=5_010))
            .await
            .unwrap(),
        10
    );
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(5_010)));
    assert_eq!(
        db.database.query_i64("select count(*) from event").await,
        5_010
    );
    // Larger than one statement's worth on either database, duplicates included.
    assert_eq!(
        s.append_events(&numbered_events(1..=12_000)).await.unwrap(),
        6_990
    );
    assert_eq!(
        db.database.query_i64("select count(*) from event").await,
        12_000
    );

    let first = s
        .events(&EventFilter {
            limit: u32::MAX,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&first), (1..=1_000).collect::<Vec<_>>());
    assert_eq!(first, events[..1_000]);
    // Paging with `after` reads everything once.
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = s
            .events(&EventFilter {
                after,
                ..EventFilter::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        assert_eq!(page[0].id.0, seen + 1);
        seen += page.len() as u64;
        after = Some(last.id);
    }
    assert_eq!(seen, 12_000);
}

pub(crate) async fn engine_snapshot_saves_loads_and_overwrites(db: TestDb) {
    let s = &db.store;
    assert_eq!(s.load_engine_snapshot().await.unwrap(), None);
    s.save_engine_snapshot(r#"{"agents":[]}"#, 0, t(0))
        .await
        .unwrap();
    assert_eq!(
        s.load_engine_snapshot().await.unwrap(),
        Some(SavedSnapshot {
            body: r#"{"agents":[]}"#.into(),
            journal_seq: 0
        })
    );
    let big = format!(r#"{{"agents":["{}"]}}"#, "x".repeat(1_000_000));
    s.save_engine_snapshot(&big, 7, t(1_000)).await.unwrap();
    assert_eq!(
        s.load_engine_snapshot().await.unwrap(),
        Some(SavedSnapshot {
            body: big,
            journal_seq: 7
        })
    );
    assert_eq!(
        db.database
            .query_i64("select count(*) from engine_snapshot")
            .await,
        1
    );
    assert_eq!(
        db.database
            .query_i64("select saved_at from engine_snapshot")
            .await,
        T0 + 1_000
    );
}

pub(crate) async fn journal_steps_are_stored_with_their_events_and_trimmed_by_a_snapshot(
    db: TestDb,
) {
    let s = &db.store;
    assert_eq!(s.journal_after(0).await.unwrap(), vec![]);
    let step = |seq: u64, command: Option<Command>| JournalStep {
        seq,
        at: t(seq as i64 * 10),
        command,
    };
    let steps = vec![
        step(1, Some(Command::RemoveQueue { queue: q("sales") })),
        step(2, None),
        step(
            3,
            Some(Command::SetPresence {
                agent: a("ann"),
                presence: Presence::Available,
            }),
        ),
    ];
    let events = numbered_events(0..5);
    s.append_journal(&steps, &events).await.unwrap();
    // Written again (a retry after an unknown outcome): nothing doubles.
    s.append_journal(&steps[1..], &events[2..]).await.unwrap();
    assert_eq!(s.journal_after(0).await.unwrap(), steps);
    assert_eq!(s.journal_after(2).await.unwrap(), steps[2..].to_vec());
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(4)));
    let logged = s.events(&EventFilter::default()).await.unwrap();
    assert_eq!(logged, events);

    // A batch of many steps with no events, then one with many events and no steps.
    let many: Vec<JournalStep> = (4..2_004).map(|n| step(n, None)).collect();
    s.append_journal(&many, &[]).await.unwrap();
    s.append_journal(&[], &numbered_events(5..3_000))
        .await
        .unwrap();
    assert_eq!(s.journal_after(0).await.unwrap().len(), 2_003);
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(2_999)));

    // A snapshot takes the journal's place up to its position.
    s.save_engine_snapshot("{}", 1_000, t(5)).await.unwrap();
    let rest = s.journal_after(0).await.unwrap();
    assert_eq!(rest.first().map(|s| s.seq), Some(1_001));
    assert_eq!(rest.len(), 1_003);
    assert_eq!(
        db.database
            .query_i64("select count(*) from engine_journal")
            .await,
        1_003
    );

    // A step that cannot be stored is refused whole, with nothing written.
    let e = s
        .append_journal(&[step(u64::MAX, None)], &numbered_events(3_000..3_001))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(2_999)));
}

/// Polls `lag` until it reaches zero, for at most `within`.
async fn wait_for_zero_lag(lag: impl Fn() -> u64, within: Duration) {
    let start = tokio::time::Instant::now();
    while lag() > 0 {
        assert!(
            start.elapsed() < within,
            "lag still {} after {within:?}",
            lag()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) async fn writer_persists_many_small_batches_exactly_once(db: TestDb) {
    let s = &db.store;
    let options = WriterOptions {
        max_batch: 100,
        max_delay: Duration::from_millis(20),
    };
    let (writer, task) = spawn_event_writer(s.clone(), options);
    // Three producers sending 1–7 events at a time, 3,000 events in all, the last 100 of
    // each producer's range sent twice.
    let mut producers = Vec::new();
    for p in 0..3u64 {
        let writer = writer.clone();
        producers.push(tokio::spawn(async move {
            let range = p * 1_000 + 1..=(p + 1) * 1_000;
            let all: Vec<u64> = range.collect();
            let mut k = 0;
            let mut size = 1;
            while k < all.len() {
                let end = (k + size).min(all.len());
                writer.send(numbered_events(all[k..end].iter().copied()));
                k = end;
                size = size % 7 + 1;
                if k % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            writer.send(numbered_events(all[900..].iter().copied()));
            writer.close();
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    assert!(writer.lag() <= 3_300);
    wait_for_zero_lag(|| writer.lag(), Duration::from_secs(30)).await;
    writer.close();
    assert_eq!(task.await.unwrap().unwrap(), 3_000);

    assert_eq!(
        db.database.query_i64("select count(*) from event").await,
        3_000
    );
    assert_eq!(
        db.database
            .query_i64("select count(distinct event_id) from event")
            .await,
        3_000
    );
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(3_000)));
    let first = s.events(&EventFilter::default()).await.unwrap();
    assert_eq!(first, numbered_events(1..=1_000));

    // Closing with nothing sent writes nothing.
    let (writer, task) = spawn_event_writer(s.clone(), WriterOptions::default());
    writer.close();
    assert_eq!(task.await.unwrap().unwrap(), 0);
}

pub(crate) async fn writer_flushes_after_max_delay(db: TestDb) {
    let s = &db.store;
    let options = WriterOptions {
        max_batch: 1_000,
        max_delay: Duration::from_millis(50),
    };
    let (writer, task) = spawn_event_writer(s.clone(), options);
    writer.send(numbered_events(1..=3));
    assert_eq!(writer.lag(), 3);
    // Far fewer than max_batch, and no close: written once max_delay has passed.
    wait_for_zero_lag(|| writer.lag(), Duration::from_secs(10)).await;
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(3)));
    // An event that can never be stored (id beyond i64::MAX) is dropped alone.
    writer.send(numbered_events([4, u64::MAX, 5]));
    wait_for_zero_lag(|| writer.lag(), Duration::from_secs(10)).await;
    assert_eq!(s.last_event_id().await.unwrap(), Some(EventId(5)));
    writer.close();
    assert_eq!(task.await.unwrap().unwrap(), 5);
}

pub(crate) async fn writer_retries_while_the_database_fails(db: TestDb) {
    let s = &db.store;
    let options = WriterOptions {
        max_batch: 10,
        max_delay: Duration::from_millis(10),
    };
    let (writer, task) = spawn_event_writer(s.clone(), options);
    writer.send(numbered_events(1..=5));
    wait_for_zero_lag(|| writer.lag(), Duration::from_secs(10)).await;

    // The event table disappears: writes fail, and the events wait.
    db.database
        .execute("alter table event rename to event_parked")
        .await;
    writer.send(numbered_events(6..=30));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(writer.lag(), 25, "nothing is dropped while writes fail");
    db.database
        .execute("alter table event_parked rename to event")
        .await;

    // It comes back: everything is written, once.
    wait_for_zero_lag(|| writer.lag(), Duration::from_secs(30)).await;
    writer.send(numbered_events(25..=40));
    writer.close();
    assert_eq!(task.await.unwrap().unwrap(), 40);
    assert_eq!(
        db.database.query_i64("select count(*) from event").await,
        40
    );
    assert_eq!(
        s.events(&EventFilter::default()).await.unwrap(),
        numbered_events(1..=40)
    );
}

pub(crate) async fn calls_are_claimed_once_and_remember_their_end(db: TestDb) {
    let s = &db.store;
    assert_eq!(s.call("pbx", "1545241916.41").await.unwrap(), None);
    let (first, second) = (contact(1), contact(2));
    let claimed = s
        .claim_call("pbx", "1545241916.41", first, t(0))
        .await
        .unwrap();
    assert_eq!(claimed.contact_id, Some(first));
    // A racing second delivery sees the first contact, not its own.
    let again = s
        .claim_call("pbx", "1545241916.41", second, t(1))
        .await
        .unwrap();
    assert_eq!(again.contact_id, Some(first));
    // The same call id of another integration is another call.
    assert_eq!(
        s.claim_call("other", "1545241916.41", second, t(1))
            .await
            .unwrap()
            .contact_id,
        Some(second)
    );
    s.end_call("pbx", "1545241916.41", t(5)).await.unwrap();
    s.end_call("pbx", "1545241916.41", t(9)).await.unwrap();
    assert_eq!(
        s.call("pbx", "1545241916.41").await.unwrap(),
        Some(switchboard_store::CallRecord {
            contact_id: Some(first),
            ended_at: Some(t(5))
        }),
        "the first end counts"
    );
    // A hang-up before the arrival leaves a record without contact, and the arrival then
    // claims nothing.
    s.end_call("pbx", "early", t(0)).await.unwrap();
    let late = s
        .claim_call("pbx", "early", contact(3), t(1))
        .await
        .unwrap();
    assert_eq!((late.contact_id, late.ended_at), (None, Some(t(0))));
}

pub(crate) async fn hook_answers_are_kept_once(db: TestDb) {
    let s = &db.store;
    assert_eq!(s.hook_response("pbx", "ev-1").await.unwrap(), None);
    s.save_hook_response("pbx", "ev-1", r#"{"contact_id":"a"}"#, t(0))
        .await
        .unwrap();
    s.save_hook_response("pbx", "ev-1", r#"{"contact_id":"b"}"#, t(1))
        .await
        .unwrap();
    assert_eq!(
        s.hook_response("pbx", "ev-1").await.unwrap().as_deref(),
        Some(r#"{"contact_id":"a"}"#)
    );
    assert_eq!(s.hook_response("other", "ev-1").await.unwrap(), None);
}

pub(crate) async fn customers_and_survey_answers_are_kept_for_reports(db: TestDb) {
    let s = &db.store;
    let (a, b) = (contact(1), contact(2));
    s.set_contact_customer(a, "CRM-1", t(0)).await.unwrap();
    s.set_contact_customer(a, "CRM-2", t(1)).await.unwrap();
    s.set_contact_customer(b, "CRM-1", t(10_000)).await.unwrap();
    let early = s.contact_customers_between(t(0), t(5_000)).await.unwrap();
    assert_eq!(
        early.into_iter().collect::<Vec<_>>(),
        vec![(a, "CRM-1".to_owned())],
        "the first reference wins"
    );
    s.add_survey_answer(a, "csat5", 2, t(100)).await.unwrap();
    s.add_survey_answer(a, "csat5", 5, t(200)).await.unwrap();
    s.add_survey_answer(a, "nps10", 9, t(200)).await.unwrap();
    let mut got = s.survey_answers_between(t(0), t(1_000)).await.unwrap();
    got.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(
        got,
        vec![(a, "csat5".to_owned(), 5), (a, "nps10".to_owned(), 9)]
    );
    assert!(s
        .survey_answers_between(t(1_000), t(2_000))
        .await
        .unwrap()
        .is_empty());
}

fn phone(value: &str) -> CustomerIdentity {
    CustomerIdentity::new(IdentityKind::Phone, value)
}
fn email(value: &str) -> CustomerIdentity {
    CustomerIdentity::new(IdentityKind::Email, value)
}

fn new_customer(name: &str, identities: Vec<CustomerIdentity>, at: i64) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        tier: Tier::Standard,
        language: None,
        notes: String::new(),
        identities,
        created_at: t(at),
    }
}

fn customer_ids(customers: &[Customer]) -> Vec<i64> {
    customers.iter().map(|c| c.customer_id).collect()
}

pub(crate) async fn customer_records_are_numbered_found_by_identity_and_versioned(db: TestDb) {
    let s = &db.store;
    let ann = s
        .create_customer(&NewCustomer {
            tier: Tier::Gold,
            language: Some("de".into()),
            notes: "prefers mornings".into(),
            ..new_customer(
                "Ann Smith",
                vec![phone("+4917112345678"), email("ann@example.com")],
                1_000,
            )
        })
        .await
        .unwrap();
    assert_eq!(ann.number, customer_number(ann.customer_id));
    assert!(ann.number.starts_with("C-0000"), "{}", ann.number);
    assert_eq!(
        (ann.tier, ann.language.as_deref(), ann.notes.as_str()),
        (Tier::Gold, Some("de"), "prefers mornings")
    );
    assert_eq!(
        ann.identities,
        vec![phone("+4917112345678"), email("ann@example.com")],
        "sorted by kind: phone, email, external"
    );
    assert_eq!(
        (ann.version, ann.created_at, ann.updated_at),
        (1, t(1_000), t(1_000))
    );
    assert_eq!(ann.merged_into, None);
    assert_eq!(
        s.customer(ann.customer_id).await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(s.customer(ann.customer_id + 100).await.unwrap(), None);

    let andy = s
        .create_customer(&new_customer("andy Jones", vec![], 2_000))
        .await
        .unwrap();
    let bob = s
        .create_customer(&new_customer("Bob 100%_", vec![], 3_000))
        .await
        .unwrap();
    assert_ne!(andy.number, ann.number);
    assert_eq!(
        s.customer_by_identity(&email("ann@example.com"))
            .await
            .unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        s.customer_by_identity(&email("nobody@example.com"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.customer_by_identity(&CustomerIdentity::new(
            IdentityKind::External,
            "+4917112345678"
        ))
        .await
        .unwrap(),
        None,
        "the kind is part of the key"
    );

    // Listing: by id, name prefix (any case, wildcards literal), identity, pages.
    let list = |filter: CustomerFilter| async move {
        customer_ids(&s.list_customers(&filter).await.unwrap())
    };
    let all = CustomerFilter {
        limit: 50,
        ..CustomerFilter::default()
    };
    assert_eq!(
        list(all.clone()).await,
        vec![ann.customer_id, andy.customer_id, bob.customer_id]
    );
    let named = |p: &str| CustomerFilter {
        name_prefix: Some(p.into()),
        ..all.clone()
    };
    assert_eq!(
        list(named("AN")).await,
        vec![ann.customer_id, andy.customer_id]
    );
    assert_eq!(list(named("ann ")).await, vec![ann.customer_id]);
    assert_eq!(list(named("bob 100%_")).await, vec![bob.customer_id]);
    assert_eq!(list(named("bob 1000")).await, Vec::<i64>::new());
    assert_eq!(
        list(named("b_b")).await,
        Vec::<i64>::new(),
        "_ is no wildcard"
    );
    assert_eq!(
        list(CustomerFilter {
            identity: Some(phone("+4917112345678")),
            ..all.clone()
        })
        .await,
        vec![ann.customer_id]
    );
    let page1 = CustomerFilter {
        limit: 2,
        ..all.clone()
    };
    assert_eq!(list(page1).await, vec![ann.customer_id, andy.customer_id]);
    let page2 = CustomerFilter {
        limit: 2,
        after: Some(andy.customer_id),
        ..all.clone()
    };
    assert_eq!(list(page2).await, vec![bob.customer_id]);
    let listed = s.list_customers(&all).await.unwrap();
    assert_eq!(listed[0], ann, "a listed customer carries its identities");

    // Updates: partial, versioned.
    let change = CustomerUpdate {
        name: Some("Ann Miller".into()),
        language: Some(None),
        ..CustomerUpdate::default()
    };
    let v2 = s
        .update_customer(ann.customer_id, &change, Some(1), t(5_000))
        .await
        .unwrap();
    assert_eq!(
        (v2.version, v2.name.as_str(), v2.language.as_deref()),
        (2, "Ann Miller", None)
    );
    assert_eq!(
        (v2.tier, v2.notes.as_str(), v2.updated_at, v2.created_at),
        (Tier::Gold, "prefers mornings", t(5_000), t(1_000))
    );
    assert_eq!(
        list(named("ann m")).await,
        vec![ann.customer_id],
        "the folded name follows"
    );
    let stale = s
        .update_customer(ann.customer_id, &change, Some(1), t(6_000))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict(_)), "{stale:?}");
    assert_eq!(
        s.customer(ann.customer_id).await.unwrap().unwrap().version,
        2
    );
    let v3 = s
        .update_customer(
            ann.customer_id,
            &CustomerUpdate {
                tier: Some(Tier::Platinum),
                notes: Some("VIP".into()),
                language: Some(Some("en".into())),
                ..CustomerUpdate::default()
            },
            None,
            t(7_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            v3.version,
            v3.tier,
            v3.notes.as_str(),
            v3.language.as_deref()
        ),
        (3, Tier::Platinum, "VIP", Some("en"))
    );
    let gone = s
        .update_customer(999_999, &change, None, t(7_000))
        .await
        .unwrap_err();
    assert!(matches!(gone, StoreError::NotFound), "{gone:?}");
}

pub(crate) async fn customer_identities_belong_to_one_customer(db: TestDb) {
    let s = &db.store;
    let ann = s
        .create_customer(&new_customer("Ann", vec![phone("+491")], 0))
        .await
        .unwrap();
    // A second customer with Ann's phone is refused whole: not created at all.
    let taken = s
        .create_customer(&new_customer(
            "Ann again",
            vec![email("a@x.org"), phone("+491")],
            10,
        ))
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");
    assert_eq!(
        s.list_customers(&CustomerFilter {
            limit: 10,
            ..CustomerFilter::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        s.customer_by_identity(&email("a@x.org")).await.unwrap(),
        None
    );

    let bob = s
        .create_customer(&new_customer("Bob", vec![], 20))
        .await
        .unwrap();
    let err = s
        .add_customer_identity(bob.customer_id, &phone("+491"), t(30))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        s.customer(bob.customer_id).await.unwrap().unwrap().version,
        1,
        "nothing changed"
    );

    let bob2 = s
        .add_customer_identity(bob.customer_id, &email("bob@x.org"), t(40))
        .await
        .unwrap();
    assert_eq!((bob2.version, bob2.updated_at), (2, t(40)));
    assert_eq!(bob2.identities, vec![email("bob@x.org")]);
    let again = s
        .add_customer_identity(bob.customer_id, &email("bob@x.org"), t(50))
        .await
        .unwrap();
    assert_eq!(
        again.version, 2,
        "adding an identity held already changes nothing"
    );
    let err = s
        .add_customer_identity(999_999, &email("c@x.org"), t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // Ann lets go of her phone: Bob may take it.
    assert!(!s
        .remove_customer_identity(ann.customer_id, &phone("+492"), None, t(60))
        .await
        .unwrap());
    assert_eq!(
        s.customer(ann.customer_id).await.unwrap().unwrap().version,
        1
    );
    let stale = s
        .remove_customer_identity(ann.customer_id, &phone("+491"), Some(7), t(60))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict(_)), "{stale:?}");
    assert!(s
        .remove_customer_identity(ann.customer_id, &phone("+491"), Some(1), t(60))
        .await
        .unwrap());
    let ann2 = s.customer(ann.customer_id).await.unwrap().unwrap();
    assert_eq!((ann2.version, ann2.identities.len()), (2, 0));
    s.add_customer_identity(bob.customer_id, &phone("+491"), t(70))
        .await
        .unwrap();
    assert_eq!(
        s.customer_by_identity(&phone("+491"))
            .await
            .unwrap()
            .map(|c| c.customer_id),
        Some(bob.customer_id)
    );
    let err = s
        .remove_customer_identity(999_999, &phone("+491"), None, t(80))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub(crate) async fn merging_customers_moves_identities_to_the_survivor(db: TestDb) {
    let s = &db.store;
    let keep = s
        .create_customer(&new_customer("Ann", vec![phone("+491")], 0))
        .await
        .unwrap();
    let dup = s
        .create_customer(&new_customer(
            "Ann S.",
            vec![phone("+492"), email("ann@x.org")],
            10,
        ))
        .await
        .unwrap();
    let older = s
        .create_customer(&new_customer("A. S.", vec![], 20))
        .await
        .unwrap();
    // `older` was merged into `dup` before `dup` turns out to be a duplicate of `keep`.
    s.merge_customers(dup.customer_id, older.customer_id, t(30))
        .await
        .unwrap();

    let merged = s
        .merge_customers(keep.customer_id, dup.customer_id, t(40))
        .await
        .unwrap();
    assert_eq!(merged.customer_id, keep.customer_id);
    assert_eq!(
        merged.identities,
        vec![phone("+491"), phone("+492"), email("ann@x.org")]
    );
    assert_eq!(
        (merged.version, merged.updated_at, merged.name.as_str()),
        (2, t(40), "Ann")
    );
    let dup_now = s.customer(dup.customer_id).await.unwrap().unwrap();
    assert_eq!(dup_now.merged_into, Some(keep.customer_id));
    assert!(dup_now.identities.is_empty());
    assert_eq!(
        s.customer(older.customer_id)
            .await
            .unwrap()
            .unwrap()
            .merged_into,
        Some(keep.customer_id),
        "a customer merged into the duplicate now points at the survivor"
    );
    for id in [keep.customer_id, dup.customer_id, older.customer_id] {
        assert_eq!(
            s.resolve_customer(id).await.unwrap().map(|c| c.customer_id),
            Some(keep.customer_id),
            "customer {id} reads as the survivor"
        );
    }
    assert_eq!(
        s.customer_by_identity(&email("ann@x.org"))
            .await
            .unwrap()
            .map(|c| c.customer_id),
        Some(keep.customer_id)
    );
    let all = CustomerFilter {
        limit: 10,
        ..CustomerFilter::default()
    };
    assert_eq!(
        customer_ids(&s.list_customers(&all).await.unwrap()),
        vec![keep.customer_id],
        "merged customers are not listed"
    );

    // A merged customer takes no more changes and no second merge.
    let err = s
        .merge_customers(keep.customer_id, dup.customer_id, t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .merge_customers(dup.customer_id, keep.customer_id, t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .update_customer(dup.customer_id, &CustomerUpdate::default(), None, t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .add_customer_identity(dup.customer_id, &phone("+493"), t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .remove_customer_identity(dup.customer_id, &phone("+492"), None, t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .merge_customers(keep.customer_id, keep.customer_id, t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let err = s
        .merge_customers(keep.customer_id, 999_999, t(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(
        s.customer(keep.customer_id).await.unwrap().unwrap().version,
        2,
        "refusals change nothing"
    );
}

pub(crate) async fn webhooks_are_queued_once_claimed_once_and_kept_with_their_outcome(db: TestDb) {
    use switchboard_store::{NewWebhook, WebhookAttempt};
    let s = &db.store;
    let new = |id: &'static str| NewWebhook {
        id,
        integration_id: "pbx",
        kind: "call.ring",
        url: "http://127.0.0.1:9/acd",
        body: r#"{"type":"call.ring"}"#,
    };
    assert!(s.queue_webhook(&new("pbx:1:1"), t(0)).await.unwrap());
    // Another instance saw the same event: nothing changes.
    assert!(!s.queue_webhook(&new("pbx:1:1"), t(0)).await.unwrap());
    assert!(s.queue_webhook(&new("pbx:1:2"), t(1)).await.unwrap());
    let due = s.due_webhooks(t(1), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["pbx:1:1", "pbx:1:2"]
    );
    let lease = std::time::Duration::from_secs(30);
    assert!(s.claim_webhook("pbx:1:1", t(1), lease).await.unwrap());
    assert!(
        !s.claim_webhook("pbx:1:1", t(2), lease).await.unwrap(),
        "held by the first worker"
    );
    assert_eq!(s.due_webhooks(t(2), 10).await.unwrap().len(), 1);
    // The first is retried later; the second delivered.
    s.record_webhook_attempt(
        "pbx:1:1",
        t(2),
        WebhookAttempt::Retry {
            at: t(5),
            error: "connection refused",
            status: None,
        },
    )
    .await
    .unwrap();
    assert!(s.claim_webhook("pbx:1:2", t(2), lease).await.unwrap());
    s.record_webhook_attempt("pbx:1:2", t(3), WebhookAttempt::Delivered { status: 204 })
        .await
        .unwrap();
    assert!(s.due_webhooks(t(4), 10).await.unwrap().is_empty());
    assert_eq!(s.due_webhooks(t(5), 10).await.unwrap().len(), 1);
    // A lease that ran out (a worker died) lets another take it.
    assert!(s.claim_webhook("pbx:1:1", t(5), lease).await.unwrap());
    assert!(s
        .claim_webhook("pbx:1:1", t(5).plus(lease), lease)
        .await
        .unwrap());
    s.record_webhook_attempt(
        "pbx:1:1",
        t(40),
        WebhookAttempt::GaveUp {
            error: "the PBX answered 400",
            status: Some(400),
        },
    )
    .await
    .unwrap();
    let failed = s.webhooks("pbx", Some("failed"), 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    let f = &failed[0];
    assert_eq!(
        (
            f.id.as_str(),
            f.attempts,
            f.last_status,
            f.last_error.as_deref()
        ),
        ("pbx:1:1", 2, Some(400), Some("the PBX answered 400"))
    );
    let all = s.webhooks("pbx", None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status, "delivered", "newest first");
    assert_eq!(all[0].delivered_at, Some(t(3).as_millis()));
    assert!(s.webhooks("other", None, 10).await.unwrap().is_empty());
    // Finding the PBX call of a contact.
    let contact = self::contact(1);
    s.claim_call("pbx", "c-9", contact, t(0)).await.unwrap();
    assert_eq!(
        s.call_of_contact(contact).await.unwrap(),
        Some(("pbx".to_owned(), "c-9".to_owned()))
    );
    assert_eq!(s.call_of_contact(self::contact(2)).await.unwrap(), None);
}

/// The report spans: 15 minutes, an hour.
const M15: i64 = 900_000;
const H1: i64 = 3_600_000;

fn cell(start: i64, queue: &str, channel: &str) -> CellKey {
    span_cell(M15, start, queue, channel)
}

fn span_cell(span: i64, start: i64, queue: &str, channel: &str) -> CellKey {
    CellKey {
        span,
        start: t(start),
        queue: q(queue),
        channel: channel.into(),
    }
}

fn visit(n: u128, queue: &str, customer: &str, first_entered: i64) -> VisitRow {
    VisitRow {
        contact: contact(n),
        queue: q(queue),
        customer: customer.into(),
        first_entered: t(first_entered),
        channel: "voice".into(),
        first_contact: n % 2 == 0,
        repeated: n % 3 == 0,
        settled: true,
        agent: (n % 2 == 1).then(|| a("ann")),
        resolved: false,
    }
}

fn rated(n: u128, start: i64, queue: &str, channel: &str) -> RatedRow {
    RatedRow {
        contact: contact(n),
        start: t(start),
        queue: q(queue),
        channel: channel.into(),
        agent: a("bob"),
        csat: None,
        nps: None,
    }
}

fn rated_with(n: u128, start: i64, csat: Option<u8>, nps: Option<u8>) -> RatedRow {
    RatedRow {
        csat,
        nps,
        ..rated(n, start, "sales", "voice")
    }
}

fn bodies(cells: &[(CellKey, String)]) -> Vec<&str> {
    cells.iter().map(|(_, body)| body.as_str()).collect()
}

pub(crate) async fn report_rollup_state_cells_visits_and_ratings_round_trip(db: TestDb) {
    let s = &db.store;
    assert_eq!(s.first_event_at().await.unwrap(), None);
    let (tx, state) = s.begin_report_read().await.unwrap();
    assert_eq!(
        state,
        RollupState {
            through: None,
            carried: "[]".into()
        }
    );
    tx.commit(None).await.unwrap();

    s.append_events(&fixture_events()).await.unwrap();
    assert_eq!(s.first_event_at().await.unwrap(), Some(t(0)));
    s.set_contact_customer(contact(1), "CRM-1", t(0))
        .await
        .unwrap();
    s.set_contact_customer(contact(2), "CRM-2", t(0))
        .await
        .unwrap();
    s.add_survey_answer(contact(1), "csat5", 4, t(50))
        .await
        .unwrap();
    s.add_survey_answer(contact(1), "nps10", 9, t(10))
        .await
        .unwrap();
    s.add_survey_answer(contact(2), "csat5", 2, t(30))
        .await
        .unwrap();
    s.add_survey_answer(contact(3), "csat5", 5, t(10))
        .await
        .unwrap();
    // Answered, but never rated: no report_rated row.
    s.add_survey_answer(contact(7), "csat5", 1, t(20))
        .await
        .unwrap();

    let (mut tx, state) = s.begin_rollup(t(100)).await.unwrap();
    assert_eq!(state.through, None);
    let events = tx.events_between(t(2_000), t(5_000)).await.unwrap();
    assert_eq!(ids(&events), [3, 4, 5]);
    assert_eq!(
        tx.events_between(t(0), t(100_000)).await.unwrap(),
        fixture_events()
    );
    tx.put_cells(&[
        (cell(900, "sales", "voice"), r#"{"n":1}"#.into()),
        (cell(0, "support", ""), r#"{"n":2}"#.into()),
        (cell(0, "sales", "voice"), r#"{"n":3}"#.into()),
        (cell(0, "sales", "chat"), r#"{"n":4}"#.into()),
        (cell(0, "sales", "chat"), r#"{"n":5}"#.into()),
        (span_cell(H1, 0, "sales", "voice"), r#"{"h":1}"#.into()),
    ])
    .await
    .unwrap();
    tx.put_agent_cells(&[
        (M15, t(900), "[9]".into()),
        (M15, t(0), "[0]".into()),
        (M15, t(1_800), "[18]".into()),
        (H1, t(0), "[h0]".into()),
        (H1, t(0), "[h1]".into()),
    ])
    .await
    .unwrap();
    tx.put_visits(&[
        visit(1, "sales", "CRM-1", 10),
        visit(2, "sales", "CRM-1", 30),
        visit(3, "sales", "CRM-1", 30),
        visit(4, "sales", "CRM-1", 20),
        visit(5, "support", "CRM-1", 5),
        visit(6, "sales", "CRM-2", 1),
    ])
    .await
    .unwrap();
    tx.put_rated(&[
        rated(1, 0, "sales", "voice"),
        rated(2, 900, "sales", "chat"),
        rated(3, 1_800, "support", "voice"),
        rated_with(4, 2_700, Some(5), Some(10)),
        rated_with(5, 2_700, Some(0), Some(255)),
    ])
    .await
    .unwrap();
    let new_state = RollupState {
        through: Some(t(1_800)),
        carried: r#"[{"open":1}]"#.into(),
    };
    tx.commit(Some(&new_state)).await.unwrap();

    let (mut tx, state) = s.begin_report_read().await.unwrap();
    assert_eq!(state, new_state);
    // Cells by key: the missing one is left out; the last of two puts wins.
    let got = tx
        .cells(&[
            cell(900, "sales", "voice"),
            cell(0, "sales", "chat"),
            cell(0, "nobody", "voice"),
            span_cell(H1, 0, "sales", "voice"),
            span_cell(H1, 900, "sales", "voice"),
        ])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            (cell(0, "sales", "chat"), r#"{"n":5}"#.to_owned()),
            (cell(900, "sales", "voice"), r#"{"n":1}"#.to_owned()),
            (span_cell(H1, 0, "sales", "voice"), r#"{"h":1}"#.to_owned()),
        ],
        "in key order: span first"
    );
    // Two spans with the same start coexist; each is read on its own.
    assert_eq!(
        tx.cells_between(H1, t(0), t(1_000), None, None)
            .await
            .unwrap(),
        vec![(span_cell(H1, 0, "sales", "voice"), r#"{"h":1}"#.to_owned())]
    );
    assert!(tx
        .cells_between(86_400_000, t(0), t(1_000), None, None)
        .await
        .unwrap()
        .is_empty());
    let all = tx
        .cells_between(M15, t(0), t(1_000), None, None)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![
            cell(0, "sales", "chat"),
            cell(0, "sales", "voice"),
            cell(0, "support", ""),
            cell(900, "sales", "voice"),
        ],
        "in key order"
    );
    assert_eq!(
        bodies(
            &tx.cells_between(M15, t(0), t(900), None, None)
                .await
                .unwrap()
        ),
        [r#"{"n":5}"#, r#"{"n":3}"#, r#"{"n":2}"#]
    );
    assert_eq!(
        bodies(
            &tx.cells_between(M15, t(0), t(1_000), Some(&q("sales")), None)
                .await
                .unwrap()
        ),
        [r#"{"n":5}"#, r#"{"n":3}"#, r#"{"n":1}"#]
    );
    assert_eq!(
        bodies(
            &tx.cells_between(M15, t(0), t(1_000), None, Some("voice"))
                .await
                .unwrap()
        ),
        [r#"{"n":3}"#, r#"{"n":1}"#]
    );
    assert_eq!(
        bodies(
            &tx.cells_between(M15, t(0), t(1_000), Some(&q("support")), Some(""))
                .await
                .unwrap()
        ),
        [r#"{"n":2}"#]
    );
    assert!(tx
        .cells_between(M15, t(0), t(1_000), Some(&q("support")), Some("voice"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        tx.agent_cells_between(M15, t(0), t(1_800)).await.unwrap(),
        vec![(t(0), "[0]".to_owned()), (t(900), "[9]".to_owned())]
    );
    assert_eq!(
        tx.agent_cells_between(H1, t(0), t(1_800)).await.unwrap(),
        vec![(t(0), "[h1]".to_owned())],
        "the last of two puts wins"
    );
    assert_eq!(
        tx.agent_cells(&[(H1, t(0)), (M15, t(1_800)), (M15, t(0)), (H1, t(900))])
            .await
            .unwrap(),
        vec![
            ((M15, t(0)), "[0]".to_owned()),
            ((M15, t(1_800)), "[18]".to_owned()),
            ((H1, t(0)), "[h1]".to_owned()),
        ]
    );

    // The latest visit per (customer, queue): the greatest (first_entered, contact).
    let latest = tx
        .latest_visits(&[
            ("CRM-1".into(), q("sales")),
            ("CRM-1".into(), q("support")),
            ("CRM-2".into(), q("sales")),
            ("CRM-9".into(), q("sales")),
        ])
        .await
        .unwrap();
    assert_eq!(
        latest,
        vec![
            visit(3, "sales", "CRM-1", 30),
            visit(5, "support", "CRM-1", 5),
            visit(6, "sales", "CRM-2", 1),
        ]
    );
    assert_eq!(
        tx.visits_of(&[
            (contact(4), q("sales")),
            (contact(1), q("sales")),
            (contact(1), q("support")),
        ])
        .await
        .unwrap(),
        vec![
            visit(1, "sales", "CRM-1", 10),
            visit(4, "sales", "CRM-1", 20)
        ]
    );
    assert_eq!(
        tx.customers_of(&[contact(1), contact(2), contact(3)])
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![
            (contact(1), "CRM-1".to_owned()),
            (contact(2), "CRM-2".to_owned())
        ]
    );
    assert_eq!(
        tx.surveys_of(&[contact(1), contact(3), contact(9)])
            .await
            .unwrap(),
        vec![
            (contact(1), "csat5".to_owned(), 4),
            (contact(1), "nps10".to_owned(), 9),
            (contact(3), "csat5".to_owned(), 5),
        ]
    );
    let rated_scores = |rows: Vec<(RatedRow, String, u8)>| {
        rows.into_iter()
            .map(|(r, scale, score)| (r.contact, scale, score))
            .collect::<Vec<_>>()
    };
    // Rated rows round-trip, scores included; missing contacts are left out.
    assert_eq!(
        tx.rated_of(&[contact(5), contact(7), contact(1), contact(4)])
            .await
            .unwrap(),
        vec![
            rated(1, 0, "sales", "voice"),
            rated_with(4, 2_700, Some(5), Some(10)),
            rated_with(5, 2_700, Some(0), Some(255)),
        ]
    );
    // Answers by answer time, only of rated contacts (contact 7 has no row).
    let all = tx
        .rated_surveys_answered_between(t(0), t(100))
        .await
        .unwrap();
    assert_eq!(all[0].0, rated(1, 0, "sales", "voice"));
    assert_eq!(all[1].0, rated(3, 1_800, "support", "voice"));
    assert_eq!(
        rated_scores(all),
        vec![
            (contact(1), "nps10".to_owned(), 9),
            (contact(3), "csat5".to_owned(), 5),
            (contact(2), "csat5".to_owned(), 2),
            (contact(1), "csat5".to_owned(), 4),
        ]
    );
    assert_eq!(
        rated_scores(
            tx.rated_surveys_answered_between(t(11), t(50))
                .await
                .unwrap()
        ),
        vec![(contact(2), "csat5".to_owned(), 2)]
    );
    assert!(tx
        .rated_surveys_answered_between(t(51), t(1_000))
        .await
        .unwrap()
        .is_empty());
    tx.commit(None).await.unwrap();

    // A visit put again replaces every column; the rollup reads its own writes.
    let (mut tx, _) = s.begin_rollup(t(200)).await.unwrap();
    let mut changed = visit(3, "sales", "CRM-1", 30);
    changed.resolved = true;
    changed.agent = Some(a("zoe"));
    changed.channel = "chat".into();
    changed.first_entered = t(5);
    tx.put_visits(std::slice::from_ref(&changed)).await.unwrap();
    assert_eq!(
        tx.visits_of(&[(contact(3), q("sales"))]).await.unwrap(),
        vec![changed]
    );
    assert_eq!(
        tx.latest_visits(&[("CRM-1".into(), q("sales"))])
            .await
            .unwrap(),
        vec![visit(2, "sales", "CRM-1", 30)]
    );
    tx.commit(None).await.unwrap();
    let (_, state) = s.begin_report_read().await.unwrap();
    assert_eq!(state, new_state, "commit(None) keeps the state");
}

pub(crate) async fn report_rollup_without_commit_changes_nothing(db: TestDb) {
    let s = &db.store;
    let (mut tx, _) = s.begin_rollup(t(0)).await.unwrap();
    tx.put_cells(&[(cell(0, "sales", "voice"), "{}".into())])
        .await
        .unwrap();
    tx.put_agent_cells(&[(M15, t(0), "[]".into())])
        .await
        .unwrap();
    tx.put_visits(&[visit(1, "sales", "CRM-1", 0)])
        .await
        .unwrap();
    tx.put_rated(&[rated(1, 0, "sales", "voice")])
        .await
        .unwrap();
    drop(tx);

    let (mut tx, state) = s.begin_report_read().await.unwrap();
    assert_eq!(state.through, None);
    assert_eq!(state.carried, "[]");
    assert!(tx
        .cells_between(M15, t(-1_000), t(1_000), None, None)
        .await
        .unwrap()
        .is_empty());
    assert!(tx
        .agent_cells_between(M15, t(-1_000), t(1_000))
        .await
        .unwrap()
        .is_empty());
    assert!(tx
        .visits_of(&[(contact(1), q("sales"))])
        .await
        .unwrap()
        .is_empty());
    drop(tx);
    for table in [
        db.database
            .query_i64("select count(*) from report_cell")
            .await,
        db.database
            .query_i64("select count(*) from report_agent_cell")
            .await,
        db.database
            .query_i64("select count(*) from report_visit")
            .await,
        db.database
            .query_i64("select count(*) from report_rated")
            .await,
    ] {
        assert_eq!(table, 0);
    }
    assert_eq!(
        db.database
            .query_i64("select count(*) from report_rollup where locked_at is null")
            .await,
        1
    );
}

pub(crate) async fn report_rollup_lock_serialises_two_rollups(db: TestDb) {
    let s = &db.store;
    let (mut first, _) = s.begin_rollup(t(0)).await.unwrap();
    let second = tokio::spawn({
        let s = s.clone();
        async move { s.begin_rollup(t(1)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !second.is_finished(),
        "the second rollup waits for the lock"
    );
    first
        .put_cells(&[(cell(0, "sales", "voice"), "{}".into())])
        .await
        .unwrap();
    let state = RollupState {
        through: Some(t(900)),
        carried: "[1]".into(),
    };
    first.commit(Some(&state)).await.unwrap();
    let (mut tx, seen) = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("the second rollup goes on once the first commits")
        .unwrap()
        .unwrap();
    assert_eq!(seen, state);
    assert_eq!(
        tx.cells_between(M15, t(0), t(900), None, None)
            .await
            .unwrap()
            .len(),
        1
    );
    tx.commit(None).await.unwrap();
}

pub(crate) async fn report_rollup_reads_and_writes_many_rows_in_chunks(db: TestDb) {
    let s = &db.store;
    // More rows than one statement takes (200 rows, 200 keys, 500 ids): several chunks,
    // the last one short.
    const N: u128 = 1_123;
    for n in 0..N {
        if n % 2 == 0 {
            s.set_contact_customer(contact(n), &format!("CRM-{n}"), t(0))
                .await
                .unwrap();
        }
    }
    let visits: Vec<VisitRow> = (0..N)
        .map(|n| visit(n, "sales", &format!("CRM-{}", n % 300), n as i64))
        .collect();
    let cells: Vec<(CellKey, String)> = (0..N)
        .map(|n| (cell(n as i64 * 900, "sales", "voice"), format!("[{n}]")))
        .collect();
    let agent_cells: Vec<(Timestamp, String)> = (0..N)
        .map(|n| (t(n as i64 * 900), format!("[{n}]")))
        .collect();
    let span_agent_cells: Vec<(i64, Timestamp, String)> = agent_cells
        .iter()
        .map(|(start, body)| (M15, *start, body.clone()))
        .collect();
    let ratings: Vec<RatedRow> = (0..N)
        .map(|n| {
            let csat = (n % 3 > 0).then_some((n % 6) as u8);
            rated_with(n, 0, csat, (n % 2 == 0).then_some((n % 11) as u8))
        })
        .collect();

    let (mut tx, _) = s.begin_rollup(t(0)).await.unwrap();
    tx.put_visits(&visits).await.unwrap();
    tx.put_cells(&cells).await.unwrap();
    tx.put_agent_cells(&span_agent_cells).await.unwrap();
    tx.put_rated(&ratings).await.unwrap();
    tx.commit(None).await.unwrap();

    let (mut tx, _) = s.begin_report_read().await.unwrap();
    let ids: Vec<ContactId> = (0..N).map(contact).collect();
    assert_eq!(tx.customers_of(&ids).await.unwrap().len(), 562);
    let keys: Vec<(ContactId, QueueId)> = (0..N).map(|n| (contact(n), q("sales"))).collect();
    assert_eq!(tx.visits_of(&keys).await.unwrap(), visits);
    let customers: Vec<(String, QueueId)> =
        (0..300).map(|n| (format!("CRM-{n}"), q("sales"))).collect();
    let latest = tx.latest_visits(&customers).await.unwrap();
    assert_eq!(latest.len(), 300);
    for v in &latest {
        let n: u128 = v.customer["CRM-".len()..].parse().unwrap();
        let last = (0..N).filter(|m| m % 300 == n).max().unwrap();
        assert_eq!(v, &visits[last as usize]);
    }
    let keys: Vec<CellKey> = cells.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(tx.cells(&keys).await.unwrap(), cells);
    assert_eq!(
        tx.cells_between(M15, t(0), t(N as i64 * 900), None, None)
            .await
            .unwrap(),
        cells
    );
    assert_eq!(
        tx.agent_cells_between(M15, t(0), t(N as i64 * 900))
            .await
            .unwrap(),
        agent_cells
    );
    let agent_keys: Vec<(i64, Timestamp)> = agent_cells.iter().map(|(s, _)| (M15, *s)).collect();
    assert_eq!(
        tx.agent_cells(&agent_keys).await.unwrap(),
        span_agent_cells
            .iter()
            .map(|(span, start, body)| ((*span, *start), body.clone()))
            .collect::<Vec<_>>()
    );
    let mut by_contact = ratings.clone();
    by_contact.sort_by_key(|r| r.contact);
    assert_eq!(tx.rated_of(&ids).await.unwrap(), by_contact);
    assert!(tx.surveys_of(&ids).await.unwrap().is_empty());
    tx.commit(None).await.unwrap();

    // A row that no longer parses is an error, not a panic.
    db.database.execute("insert into report_cell (span_ms, start_at, queue_id, channel, body) values (900000, -1, 'no queue', '', '{}')")
        .await;
    let (mut tx, _) = s.begin_report_read().await.unwrap();
    let err = tx
        .cells_between(M15, t(-T0 - 1), t(0), None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    drop(tx);
    // A stored score out of 0..=255 too.
    for (n, insert, delete) in [
        (
            0x1000,
            "insert into report_rated (contact_id, start_at, queue_id, channel, agent_id, csat) \
             values ('0192f0c4-0000-7000-8000-000000001000', 0, 'sales', 'voice', 'bob', 256)",
            "delete from report_rated where contact_id = '0192f0c4-0000-7000-8000-000000001000'",
        ),
        (
            0x1001,
            "insert into report_rated (contact_id, start_at, queue_id, channel, agent_id, nps) \
             values ('0192f0c4-0000-7000-8000-000000001001', 0, 'sales', 'voice', 'bob', -1)",
            "delete from report_rated where contact_id = '0192f0c4-0000-7000-8000-000000001001'",
        ),
    ] {
        db.database.execute(insert).await;
        s.add_survey_answer(contact(n), "csat5", 3, t(n as i64))
            .await
            .unwrap();
        let (mut tx, _) = s.begin_report_read().await.unwrap();
        let err = tx.rated_of(&[contact(n)]).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        let err = tx
            .rated_surveys_answered_between(t(n as i64), t(n as i64 + 1))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        drop(tx);
        db.database.execute(delete).await;
    }
}
