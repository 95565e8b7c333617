//! One simulated agent console on `/api/v1/agent/ws`: it waits for the `hello`, optionally
//! goes available, then — when it handles calls — notes the instant each `offer` frame
//! arrives, accepts it, ends the call after the handle time and wraps up at once.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{net::TcpStream, sync::watch, time::Instant};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

/// A console's socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An offer frame as it arrived.
#[derive(Debug, Clone)]
pub struct OfferSeen {
    pub at: Instant,
    pub contact_id: String,
    /// The PBX call id, from the offer's `data` (the hook puts it there).
    pub call_id: Option<String>,
    pub agent: usize,
}

/// What every console of a run reports into.
#[derive(Debug, Default)]
pub struct Observations {
    pub offers: Mutex<Vec<OfferSeen>>,
    /// Error frames, refused commands, broken sockets: (agent, what).
    pub errors: Mutex<Vec<(usize, String)>>,
    /// Consoles whose `set_state available` was acknowledged.
    pub available: AtomicUsize,
}

impl Observations {
    fn error(&self, agent: usize, what: String) {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((agent, what));
    }
}

/// Consoles opened at once while connecting many.
const CONNECT_CONCURRENCY: usize = 64;

/// Opens one console per session token, a few at a time, in the tokens' order; returns them
/// and how long it took.
pub async fn connect_all(
    addr: SocketAddr,
    tokens: &[String],
) -> anyhow::Result<(Vec<Socket>, Duration)> {
    let connecting = Instant::now();
    let sockets = futures_util::stream::iter(tokens)
        .map(|t| connect(addr, t))
        .buffered(CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()
        .context("connecting the consoles")?;
    Ok((sockets, connecting.elapsed()))
}

/// Opens the console of the agent whose session is `token` and waits for its `hello`.
pub async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Socket> {
    let url = format!("ws://{addr}/api/v1/agent/ws?token={token}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .context("opening the agent console")?;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no hello within 30 s")?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let v: Value = serde_json::from_str(text.as_str())?;
                if v["type"] == "hello" {
                    return Ok(socket);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the console closed before its hello"),
        }
    }
}

async fn send(socket: &mut Socket, v: Value) -> anyhow::Result<()> {
    socket.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

/// Goes available and takes calls until `stop` turns true: accept each offer, `end` it after
/// `handle`, `wrap_up` as soon as the `ended` frame comes.
pub async fn take_calls(
    mut socket: Socket,
    agent: usize,
    handle: Duration,
    seen: Arc<Observations>,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(e) = send(
        &mut socket,
        json!({"type": "set_state", "id": "available", "presence": {"presence": "available"}}),
    )
    .await
    {
        seen.error(agent, format!("set_state: {e}"));
        return;
    }
    // The call in hand and when to end it.
    let mut talking: Option<(String, Instant)> = None;
    loop {
        let end_at = talking.as_ref().map(|(_, at)| *at);
        tokio::select! {
            _ = stop.changed() => break,
            () = async { tokio::time::sleep_until(end_at.unwrap_or_else(Instant::now)).await }, if end_at.is_some() => {
                if let Some((contact, _)) = talking.take() {
                    if let Err(e) = send(&mut socket, json!({"type": "end", "contact_id": contact})).await {
                        seen.error(agent, format!("end: {e}"));
                        break;
                    }
                }
            }
            frame = socket.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => { seen.error(agent, format!("socket: {e}")); break; }
                    None => { seen.error(agent, "the server closed the console".into()); break; }
                };
                let at = Instant::now();
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    seen.error(agent, format!("not JSON: {text}"));
                    continue;
                };
                let reply = match v["type"].as_str() {
                    Some("offer") => {
                        let contact = v["contact_id"].as_str().unwrap_or_default().to_owned();
                        seen.offers.lock().unwrap_or_else(|p| p.into_inner()).push(OfferSeen {
                            at,
                            contact_id: contact.clone(),
                            call_id: v["data"]["call_id"].as_str().map(str::to_owned),
                            agent,
                        });
                        talking = Some((contact.clone(), at + handle));
                        Some(json!({"type": "accept", "contact_id": contact}))
                    }
                    Some("ended") => Some(json!({"type": "wrap_up", "contact_id": v["contact_id"], "disposition": null, "resolved": true})),
                    Some("offer_withdrawn") => {
                        seen.error(agent, format!("offer withdrawn: {}", v["reason"]));
                        talking = None;
                        None
                    }
                    Some("ack") if v["in_reply_to"] == "available" => {
                        seen.available.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Some("error") => {
                        seen.error(agent, format!("error frame: {} {}", v["code"], v["message"]));
                        None
                    }
                    _ => None,
                };
                if let Some(reply) = reply {
                    if let Err(e) = send(&mut socket, reply).await {
                        seen.error(agent, format!("send: {e}"));
                        break;
                    }
                }
            }
        }
    }
    let _ = socket.close(None).await;
}
