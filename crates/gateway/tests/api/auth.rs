//! Who may do what: the role matrix over every route, sign-in and sign-out with the limits on
//! failed sign-ins (per username and client, growing lockouts; per client; never for
//! successes), the client address behind trusted proxies, the one-time, expiring,
//! rate-limited first-admin setup, and users administered with an admin always left.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use switchboard_app::{accounts::LimitPolicy, Secret, Settings as AppSettings};
use switchboard_gateway::{auth::hash_password, client::TrustedProxies, routes, Access, Settings};
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
            .replace("{api_key_id}", "999999")
            .replace("{customer_id}", "999999")
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
            login_limits: LimitPolicy {
                lockout_after: 2,
                ..LimitPolicy::default()
            },
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
    // Wrong passwords and unknown users look the same; after ann's second failure from this
    // client, even her right password is refused there (before it is checked).
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

/// An app whose failed sign-ins are limited by `limits`, behind `trusted` proxies.
async fn limited(limits: LimitPolicy, trusted: &str) -> Api {
    let api = Api::with(
        AppSettings {
            password_hashing: CHEAP,
            login_limits: limits,
            ..AppSettings::default()
        },
        Settings {
            trusted_proxies: TrustedProxies::parse_list(trusted).unwrap(),
            ..Settings::default()
        },
    )
    .await;
    for name in ["ann", "bob"] {
        api.store
            .create_user(&NewUser {
                username: name.into(),
                display_name: name.into(),
                role: Role::Agent,
                password_hash: hash_password(PASSWORD.into(), CHEAP).await.unwrap(),
                agent_id: None,
            })
            .await
            .unwrap();
    }
    api
}

/// Signs `username` in from `peer` with extra `headers`: the status and `Retry-After`.
async fn login(
    api: &Api,
    peer: &str,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<u64>) {
    let body = json!({"username": username, "password": password}).to_string();
    let (s, h, v) = api
        .from(
            Some(peer),
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body),
            headers,
        )
        .await;
    let retry = h
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    if s == StatusCode::TOO_MANY_REQUESTS {
        assert_eq!(v["code"], "rate_limited", "{v}");
        assert_eq!(
            Some(v["details"]["retry_after_secs"].as_u64().unwrap()),
            retry
        );
    }
    (s, retry)
}

