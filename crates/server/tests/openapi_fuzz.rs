//! The OpenAPI document against the real server, with standard tools from PyPI:
//!
//! - **schemathesis** fuzzes every operation from the document (examples, boundary values and
//!   random data, valid and invalid) against a `switchboard serve` process on a fresh SQLite
//!   database, signed in as an admin, and checks every answer: no 5xx, a documented status, the
//!   documented content type, headers and body schema. The PBX hooks are fuzzed signed: a
//!   schemathesis hook ([`SIGNING_HOOK`]) aims them at a configured integration and signs the
//!   exact bytes sent with its secret, and the CTI route gets its integration's token, so the
//!   parsers behind the signature are fuzzed too, not only the 401.
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

/// The generic integration the fuzzer signs hooks for, and its secret.
const PBX: (&str, &str) = ("pbx", "fuzz-pbx-secret-0123456789");
/// The CTI integration's token (its path segment).
const CTI_TOKEN: &str = "fuzz-cti-token-0123456789";

/// A schemathesis hook module (loaded with `SCHEMATHESIS_HOOKS`): before each call to
/// `POST /api/v1/hooks/{integration_id}` it aims at the configured integration and signs the
/// JSON body as it will be sent (`json.dumps`, as `requests` encodes it, sent as those bytes);
/// `POST /api/v1/cti/{token}` gets the CTI integration's token.
const SIGNING_HOOK: &str = r#"
import hashlib, hmac, json, os, time
import schemathesis

@schemathesis.hook
def before_call(ctx, case, kwargs):
    path = case.operation.path
    if path == "/api/v1/hooks/{integration_id}":
        case.path_parameters = {**(case.path_parameters or {}), "integration_id": os.environ["SB_PBX"]}
        if (case.media_type or "application/json").startswith("application/json"):
            if type(case.body).__name__ == "NotSet":
                raw = b""  # no body is sent
            else:
                raw = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
                case.body = raw
            ts = str(int(time.time()))
            mac = hmac.new(os.environ["SB_PBX_SECRET"].encode(), ts.encode() + b"." + raw, hashlib.sha256)
            case.headers = {**(case.headers or {}),
                            "x-switchboard-timestamp": ts,
                            "x-switchboard-signature": "sha256=" + mac.hexdigest()}
    elif path == "/api/v1/cti/{token}":
        case.path_parameters = {**(case.path_parameters or {}), "token": os.environ["SB_CTI_TOKEN"]}
"#;

/// A server on a fresh SQLite database with an admin, signed in; a queue and two
/// integrations (a generic PBX, a CTI bridge) configured.
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
    put(
        server.addr,
        &token,
        &format!("/api/v1/integrations/{}", PBX.0),
        json!({"integration_id": PBX.0, "kind": "generic", "secret": PBX.1}),
    )
    .await;
    put(
        server.addr,
        &token,
        "/api/v1/integrations/cti",
        json!({"integration_id": "cti", "kind": "zammad_cti", "secret": CTI_TOKEN}),
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
    std::fs::write(report.join("sb_signing.py"), SIGNING_HOOK).unwrap();
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
        .env("SCHEMATHESIS_HOOKS", "sb_signing")
        .env("PYTHONPATH", &report)
        .env("SB_PBX", PBX.0)
        .env("SB_PBX_SECRET", PBX.1)
        .env("SB_CTI_TOKEN", CTI_TOKEN)
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
    // The signed hooks got past the signature: most of what the fuzzer sent to either door
    // was answered by the parsers behind it (422, 415…), not refused 401 (the server's own
    // request counters say so). Random bodies seldom make a valid call event, so no 2xx is
    // required.
    let (_, metrics) = support::http(server.addr, "GET", "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    for route in ["/api/v1/hooks/{integration_id}", "/api/v1/cti/{token}"] {
        let answered = answers_of(&metrics, route);
        let count = |unsigned: bool| -> u64 {
            answered
                .iter()
                .filter(|(s, _)| (s == "401") == unsigned)
                .map(|(_, n)| n)
                .sum()
        };
        assert!(count(false) > count(true), "{route}: {answered:?}");
    }
}

/// The statuses `route` answered and how often, from the server's
/// `switchboard_http_requests_total` counters.
fn answers_of(metrics: &str, route: &str) -> Vec<(String, u64)> {
    let label = |line: &str, name: &str| -> Option<String> {
        let start = line.find(&format!("{name}=\""))? + name.len() + 2;
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_owned())
    };
    metrics
        .lines()
        .filter(|l| l.starts_with("switchboard_http_requests_total{"))
        .filter(|l| label(l, "route").as_deref() == Some(route))
        .filter_map(|l| {
            let count = l.rsplit(' ').next()?.parse::<f64>().ok()? as u64;
            Some((label(l, "status")?, count))
        })
        .filter(|(_, n)| *n > 0)
        .collect()
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
