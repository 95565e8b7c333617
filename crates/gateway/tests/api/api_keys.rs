//! API keys: created by an admin and shown once, stored as SHA-256 only, accepted wherever
//! their scope is (the scope matrix over every route), refused where it is not or once
//! revoked or expired, with their last use recorded.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_app::accounts::token_hash;
use switchboard_domain::Timestamp;
use switchboard_gateway::{routes, Access};
use switchboard_protocol::api_keys::Scope;
use switchboard_store::{NewApiKey, Role};

use crate::support::Api;

/// Creates a key through the API as `admin`; returns the key and its view.
async fn create_key(api: &Api, admin: &str, name: &str, scopes: &[&str]) -> (String, Value) {
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(admin),
            Some(json!({ "name": name, "scopes": scopes })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["key"].as_str().unwrap().to_owned(),
        body["api_key"].clone(),
    )
}

/// Every route that takes a session × a key with every scope and a key with one: a key is
/// let through exactly where the route names a scope it holds, and is told why otherwise.
#[tokio::test]
async fn scope_matrix() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let (every, _) = create_key(&api, &admin, "every-scope", &all).await;
    let (reports, _) = create_key(&api, &admin, "reports-only", &["reports:read"]).await;
    let mut checked = 0;
    for r in routes() {
        let Access::Roles(_) = r.access else { continue };
        let path = r
            .path
            .replace("{user_id}", "999999")
            .replace("{api_key_id}", "999999")
            .replace("{customer_id}", "999999")
            .replace("{contact_id}", &uuid::Uuid::nil().to_string())
            .replace("{queue_id}", "nope")
            .replace("{id}", "nope");
        let body =
            matches!(r.method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        for (key, holds) in [
            (&every, r.scope.is_some()),
            (&reports, r.scope == Some(Scope::ReportsRead)),
        ] {
            let (status, answer) = api
                .call(r.method.clone(), &path, Some(key), body.clone())
                .await;
            let what = format!("{} {path} with {key:.16}…: {status} {answer}", r.method);
            if holds {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{what}"
                );
                assert!(status.as_u16() < 500, "{what}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                let code = if r.scope.is_some() {
                    "insufficient_scope"
                } else {
                    "session_required"
                };
                assert_eq!(answer["code"], code, "{what}");
            }
            checked += 1;
        }
    }
    assert!(checked > 80, "{checked} combinations");
}

