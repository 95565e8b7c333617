//! A user's sessions end when who they are or what they may do changes (password, role,
//! agent link, disabled, deleted): their old tokens get 401, and their open agent console and
//! supervisor sockets are closed with 1008 `session revoked` — at once on this instance, and
//! within the periodic re-check when the session ends elsewhere (another instance). The same
//! for a wallboard's API key. Over a real server on port 0 (tokio-tungstenite).

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use switchboard_app::{App, Settings as AppSettings};
use switchboard_dispatch::{AnyBackend, MemoryBackend, SystemClock};
use switchboard_gateway::{auth::hash_password, router, AppState, PasswordHashing, Settings};
use switchboard_store::{NewUser, Role, Store};
use switchboard_test_support::database::TestDatabase;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{protocol::frame::coding::CloseCode, Message},
    MaybeTlsStream, WebSocketStream,
};
use tower::ServiceExt;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CHEAP: PasswordHashing = PasswordHashing {
    memory_kib: 256,
    iterations: 1,
};
const PASSWORD: &str = "correct horse battery";

struct Center {
    router: Router,
    store: Store,
    addr: std::net::SocketAddr,
    admin: String,
    _db: TestDatabase,
}

async fn center(session_recheck: Duration) -> Center {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let app = App::new(
        store.clone(),
        Arc::new(AnyBackend::Memory(MemoryBackend::new())),
        Arc::new(SystemClock),
        AppSettings {
            password_hashing: CHEAP,
            session_recheck,
            ..AppSettings::default()
        },
    );
    let state = AppState::new(app, Settings::default());
    tokio::spawn(state.app.follow_events());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = router(state);
    let served = router.clone();
    tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });
    let mut c = Center {
        router,
        store,
        addr,
        admin: String::new(),
        _db: db,
    };
    c.user("boss", Role::Admin, None).await;
    c.admin = c.sign_in("boss").await;
    c
}

impl Center {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn user(&self, username: &str, role: Role, agent: Option<&str>) -> i64 {
        self.store
            .create_user(&NewUser {
                username: username.into(),
                display_name: username.into(),
                role,
                password_hash: hash_password(PASSWORD.into(), CHEAP).await.unwrap(),
                agent_id: agent.map(|a| switchboard_domain::AgentId::parse(a).unwrap()),
            })
            .await
            .unwrap()
            .user_id
    }

    async fn sign_in(&self, username: &str) -> String {
        let req = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": username, "password": PASSWORD}).to_string(),
            ))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    async fn patch_user(&self, id: i64, body: Value) {
        let (s, v) = self
            .call(
                Method::PATCH,
                &format!("/api/v1/users/{id}"),
                &self.admin,
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    async fn me(&self, token: &str) -> StatusCode {
        self.call(Method::GET, "/api/v1/auth/me", token, None)
            .await
            .0
    }

    /// An API key made by the admin: the key and its id.
    async fn api_key(&self, name: &str, scopes: Value) -> (String, i64) {
        let body = json!({"name": name, "scopes": scopes});
        let (s, v) = self
            .call(Method::POST, "/api/v1/api-keys", &self.admin, Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["key"].as_str().unwrap().to_owned(),
            v["api_key"]["api_key_id"].as_i64().unwrap(),
        )
    }

    async fn socket(&self, path: &str, token: &str) -> Ws {
        let url = format!("ws://{}{path}?token={token}", self.addr);
        connect_async(url).await.expect("the socket connects").0
    }
}

/// Reads until the server closes the socket; returns the close frame's code and reason.
async fn closed_within(ws: &mut Ws, secs: u64) -> (CloseCode, String) {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code, frame.reason.to_string())
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    panic!("closed without a close frame")
                }
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the socket was not closed within {secs} s"))
}

/// Each change that ends the sessions: the old token is refused afterwards (and a
/// re-enabled user's old token does not come back).
#[tokio::test]
async fn old_tokens_are_refused_after_a_password_role_or_status_change() {
    let c = center(Duration::from_secs(60)).await;
    let id = c.user("kim", Role::Supervisor, None).await;
    for change in [
        json!({"password": "another long password"}),
        json!({"role": "agent"}),
        json!({"disabled": true}),
    ] {
        let token = if change.get("password").is_some() {
            c.sign_in("kim").await
        } else {
            // The password changed in the first round.
            let req = json!({"username": "kim", "password": "another long password"});
            let (s, v) = c
                .call(Method::POST, "/api/v1/auth/login", "", Some(req))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["token"].as_str().unwrap().to_owned()
        };
        assert_eq!(c.me(&token).await, StatusCode::OK);
        c.patch_user(id, change.clone()).await;
        assert_eq!(
            c.me(&token).await,
            StatusCode::UNAUTHORIZED,
            "after {change}"
        );
        if change.get("disabled").is_some() {
            c.patch_user(id, json!({"disabled": false})).await;
            assert_eq!(
                c.me(&token).await,
                StatusCode::UNAUTHORIZED,
                "re-enabling does not revive the old session"
            );
        }
    }
    // A change that is none of these (the display name) keeps the session.
    let req = json!({"username": "kim", "password": "another long password"});
    let (_, v) = c
        .call(Method::POST, "/api/v1/auth/login", "", Some(req))
        .await;
    let token = v["token"].as_str().unwrap().to_owned();
    c.patch_user(id, json!({"display_name": "Kim K."})).await;
    assert_eq!(c.me(&token).await, StatusCode::OK);
}

