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
    let user = json!({"username": "dup", "display_name": "X", "role": "agent", "password": "a fine password"});
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

/// Every error the stack itself answers — the body limit on a raw body, a request that takes
/// too long, an unknown route or method, a refused WebSocket upgrade, the JSON extractor's
/// refusals — is `application/json` with a stable `code`, like the handlers' own.
#[tokio::test]
async fn every_error_the_stack_answers_is_json_with_a_code() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let api = Api::with(
        AppSettings {
            password_hashing: CHEAP,
            ..AppSettings::default()
        },
        Settings {
            body_limit: 4096,
            request_timeout: std::time::Duration::from_millis(300),
            ..Settings::default()
        },
    )
    .await;
    let admin = api.token(Role::Admin).await;
    let big = "a".repeat(10_000);
    // (method, path, content type, body, status, code)
    let cases: Vec<(Method, &str, &str, Body, u16, &str)> = vec![
        // Raw bodies (signed hooks, the CTI's form) over the limit.
        (
            Method::POST,
            "/api/v1/hooks/pbx",
            "application/json",
            Body::from(big.clone()),
            413,
            "payload_too_large",
        ),
        (
            Method::POST,
            "/api/v1/cti/some-token",
            "application/x-www-form-urlencoded",
            Body::from(big.clone()),
            413,
            "payload_too_large",
        ),
        (
            Method::PUT,
            "/api/v1/skills/x",
            "application/json",
            Body::from(big),
            413,
            "payload_too_large",
        ),
        // A body that never ends: cut by the request timeout.
        (
            Method::PUT,
            "/api/v1/skills/x",
            "application/json",
            Body::from_stream(futures_util::stream::pending::<
                Result<bytes::Bytes, std::io::Error>,
            >()),
            408,
            "timeout",
        ),
        (
            Method::GET,
            "/api/v1/nothing-here",
            "",
            Body::empty(),
            404,
            "not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/auth/me",
            "",
            Body::empty(),
            405,
            "method_not_allowed",
        ),
        (
            Method::POST,
            "/api/v1/agent/ws",
            "",
            Body::empty(),
            405,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/api/v1/supervisor/ws",
            "",
            Body::empty(),
            400,
            "not_a_websocket",
        ),
        (
            Method::PUT,
            "/api/v1/skills/x",
            "text/plain",
            Body::from("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            Method::PUT,
            "/api/v1/skills/x",
            "application/json",
            Body::from("{"),
            400,
            "malformed_json",
        ),
        (
            Method::PUT,
            "/api/v1/skills/x",
            "application/json",
            Body::from("[]"),
            422,
            "invalid",
        ),
    ];
    for (method, path, content_type, body, status, code) in cases {
        let mut req = axum::http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Bearer {admin}"));
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            api.app.clone().oneshot(req.body(body).unwrap()),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within 5 s"))
        .unwrap();
        let got = res.status().as_u16();
        let json = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(
            (got, json, body["code"].as_str()),
            (status, true, Some(code)),
            "{method} {path}: {text}"
        );
        assert!(body["message"].is_string(), "{method} {path}: {text}");
    }
}
