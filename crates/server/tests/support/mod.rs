//! Helpers for the end-to-end tests over real `switchboard` processes: starting and killing
//! server processes, plain HTTP/1.1, signed telephony hooks and WebSocket clients that wait
//! for the frame they need. Throw-away databases, Redis namespaces and scratch directories
//! come from `switchboard_test_support`, re-exported here.
//!
//! Every resource is a guard whose `Drop` cleans up, so a failing test leaves no process,
//! database or Redis key behind.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard_protocol::{console, floor, Stamped};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

// Each test file uses its own subset of these too.
#[allow(unused_imports)]
pub(crate) use switchboard_test_support::{
    database::TestDatabase, redis::RedisNamespace, ScratchDir,
};

/// How long a test waits for anything it expects (generous: CI runs on a loaded machine).
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);
/// The company name the servers put in greetings.
pub(crate) const COMPANY: &str = "Acme Test";
/// Every user's password in these tests.
pub(crate) const PASSWORD: &str = "a long enough password";

// ----- processes ------------------------------------------------------------------------

/// How a server process is started.
#[derive(Debug, Clone)]
pub(crate) struct ServerOptions {
    pub(crate) database_url: String,
    /// Redis URL and namespace: run as one of many instances.
    pub(crate) redis: Option<(String, String)>,
    pub(crate) setup_secret: Option<String>,
}

/// A running `switchboard serve` child process, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
    /// A fresh working directory, so no `switchboard.toml` lying around is picked up.
    dir: ScratchDir,
}

/// The environment of a child process: only what it needs, nothing inherited that could
/// change its configuration.
fn command(options: &ServerOptions, dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_clear()
        .current_dir(dir)
        .env("DATABASE_URL", &options.database_url)
        .env("SWITCHBOARD_LOG_FORMAT", "json")
        .env("SWITCHBOARD_LOG", "info")
        .env("SWITCHBOARD_COMPANY_NAME", COMPANY)
        // Every sign-in of a test comes from 127.0.0.1.
        .env("SWITCHBOARD_LOGIN_ATTEMPTS_PER_MINUTE", "1000");
    if let Some((url, namespace)) = &options.redis {
        cmd.env("REDIS_URL", url)
            .env("SWITCHBOARD_REDIS_NAMESPACE", namespace);
    }
    if let Some(secret) = &options.setup_secret {
        cmd.env("SWITCHBOARD_SETUP_SECRET", secret);
    }
    cmd
}

