//! Stopping the real `switchboard serve` process with SIGTERM: consoles and floors are closed
//! with 1001 ("going away") and a reconnect hint, a request in flight is answered, and the
//! process exits within the drain bound even when a client never finishes its request. And
//! its access log.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{
    create_admin, create_user, login, put, Server, ServerOptions, Socket, TestDatabase, PASSWORD,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_1001_finishes_requests_and_drains_in_bounds() {
    let db = TestDatabase::sqlite();
    let options = ServerOptions {
        database_url: db.url().to_owned(),
        redis: None,
        setup_secret: None,
    };
    create_admin(&options, "admin");
    let mut server =
        Server::start_with("S", &options, &[("SWITCHBOARD_DRAIN_TIMEOUT_SECS", "2")]).await;
    let admin = login(server.addr, "admin").await;
    put(
        server.addr,
        &admin,
        "/api/v1/agents/ann",
        json!({"id": "ann", "display_name": "Ann", "number": "1001"}),
    )
    .await;
    create_user(server.addr, &admin, "ann", "agent").await;
    let ann = login(server.addr, "ann").await;
    let mut console = Socket::console(server.addr, &ann, "ann").await;
    console.expect("hello", |v| v["type"] == "hello").await;
    let mut floor = Socket::floor(server.addr, &admin, "floor").await;
    floor.expect("snapshot", |v| v["type"] == "snapshot").await;

    // A request in flight: its head and half its body sent before the signal.
    let body = json!({"username": "ann", "password": PASSWORD}).to_string();
    let (first, rest) = body.split_at(10);
    let mut in_flight = TcpStream::connect(server.addr).await.unwrap();
    in_flight
        .write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // And one that never finishes: it must not hold the stop beyond the drain bound.
    let mut stuck = TcpStream::connect(server.addr).await.unwrap();
    stuck
        .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stop = tokio::spawn(async move {
        let took = server.terminate_timed().await;
        (server, took)
    });
    let (code, reason) = console.closed().await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("reconnect_after_ms="), "{reason}");
    assert_eq!(floor.closed().await.0, 1001);

    in_flight.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request in flight was answered: {answer}"
    );

    let (server, took) = stop.await.unwrap();
    assert!(
        took < Duration::from_secs(8),
        "exited after {took:?}, drain bound 2 s; log:\n{}",
        server.log_text()
    );
    drop(stuck);

    // The access log: one line per request at info, with the route template, status,
    // latency, request id and user; the readiness polls of `Server::start` are not in it.
    let lines: Vec<serde_json::Value> = server
        .log_text()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect();
    let put = lines
        .iter()
        .find(|v| v["fields"]["route"] == "/api/v1/agents/{id}")
        .unwrap_or_else(|| panic!("no access-log line for the PUT: {lines:?}"));
    assert_eq!(put["level"], "INFO", "{put}");
    assert_eq!(put["fields"]["status"], 201, "{put}");
    assert!(put["fields"]["latency_ms"].is_number(), "{put}");
    assert_eq!(put["span"]["method"], "PUT", "{put}");
    assert_eq!(put["span"]["user"], "admin", "{put}");
    assert!(
        put["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() >= 32),
        "{put}"
    );
    assert!(
        !lines.iter().any(|v| v["fields"]["route"] == "/readyz"),
        "probes are not logged at info: {lines:?}"
    );
}