/// The agent's console and a supervisor's floor socket are closed (1008, `session revoked`)
/// when the user's password changes, is disabled, or is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sockets_are_closed_when_the_sessions_are_revoked() {
    let c = center(Duration::from_secs(60)).await;
    let ann = c.user("ann", Role::Agent, Some("ann")).await;
    let sue = c.user("sue", Role::Supervisor, None).await;

    let token = c.sign_in("ann").await;
    let mut console = c.socket("/api/v1/agent/ws", &token).await;
    c.patch_user(ann, json!({"password": "another long password"}))
        .await;
    let (code, reason) = closed_within(&mut console, 5).await;
    assert_eq!(
        (code, reason.as_str()),
        (CloseCode::Policy, "session revoked")
    );

    let token = c.sign_in("sue").await;
    let mut floor = c.socket("/api/v1/supervisor/ws", &token).await;
    let token2 = c.sign_in("sue").await;
    let mut floor2 = c.socket("/api/v1/supervisor/ws", &token2).await;
    c.patch_user(sue, json!({"disabled": true})).await;
    assert_eq!(closed_within(&mut floor, 5).await.0, CloseCode::Policy);
    assert_eq!(closed_within(&mut floor2, 5).await.0, CloseCode::Policy);

    // Someone else's change leaves a socket alone; deleting its user closes it.
    c.patch_user(sue, json!({"disabled": false})).await;
    let token = c.sign_in("sue").await;
    let mut floor = c.socket("/api/v1/supervisor/ws", &token).await;
    let other = c.user("otto", Role::Agent, None).await;
    c.patch_user(other, json!({"password": "yet another password"}))
        .await;
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            match floor.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "another user's change closed this socket");
    let (s, _) = c
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{sue}"),
            &c.admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(closed_within(&mut floor, 5).await.0, CloseCode::Policy);
}

/// A session ended where this instance cannot hear it (another instance revoked it: here,
/// the row is deleted in the store directly) closes the socket within the re-check period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_elsewhere_closes_the_socket_at_the_next_check() {
    let c = center(Duration::from_millis(300)).await;
    let ann = c.user("ann", Role::Agent, Some("ann")).await;
    let token = c.sign_in("ann").await;
    let mut console = c.socket("/api/v1/agent/ws", &token).await;
    // Still open after a few checks.
    let quiet = tokio::time::timeout(Duration::from_millis(1000), async {
        loop {
            match console.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "a live session's socket was closed");
    c.store.delete_sessions_of_user(ann).await.unwrap();
    assert_eq!(closed_within(&mut console, 3).await.0, CloseCode::Policy);
}

/// Reads text frames until one of type `kind`; returns it.
async fn frame_of(ws: &mut Ws, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["type"] == kind {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended before a {kind} frame: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} frame within 5 s"))
}

/// A wallboard watches the floor with an API key holding `live:read`: the snapshot, no
/// commands but ping (`read_only`), and its socket closes (1008) when the key is revoked on
/// this instance or, within the re-check, elsewhere. A key without the scope is refused 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallboard_watches_the_floor_with_an_api_key_until_it_is_revoked() {
    use futures_util::SinkExt;
    let c = center(Duration::from_millis(300)).await;
    let (wall, wall_id) = c.api_key("wall", json!(["live:read"])).await;
    let (reports, _) = c.api_key("bi", json!(["reports:read"])).await;

    let refused = connect_async(format!(
        "ws://{}/api/v1/supervisor/ws?token={reports}",
        c.addr
    ))
    .await
    .expect_err("refused");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(res) => {
            assert_eq!(res.status(), StatusCode::FORBIDDEN)
        }
        e => panic!("{e}"),
    }

    let mut floor = c.socket("/api/v1/supervisor/ws", &wall).await;
    frame_of(&mut floor, "snapshot").await;
    let force = json!({"type": "set_agent_state", "id": "f1", "agent": "ann", "presence": {"presence": "offline"}});
    floor
        .send(Message::Text(force.to_string().into()))
        .await
        .unwrap();
    let error = frame_of(&mut floor, "error").await;
    assert_eq!(
        (error["code"].as_str(), error["in_reply_to"].as_str()),
        (Some("read_only"), Some("f1")),
        "{error}"
    );
    floor
        .send(Message::Text(
            json!({"type": "ping", "id": "p1"}).to_string().into(),
        ))
        .await
        .unwrap();
    assert_eq!(frame_of(&mut floor, "pong").await["in_reply_to"], "p1");

    // Revoked here: closed at once.
    let (s, _) = c
        .call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{wall_id}"),
            &c.admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        closed_within(&mut floor, 2).await,
        (CloseCode::Policy, "session revoked".to_owned())
    );

    // Revoked elsewhere (the row changed in the store directly): closed at the next check.
    let (wall2, wall2_id) = c.api_key("wall-2", json!(["live:read"])).await;
    let mut floor = c.socket("/api/v1/supervisor/ws", &wall2).await;
    frame_of(&mut floor, "snapshot").await;
    assert!(c
        .store
        .revoke_api_key(wall2_id, switchboard_domain::Timestamp::from_millis(0))
        .await
        .unwrap());
    assert_eq!(closed_within(&mut floor, 3).await.0, CloseCode::Policy);
}