/// Runs `switchboard create-admin` (which also migrates the database) and waits for it.
pub(crate) fn create_admin(options: &ServerOptions, username: &str) {
    let dir = ScratchDir::new("sb-e2e-cli");
    let out = command(options, dir.path())
        .args(["create-admin", "--username", username])
        .env("SWITCHBOARD_ADMIN_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("create-admin runs");
    drop(dir);
    assert!(
        out.status.success(),
        "create-admin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    /// Starts `switchboard serve --listen 127.0.0.1:0`, learns the bound address from its
    /// JSON log line "switchboard is ready", and waits until `/readyz` says 200.
    pub(crate) async fn start(name: &'static str, options: &ServerOptions) -> Server {
        Self::start_with(name, options, &[]).await
    }

    /// [`Server::start`] with extra environment variables.
    pub(crate) async fn start_with(
        name: &'static str,
        options: &ServerOptions,
        env: &[(&str, &str)],
    ) -> Server {
        let dir = ScratchDir::new("sb-e2e-server");
        let mut child = command(options, dir.path())
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server process starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<SocketAddr>();
        {
            let log = log.clone();
            // Reads the log until the process dies (a full pipe would block the server).
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if v["fields"]["message"] == "switchboard is ready" {
                            if let Some(addr) =
                                v["fields"]["address"].as_str().and_then(|a| a.parse().ok())
                            {
                                let _ = ready_tx.send(addr);
                            }
                        }
                    }
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let mut server = Server {
            name,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child: Some(child),
            log,
            dir,
        };
        let addr =
            tokio::task::spawn_blocking(move || ready_rx.recv_timeout(Duration::from_secs(30)))
                .await
                .expect("waiting for the address");
        server.addr = match addr {
            Ok(addr) => addr,
            Err(_) => panic!(
                "server {name} did not report its address; its log:\n{}",
                server.log_text()
            ),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = tokio::time::timeout(
                Duration::from_secs(5),
                try_http(server.addr, "GET", "/readyz", None, None, &[]),
            )
            .await
            .unwrap_or(Err(()))
            {
                return server;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server {name} never became ready; its log:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the process logged so far (for failure messages).
    pub(crate) fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// SIGKILL: no graceful shutdown, no flushing — as if the machine died.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits (up to [`PATIENCE`]) for the graceful stop to finish.
    pub(crate) async fn terminate(&mut self) {
        self.terminate_timed().await;
    }

    /// [`Server::terminate`], returning how long the process took to exit.
    pub(crate) async fn terminate_timed(&mut self) -> Duration {
        let Some(mut child) = self.child.take() else {
            return Duration::ZERO;
        };
        let start = std::time::Instant::now();
        let pid = child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "could not signal server {}", self.name);
        let status = tokio::task::spawn_blocking(move || {
            let deadline = std::time::Instant::now() + PATIENCE;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => return Some(status),
                    Ok(None) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return None;
                    }
                }
            }
        })
        .await
        .expect("waiting for the process");
        let took = start.elapsed();
        assert!(
            status.is_some_and(|s| s.success()),
            "server {} did not stop cleanly ({status:?}); its log:\n{}",
            self.name,
            self.log_text()
        );
        took
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The working directory goes after the process.
        self.kill();
    }
}

// ----- HTTP -----------------------------------------------------------------------------

/// One HTTP/1.1 request on a fresh connection: the status and the JSON (or text) answer.
pub(crate) async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    http_with(addr, method, path, token, body.map(|b| b.to_string()), &[]).await
}

/// [`http`] with a raw body and extra headers.
pub(crate) async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    match tokio::time::timeout(PATIENCE, try_http(addr, method, path, token, body, extra)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(())) => panic!("{method} {path} on {addr}: the connection failed"),
        Err(_) => panic!("{method} {path} on {addr}: no answer in time"),
    }
}

/// [`http_with`] that reports a failed connection instead of panicking (for requests to a
/// server that may be killed meanwhile).
pub(crate) async fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
    extra: &[(&str, &str)],
) -> Result<(u16, Value), ()> {
    let mut stream = TcpStream::connect(addr).await.map_err(|_| ())?;
    let body = body.unwrap_or_default();
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
    stream.write_all(req.as_bytes()).await.map_err(|_| ())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(|_| ())?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or(())?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut rest = &raw[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(())?;
    let payload = if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or(())?;
            let size = std::str::from_utf8(&rest[..line_end]).map_err(|_| ())?;
            let n = usize::from_str_radix(size.trim(), 16).map_err(|_| ())?;
            if n == 0 {
                break;
            }
            let chunk = rest.get(line_end + 2..line_end + 2 + n).ok_or(())?;
            out.extend_from_slice(chunk);
            rest = rest.get(line_end + 4 + n..).ok_or(())?;
        }
        out
    } else {
        rest.to_vec()
    };
    let text = String::from_utf8_lossy(&payload).into_owned();
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// Signs in; the session token.
pub(crate) async fn login(addr: SocketAddr, username: &str) -> String {
    let (s, body) = http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert_eq!(s, 200, "sign-in of {username}: {body}");
    body["token"].as_str().expect("a token").to_owned()
}

/// A configuration write that must succeed (201 created or 200 replaced).
pub(crate) async fn put(addr: SocketAddr, token: &str, path: &str, body: Value) {
    let (s, answer) = http(addr, "PUT", path, Some(token), Some(body)).await;
    assert!(s == 200 || s == 201, "PUT {path}: {s} {answer}");
}

