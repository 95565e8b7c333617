//! The HTTP API without a server: `router(state).oneshot(request)`.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use switchboard_dispatch::{AnyBackend, MemoryBackend, SystemClock};
use switchboard_gateway::{
    auth::hash_password, router, routes, Access, AppState, Secret, Settings,
};
use switchboard_store::{NewUser, Role};
use switchboard_test_support::{
    center::{self, CHEAP},
    database::TestDatabase,
    unique_name,
};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct Api {
    app: Router,
    state: AppState,
    _db: TestDatabase,
}

impl Api {
    async fn new() -> Self {
        Self::with(Settings {
            password_hashing: CHEAP,
            setup_secret: Some(Secret::new("s3tup-secret-for-tests")),
            ..Settings::default()
        })
        .await
    }

    async fn with(settings: Settings) -> Self {
        let db = TestDatabase::sqlite();
        let store = db.store().await;
        let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
        let state = AppState::new(store, dispatcher, Arc::new(SystemClock), settings);
        Self {
            app: router(state.clone()),
            state,
            _db: db,
        }
    }

    /// A user of `role` with a session; returns the bearer token.
    async fn token(&self, role: Role) -> String {
        let user = NewUser {
            username: unique_name(&format!("{}-", role.as_str())),
            display_name: "Test".into(),
            role,
            password_hash: center::cheap_password_hash(PASSWORD).await.unwrap(),
            agent_id: None,
        };
        center::user_signed_in(&self.state.store, &user)
            .await
            .unwrap()
            .token
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.raw(method, path, token, body.map(|b| b.to_string()), &[])
            .await
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }
}

/// Every route × no token, agent, supervisor, admin: 401 without a token, 403 for a role
/// the route does not allow, and never 401/403 for an allowed role.
#[tokio::test]
async fn role_matrix() {
    let api = Api::new().await;
    let tokens = [
        (Some(Role::Agent), api.token(Role::Agent).await),
        (Some(Role::Supervisor), api.token(Role::Supervisor).await),
        (Some(Role::Admin), api.token(Role::Admin).await),
    ];
    let mut checked = 0;
    for r in routes() {
        let path = r
            .path
            .replace("{user_id}", "999999")
            .replace("{contact_id}", &uuid::Uuid::nil().to_string())
            .replace("{queue_id}", "nope")
            .replace("{id}", "nope");
        let body =
            matches!(r.method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        let (status, _) = api.call(r.method.clone(), &path, None, body.clone()).await;
        match r.access {
            Access::Public => assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{} {path}: {status}",
                r.method
            ),
            Access::Roles(_) | Access::Integration | Access::Console | Access::Socket(_) => {
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{} {path} without a token",
                    r.method
                )
            }
        }
        for (role, token) in &tokens {
            // Signing out revokes the token: use a throwaway one there.
            let token = if r.path == "/api/v1/auth/logout" {
                api.token(role.unwrap()).await
            } else {
                token.clone()
            };
            let (status, body_json) = api
                .call(r.method.clone(), &path, Some(&token), body.clone())
                .await;
            let allowed = match r.access {
                Access::Public => true,
                Access::Roles(roles) => roles.contains(&role.unwrap()),
                // None of these users is linked to an agent.
                Access::Console => false,
                Access::Socket(roles) => roles.contains(&role.unwrap()),
                Access::Integration => {
                    // A session is no substitute for the integration's signature.
                    assert_eq!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "{} {path} as {role:?}",
                        r.method
                    );
                    continue;
                }
            };
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{} {path} as {role:?}: {status} {body_json}",
                    r.method
                );
                assert!(
                    status.as_u16() < 500,
                    "{} {path} as {role:?}: {status} {body_json}",
                    r.method
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {path} as {role:?}",
                    r.method
                );
                assert_eq!(body_json["code"], "forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} combinations");
}

