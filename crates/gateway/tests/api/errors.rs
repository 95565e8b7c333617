//! Errors and limits: bad input of every kind, each a 4xx with its stable code.

use axum::http::{Method, StatusCode};
use serde_json::json;
use switchboard_app::Settings as AppSettings;
use switchboard_gateway::Settings;
use switchboard_store::Role;
use switchboard_test_support::center::CHEAP;

use crate::support::Api;

/// Bad input of every kind gets a 4xx with a JSON code — never a 500, never a panic.
#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let api = Api::with(
        AppSettings {
            password_hashing: CHEAP,
            ..AppSettings::default()
        },
        Settings {
            body_limit: 4096,
            ..Settings::default()
        },
    )
    .await;
    let admin = api.token(Role::Admin).await;
    // (method, path, body, extra headers, status, code)
    type Case<'a> = (
        Method,
        &'a str,
        Option<String>,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (Method::PUT, "/api/v1/skills/x", Some("{not json".into()), &[], 400, "malformed_json"),
        (Method::PUT, "/api/v1/skills/x", Some("[]".into()), &[], 422, "invalid"),
        (Method::PUT, "/api/v1/skills/x", Some(r#"{"name": 5}"#.into()), &[], 422, "invalid"),
        (Method::PUT, "/api/v1/skills/x%20y", Some(r#"{"name": "x y"}"#.into()), &[], 422, "invalid"),
        (Method::PUT, "/api/v1/queues/q", Some(r#"{"id": "q", "offer_timeout": -1}"#.into()), &[], 422, "invalid"),
        (Method::PUT, "/api/v1/queues/q", Some(r#"{"id": "q", "strategy": "psychic"}"#.into()), &[], 422, "invalid"),
        (Method::PUT, "/api/v1/queues/q", Some(format!(r#"{{"id": "q", "x": "{}"}}"#, "a".repeat(10_000))), &[], 413, "payload_too_large"),
        (Method::PUT, "/api/v1/skills/x", Some(r#"{"name": "x"}"#.into()), &[("content-type", "text/plain")], 415, "unsupported_media_type"),
        (Method::GET, "/api/v1/users/not-a-number", None, &[], 400, "bad_request"),
        (Method::GET, "/api/v1/users/424242", None, &[], 404, "not_found"),
        (Method::GET, "/api/v1/contacts/not-a-uuid/position", None, &[], 400, "bad_request"),
        (Method::GET, "/api/v1/events?limit=0", None, &[], 400, "bad_request"),
        (Method::GET, "/api/v1/events?from=yesterday", None, &[], 400, "bad_request"),
        (Method::GET, "/api/v1/events?colour=red", None, &[], 400, "bad_request"),
        (Method::GET, "/api/v1/nothing-here", None, &[], 404, "not_found"),
        (Method::DELETE, "/api/v1/auth/me", None, &[], 405, "method_not_allowed"),
        (Method::POST, "/api/v1/users", Some(r#"{"username": "a b", "display_name": "X", "role": "agent", "password": "0123456789"}"#.into()), &[], 422, "invalid"),
        (Method::POST, "/api/v1/users", Some(r#"{"username": "ab", "display_name": "X", "role": "agent", "password": "short"}"#.into()), &[], 422, "invalid"),
        (Method::POST, "/api/v1/users", Some(r#"{"username": "ab", "display_name": "X", "role": "king", "password": "0123456789"}"#.into()), &[], 422, "invalid"),
        (Method::PUT, "/api/v1/scripts/s", Some(r#"{"script_id": "s", "language": "en", "template": "Hi {nobody}"}"#.into()), &[], 422, "invalid"),
    ];
    for (method, path, body, headers, status, code) in cases {
        let (s, e) = api
            .raw(method.clone(), path, Some(&admin), body, headers)
            .await;
        assert_eq!(
            (s.as_u16(), e["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {e}"
        );
    }
    // Duplicate usernames conflict.
    let user =
        json!({"username": "dup", "display_name": "X", "role": "agent", "password": "0123456789"});
    assert_eq!(
        api.call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(user.clone())
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (s, e) = api
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(user))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{e}"
    );
}
