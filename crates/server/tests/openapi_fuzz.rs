//! The OpenAPI document against the real server, with standard tools from PyPI:
//!
//! - **schemathesis** fuzzes every operation from the document (examples, boundary values and
//!   random data, valid and invalid) against a `switchboard serve` process on a fresh SQLite
//!   database, signed in as an admin, and checks every answer: no 5xx, a documented status, the
//!   documented content type, headers and body schema.
//! - **openapi-python-client** generates a Python client from the document; a short script
//!   with it signs in and lists the queues.
//!
//! Both run from a Python virtual environment made once under the target directory with
//! pinned versions (PyPI must be reachable the first time; a failed install fails the test,
//! it never skips). Needs `python3` with the `venv` module (Debian: `python3-venv`).

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::json;
use support::{create_admin, login, put, Server, ServerOptions, TestDatabase};

const SCHEMATHESIS: &str = "schemathesis==4.32.5";
const CLIENT_GENERATOR: &str = "openapi-python-client==0.29.1";

/// The virtual environment, made once per target directory (both tests of this file share it).
fn python_tools() -> PathBuf {
    static MADE: Mutex<()> = Mutex::new(());
    let _guard = MADE.lock().unwrap_or_else(|p| p.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi-tools-venv");
    let marker = venv.join(format!("installed {SCHEMATHESIS} {CLIENT_GENERATOR}"));
    if marker.exists() {
        return venv;
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (Debian: apt-get install python3-venv)",
    );
    run(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
            CLIENT_GENERATOR,
        ]),
        "pip install (PyPI must be reachable)",
    );
    std::fs::write(&marker, "").expect("the venv's marker is written");
    venv
}

/// Runs `cmd` to completion; panics with its output unless it succeeds.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// A server on a fresh SQLite database with an admin, signed in; a queue configured.
async fn server() -> (Server, String, TestDatabase) {
    let db = TestDatabase::sqlite();
    let options = ServerOptions {
        database_url: db.url().to_owned(),
        redis: None,
        setup_secret: None,
    };
    create_admin(&options, "admin");
    let server = Server::start("openapi", &options).await;
    let token = login(server.addr, "admin").await;
    put(
        server.addr,
        &token,
        "/api/v1/skills/support",
        json!({"name": "support"}),
    )
    .await;
    put(
        server.addr,
        &token,
        "/api/v1/queues/support",
        json!({"id": "support", "required_skills": [{"skill": "support"}]}),
    )
    .await;
    (server, token, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_every_answer_as_documented() {
    let venv = tokio::task::spawn_blocking(python_tools).await.unwrap();
    let (server, token, _db) = server().await;
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-report");
    let _ = std::fs::remove_dir_all(&report);
    std::fs::create_dir_all(&report).unwrap();
    let started = Instant::now();
    let mut cmd = Command::new(venv.join("bin/schemathesis"));
    cmd.arg("run")
        .arg(format!("http://{}/api/openapi.json", server.addr))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
        ])
        // Bounded: under a minute here. One worker: CPython 3.11 can fail compiling in two
        // threads at once ("AST constructor recursion depth mismatch").
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "50", "--seed", "1", "--workers", "1"])
        .args(["--request-timeout", "10", "--suppress-health-check", "all"])
        // Signing out, or changing the signed-in admin (a new password or role revokes
        // the session), would turn the rest of the run into 401s.
        .args(["--exclude-path", "/api/v1/auth/logout"])
        .args(["--exclude-operation-id", "patch_api_v1_users_user_id"])
        .args(["--exclude-operation-id", "delete_api_v1_users_user_id"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(&report)
        // Its cache goes to the working directory: keep it out of the source tree.
        .current_dir(&report)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("NO_COLOR", "1");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("schemathesis starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found answers that do not conform to the document:\n{text}\nserver log (tail):\n{}",
        tail(&server.log_text(), 40)
    );
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "the fuzz run must stay under 4 minutes"
    );
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The script run with the generated client: signs in, lists the queues, prints their ids.
const CLIENT_SCRIPT: &str = r#"
import sys
from switchboard_api_client import AuthenticatedClient, Client
from switchboard_api_client.api.auth import post_api_v1_auth_login
from switchboard_api_client.api.configuration import get_api_v1_queues
from switchboard_api_client.models import LoginRequest, LoginResponse

base, password = sys.argv[1], sys.argv[2]
signed_in = post_api_v1_auth_login.sync(
    client=Client(base_url=base), body=LoginRequest(username="admin", password=password)
)
assert isinstance(signed_in, LoginResponse), signed_in
assert signed_in.user.role.value == "admin", signed_in.user
client = AuthenticatedClient(base_url=base, token=signed_in.token)
queues = get_api_v1_queues.sync(client=client)
assert isinstance(queues, list), queues
print("queues:", ",".join(str(q.id) for q in queues))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_signs_in_and_lists_queues() {
    let venv = tokio::task::spawn_blocking(python_tools).await.unwrap();
    let (server, _token, _db) = server().await;
    let dir = support::ScratchDir::new("sb-openapi-client");
    let document = dir.path().join("openapi.json");
    let (status, doc) = support::http(server.addr, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    std::fs::write(&document, doc.to_string()).unwrap();
    let package = dir.path().join("switchboard_api_client");
    let generated = run(
        Command::new(venv.join("bin/openapi-python-client"))
            .arg("generate")
            .arg("--path")
            .arg(&document)
            .arg("--output-path")
            .arg(&package)
            .args(["--meta", "none"]),
        "openapi-python-client generate",
    );
    let script = dir.path().join("sign_in_and_list.py");
    std::fs::write(&script, CLIENT_SCRIPT).unwrap();
    let out = run(
        Command::new(venv.join("bin/python"))
            .arg(&script)
            .arg(format!("http://{}", server.addr))
            .arg(support::PASSWORD)
            .current_dir(dir.path()),
        &format!("the generated client (generator said: {generated})"),
    );
    assert_eq!(out.trim(), "queues: support", "{out}");
}