#[tokio::test]
async fn sign_in_sign_out_and_limits() {
    let api = Api::with(Settings {
        password_hashing: CHEAP,
        login_attempts_per_minute: 3,
        ..Settings::default()
    })
    .await;
    api.token(Role::Agent).await; // someone else
    let hash = hash_password(PASSWORD.into(), CHEAP).await.unwrap();
    api.state
        .store
        .create_user(&NewUser {
            username: "ann".into(),
            display_name: "Ann".into(),
            role: Role::Agent,
            password_hash: hash,
            agent_id: None,
        })
        .await
        .unwrap();
    let (s, body) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "Ann", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["role"], "agent");
    assert!(body["user"].get("password_hash").is_none());
    let (s, me) = api
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!((s, me["username"].as_str()), (StatusCode::OK, Some("ann")));
    let (s, _) = api
        .call(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "logout revokes the token");
    // Wrong passwords and unknown users look the same; the fourth attempt is limited.
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ann", "password": "wrong password"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "nobody", "password": "wrong password"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ann", "password": "wrong again"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ann", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{e}"
    );
    // Garbage tokens are simply unauthorized.
    for bad in ["", "x", &"y".repeat(500)] {
        let (s, _) = api
            .call(Method::GET, "/api/v1/auth/me", Some(bad), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn first_admin_setup_is_one_time() {
    let api = Api::new().await;
    let req = |secret: &str| json!({"setup_secret": secret, "username": "boss", "display_name": "Boss", "password": PASSWORD});
    let (s, e) = api
        .call(Method::POST, "/api/v1/auth/setup", None, Some(req("wrong")))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_setup_secret"))
    );
    let (s, user) = api
        .call(
            Method::POST,
            "/api/v1/auth/setup",
            None,
            Some(req("s3tup-secret-for-tests")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    assert_eq!(user["role"], "admin");
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/auth/setup",
            None,
            Some(req("s3tup-secret-for-tests")),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_set_up"))
    );
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "boss", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn configuration_reaches_the_running_dispatcher() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let supervisor = api.token(Role::Supervisor).await;
    // A queue needing an unknown skill is refused with the field named.
    let queue = json!({"id": "support", "required_skills": [{"skill": "tech", "min_level": 5}]});
    let (s, e) = api
        .call(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.clone()),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("required_skills[0].skill")
        ),
        "{e}"
    );
    let (s, _) = api
        .call(
            Method::PUT,
            "/api/v1/skills/tech",
            Some(&admin),
            Some(json!({"name": "tech"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, q) = api
        .call(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.clone()),
        )
        .await;
    assert_eq!(
        (s, q["version"].as_i64()),
        (StatusCode::CREATED, Some(1)),
        "{q}"
    );
    assert_eq!(q["offer_timeout"], 15.0, "defaults filled in");
    // The running dispatcher knows it at once.
    let (s, snap) = api
        .call(
            Method::GET,
            "/api/v1/queues/support/snapshot",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(
        (s, snap["waiting"].as_u64()),
        (StatusCode::OK, Some(0)),
        "{snap}"
    );
    // Optimistic concurrency: a stale If-Match is refused.
    let (s, _) = api
        .raw(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.to_string()),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = api
        .raw(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.to_string()),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("version_conflict"))
    );
    let (s, e) = api
        .raw(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.to_string()),
            &[("if-match", "soon")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_if_match"))
    );
    // The skill is in use now.
    let (s, e) = api
        .call(Method::DELETE, "/api/v1/skills/tech", Some(&admin), None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    // Path and body must name the same record.
    let (s, e) = api
        .call(
            Method::PUT,
            "/api/v1/queues/other",
            Some(&admin),
            Some(queue),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
    );
    // Integrations never show their secret.
    let integration =
        json!({"integration_id": "pbx", "kind": "generic", "secret": "0123456789abcdef0123"});
    let (s, shown) = api
        .call(
            Method::PUT,
            "/api/v1/integrations/pbx",
            Some(&admin),
            Some(integration),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(shown["secret"], "********");
    // Deleting the queue removes it from the dispatcher too.
    let (s, _) = api
        .call(Method::DELETE, "/api/v1/queues/support", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .call(
            Method::GET,
            "/api/v1/queues/support/snapshot",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Bad input of every kind gets a 4xx with a JSON code — never a 500, never a panic.
#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let api = Api::with(Settings {
        password_hashing: CHEAP,
        body_limit: 4096,
        ..Settings::default()
    })
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

#[tokio::test]
async fn operations_endpoints() {
    let api = Api::new().await;
    let (s, body) = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (s, body["database"]["kind"].as_str()),
        (StatusCode::OK, Some("sqlite")),
        "{body}"
    );
    let (s, doc) = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for r in routes() {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from the OpenAPI document",
            r.method,
            r.path
        );
        if let Access::Roles(_) = r.access {
            assert_eq!(op["security"][0]["bearer"], json!([]));
        }
        if r.access != Access::Public {
            assert!(op["responses"]["401"].is_object());
        }
    }
    let (s, text) = api.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap().to_owned();
    assert!(text.contains("switchboard_http_requests_total{route=\"/api/openapi.json\",method=\"GET\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("switchboard_event_log_lag 0"));
    assert!(text.contains("switchboard_report_rollup_watermark_seconds 0"));
    assert!(text.contains("switchboard_report_rollup_failures_total 0"));
    // Request ids are echoed (or made up).
    let req = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let res = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = api
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-request-id"));
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn users_are_administered_and_an_admin_always_remains() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let (_, me) = api
        .call(Method::GET, "/api/v1/auth/me", Some(&admin), None)
        .await;
    let my_id = me["user_id"].as_i64().unwrap();
    let (s, e) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{my_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_admin"))
    );
    let (s, e) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{my_id}"),
            Some(&admin),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_admin"))
    );
    // A second admin may be demoted by the first, with versions checked.
    let (s, other) = api.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"username": "kim", "display_name": "Kim", "role": "admin", "password": PASSWORD}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let path = format!("/api/v1/users/{}", other["user_id"]);
    let (s, e) = api
        .raw(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"role": "supervisor"}).to_string()),
            &[("if-match", "\"7\"")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("version_conflict")),
        "{e}"
    );
    let (s, changed) = api
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"role": "supervisor", "agent_id": null})),
        )
        .await;
    assert_eq!(
        (s, changed["role"].as_str()),
        (StatusCode::OK, Some("supervisor")),
        "{changed}"
    );
    // Disabled users cannot sign in.
    assert_eq!(
        api.call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"disabled": true}))
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "kim", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.call(Method::DELETE, &path, Some(&admin), None).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, users) = api
        .call(Method::GET, "/api/v1/users", Some(&admin), None)
        .await;
    assert_eq!(
        (s, users.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
}

mod telephony {
    use super::*;
    use switchboard_gateway::hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};

    pub(super) const SECRET: &str = "pbx-shared-secret-0123456789";
    const CTI: &str = "/api/v1/cti/cti-token-0123456789abcdef";

    async fn center() -> (Api, String) {
        let api = Api::new().await;
        let admin = api.token(Role::Admin).await;
        for (path, body) in [
            ("/api/v1/queues/sales", json!({"id": "sales"})),
            (
                "/api/v1/integrations/pbx",
                json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET}),
            ),
            (
                "/api/v1/integrations/cti",
                json!({"integration_id": "cti", "kind": "zammad_cti", "secret": "cti-token-0123456789abcdef"}),
            ),
        ] {
            let (s, e) = api.call(Method::PUT, path, Some(&admin), Some(body)).await;
            assert!(s.is_success(), "{path}: {e}");
        }
        (api, admin)
    }

    fn now_secs() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// A generic hook to integration `pbx`, signed now with [`SECRET`].
    pub(super) async fn hook(api: &Api, body: Value) -> (StatusCode, Value) {
        signed(api, body, now_secs(), SECRET).await
    }

    async fn signed(api: &Api, body: Value, ts: i64, secret: &str) -> (StatusCode, Value) {
        let body = body.to_string();
        let signature = sign(secret, ts, body.as_bytes());
        let ts = ts.to_string();
        api.raw(
            Method::POST,
            "/api/v1/hooks/pbx",
            None,
            Some(body),
            &[(TIMESTAMP_HEADER, &ts), (SIGNATURE_HEADER, &signature)],
        )
        .await
    }

    async fn waiting(api: &Api, admin: &str) -> u64 {
        let (_, snap) = api
            .call(
                Method::GET,
                "/api/v1/queues/sales/snapshot",
                Some(admin),
                None,
            )
            .await;
        snap["waiting"].as_u64().unwrap()
    }

    #[tokio::test]
    async fn a_signed_call_enters_the_queue_once() {
        let (api, admin) = center().await;
        let arrival = json!({"event_id": "e1", "type": "call.arrived", "call_id": "1545241916.41", "queue": "sales", "caller": "+33123456789", "tier": "gold"});
        let (s, first) = hook(&api, arrival.clone()).await;
        assert_eq!(
            (s, first["status"].as_str(), first["position"].as_u64()),
            (StatusCode::OK, Some("ok"), Some(1)),
            "{first}"
        );
        // The same delivery again: the same answer, nothing new.
        let (s, again) = hook(&api, arrival).await;
        assert_eq!((s, &again), (StatusCode::OK, &first));
        // A new delivery (new event id) for the same call: still one contact.
        let (s, third) = hook(&api, json!({"event_id": "e2", "type": "call.arrived", "call_id": "1545241916.41", "queue": "sales"})).await;
        assert_eq!(
            (s, &third["contact_id"]),
            (StatusCode::OK, &first["contact_id"])
        );
        assert_eq!(waiting(&api, &admin).await, 1);
        // The caller hangs up while waiting: abandoned.
        let (s, ended) = hook(&api, json!({"event_id": "e3", "type": "call.ended", "call_id": "1545241916.41", "cause": "cancel"})).await;
        assert_eq!(
            (s, ended["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{ended}"
        );
        assert_eq!(waiting(&api, &admin).await, 0);
        // Events late or out of order are answered calmly.
        let (s, held) = hook(
            &api,
            json!({"event_id": "e4", "type": "call.held", "call_id": "1545241916.41"}),
        )
        .await;
        assert_eq!(
            (s, held["status"].as_str()),
            (StatusCode::OK, Some("ignored"))
        );
        let (s, early) = hook(
            &api,
            json!({"event_id": "e5", "type": "call.ended", "call_id": "early"}),
        )
        .await;
        assert_eq!(
            (s, early["status"].as_str()),
            (StatusCode::OK, Some("ignored"))
        );
        let (s, late) = hook(
            &api,
            json!({"event_id": "e6", "type": "call.arrived", "call_id": "early", "queue": "sales"}),
        )
        .await;
        assert_eq!(
            (s, late["status"].as_str()),
            (StatusCode::OK, Some("ignored")),
            "a hang-up before the arrival keeps it out"
        );
        assert_eq!(waiting(&api, &admin).await, 0);
    }

    #[tokio::test]
    async fn unsigned_stale_and_malformed_hooks_are_refused() {
        let (api, _) = center().await;
        let body =
            json!({"event_id": "x", "type": "call.arrived", "call_id": "c", "queue": "sales"});
        let (s, e) = signed(&api, body.clone(), now_secs(), "not-the-secret-at-all").await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_signature"))
        );
        let (s, e) = signed(&api, body.clone(), now_secs() - 301, SECRET).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("stale_request")),
            "a replay after the window"
        );
        let (s, _) = api
            .raw(
                Method::POST,
                "/api/v1/hooks/pbx",
                None,
                Some(body.to_string()),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = api
            .raw(
                Method::POST,
                "/api/v1/hooks/nobody",
                None,
                Some(body.to_string()),
                &[(TIMESTAMP_HEADER, "1"), (SIGNATURE_HEADER, "sha256=00")],
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, e) = hook(
            &api,
            json!({"event_id": "y", "type": "call.exploded", "call_id": "c"}),
        )
        .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
        );
        let (s, e) = hook(
            &api,
            json!({"event_id": "z", "type": "call.arrived", "call_id": "c", "queue": "nope"}),
        )
        .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_queue"))
        );
        let ts = now_secs();
        let garbage = "{oops";
        let signature = sign(SECRET, ts, garbage.as_bytes());
        let (s, e) = api
            .raw(
                Method::POST,
                "/api/v1/hooks/pbx",
                None,
                Some(garbage.into()),
                &[
                    (TIMESTAMP_HEADER, &ts.to_string()),
                    (SIGNATURE_HEADER, &signature),
                ],
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_json"))
        );
    }

    #[tokio::test]
    async fn zammad_cti_works_form_encoded_and_idempotent() {
        let (api, admin) = center().await;
        let form_type = [("content-type", "application/x-www-form-urlencoded")];
        let new_call = "event=newCall&from=%2B4930123&to=sales&direction=in&callId=1545241916.41&user%5B%5D=Zammad";
        let (s, body) = api
            .raw(Method::POST, CTI, None, Some(new_call.into()), &form_type)
            .await;
        assert_eq!((s, body), (StatusCode::OK, json!({})));
        let (s, _) = api
            .raw(Method::POST, CTI, None, Some(new_call.into()), &form_type)
            .await;
        assert_eq!(s, StatusCode::OK, "a repeated newCall is calm");
        assert_eq!(waiting(&api, &admin).await, 1, "and queues the call once");
        let (s, _) = api
            .raw(
                Method::POST,
                CTI,
                None,
                Some("event=hangup&callId=unknown.1&cause=cancel&direction=in".into()),
                &form_type,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "a hangup for an unknown call is calm");
        let (s, _) = api
            .raw(
                Method::POST,
                CTI,
                None,
                Some("event=hangup&callId=1545241916.41&cause=cancel&direction=in".into()),
                &form_type,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(waiting(&api, &admin).await, 0);
        let (s, e) = api
            .raw(
                Method::POST,
                CTI,
                None,
                Some("event=newCall&callId=2&direction=sideways&to=sales".into()),
                &form_type,
            )
            .await;
        assert_eq!(
            (s, e["details"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("direction"))
        );
        let (s, _) = api
            .raw(
                Method::POST,
                "/api/v1/cti/wrong-token",
                None,
                Some(new_call.into()),
                &form_type,
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // JSON works too.
        let (s, body) = api
            .call(
                Method::POST,
                CTI,
                None,
                Some(json!({"event": "newCall", "callId": "3", "to": "sales", "direction": "in"})),
            )
            .await;
        assert_eq!((s, body), (StatusCode::OK, json!({})));
    }

    #[tokio::test]
    async fn chats_and_emails_are_created_through_the_api() {
        let (api, admin) = center().await;
        let (s, created) = api.call(Method::POST, "/api/v1/contacts", Some(&admin), Some(json!({"queue": "sales", "channel": "chat", "tier": "platinum", "attributes": {"subject": "order 42"}}))).await;
        assert_eq!(
            (s, created["state"].as_str(), created["position"].as_u64()),
            (StatusCode::CREATED, Some("queued"), Some(1)),
            "{created}"
        );
        let id = created["contact_id"].as_str().unwrap();
        let (s, pos) = api
            .call(
                Method::GET,
                &format!("/api/v1/contacts/{id}/position"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!((s, pos["position"].as_u64()), (StatusCode::OK, Some(1)));
        let (s, e) = api
            .call(
                Method::POST,
                "/api/v1/contacts",
                Some(&admin),
                Some(json!({"queue": "sales", "channel": "fax"})),
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
        );
    }
}

#[tokio::test]
async fn staffing_calculators() {
    let api = Api::new().await;
    let supervisor = api.token(Role::Supervisor).await;
    let forecast = json!({"arrivals": 100, "interval_secs": 1800, "aht_secs": 180, "target_answer_secs": 20, "target_service_level": 0.8});
    let (s, c) = api
        .call(
            Method::POST,
            "/api/v1/staffing/erlang-c",
            Some(&supervisor),
            Some(forecast.clone()),
        )
        .await;
    assert_eq!((s, c["agents"].as_u64()), (StatusCode::OK, Some(14)), "{c}");
    assert!((c["metrics"]["service_level"].as_f64().unwrap() - 0.888).abs() < 0.002);
    let mut patient = forecast.clone();
    patient["patience_secs"] = json!(120);
    let (s, a) = api
        .call(
            Method::POST,
            "/api/v1/staffing/erlang-a",
            Some(&supervisor),
            Some(patient),
        )
        .await;
    assert_eq!((s, a["agents"].as_u64()), (StatusCode::OK, Some(12)), "{a}");
    let mut bad = forecast;
    bad["aht_secs"] = json!(-3);
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/staffing/erlang-c",
            Some(&supervisor),
            Some(bad),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str(), e["details"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid"),
            Some("aht_secs")
        ),
        "{e}"
    );
}

#[tokio::test]
async fn reports_from_the_event_log_as_json_and_csv() {
    use switchboard_dispatch::{Clock, Engine};
    use switchboard_domain::*;
    let api = Api::new().await;
    let supervisor = api.token(Role::Supervisor).await;
    // A short day in the event log: one call answered after 8 s and handled, one abandoned
    // after 40 s, one short abandon.
    let t0 = SystemClock.now().plus(Duration::from_secs(0));
    let t = |s: i64| Timestamp::from_millis(t0.as_millis() - 3_600_000 + s * 1000);
    let mut e = Engine::new();
    let mut log = Vec::new();
    let q = QueueId::parse("sales").unwrap();
    let ann = AgentId::parse("ann").unwrap();
    let mut run = |cmd, at| log.extend(e.apply(cmd, at).unwrap());
    let mut queue = QueueConfig::new(q.clone());
    queue.wrap_up = Duration::from_secs(10);
    run(Command::UpsertQueue(queue), t(0));
    run(Command::UpsertAgent(AgentProfile::new(ann.clone())), t(0));
    let (c1, c2, c3) = (
        switchboard_dispatch::fresh_contact_id(t(0)),
        switchboard_dispatch::fresh_contact_id(t(0)),
        switchboard_dispatch::fresh_contact_id(t(0)),
    );
    run(
        Command::Enqueue(NewContact::new(c1, q.clone(), Channel::Voice)),
        t(0),
    );
    run(
        Command::SetPresence {
            agent: ann.clone(),
            presence: Presence::Available,
        },
        t(8),
    );
    run(
        Command::Accept {
            contact: c1,
            agent: ann.clone(),
        },
        t(8),
    );
    run(
        Command::Enqueue(NewContact::new(c2, q.clone(), Channel::Voice)),
        t(10),
    );
    run(
        Command::Enqueue(NewContact::new(c3, q.clone(), Channel::Voice)),
        t(11),
    );
    run(Command::Abandon { contact: c3 }, t(13));
    run(Command::Complete { contact: c1 }, t(100));
    run(
        Command::FinishWrapUp {
            contact: c1,
            agent: ann.clone(),
            wrap_up: WrapUp {
                disposition: Some("resolved".into()),
                resolved: Some(true),
            },
        },
        t(105),
    );
    run(Command::Abandon { contact: c2 }, t(50));
    api.state.store.append_events(&log).await.unwrap();
    api.state
        .store
        .set_contact_customer(c1, "CRM-7", t(0))
        .await
        .unwrap();
    for (scale, score) in [("csat5", 5), ("nps10", 10)] {
        let (s, e) = api
            .call(
                Method::POST,
                "/api/v1/surveys",
                Some(&supervisor),
                Some(json!({"contact_id": c1, "scale": scale, "score": score})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    }
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/surveys",
            Some(&supervisor),
            Some(json!({"contact_id": c1, "scale": "csat5", "score": 9})),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("score"))
    );

    let (from, to) = (t(-1).as_millis(), t(3600).as_millis());
    let (s, body) = api
        .call(
            Method::GET,
            &format!("/api/v1/reports?from={from}&to={to}&queue=sales"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r = &body["reports"][0];
    assert_eq!(
        (
            r["offered"].as_u64(),
            r["answered"].as_u64(),
            r["abandoned"].as_u64(),
            r["short_abandoned"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1)),
        "{r}"
    );
    // SL 80/20: answered within 20 s / (answered + abandoned after 20 s) = 1 / 2.
    assert_eq!(
        r["service_level"]["ratio"]["value"].as_f64(),
        Some(0.5),
        "{r}"
    );
    assert_eq!(r["asa_ms"].as_f64(), Some(8_000.0));
    assert_eq!(
        (
            r["csat"]["responses"].as_u64(),
            r["nps"]["responses"].as_u64()
        ),
        (Some(1), Some(1)),
        "{r}"
    );
    // Resolved on the first contact, with no repeat yet; final only once the window passed.
    assert_eq!(
        (
            r["fcr_true"]["ratio"]["numerator"].as_u64(),
            r["fcr_true"]["final"].as_bool()
        ),
        (Some(1), Some(false)),
        "{r}"
    );
    let (s, csv) = api
        .call(
            Method::GET,
            &format!("/api/v1/reports?from={from}&to={to}&interval=60m&format=csv"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = csv.as_str().unwrap().to_owned();
    assert!(
        csv.starts_with("start,end,offered,answered,abandoned"),
        "{csv}"
    );
    let offered: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(offered, 3, "the intervals add up: {csv}");
    for bad in [
        "from=10&to=5",
        "from=0&to=99999999999",
        "from=1&to=2&interval=7m",
        "from=1&to=2&format=pdf",
        "to=5",
    ] {
        let (s, e) = api
            .call(
                Method::GET,
                &format!("/api/v1/reports?{bad}"),
                Some(&supervisor),
                None,
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{bad}: {e}"
        );
    }
}

/// Outbound webhooks to the PBX (we-route mode) and PBX-routes mode.
mod pbx_webhooks {
    use super::telephony::SECRET;
    use super::*;
    use std::sync::Mutex;
    use switchboard_dispatch::QueueBackend;
    use switchboard_domain::{AgentId, AgentStatus, Command, ContactId, ContactState, Presence};
    use switchboard_gateway::hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};

    /// What the fake PBX received: (timestamp, signature, event id, body).
    type Received = Arc<Mutex<Vec<(String, String, String, Value)>>>;

    /// A PBX on 127.0.0.1 that answers each request with the next status of `script`
    /// (then 200 forever) and records what it got.
    async fn fake_pbx(script: Vec<u16>) -> (String, Received) {
        let received: Received = Arc::default();
        let script = Arc::new(Mutex::new(script.into_iter()));
        let got = received.clone();
        let app = axum::Router::new().route(
            "/acd",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (got, script) = (got.clone(), script.clone());
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    got.lock().unwrap().push((
                        h(TIMESTAMP_HEADER),
                        h(SIGNATURE_HEADER),
                        h("x-switchboard-event-id"),
                        serde_json::from_str(&body).unwrap_or(Value::Null),
                    ));
                    let status = script.lock().unwrap().next().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/acd"), received)
    }

    /// A center whose PBX integration posts to `callback_url` (if any), with agents Ann
    /// (extension 201) and Bob (202) available, and the webhook tasks running.
    async fn center(callback_url: Option<&str>) -> (Api, String) {
        let api = Api::new().await;
        let admin = api.token(Role::Admin).await;
        for (path, body) in [
            ("/api/v1/queues/sales", json!({"id": "sales"})),
            (
                "/api/v1/integrations/pbx",
                json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET, "callback_url": callback_url}),
            ),
            (
                "/api/v1/agents/ann",
                json!({"id": "ann", "display_name": "Ann", "number": "1001", "extension": "201"}),
            ),
            (
                "/api/v1/agents/bob",
                json!({"id": "bob", "display_name": "Bob", "number": "1002", "extension": "202"}),
            ),
        ] {
            let (s, e) = api.call(Method::PUT, path, Some(&admin), Some(body)).await;
            assert!(s.is_success(), "{path}: {e}");
        }
        let wake = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(switchboard_gateway::pbx::plan(
            api.state.clone(),
            wake.clone(),
        ));
        tokio::spawn(switchboard_gateway::pbx::deliver(api.state.clone(), wake));
        for agent in ["ann", "bob"] {
            api.state
                .dispatcher
                .execute(
                    Command::SetPresence {
                        agent: AgentId::parse(agent).unwrap(),
                        presence: Presence::Available,
                    },
                    api.state.clock.now(),
                )
                .await
                .unwrap();
            // Ann idles longest: she gets the first offer.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (api, admin)
    }

    /// A signed hook that must be accepted; its answer.
    async fn hook(api: &Api, body: Value) -> Value {
        let (s, answer) = super::telephony::hook(api, body).await;
        assert_eq!(s, StatusCode::OK, "{answer}");
        answer
    }

    async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn deliveries(api: &Api, admin: &str, query: &str) -> Vec<Value> {
        let (s, body) = api
            .call(
                Method::GET,
                &format!("/api/v1/integrations/pbx/deliveries{query}"),
                Some(admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn an_offer_rings_the_agents_extension_signed_and_retried() {
        // The PBX fails the first request: it is retried after 0.5 s.
        let (url, received) = fake_pbx(vec![503]).await;
        let (api, admin) = center(Some(&url)).await;
        let arrived = hook(
            &api,
            json!({"event_id": "a1", "type": "call.arrived", "call_id": "c-1", "queue": "sales"}),
        )
        .await;
        let contact = arrived["contact_id"].as_str().unwrap().to_owned();
        wait_for("the ring, retried", || received.lock().unwrap().len() >= 2).await;
        let got = received.lock().unwrap().clone();
        let (ts, signature, event_id, body) = &got[1];
        assert_eq!(got[0].3, got[1].3, "the retry sends the same instruction");
        assert_eq!(body["type"], "call.ring");
        assert_eq!(body["call_id"], "c-1");
        assert_eq!(body["contact_id"], contact.as_str());
        assert_eq!(
            body["agent"],
            json!({"id": "ann", "extension": "201", "number": "1001"})
        );
        assert!(body["deadline"].as_i64().is_some());
        assert_eq!(event_id, body["event_id"].as_str().unwrap());
        let ts: i64 = ts.parse().unwrap();
        assert_eq!(
            signature,
            &sign(SECRET, ts, serde_json::to_string(body).unwrap().as_bytes()),
            "signed like the inbound hooks"
        );
        // The phone is picked up at Ann's: the PBX says so; she is busy with the call and
        // the PBX is told to connect it.
        let answered = hook(
            &api,
            json!({"event_id": "a2", "type": "call.answered", "call_id": "c-1", "agent": "ann"}),
        )
        .await;
        assert_eq!(answered["status"], "ok");
        wait_for("the connect", || {
            received
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.3["type"] == "call.connect")
        })
        .await;
        let mut items = Vec::new();
        for _ in 0..100 {
            items = deliveries(&api, &admin, "").await;
            if items.len() == 2 && items.iter().all(|d| d["status"] == "delivered") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let kinds: Vec<(&str, &str, u64)> = items
            .iter()
            .map(|d| {
                (
                    d["kind"].as_str().unwrap(),
                    d["status"].as_str().unwrap(),
                    d["attempts"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("call.connect", "delivered", 1),
                ("call.ring", "delivered", 2)
            ]
        );
        let (_, metrics) = api.call(Method::GET, "/metrics", None, None).await;
        let metrics = metrics.as_str().unwrap_or_default().to_owned();
        assert!(
            metrics.contains("switchboard_pbx_webhook_attempts_total{outcome=\"retry\"} 1"),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn a_refused_webhook_is_given_up_and_shown() {
        // 400: the PBX will never take it; no retry.
        let (url, received) = fake_pbx(vec![400]).await;
        let (api, admin) = center(Some(&url)).await;
        hook(
            &api,
            json!({"event_id": "b1", "type": "call.arrived", "call_id": "c-2", "queue": "sales"}),
        )
        .await;
        let mut failed = Vec::new();
        for _ in 0..200 {
            failed = deliveries(&api, &admin, "?status=failed").await;
            if !failed.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(failed.len(), 1, "the failure is visible");
        assert_eq!(failed[0]["kind"], "call.ring");
        assert_eq!(failed[0]["attempts"], 1);
        assert_eq!(failed[0]["last_status"], 400);
        assert!(failed[0]["last_error"].as_str().unwrap().contains("400"));
        assert_eq!(received.lock().unwrap().len(), 1);
        // Bad queries are clear 4xx.
        for (query, code) in [
            ("?status=lost", StatusCode::UNPROCESSABLE_ENTITY),
            ("?limit=0", StatusCode::UNPROCESSABLE_ENTITY),
            ("?limit=x", StatusCode::BAD_REQUEST),
        ] {
            let (s, _) = api
                .call(
                    Method::GET,
                    &format!("/api/v1/integrations/pbx/deliveries{query}"),
                    Some(&admin),
                    None,
                )
                .await;
            assert_eq!(s, code, "{query}");
        }
        let (s, _) = api
            .call(
                Method::GET,
                "/api/v1/integrations/nobody/deliveries",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // An https URL is refused at configuration time, with the reason.
        let (s, e) = api
            .call(
                Method::PUT,
                "/api/v1/integrations/pbx",
                Some(&admin),
                Some(json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET, "callback_url": "https://pbx.example/acd"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    }

    /// PBX-routes mode: no callback URL; the PBX rings whom it likes and reports who answered.
    #[tokio::test]
    async fn the_pbx_routes_and_the_answering_agent_becomes_busy() {
        let (api, _admin) = center(None).await;
        let arrived = hook(
            &api,
            json!({"event_id": "r1", "type": "call.arrived", "call_id": "c-3", "queue": "sales"}),
        )
        .await;
        let contact: ContactId = arrived["contact_id"].as_str().unwrap().parse().unwrap();
        let bob = AgentId::parse("bob").unwrap();
        // Our offer rings at Ann; Bob picked it up at his phone.
        let answered = hook(
            &api,
            json!({"event_id": "r2", "type": "call.answered", "call_id": "c-3", "agent": "bob"}),
        )
        .await;
        assert_eq!(answered["status"], "ok", "{answered}");
        assert!(matches!(
            api.state.dispatcher.contact(contact).await.unwrap(),
            Some(ContactState::Assigned { ref agent, .. }) if *agent == bob
        ));
        assert_eq!(
            api.state.dispatcher.agent_status(&bob).await.unwrap(),
            Some(AgentStatus::Busy)
        );
        let ann = AgentId::parse("ann").unwrap();
        assert_eq!(
            api.state.dispatcher.agent_status(&ann).await.unwrap(),
            Some(AgentStatus::Available),
            "Ann's offer was withdrawn"
        );
        // Another call answered by Bob, who is on the phone: calmly ignored, nothing wedged.
        hook(
            &api,
            json!({"event_id": "r3", "type": "call.arrived", "call_id": "c-4", "queue": "sales"}),
        )
        .await;
        let busy = hook(
            &api,
            json!({"event_id": "r4", "type": "call.answered", "call_id": "c-4", "agent": "bob"}),
        )
        .await;
        assert_eq!(busy["status"], "ignored", "{busy}");
        assert!(busy["reason"].as_str().unwrap().contains("busy"));
        // The CTI way: `answer` naming the extension that picked up.
        let (s, _) = api
            .call(
                Method::PUT,
                "/api/v1/integrations/cti",
                Some(&_admin),
                Some(json!({"integration_id": "cti", "kind": "zammad_cti", "secret": "cti-token-0123456789abcdef"})),
            )
            .await;
        assert!(s.is_success());
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let cti = "/api/v1/cti/cti-token-0123456789abcdef";
        let (s, _) = api
            .raw(
                Method::POST,
                cti,
                None,
                Some("event=newCall&from=1&to=sales&direction=in&callId=z-1".into()),
                &form,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = api
            .raw(
                Method::POST,
                cti,
                None,
                Some("event=answer&callId=z-1&direction=in&answeringNumber=201".into()),
                &form,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            api.state.dispatcher.agent_status(&ann).await.unwrap(),
            Some(AgentStatus::Busy),
            "extension 201 is Ann's"
        );
    }
}

#[tokio::test]
async fn reports_show_agent_time_and_callback_promises() {
    use switchboard_dispatch::{Clock, Engine};
    use switchboard_domain::*;
    let api = Api::new().await;
    let supervisor = api.token(Role::Supervisor).await;
    let t0 = SystemClock.now();
    let t = |s: i64| Timestamp::from_millis(t0.as_millis() - 3_600_000 + s * 1000);
    let mut e = Engine::new();
    let mut log = Vec::new();
    let q = QueueId::parse("sales").unwrap();
    let ann = AgentId::parse("ann").unwrap();
    let mut run = |cmd, at| log.extend(e.apply(cmd, at).unwrap());
    run(Command::UpsertQueue(QueueConfig::new(q.clone())), t(0));
    run(Command::UpsertAgent(AgentProfile::new(ann.clone())), t(0));
    let presence = |presence| Command::SetPresence {
        agent: ann.clone(),
        presence,
    };
    run(presence(Presence::Available), t(0));
    // Logged in twice: counted once.
    run(presence(Presence::Available), t(5));
    let (c1, c2) = (
        switchboard_dispatch::fresh_contact_id(t(0)),
        switchboard_dispatch::fresh_contact_id(t(0)),
    );
    run(
        Command::Enqueue(NewContact::new(c1, q.clone(), Channel::Voice)),
        t(10),
    );
    let accept = |contact| Command::Accept {
        contact,
        agent: ann.clone(),
    };
    let finish = |contact| Command::FinishWrapUp {
        contact,
        agent: ann.clone(),
        wrap_up: WrapUp::default(),
    };
    run(accept(c1), t(12));
    run(
        Command::Enqueue(NewContact::new(c2, q.clone(), Channel::Voice)),
        t(20),
    );
    // c2 waits while Ann talks; the caller asks for a callback at 25 s.
    run(
        Command::CallbackInPlace {
            contact: c2,
            number: "+4930123".into(),
            due: None,
        },
        t(25),
    );
    run(Command::Complete { contact: c1 }, t(72));
    run(finish(c1), t(80));
    run(accept(c2), t(85));
    run(Command::Complete { contact: c2 }, t(90));
    run(finish(c2), t(95));
    run(
        presence(Presence::Away {
            reason: ReasonCode::parse("lunch").unwrap(),
        }),
        t(100),
    );
    run(presence(Presence::Offline), t(200));
    api.state.store.append_events(&log).await.unwrap();

    let (from, to) = (t(-1).as_millis(), t(3600).as_millis());
    let get = |query: String| {
        let (api, token) = (&api, &supervisor);
        async move {
            let (s, body) = api
                .call(
                    Method::GET,
                    &format!("/api/v1/reports?from={from}&to={to}{query}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            body
        }
    };
    let body = get(String::new()).await;
    let r = &body["reports"][0];
    let ann_time = &r["agent_time"]["agents"]["ann"];
    // Staffed 0..200 s (available 0..100, lunch 100..200); handling 12..80 and 85..95.
    assert_eq!(ann_time["staffed_ms"], 200_000, "{r}");
    assert_eq!(ann_time["away_by_reason"]["lunch"], 100_000, "{r}");
    assert_eq!(ann_time["handling_ms"], 78_000, "{r}");
    assert_eq!(ann_time["occupancy"].as_f64(), Some(0.39), "{r}");
    assert_eq!(ann_time["utilisation"].as_f64(), Some(0.78), "{r}");
    assert_eq!(r["agent_time"]["total"]["staffed_ms"], 200_000, "{r}");
    // Answered 60 s after the request: on time within the default hour.
    assert_eq!(
        (
            r["callbacks"]["requested"].as_u64(),
            r["callbacks"]["kept_on_time"].as_u64(),
            r["callbacks"]["omission_rate"]["value"].as_f64()
        ),
        (Some(1), Some(1), Some(0.0)),
        "{r}"
    );
    // With a 30 s promise it was kept late.
    let body = get("&callback_due_secs=30".into()).await;
    let cb = &body["reports"][0]["callbacks"];
    assert_eq!(
        (
            cb["kept_late"].as_u64(),
            cb["omission_rate"]["value"].as_f64()
        ),
        (Some(1), Some(1.0)),
        "{cb}"
    );
    // A queue filter has no agent time (logged-in time belongs to no queue).
    let body = get("&queue=sales".into()).await;
    assert!(body["reports"][0]["agent_time"].is_null(), "{body}");
    // CSV: the totals' columns.
    let csv = get("&format=csv".into()).await;
    let csv = csv.as_str().unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (
            col("staffed_s"),
            col("handling_s"),
            col("occupancy"),
            col("utilisation")
        ),
        ("200.0", "78.0", "0.3900", "0.7800"),
        "{csv}"
    );
    assert_eq!(
        (col("callbacks_requested"), col("callback_omission_rate")),
        ("1", "0.0000"),
        "{csv}"
    );
}

/// `POST /api/v1/contacts/{contact_id}/callback`: what it answers and every refusal with its
/// status and stable code; its place in the OpenAPI document.
mod callback_in_place {
    use super::*;
    use switchboard_dispatch::QueueBackend;
    use switchboard_domain::{AgentId, Channel, Command, ContactId, Presence};

    async fn contact(api: &Api, token: &str, channel: &str) -> String {
        let (s, created) = api
            .call(
                Method::POST,
                "/api/v1/contacts",
                Some(token),
                Some(json!({"queue": "sales", "channel": channel})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        created["contact_id"].as_str().unwrap().to_owned()
    }

    async fn callback(api: &Api, token: &str, contact: &str, body: Value) -> (StatusCode, Value) {
        api.call(
            Method::POST,
            &format!("/api/v1/contacts/{contact}/callback"),
            Some(token),
            Some(body),
        )
        .await
    }

    #[tokio::test]
    async fn a_waiting_call_becomes_a_callback_and_everything_else_is_refused() {
        let api = Api::new().await;
        let admin = api.token(Role::Admin).await;
        let supervisor = api.token(Role::Supervisor).await;
        for (path, body) in [
            ("/api/v1/queues/sales", json!({"id": "sales"})),
            (
                "/api/v1/agents/ann",
                json!({"id": "ann", "display_name": "Ann", "number": "1001"}),
            ),
        ] {
            let (s, e) = api.call(Method::PUT, path, Some(&admin), Some(body)).await;
            assert!(s.is_success(), "{path}: {e}");
        }
        let first = contact(&api, &admin, "voice").await;
        let second = contact(&api, &admin, "voice").await;
        let chat = contact(&api, &admin, "chat").await;
        let mail = contact(&api, &admin, "email").await;

        // The second call asks (a supervisor's web form): it keeps its place, behind the first.
        let due = api.state.clock.now().as_millis() + 3_600_000;
        let (s, body) = callback(
            &api,
            &supervisor,
            &second,
            json!({"number": " +44 20 7946 0958 ", "due": due}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({"contact_id": second, "queue": "sales", "state": "queued", "channel": "callback",
                   "number": "+442079460958", "due": due, "position": 2, "estimated_wait": null})
        );
        let id: ContactId = second.parse().unwrap();
        assert_eq!(
            api.state.dispatcher.contact_channel(id).await.unwrap(),
            Some(Channel::Callback)
        );
        // A waiting chat too ("call me instead"), in its place behind both calls.
        let (s, body) = callback(&api, &admin, &chat, json!({"number": "020 7946 0958"})).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(
            (
                body["channel"].as_str(),
                body["number"].as_str(),
                body["position"].as_u64()
            ),
            (Some("callback"), Some("02079460958"), Some(3)),
            "{body}"
        );
        assert_eq!(body["due"], Value::Null);

        let nobody = "0190f0c4-0000-7000-8000-00000000beef";
        let cases = [
            (
                second.as_str(),
                json!({"number": "+15550100"}),
                StatusCode::CONFLICT,
                "already_callback",
            ),
            (
                mail.as_str(),
                json!({"number": "+15550100"}),
                StatusCode::CONFLICT,
                "wrong_channel",
            ),
            (
                nobody,
                json!({"number": "+15550100"}),
                StatusCode::NOT_FOUND,
                "unknown_contact",
            ),
            (
                first.as_str(),
                json!({"number": "not a number"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                first.as_str(),
                json!({"number": "+15550100", "due": 1_000}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                first.as_str(),
                json!({"number": "+15550100", "due": "soon"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                first.as_str(),
                json!({"number": "+15550100", "extra": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                first.as_str(),
                json!({}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "42",
                json!({"number": "+15550100"}),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
        ];
        for (contact, body, status, code) in cases {
            let (s, e) = callback(&api, &admin, contact, body.clone()).await;
            assert_eq!(
                (s, e["code"].as_str()),
                (status, Some(code)),
                "{contact} {body}: {e}"
            );
        }
        let (s, e) = api
            .raw(
                Method::POST,
                &format!("/api/v1/contacts/{first}/callback"),
                Some(&admin),
                Some("{\"number\": ".into()),
                &[],
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_json"))
        );
        let (s, e) = callback(&api, &admin, &first, json!({"number": "1"})).await;
        assert_eq!(e["details"]["field"], "number", "{s} {e}");

        // Ann comes: the first call rings at her — not waiting any more; nor once answered.
        api.state
            .dispatcher
            .execute(
                Command::SetPresence {
                    agent: AgentId::parse("ann").unwrap(),
                    presence: Presence::Available,
                },
                api.state.clock.now(),
            )
            .await
            .unwrap();
        let (s, e) = callback(&api, &admin, &first, json!({"number": "+15550100"})).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::CONFLICT, Some("not_waiting")),
            "{e}"
        );
        assert!(e["message"].as_str().unwrap().contains("offered"), "{e}");
    }

    #[test]
    fn the_route_is_documented() {
        let doc = switchboard_gateway::openapi();
        let op = &doc["paths"]["/api/v1/contacts/{contact_id}/callback"]["post"];
        assert_eq!(op["x-roles"], json!(["supervisor", "admin"]));
        assert!(op["responses"]["409"].is_object(), "{op}");
        assert!(op["responses"]["404"].is_object(), "{op}");
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CallbackRequest"
        );
        let schema = &doc["components"]["schemas"]["CallbackRequest"];
        assert_eq!(schema["required"], json!(["number"]));
        let events = &doc["components"]["schemas"]["CallEvent"]["properties"]["type"]["enum"];
        assert!(events
            .as_array()
            .unwrap()
            .contains(&json!("call.callback_requested")));
    }
}
