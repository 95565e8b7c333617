//! What a client types never forges a log line: a refused sign-in logs the username escaped
//! (no raw newline, no terminal escape) and bounded, in the default text format.

use std::{
    io::Write,
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex},
};

use switchboard_app::accounts::{AccountError, AccountSettings, Accounts, PasswordHashing};
use switchboard_domain::Timestamp;
use switchboard_test_support::database::TestDatabase;

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_refused_username_cannot_write_a_log_line_of_its_own() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDatabase::sqlite();
    let accounts = Accounts::new(
        db.store().await,
        AccountSettings {
            session_ttl: std::time::Duration::from_secs(3600),
            login_limits: switchboard_app::accounts::LimitPolicy::default(),
            setup_secret: None,
            setup_expires_at: None,
            session_recheck: std::time::Duration::from_secs(60),
            password_hashing: PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            },
        },
    );
    let forged = format!(
        "mallory\n2026-12-07T09:00:00Z  INFO switchboard: signed in username=admin\u{1b}[2J{}",
        "x".repeat(500)
    );
    let refused = accounts
        .sign_in(
            &forged,
            "whatever password".into(),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Timestamp::from_millis(1_000),
        )
        .await;
    assert!(
        matches!(refused, Err(AccountError::InvalidCredentials)),
        "{refused:?}"
    );

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one event, one line: {log}");
    assert!(lines[0].contains("sign-in refused"), "{log}");
    assert!(
        lines[0].contains(r"mallory\n2026"),
        "the newline is escaped: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no terminal escape reaches the log: {log:?}"
    );
    assert!(
        lines[0].len() < 300,
        "the username is bounded: {} bytes",
        lines[0].len()
    );
}