/// An attacker failing 50 times at ann's account from client A locks out only A: ann signs
/// in from B. (On the old limiter, keyed by the account, ann got 429.)
#[tokio::test]
async fn an_attacker_failing_from_one_client_does_not_lock_the_user_out_elsewhere() {
    let api = limited(LimitPolicy::default(), "").await;
    let mut limited_count = 0;
    for i in 0..50 {
        let (s, _) = login(&api, "192.0.2.66", "ann", &format!("guess number {i}"), &[]).await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
            "{s}"
        );
        limited_count += usize::from(s == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(
        limited_count > 40,
        "the attacker is slowed: {limited_count}"
    );
    assert_eq!(
        login(&api, "192.0.2.66", "ann", PASSWORD, &[]).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "the locked-out client is refused before its password is checked"
    );
    assert_eq!(
        login(&api, "198.51.100.7", "ann", PASSWORD, &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        login(&api, "192.0.2.66", "bob", PASSWORD, &[]).await.0,
        StatusCode::OK,
        "the attacker's address may still sign in to other accounts"
    );
}

/// A floor of agents behind one NAT address signing in at shift start: successes never
/// count. (On the old limiter, 10 per minute per address, the 11th got 429.)
#[tokio::test]
async fn successful_sign_ins_from_one_address_are_never_limited() {
    let api = limited(LimitPolicy::default(), "").await;
    for i in 0..200 {
        let who = if i % 2 == 0 { "ann" } else { "bob" };
        assert_eq!(
            login(&api, "203.0.113.1", who, PASSWORD, &[]).await.0,
            StatusCode::OK,
            "sign-in {i}"
        );
    }
}

/// Failures from one client: a few are free, then 429 with a `Retry-After` that doubles
/// per further failure; a success from that client forgets them.
#[tokio::test]
async fn failures_from_one_client_get_429_with_a_growing_retry_after() {
    let api = limited(
        LimitPolicy {
            lockout_after: 3,
            base_lockout: Duration::from_secs(1),
            ..LimitPolicy::default()
        },
        "",
    )
    .await;
    let a = "192.0.2.10";
    for _ in 0..2 {
        assert_eq!(
            login(&api, a, "ann", "wrong password", &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let mut seen = vec![];
    for expected in [1, 2, 4] {
        assert_eq!(
            login(&api, a, "ann", "wrong password", &[]).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (s, retry) = login(&api, a, "ann", "wrong password", &[]).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        let retry = retry.expect("Retry-After");
        seen.push(retry);
        assert_eq!(retry, expected, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(retry * 1000 + 50)).await;
    }
    // The lockout is over: the right password works, and forgets the failures.
    assert_eq!(login(&api, a, "ann", PASSWORD, &[]).await.0, StatusCode::OK);
    assert_eq!(
        login(&api, a, "ann", "wrong password", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&api, a, "ann", PASSWORD, &[]).await.0, StatusCode::OK);
}

/// One address spraying many accounts is limited per minute over all of them; another
/// address is not.
#[tokio::test]
async fn failures_per_client_are_limited_over_every_account() {
    let api = limited(
        LimitPolicy {
            client_failures_per_minute: 5,
            ..LimitPolicy::default()
        },
        "",
    )
    .await;
    for i in 0..5 {
        let (s, _) = login(
            &api,
            "192.0.2.20",
            &format!("user{i}"),
            "wrong password",
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, retry) = login(&api, "192.0.2.20", "ann", PASSWORD, &[]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some_and(|r| (1..=60).contains(&r)), "{retry:?}");
    assert_eq!(
        login(&api, "192.0.2.21", "ann", PASSWORD, &[]).await.0,
        StatusCode::OK
    );
}

/// `X-Forwarded-For` from a peer that is not a trusted proxy changes nothing: an attacker
/// rotating its values stays limited as the peer.
#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_key() {
    let api = limited(
        LimitPolicy {
            lockout_after: 3,
            base_lockout: Duration::from_secs(60),
            ..LimitPolicy::default()
        },
        "10.0.0.0/8",
    )
    .await;
    let mut statuses = vec![];
    for i in 0..6 {
        let spoof = format!("198.51.100.{i}");
        let (s, _) = login(
            &api,
            "203.0.113.50",
            "ann",
            "wrong password",
            &[
                ("x-forwarded-for", &spoof),
                ("forwarded", &format!("for={spoof}")),
            ],
        )
        .await;
        statuses.push(s.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
}

/// From a trusted proxy, the rightmost address that is not a trusted proxy is the client:
/// what the client wrote to the left of it changes nothing, and another client behind the
/// same proxy is not limited. (The old code keyed on the proxy's address alone.)
#[tokio::test]
async fn behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client() {
    let api = limited(
        LimitPolicy {
            lockout_after: 3,
            base_lockout: Duration::from_secs(60),
            ..LimitPolicy::default()
        },
        "10.0.0.0/8",
    )
    .await;
    let proxy = "10.1.1.1";
    for i in 0..3 {
        let xff = format!("6.6.6.{i}, 198.51.100.9, 10.2.2.2");
        let (s, _) = login(
            &api,
            proxy,
            "ann",
            "wrong password",
            &[("x-forwarded-for", &xff)],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let locked = login(
        &api,
        proxy,
        "ann",
        PASSWORD,
        &[("x-forwarded-for", "7.7.7.7, 198.51.100.9")],
    )
    .await;
    assert_eq!(locked.0, StatusCode::TOO_MANY_REQUESTS);
    let other = login(
        &api,
        proxy,
        "ann",
        PASSWORD,
        &[("x-forwarded-for", "198.51.100.9, 198.51.100.10")],
    )
    .await;
    assert_eq!(
        other.0,
        StatusCode::OK,
        "another client behind the same proxy"
    );
    let rfc = login(
        &api,
        proxy,
        "ann",
        PASSWORD,
        &[("forwarded", "for=198.51.100.9")],
    )
    .await;
    assert_eq!(
        rfc.0,
        StatusCode::TOO_MANY_REQUESTS,
        "Forwarded: for= alike"
    );
}

fn setup_body(secret: &str, username: &str) -> String {
    json!({"setup_secret": secret, "username": username, "display_name": "Boss", "password": PASSWORD})
        .to_string()
}

async fn set_up(
    api: &Api,
    peer: &str,
    secret: &str,
    username: &str,
) -> (StatusCode, Option<u64>, String) {
    let (s, h, v) = api
        .from(
            Some(peer),
            Method::POST,
            "/api/v1/auth/setup",
            None,
            Some(setup_body(secret, username)),
            &[],
        )
        .await;
    let retry = h
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    (s, retry, v["code"].as_str().unwrap_or_default().to_owned())
}

async fn setup_app(limits: LimitPolicy, ttl: Option<Duration>) -> Api {
    Api::with(
        AppSettings {
            password_hashing: CHEAP,
            setup_secret: Some(Secret::new("s3tup-secret-for-tests")),
            setup_ttl: ttl,
            login_limits: limits,
            ..AppSettings::default()
        },
        Settings::default(),
    )
    .await
}

/// Guessing the setup secret is limited per client like failed sign-ins; another client
/// (the operator) still sets up. (The old endpoint took any number of guesses.)
#[tokio::test]
async fn wrong_setup_secrets_are_rate_limited_per_client() {
    let api = setup_app(
        LimitPolicy {
            lockout_after: 3,
            base_lockout: Duration::from_secs(60),
            ..LimitPolicy::default()
        },
        None,
    )
    .await;
    let mut codes = vec![];
    for i in 0..5 {
        let (s, _, code) = set_up(&api, "192.0.2.30", &format!("guess-{i}"), "mallory").await;
        codes.push((s.as_u16(), code));
    }
    assert_eq!(
        codes.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [403, 403, 403, 429, 429],
        "{codes:?}"
    );
    let (s, retry, _) = set_up(&api, "192.0.2.30", "s3tup-secret-for-tests", "mallory").await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "refused before the secret is compared"
    );
    assert!(retry.is_some());
    let (s, _, code) = set_up(&api, "192.0.2.31", "s3tup-secret-for-tests", "boss").await;
    assert_eq!(s, StatusCode::CREATED, "{code}");
}

/// The secret expires: after its time it is answered 410 `setup_expired`, even when right.
/// (The old secret worked for as long as the server ran.)
#[tokio::test]
async fn the_setup_secret_expires() {
    let api = setup_app(LimitPolicy::default(), Some(Duration::from_millis(200))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, _, code) = set_up(&api, "192.0.2.40", "s3tup-secret-for-tests", "boss").await;
    assert_eq!((s, code.as_str()), (StatusCode::GONE, "setup_expired"));
    assert_eq!(
        api.store.count_users_with_role(Role::Admin).await.unwrap(),
        0
    );
}

/// The secret is single-use even when used twice at once: one admin, one 409.
/// (The old check-then-create let two concurrent requests create two admins.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_setups_create_one_admin() {
    for _ in 0..5 {
        let api = setup_app(LimitPolicy::default(), None).await;
        let (a, b) = tokio::join!(
            set_up(&api, "192.0.2.50", "s3tup-secret-for-tests", "boss"),
            set_up(&api, "192.0.2.51", "s3tup-secret-for-tests", "chief"),
        );
        let mut statuses = [a.0.as_u16(), b.0.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
        assert_eq!(
            api.store.count_users_with_role(Role::Admin).await.unwrap(),
            1
        );
        let (s, _, code) = set_up(&api, "192.0.2.52", "s3tup-secret-for-tests", "third").await;
        assert_eq!((s, code.as_str()), (StatusCode::CONFLICT, "already_set_up"));
    }
}
