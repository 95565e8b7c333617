//! Slow and idle clients over real TCP against [`switchboard_gateway::serve`], with short
//! timeouts: half a header, a trickled body and an idle keep-alive connection are cut; a
//! WebSocket is not.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use switchboard_app::{App, Settings as AppSettings};
use switchboard_dispatch::{AnyBackend, MemoryBackend, SystemClock};
use switchboard_gateway::{AppState, Settings};
use switchboard_store::{NewUser, Role};
use switchboard_test_support::{center, database::TestDatabase};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::{connect_async, tungstenite::Message};

struct Server {
    addr: std::net::SocketAddr,
    agent_token: String,
    _db: TestDatabase,
}

async fn server(settings: Settings) -> Server {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let app = App::new(
        store.clone(),
        Arc::new(AnyBackend::Memory(MemoryBackend::new())),
        Arc::new(SystemClock),
        AppSettings::default(),
    );
    let state = AppState::new(app, settings);
    tokio::spawn(state.app.follow_events());
    let agent = NewUser {
        username: "ann".into(),
        display_name: "Ann".into(),
        role: Role::Agent,
        password_hash: center::cheap_password_hash("irrelevant password")
            .await
            .unwrap(),
        agent_id: Some(switchboard_domain::AgentId::parse("ann").unwrap()),
    };
    let agent_token = center::user_signed_in(&store, &agent).await.unwrap().token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(switchboard_gateway::serve(
        listener,
        state,
        std::future::pending(),
    ));
    Server {
        addr,
        agent_token,
        _db: db,
    }
}

/// Reads until the server closes the connection; how long that took and what was read.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> (Duration, String) {
    let start = Instant::now();
    let mut read = Vec::new();
    let result = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&read).into_owned();
    assert!(
        result.is_ok(),
        "the server kept the connection open for {within:?}; read: {text}"
    );
    (start.elapsed(), text)
}

fn short() -> Settings {
    Settings {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_header_is_cut_after_the_header_read_timeout() {
    let s = server(short()).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let (took, _) = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    // Trickling the header a byte at a time does not keep it open either.
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let start = Instant::now();
    let trickle = async {
        for b in b"GET /healthz HTTP/1.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if stream.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), trickle).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the trickle ran on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_cut_with_408() {
    let s = server(short()).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"username\"",
        )
        .await
        .unwrap();
    let (took, text) = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let s = server(short()).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Idle for longer than the header timeout but shorter than the idle one: still open.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "kept alive");
    let (took, _) = until_closed(&mut stream, Duration::from_secs(6)).await;
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(4),
        "closed after {took:?}"
    );
    // A connection that never sends a byte is idle too.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    until_closed(&mut silent, Duration::from_secs(6)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_outlives_the_request_and_idle_timeouts() {
    let s = server(short()).await;
    let url = format!("ws://{}/api/v1/agent/ws?token={}", s.addr, s.agent_token);
    let mut ws = connect_async(url).await.unwrap().0;
    tokio::time::sleep(Duration::from_secs(3)).await;
    ws.send(Message::Text(r#"{"type":"ping","id":7}"#.into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "pong" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("a pong after the timeouts passed");
    assert_eq!(pong["in_reply_to"], 7);
}
