//! The real server on port 0: start, configure over HTTP, stop gracefully, start again.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use serde_json::{json, Value};
use switchboard_server::{
    app,
    config::{Config, FileConfig, Flags},
};
use switchboard_test_support::{database::TestDatabase, redis::RedisNamespace};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// One HTTP/1.1 request on a fresh connection; the JSON (or text) answer.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    http_with(addr, method, path, token, body, &[]).await
}

/// A call event signed as a PBX would sign it.
async fn signed_hook(addr: SocketAddr, secret: &str, body: Value) -> (u16, Value) {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signature = switchboard_gateway::hooks::sign(secret, ts, body.to_string().as_bytes());
    let ts = ts.to_string();
    let headers = [
        ("x-switchboard-timestamp", ts.as_str()),
        ("x-switchboard-signature", signature.as_str()),
    ];
    http_with(
        addr,
        "POST",
        "/api/v1/hooks/pbx",
        None,
        Some(body),
        &headers,
    )
    .await
}

/// [`http`] with extra headers.
async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("content-type: application/json\r\n");
    }
    if let Some(t) = token {
        req.push_str(&format!("authorization: Bearer {t}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // De-chunk.
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        rest.to_owned()
    };
    (
        status,
        serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
    )
}

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(db: &str) -> Running {
    start_with(db, None).await
}

async fn start_with(db: &str, redis: Option<(&str, &str)>) -> Running {
    let mut env: HashMap<String, String> = [
        ("DATABASE_URL".to_string(), db.to_string()),
        (
            "SWITCHBOARD_SETUP_SECRET".to_string(),
            "a-setup-secret-for-tests".to_string(),
        ),
    ]
    .into();
    if let Some((url, namespace)) = redis {
        env.insert("REDIS_URL".into(), url.into());
        env.insert("SWITCHBOARD_REDIS_NAMESPACE".into(), namespace.into());
    }
    let config = Config::layered(FileConfig::default(), &env, &Flags::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app::serve(config, listener, async {
        let _ = stopped.await;
    }));
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let _ = s.shutdown().await;
            let (status, _) = http(addr, "GET", "/readyz", None, None).await;
            if status == 200 {
                return Running { addr, stop, task };
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not become ready");
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("graceful shutdown in time")
            .unwrap()
            .expect("serve returned an error");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_starts_configures_stops_and_restarts() {
    let data = TestDatabase::sqlite();
    let db = data.url().to_owned();

    let server = start(&db).await;
    let a = server.addr;
    let (s, _) = http(a, "POST", "/api/v1/auth/setup", None, Some(json!({
        "setup_secret": "a-setup-secret-for-tests", "username": "admin", "display_name": "Admin", "password": "a long enough password"
    }))).await;
    assert_eq!(s, 201);
    let (s, login) = http(
        a,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": "a long enough password"})),
    )
    .await;
    assert_eq!(s, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(
        http(
            a,
            "PUT",
            "/api/v1/skills/sales",
            Some(&token),
            Some(json!({"name": "sales"}))
        )
        .await
        .0,
        201
    );
    let (s, q) = http(
        a,
        "PUT",
        "/api/v1/queues/sales",
        Some(&token),
        Some(json!({"id": "sales", "required_skills": [{"skill": "sales"}]})),
    )
    .await;
    assert_eq!(s, 201, "{q}");
    let agent =
        json!({"id": "ann", "skills": {"sales": 7}, "display_name": "Ann", "number": "1001"});
    assert_eq!(
        http(a, "PUT", "/api/v1/agents/ann", Some(&token), Some(agent))
            .await
            .0,
        201
    );
    let (s, snap) = http(
        a,
        "GET",
        "/api/v1/queues/sales/snapshot",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (s, snap["agents"]["offline"].as_u64()),
        (200, Some(1)),
        "{snap}"
    );
    let (s, metrics) = http(a, "GET", "/metrics", None, None).await;
    assert_eq!(s, 200);
    assert!(metrics
        .as_str()
        .unwrap()
        .contains("switchboard_queue_waiting{queue=\"sales\"} 0"));
    // A call comes in from the PBX and waits (nobody is logged in).
    let secret = "pbx-secret-0123456789abcdef";
    let integration = json!({"integration_id": "pbx", "kind": "generic", "secret": secret});
    assert_eq!(
        http(
            a,
            "PUT",
            "/api/v1/integrations/pbx",
            Some(&token),
            Some(integration)
        )
        .await
        .0,
        201
    );
    let (s, arrived) = signed_hook(a, secret, json!({"event_id": "ev-1", "type": "call.arrived", "call_id": "1545241916.41", "queue": "sales"})).await;
    assert_eq!(
        (s, arrived["position"].as_u64()),
        (200, Some(1)),
        "{arrived}"
    );
    server.stop().await;

    // Nothing was lost by stopping: the event log has the call, written before the stop.
    let store = switchboard_store::Store::connect(&db).await.unwrap();
    let events = store
        .events(&switchboard_store::EventFilter::default())
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind.name() == "contact_queued"),
        "the event log lost the call: {events:?}"
    );
    store.close().await;

    // The same database: configuration comes back, the waiting call too (the dispatcher's
    // state was saved at the stop), the session is still valid, the admin setup is closed.
    let server = start(&db).await;
    let a = server.addr;
    let (s, snap) = http(
        a,
        "GET",
        "/api/v1/queues/sales/snapshot",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (
            s,
            snap["agents"]["offline"].as_u64(),
            snap["waiting"].as_u64()
        ),
        (200, Some(1), Some(1)),
        "{snap}"
    );
    // The PBX's retry of the same delivery is recognised across the restart.
    let (s, again) = signed_hook(a, "pbx-secret-0123456789abcdef", json!({"event_id": "ev-1", "type": "call.arrived", "call_id": "1545241916.41", "queue": "sales"})).await;
    assert_eq!((s, &again["contact_id"]), (200, &arrived["contact_id"]));
    let (s, e) = http(a, "POST", "/api/v1/auth/setup", None, Some(json!({
        "setup_secret": "a-setup-secret-for-tests", "username": "other", "display_name": "X", "password": "a long enough password"
    }))).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("already_set_up")));
    server.stop().await;
    data.remove().await.unwrap();
}