/// Creates a user (agents are linked to their agent record of the same name).
pub(crate) async fn create_user(addr: SocketAddr, admin: &str, username: &str, role: &str) {
    let mut user = json!({
        "username": username, "display_name": username, "role": role, "password": PASSWORD,
    });
    if role == "agent" {
        user["agent_id"] = json!(username);
    }
    let (s, body) = http(addr, "POST", "/api/v1/users", Some(admin), Some(user)).await;
    assert_eq!(s, 201, "creating user {username}: {body}");
}

/// The whole event log (optionally of one contact), every page.
pub(crate) async fn event_log(addr: SocketAddr, token: &str, contact: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut path = String::from("/api/v1/events?limit=1000");
        if let Some(c) = contact {
            path.push_str(&format!("&contact={c}"));
        }
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let (s, page) = http(addr, "GET", &path, Some(token), None).await;
        assert_eq!(s, 200, "{page}");
        out.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next_after"].as_u64() {
            Some(a) => after = Some(a),
            None => return out,
        }
    }
}

/// Polls the event log (it is written behind the dispatcher, in batches) until `done` holds
/// for it; the log then.
pub(crate) async fn event_log_until(
    addr: SocketAddr,
    token: &str,
    contact: Option<&str>,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let events = event_log(addr, token, contact).await;
        if done(&events) {
            return events;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "the event log never showed {what}; it has:\n{}",
                types(&events).join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `type agent` of each event, for readable assertions.
pub(crate) fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["agent"].as_str() {
            Some(agent) => format!("{} {agent}", e["type"].as_str().unwrap_or("?")),
            None => e["type"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

/// How many events of a type (and agent, if given) are in the log.
pub(crate) fn count(events: &[Value], kind: &str, agent: Option<&str>) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == kind && agent.is_none_or(|a| e["agent"] == a))
        .count()
}

// ----- telephony hooks ------------------------------------------------------------------

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// A hook delivery: the body, its timestamp and signature, so a test can replay or tamper
/// with it.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub(crate) body: String,
    pub(crate) timestamp: i64,
    pub(crate) signature: String,
}

impl Hook {
    /// Signed as a PBX would sign it, with `timestamp` (Unix seconds).
    pub(crate) fn signed_at(secret: &str, body: Value, timestamp: i64) -> Hook {
        let body = body.to_string();
        let signature = switchboard_gateway::hooks::sign(secret, timestamp, body.as_bytes());
        Hook {
            body,
            timestamp,
            signature,
        }
    }

    pub(crate) fn signed(secret: &str, body: Value) -> Hook {
        Self::signed_at(secret, body, unix_now())
    }

    /// Posts it to `/api/v1/hooks/{integration}`; `Err` if the connection failed.
    pub(crate) async fn try_post(
        &self,
        addr: SocketAddr,
        integration: &str,
    ) -> Result<(u16, Value), ()> {
        let ts = self.timestamp.to_string();
        let headers = [
            ("x-switchboard-timestamp", ts.as_str()),
            ("x-switchboard-signature", self.signature.as_str()),
        ];
        try_http(
            addr,
            "POST",
            &format!("/api/v1/hooks/{integration}"),
            None,
            Some(self.body.clone()),
            &headers,
        )
        .await
    }

    /// Posts it to `/api/v1/hooks/{integration}`.
    pub(crate) async fn post(&self, addr: SocketAddr, integration: &str) -> (u16, Value) {
        match tokio::time::timeout(PATIENCE, self.try_post(addr, integration)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(())) => panic!("hook to {integration} on {addr}: the connection failed"),
            Err(_) => panic!("hook to {integration} on {addr}: no answer in time"),
        }
    }
}