#[tokio::test]
async fn a_key_is_shown_once_stored_hashed_used_and_revoked() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let (key, view) = create_key(
        &api,
        &admin,
        "bi-nightly",
        &["reports:read", "configuration:read", "reports:read"],
    )
    .await;
    assert!(key.starts_with("sbk_") && key.len() == 47, "{key}");
    assert_eq!(view["prefix"], &key[..12]);
    assert_eq!(
        view["scopes"],
        json!(["reports:read", "configuration:read"])
    );
    assert!(view["created_by"].as_str().unwrap().starts_with("admin-"));
    assert_eq!(view["last_used_at"], Value::Null);
    assert_eq!(view["revoked_at"], Value::Null);
    let id = view["api_key_id"].as_i64().unwrap();

    // Only the hash is kept, and no listing shows the key again.
    let stored: Vec<(String, String)> = api
        .store
        .list_api_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.name, k.prefix))
        .collect();
    assert_eq!(stored, [("bi-nightly".to_owned(), key[..12].to_owned())]);
    let found = api
        .store
        .api_key_by_hash(&token_hash(&key), Timestamp::from_millis(0))
        .await
        .unwrap();
    assert_eq!(found.map(|k| k.api_key_id), Some(id));
    let (_, listed) = api
        .call(Method::GET, "/api/v1/api-keys", Some(&admin), None)
        .await;
    assert!(!listed.to_string().contains(&key[12..]), "{listed}");
    assert_eq!(listed[0]["api_key_id"], id);

    // Used where a session would be; its last use is recorded.
    let (status, queues) = api
        .call(Method::GET, "/api/v1/queues", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{queues}");
    let (_, seen) = api
        .call(
            Method::GET,
            &format!("/api/v1/api-keys/{id}"),
            Some(&admin),
            None,
        )
        .await;
    let used = seen["last_used_at"].as_i64().expect("last use recorded");
    assert!(used >= view["created_at"].as_i64().unwrap());
    // Within the minute a second use writes nothing.
    api.call(Method::GET, "/api/v1/queues", Some(&key), None)
        .await;
    let again = api.store.api_key(id).await.unwrap().unwrap();
    assert_eq!(again.last_used_at, Some(Timestamp::from_millis(used)));

    // The name is taken while the key works.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "bi-nightly", "scopes": ["reports:read"]})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // Revoked: refused at once; the record stays; revoking again changes nothing.
    let path = format!("/api/v1/api-keys/{id}");
    let (status, revoked) = api.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let revoked_at = revoked["revoked_at"].as_i64().expect("revoked_at");
    let (status, body) = api
        .call(Method::GET, "/api/v1/queues", Some(&key), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (_, again) = api.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(again["revoked_at"], revoked_at);
    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/v1/api-keys/424242",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its name is free again.
    create_key(&api, &admin, "bi-nightly", &["reports:read"]).await;
}

#[tokio::test]
async fn expired_and_unknown_keys_are_refused() {
    let api = Api::new().await;
    let key = "sbk_expired-key-for-the-test-0000000000000000000";
    api.store
        .create_api_key(&NewApiKey {
            name: "old".into(),
            key_hash: token_hash(key),
            prefix: key[..12].into(),
            scopes: vec!["reports:read".into()],
            created_by: None,
            created_at: Timestamp::from_millis(0),
            expires_at: Some(Timestamp::from_millis(1_000)),
        })
        .await
        .unwrap();
    for token in [key, "sbk_not-a-key", "sbk_"] {
        let (status, body) = api
            .call(Method::GET, "/api/v1/events", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {body}");
    }
}

#[tokio::test]
async fn bad_key_requests_are_refused_with_their_field() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let past = json!(1_000);
    for (body, status, field) in [
        (json!({"name": "x", "scopes": []}), 422, Some("scopes")),
        (
            json!({"name": "has space", "scopes": ["reports:read"]}),
            422,
            Some("name"),
        ),
        (
            json!({"name": "", "scopes": ["reports:read"]}),
            422,
            Some("name"),
        ),
        (
            json!({"name": "x", "scopes": ["reports:read"], "expires_at": past}),
            422,
            Some("expires_at"),
        ),
        (json!({"name": "x", "scopes": ["tickets:write"]}), 422, None),
        (
            json!({"name": "x", "scopes": ["reports:read"], "role": "admin"}),
            422,
            None,
        ),
    ] {
        let (got, answer) = api
            .call(
                Method::POST,
                "/api/v1/api-keys",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(got.as_u16(), status, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid", "{body}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["details"]["field"], field, "{body}: {answer}");
        }
    }
    assert!(api.store.list_api_keys().await.unwrap().is_empty());
    // Supervisors may not make keys.
    let supervisor = api.token(Role::Supervisor).await;
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&supervisor),
            Some(json!({"name": "x", "scopes": ["reports:read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A key with `contacts:write` puts a contact in a queue, as a PBX bridge or a web form
/// would; it may not touch the configuration.
#[tokio::test]
async fn a_key_creates_contacts() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let queue = json!({"id": "sales"});
    let (status, body) = api
        .call(
            Method::PUT,
            "/api/v1/queues/sales",
            Some(&admin),
            Some(queue),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (key, _) = create_key(&api, &admin, "web-form", &["contacts:write"]).await;
    let (status, created) = api
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(&key),
            Some(json!({"queue": "sales", "channel": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Writing configuration is another scope.
    let (status, body) = api
        .call(Method::DELETE, "/api/v1/queues/sales", Some(&key), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
}