/// The same binary over PostgreSQL and Redis, as one of many instances: two servers at once
/// on one database and one Redis namespace; a queue configured through one is live on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_postgresql_and_redis() {
    let data = TestDatabase::postgres().await;
    let redis = RedisNamespace::create().await;
    let db = data.url();
    let shared = Some((redis.url(), redis.name()));

    let one = start_with(db, shared).await;
    let two = start_with(db, shared).await;
    let (s, body) = http(one.addr, "GET", "/readyz", None, None).await;
    assert_eq!(
        (
            s,
            body["database"]["kind"].as_str(),
            body["dispatcher"]["kind"].as_str()
        ),
        (200, Some("postgres"), Some("redis"))
    );
    let (s, _) = http(one.addr, "POST", "/api/v1/auth/setup", None, Some(json!({
        "setup_secret": "a-setup-secret-for-tests", "username": "admin", "display_name": "Admin", "password": "a long enough password"
    }))).await;
    assert_eq!(s, 201);
    // Sign in on the second instance: one database behind both.
    let (s, login) = http(
        two.addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": "a long enough password"})),
    )
    .await;
    assert_eq!(s, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(
        http(
            one.addr,
            "PUT",
            "/api/v1/queues/sales",
            Some(&token),
            Some(json!({"id": "sales"}))
        )
        .await
        .0,
        201
    );
    // Configured through one, live on the other (its dispatcher replica follows the log).
    let mut seen = 0;
    for _ in 0..100 {
        seen = http(
            two.addr,
            "GET",
            "/api/v1/queues/sales/snapshot",
            Some(&token),
            None,
        )
        .await
        .0;
        if seen == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 200);

    // An agent's console is on instance two; the call's hook arrives at instance one.
    let agent = json!({"id": "ann", "display_name": "Ann", "number": "1001"});
    assert_eq!(
        http(
            one.addr,
            "PUT",
            "/api/v1/agents/ann",
            Some(&token),
            Some(agent)
        )
        .await
        .0,
        201
    );
    let (s, _) = http(one.addr, "POST", "/api/v1/users", Some(&token), Some(json!({
        "username": "ann", "display_name": "Ann", "role": "agent", "password": "her long password", "agent_id": "ann"
    }))).await;
    assert_eq!(s, 201);
    let (_, ann) = http(
        two.addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "ann", "password": "her long password"})),
    )
    .await;
    let ann_token = ann["token"].as_str().unwrap().to_owned();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/v1/agent/ws?token={ann_token}",
        two.addr
    ))
    .await
    .unwrap();
    next_of(&mut ws, "hello").await;
    send_json(
        &mut ws,
        json!({"type": "set_state", "presence": {"presence": "available"}}),
    )
    .await;
    next_of(&mut ws, "state").await;
    let secret = "pbx-secret-0123456789abcdef";
    let integration = json!({"integration_id": "pbx", "kind": "generic", "secret": secret});
    assert_eq!(
        http(
            one.addr,
            "PUT",
            "/api/v1/integrations/pbx",
            Some(&token),
            Some(integration)
        )
        .await
        .0,
        201
    );
    let call =
        json!({"event_id": "x1", "type": "call.arrived", "call_id": "c-1", "queue": "sales"});
    let (s, arrived) = signed_hook(one.addr, secret, call).await;
    assert_eq!(s, 200, "{arrived}");
    let offer = next_of(&mut ws, "offer").await;
    assert_eq!(
        offer["contact_id"], arrived["contact_id"],
        "the hook on one rang the console on two"
    );
    // Instance one goes away mid-offer: nothing is lost, the agent answers through two.
    one.stop().await;
    send_json(
        &mut ws,
        json!({"type": "accept", "contact_id": arrived["contact_id"]}),
    )
    .await;
    next_of(&mut ws, "assigned").await;
    drop(ws);
    two.stop().await;

    // Leave nothing behind.
    data.remove().await.unwrap();
    redis.remove().await.unwrap();
}

type Console = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The next console message of type `want`, skipping others; fails after 5 s.
async fn next_of(ws: &mut Console, want: &str) -> Value {
    use futures_util::StreamExt;
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = ws.next().await {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == want {
                    return v;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {want} on the console"))
}

async fn send_json(ws: &mut Console, v: Value) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        v.to_string().into(),
    ))
    .await
    .unwrap();
}
