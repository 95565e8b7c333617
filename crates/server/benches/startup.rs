//! Process start to ready (`/readyz` answering 200) with an empty SQLite database: the
//! release binary, started afresh ten times, each in an empty directory.
//!
//! `cargo bench -p switchboard-server --bench startup`

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 2 } else { 10 };
    let binary = env!("CARGO_BIN_EXE_switchboard");
    let mut times = Vec::new();
    for _ in 0..runs {
        let dir = std::env::temp_dir().join(format!(
            "sb-start-{}",
            std::process::id() as u128 * 1000 + times.len() as u128
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let start = Instant::now();
        let mut child = Command::new(binary)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(&dir)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        while !ready(port) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "not ready within 30 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        times.push(start.elapsed());
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
    times.sort();
    println!(
        "start to ready, empty SQLite, {runs} runs: median {:.0} ms, min {:.0} ms, max {:.0} ms",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}
