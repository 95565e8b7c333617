//! Scenario `idle`: N agent consoles connected and doing nothing; the server's resident
//! memory before the first connects and once all are connected and have settled.

use std::{net::SocketAddr, time::Duration};

use futures_util::StreamExt;

use crate::{
    agent,
    server::{memory, Memory},
};

#[derive(Debug)]
pub struct IdleReport {
    pub connections: usize,
    pub connect_time: Duration,
    pub before: Memory,
    pub after: Memory,
}

impl IdleReport {
    /// Growth of VmRSS per connection, bytes.
    pub fn per_connection_bytes(&self) -> f64 {
        (self.after.rss_kib as f64 - self.before.rss_kib as f64) * 1024.0
            / self.connections.max(1) as f64
    }
}

/// Connects one console per token to `addr` (the server is process `pid`), waits `settle`
/// with all of them open, and reads the memory.
pub async fn run(
    addr: SocketAddr,
    pid: u32,
    tokens: &[String],
    settle: Duration,
) -> anyhow::Result<IdleReport> {
    let before = memory(pid)?;
    let (sockets, connect_time) = agent::connect_all(addr, tokens).await?;
    // Keep reading so the server never sees a stuck console; frames are dropped.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut s| tokio::spawn(async move { while let Some(Ok(_)) = s.next().await {} }))
        .collect();
    tokio::time::sleep(settle).await;
    let after = memory(pid)?;
    let connections = readers.iter().filter(|r| !r.is_finished()).count();
    for r in readers {
        r.abort();
    }
    Ok(IdleReport {
        connections,
        connect_time,
        before,
        after,
    })
}