/// Signs `body` now and posts it; the answer must be 200.
pub(crate) async fn hook(addr: SocketAddr, integration: &str, secret: &str, body: Value) -> Value {
    let (s, answer) = Hook::signed(secret, body.clone())
        .post(addr, integration)
        .await;
    assert_eq!(s, 200, "hook {body}: {answer}");
    answer
}

// ----- WebSockets -----------------------------------------------------------------------

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client (agent console or supervisor floor) that keeps frames it was not
/// waiting for, so a test never depends on the order of an `ack`, the events the command
/// caused and periodic `stats` frames.
#[derive(Debug)]
pub(crate) struct Socket {
    pub(crate) who: String,
    ws: Ws,
    kept: VecDeque<Value>,
    next_id: u64,
    /// The highest `seq` received, for resuming.
    pub(crate) last_seq: u64,
}

impl Socket {
    /// Connects to `path` (e.g. `/api/v1/agent/ws`) with the token in the query.
    pub(crate) async fn connect(
        addr: SocketAddr,
        path: &str,
        token: &str,
        extra_query: &str,
        who: &str,
    ) -> Socket {
        let url = format!("ws://{addr}{path}?token={token}{extra_query}");
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .unwrap_or_else(|_| panic!("{who}: the WebSocket did not open in time"))
            .unwrap_or_else(|e| panic!("{who}: the WebSocket did not open: {e}"));
        Socket {
            who: who.to_owned(),
            ws,
            kept: VecDeque::new(),
            next_id: 0,
            last_seq: 0,
        }
    }

    /// The close frame that ends the socket (other frames skipped): its code and reason.
    pub(crate) async fn closed(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("{}: no close frame within {PATIENCE:?}", self.who),
                Ok(Some(Ok(Message::Close(Some(frame))))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Ok(Some(Ok(Message::Close(None)))) => panic!("{}: closed without a code", self.who),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => {
                    panic!("{}: the socket failed without a close frame: {e}", self.who)
                }
                Ok(None) => panic!("{}: the socket ended without a close frame", self.who),
            }
        }
    }

    /// An agent console.
    pub(crate) async fn console(addr: SocketAddr, token: &str, who: &str) -> Socket {
        Self::connect(addr, "/api/v1/agent/ws", token, "", who).await
    }

    /// A supervisor's floor.
    pub(crate) async fn floor(addr: SocketAddr, token: &str, who: &str) -> Socket {
        Self::connect(addr, "/api/v1/supervisor/ws", token, "", who).await
    }

    /// The first frame (kept earlier or arriving within [`PATIENCE`]) for which `pred`
    /// holds; other frames are kept for later.
    pub(crate) async fn expect(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.kept.iter().position(&pred) {
            return self.kept.remove(i).expect("found");
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!(
                    "{}: no {what} within {PATIENCE:?}; frames seen meanwhile: {:?}",
                    self.who, self.kept
                ),
                Ok(None) => panic!("{}: the socket closed while waiting for {what}", self.who),
                Ok(Some(Err(e))) => panic!("{}: socket error waiting for {what}: {e}", self.who),
                Ok(Some(Ok(frame))) => frame,
            };
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", self.who));
            assert_eq!(
                v["v"],
                switchboard_protocol::VERSION,
                "{}: every frame is versioned: {v}",
                self.who
            );
            // And is one of the protocol's (a console's or the floor's).
            let typed = serde_json::from_str::<Stamped<console::Frame>>(&text).is_ok()
                || serde_json::from_str::<Stamped<floor::Frame>>(&text).is_ok();
            assert!(typed, "{}: not a protocol frame: {text}", self.who);
            if let Some(seq) = v["seq"].as_u64() {
                self.last_seq = self.last_seq.max(seq);
            }
            if pred(&v) {
                return v;
            }
            // Periodic figures are never waited for in hindsight; keep the rest.
            if v["type"] != "stats" {
                self.kept.push_back(v);
            }
        }
    }

    /// The first frame of type `kind` about `contact`.
    pub(crate) async fn expect_about(&mut self, kind: &str, contact: &Value) -> Value {
        self.expect(&format!("{kind} about {contact}"), |v| {
            v["type"] == kind && &v["contact_id"] == contact
        })
        .await
    }

    pub(crate) async fn send(&mut self, v: Value) {
        tokio::time::timeout(PATIENCE, self.ws.send(Message::Text(v.to_string().into())))
            .await
            .unwrap_or_else(|_| panic!("{}: sending {v} timed out", self.who))
            .unwrap_or_else(|e| panic!("{}: sending {v} failed: {e}", self.who));
    }

    /// Sends a command with a fresh `id` and waits for its answer (`ack` or `error`).
    pub(crate) async fn request(&mut self, mut command: Value) -> Value {
        self.next_id += 1;
        let id = format!("{}-{}", self.who, self.next_id);
        command["id"] = json!(id);
        self.send(command.clone()).await;
        self.expect(&format!("the answer to {command}"), |v| {
            (v["type"] == "ack" || v["type"] == "error") && v["in_reply_to"] == id.as_str()
        })
        .await
    }

    /// Sends a command that must be acknowledged.
    pub(crate) async fn ok(&mut self, command: Value) {
        let answer = self.request(command.clone()).await;
        assert_eq!(
            answer["type"], "ack",
            "{}: {command} was refused: {answer}",
            self.who
        );
    }

    /// Sets the agent's presence and waits for the ack and the `state` it causes.
    pub(crate) async fn set_presence(&mut self, presence: &str) {
        self.ok(json!({"type": "set_state", "presence": {"presence": presence}}))
            .await;
        self.expect(&format!("state {presence}"), |v| {
            v["type"] == "state" && v["presence"]["presence"] == presence
        })
        .await;
    }

    /// Closes the TCP connection without a WebSocket goodbye (a cable pulled).
    pub(crate) fn drop_connection(self) {
        drop(self.ws);
    }
}

