//! Who may do what: the role matrix over every route, sign-in and sign-out with the login rate
//! limit, the one-time first-admin setup, and users administered with an admin always left.

use axum::http::{Method, StatusCode};
use serde_json::json;
use switchboard_app::Settings as AppSettings;
use switchboard_gateway::{auth::hash_password, routes, Access, Settings};
use switchboard_store::{NewUser, Role};
use switchboard_test_support::center::CHEAP;

use crate::support::{Api, PASSWORD};

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
    let api = Api::with(
        AppSettings {
            password_hashing: CHEAP,
            login_attempts_per_minute: 3,
            ..AppSettings::default()
        },
        Settings::default(),
    )
    .await;
    api.token(Role::Agent).await; // someone else
    let hash = hash_password(PASSWORD.into(), CHEAP).await.unwrap();
    api.store
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
