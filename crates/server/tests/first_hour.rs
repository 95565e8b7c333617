//! The operator's first hour with the real `switchboard` binary: started without the `serve`
//! subcommand, `create-admin` refusing a placeholder password (and still reading a script's
//! stdin), `create-api-key` printing a key that the server then takes, `seed-demo` saying
//! that a running server must be restarted, and its passwords.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;

mod support;
use switchboard_test_support::{database::TestDatabase, ScratchDir};

/// The binary in a scratch directory over `db`, with nothing inherited that could change its
/// configuration.
fn switchboard(db: &TestDatabase, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_clear()
        .current_dir(dir)
        .env("DATABASE_URL", db.url())
        .env("SWITCHBOARD_LOG_FORMAT", "json")
        .env("SWITCHBOARD_LOG", "info");
    cmd
}

#[test]
fn switchboard_listen_without_serve_runs_the_server() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("sb-first-hour");
    let mut child = switchboard(&db, dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let ready = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                let v: Option<Value> = serde_json::from_str(&line).ok();
                let is_ready = v
                    .as_ref()
                    .is_some_and(|v| v["fields"]["message"] == "switchboard is ready");
                seen.push(line);
                if is_ready {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let status = child.wait().expect("the server is reaped");
    assert!(
        ready,
        "no ready line (exit {status:?}); stderr:\n{}",
        seen.join("\n")
    );
    // The setup banner is plain text, not a JSON string, and its example password is one
    // the policy refuses (below).
    assert!(
        seen.iter()
            .any(|l| l.trim_start().starts_with("curl -X POST http://")),
        "{}",
        seen.join("\n")
    );
}

#[test]
fn switchboard_refuses_serve_flags_with_another_subcommand() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("sb-first-hour");
    let out = switchboard(&db, dir.path())
        .args(["--listen", "127.0.0.1:0", "migrate"])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("serve's flags"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn create_admin_refuses_the_banner_placeholder_and_reads_a_scripts_stdin() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("sb-first-hour");
    let out = switchboard(&db, dir.path())
        .args(["create-admin", "--username", "admin"])
        .env("SWITCHBOARD_ADMIN_PASSWORD", "<10+ characters>")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the placeholder was taken: {stderr}");
    assert!(stderr.contains("placeholder"), "{stderr}");

    // Not a terminal: one line of stdin, as scripts send it.
    let mut child = switchboard(&db, dir.path())
        .args(["create-admin", "--username", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(b"a long enough password\n")
        .expect("written");
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("admin admin created"), "{stderr}");
    assert!(!stderr.contains("a long enough password"), "{stderr}");
}

#[tokio::test]
async fn create_api_key_prints_the_key_once_and_refuses_unknown_scopes() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("sb-first-hour");
    let out = switchboard(&db, dir.path())
        .args(["create-api-key", "--name", "bi", "--scope", "reports:write"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("\"reports:write\" is not a scope"),
        "{stderr}"
    );
    assert!(stderr.contains("reports:read, live:read"), "{stderr}");

    let out = switchboard(&db, dir.path())
        .args([
            "create-api-key",
            "--name",
            "bi",
            "--scope",
            "reports:read,live:read",
            "--expires-in-days",
            "30",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let key = String::from_utf8(out.stdout).expect("text");
    let key = key.trim_end();
    assert!(key.starts_with("sbk_") && key.len() == 47, "{key:?}");
    assert!(
        stderr.contains("API key bi (1) created with reports:read, live:read"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(key),
        "the key goes to stdout only: {stderr}"
    );

    // The same name again, while the first works: refused.
    let out = switchboard(&db, dir.path())
        .args(["create-api-key", "--name", "bi", "--scope", "reports:read"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());

    // The server takes it where its scope is, and not elsewhere.
    let options = support::ServerOptions {
        database_url: db.url().to_string(),
        redis: None,
        setup_secret: None,
    };
    let mut server = support::Server::start("api-key", &options).await;
    let (status, events) =
        support::http(server.addr, "GET", "/api/v1/events", Some(key), None).await;
    assert_eq!(status, 200, "{events}");
    let (status, refused) =
        support::http(server.addr, "GET", "/api/v1/queues", Some(key), None).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    server.terminate().await;
}

#[test]
fn seed_demo_says_a_running_server_must_be_restarted_and_its_passwords_are_no_flags() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("sb-first-hour");
    let out = switchboard(&db, dir.path())
        .arg("seed-demo")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("restart"),
        "a running server does not see the records until it restarts; say so: {stderr}"
    );
    let passwords: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split(" with password ").nth(1))
        .collect();
    assert!(passwords.len() >= 5, "{stderr}");
    for p in passwords {
        assert!(!p.starts_with('-'), "{p}");
    }
    // Run again, nothing is created and there is nothing to restart for.
    let again = switchboard(&db, dir.path())
        .arg("seed-demo")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(!stderr.contains("restart"), "{stderr}");
}

/// Reads `from` into `seen` until `text` appears (or 20 s pass).
fn wait_for(rx: &mpsc::Receiver<u8>, seen: &mut Vec<u8>, text: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(seen).contains(text) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(b) => seen.push(b),
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn create_admin_at_a_terminal_does_not_echo_the_password() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("sb-first-hour");
    // `script` gives the command a real terminal (a pty) and copies what it shows.
    let inner = format!(
        "{} create-admin --username admin",
        env!("CARGO_BIN_EXE_switchboard")
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DATABASE_URL", db.url())
        .env("SWITCHBOARD_LOG", "warn")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel::<u8>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 || buf[..n].iter().any(|b| tx.send(*b).is_err()) {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().expect("piped");
    let mut seen = Vec::new();
    const SECRET: &[u8] = b"never shown on screen\n";
    assert!(
        wait_for(&rx, &mut seen, "password for admin"),
        "no prompt: {}",
        String::from_utf8_lossy(&seen)
    );
    // Typed once the prompt is up (echo is off by then), as a person would.
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(SECRET).expect("typed");
    if wait_for(&rx, &mut seen, "again") {
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(SECRET).expect("typed again");
    }
    let created = wait_for(&rx, &mut seen, "created");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let screen = String::from_utf8_lossy(&seen);
    assert!(
        !screen.contains("never shown"),
        "the password was echoed: {screen}"
    );
    assert!(created, "{screen}");
}