// ----- a PBX receiving our webhooks -------------------------------------------------------

/// One webhook as the PBX received it: its signature headers and JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) timestamp: String,
    pub(crate) signature: String,
    pub(crate) event_id: String,
    pub(crate) raw_body: String,
    pub(crate) body: Value,
}

/// A small HTTP/1.1 receiver on 127.0.0.1 standing in for the PBX's webhook URL: it answers
/// every POST 200 and keeps what it got. Stops with the guard.
#[derive(Debug)]
pub(crate) struct PbxReceiver {
    pub(crate) addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PbxReceiver {
    pub(crate) async fn start() -> PbxReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the fake PBX");
        let addr = listener.local_addr().expect("its address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Some(r) = Self::read_one(stream).await {
                        kept.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                    }
                });
            }
        });
        PbxReceiver {
            addr,
            received,
            task,
        }
    }

    /// The URL to configure as the integration's `callback_url`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/pbx", self.addr)
    }

    /// Reads one request (head, then `content-length` bytes of body) and answers 200.
    async fn read_one(mut stream: TcpStream) -> Option<Received> {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let (head_end, length) = loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length);
            }
        };
        while raw.len() < head_end + length {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let raw_body = String::from_utf8_lossy(&raw[head_end..head_end + length]).into_owned();
        let received = Received {
            timestamp: header("x-switchboard-timestamp"),
            signature: header("x-switchboard-signature"),
            event_id: header("x-switchboard-event-id"),
            body: serde_json::from_str(&raw_body).unwrap_or(Value::Null),
            raw_body,
        };
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        let _ = stream.shutdown().await;
        Some(received)
    }

    /// Everything received so far.
    pub(crate) fn all(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits (up to [`PATIENCE`]) for a webhook whose body satisfies `pred`.
    pub(crate) async fn expect(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Received {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(r) = self.all().into_iter().find(|r| pred(&r.body)) {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the PBX never received {what}; it got: {:?}",
                self.all().iter().map(|r| &r.body).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PbxReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
