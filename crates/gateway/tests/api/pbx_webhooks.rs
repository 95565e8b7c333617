//! Outbound webhooks to the PBX (we-route mode) and PBX-routes mode.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{AgentId, AgentStatus, Command, ContactId, ContactState, Presence};
use switchboard_gateway::{
    hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER},
    pbx::HttpSender,
};
use switchboard_store::Role;

use crate::{support::Api, telephony::SECRET};

/// What the fake PBX received: (timestamp, signature, event id, body).
type Received = Arc<Mutex<Vec<(String, String, String, Value)>>>;

/// A PBX on 127.0.0.1 that answers each request with the next status of `script`
/// (then 200 forever) and records what it got.
async fn fake_pbx(script: Vec<u16>) -> (String, Received) {
    let (app, received) = pbx_app(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/acd"), received)
}

/// The fake PBX's routes: `POST /acd` answered by `script`, what came recorded.
fn pbx_app(script: Vec<u16>) -> (axum::Router, Received) {
    let received: Received = Arc::default();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let got = received.clone();
    let app = axum::Router::new().route(
        "/acd",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (got, script) = (got.clone(), script.clone());
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                got.lock().unwrap().push((
                    h(TIMESTAMP_HEADER),
                    h(SIGNATURE_HEADER),
                    h("x-switchboard-event-id"),
                    serde_json::from_str(&body).unwrap_or(Value::Null),
                ));
                let status = script.lock().unwrap().next().unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    (app, received)
}

/// TCP connections to 127.0.0.1 that have completed a TLS handshake.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client that does not trust the certificate ends here.
            if let Ok(tls) = self.tls.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The fake PBX over HTTPS with a certificate for 127.0.0.1 from a CA of its own; returns
/// its URL, what it got, and the CA's certificate (PEM).
async fn fake_https_pbx(script: Vec<u16>) -> (String, Received, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Test PBX CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    #[allow(deprecated)] // As the client's (`HttpSender::with_roots`).
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let (app, received) = pbx_app(script);
    let listener = TlsListener {
        tcp: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tls: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    let addr = listener.tcp.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("https://{addr}/acd"), received, ca_cert.pem())
}

/// A center whose PBX integration posts to `callback_url` (if any), with agents Ann
/// (extension 201) and Bob (202) available, and the webhook tasks running.
async fn center(callback_url: Option<&str>) -> (Api, String) {
    center_with(callback_url, HttpSender::new(None).unwrap()).await
}

/// [`center`], delivering through `sender`.
async fn center_with(callback_url: Option<&str>, sender: HttpSender) -> (Api, String) {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    for (path, body) in [
        ("/api/v1/queues/sales", json!({"id": "sales"})),
        (
            "/api/v1/integrations/pbx",
            json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET, "callback_url": callback_url}),
        ),
        (
            "/api/v1/agents/ann",
            json!({"id": "ann", "display_name": "Ann", "number": "1001", "extension": "201"}),
        ),
        (
            "/api/v1/agents/bob",
            json!({"id": "bob", "display_name": "Bob", "number": "1002", "extension": "202"}),
        ),
    ] {
        let (s, e) = api.call(Method::PUT, path, Some(&admin), Some(body)).await;
        assert!(s.is_success(), "{path}: {e}");
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(switchboard_app::pbx::plan(
        api.state.app.clone(),
        wake.clone(),
    ));
    tokio::spawn(switchboard_app::pbx::deliver(
        api.state.app.clone(),
        Arc::new(sender),
        wake,
        {
            let metrics = api.state.metrics.clone();
            Arc::new(move |outcome| metrics.observe_webhook(outcome))
        },
    ));
    for agent in ["ann", "bob"] {
        api.dispatcher
            .execute(
                Command::SetPresence {
                    agent: AgentId::parse(agent).unwrap(),
                    presence: Presence::Available,
                },
                api.state.app.now(),
            )
            .await
            .unwrap();
        // Ann idles longest: she gets the first offer.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (api, admin)
}

/// A signed hook that must be accepted; its answer.
async fn hook(api: &Api, body: Value) -> Value {
    let (s, answer) = super::telephony::hook(api, body).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    answer
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn deliveries(api: &Api, admin: &str, query: &str) -> Vec<Value> {
    let (s, body) = api
        .call(
            Method::GET,
            &format!("/api/v1/integrations/pbx/deliveries{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn an_offer_rings_the_agents_extension_signed_and_retried() {
    // The PBX fails the first request: it is retried after 0.5 s.
    let (url, received) = fake_pbx(vec![503]).await;
    let (api, admin) = center(Some(&url)).await;
    let arrived = hook(
        &api,
        json!({"event_id": "a1", "type": "call.arrived", "call_id": "c-1", "queue": "sales"}),
    )
    .await;
    let contact = arrived["contact_id"].as_str().unwrap().to_owned();
    wait_for("the ring, retried", || received.lock().unwrap().len() >= 2).await;
    let got = received.lock().unwrap().clone();
    let (ts, signature, event_id, body) = &got[1];
    assert_eq!(got[0].3, got[1].3, "the retry sends the same instruction");
    assert_eq!(body["type"], "call.ring");
    assert_eq!(body["call_id"], "c-1");
    assert_eq!(body["contact_id"], contact.as_str());
    assert_eq!(
        body["agent"],
        json!({"id": "ann", "extension": "201", "number": "1001"})
    );
    assert!(body["deadline"].as_i64().is_some());
    assert_eq!(event_id, body["event_id"].as_str().unwrap());
    let ts: i64 = ts.parse().unwrap();
    assert_eq!(
        signature,
        &sign(SECRET, ts, serde_json::to_string(body).unwrap().as_bytes()),
        "signed like the inbound hooks"
    );
    // The phone is picked up at Ann's: the PBX says so; she is busy with the call and
    // the PBX is told to connect it.
    let answered = hook(
        &api,
        json!({"event_id": "a2", "type": "call.answered", "call_id": "c-1", "agent": "ann"}),
    )
    .await;
    assert_eq!(answered["status"], "ok");
    wait_for("the connect", || {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.3["type"] == "call.connect")
    })
    .await;
    let mut items = Vec::new();
    for _ in 0..100 {
        items = deliveries(&api, &admin, "").await;
        if items.len() == 2 && items.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds: Vec<(&str, &str, u64)> = items
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap(),
                d["status"].as_str().unwrap(),
                d["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("call.connect", "delivered", 1),
            ("call.ring", "delivered", 2)
        ]
    );
    let (_, metrics) = api.call(Method::GET, "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("switchboard_pbx_webhook_attempts_total{outcome=\"retry\"} 1"),
        "{metrics}"
    );
}

/// An `https://` PBX is reached over TLS when its certificate chains to the configured
/// private CA, and refused (retried, the error shown) when it does not.
#[tokio::test]
async fn webhooks_go_over_https_to_a_pbx_with_a_private_ca() {
    let (url, received, ca_pem) = fake_https_pbx(vec![]).await;
    let dir = std::env::temp_dir().join(format!("switchboard-ca-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("pbx-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let sender = HttpSender::new(Some(&ca_file)).unwrap();
    let (api, _admin) = center_with(Some(&url), sender).await;
    hook(
        &api,
        json!({"event_id": "s1", "type": "call.arrived", "call_id": "tls-1", "queue": "sales"}),
    )
    .await;
    wait_for("the ring over TLS", || !received.lock().unwrap().is_empty()).await;
    let got = received.lock().unwrap().clone();
    let (ts, signature, _, body) = &got[0];
    assert_eq!(
        (body["type"].as_str(), body["call_id"].as_str()),
        (Some("call.ring"), Some("tls-1"))
    );
    assert_eq!(
        signature,
        &sign(
            SECRET,
            ts.parse().unwrap(),
            serde_json::to_string(body).unwrap().as_bytes()
        )
    );

    // Without the private CA, the handshake fails: nothing arrives, the delivery says why.
    let (url, received, _) = fake_https_pbx(vec![]).await;
    let (api, admin) = center_with(Some(&url), HttpSender::new(None).unwrap()).await;
    hook(
        &api,
        json!({"event_id": "s2", "type": "call.arrived", "call_id": "tls-2", "queue": "sales"}),
    )
    .await;
    let mut items = Vec::new();
    for _ in 0..200 {
        items = deliveries(&api, &admin, "").await;
        if items.first().is_some_and(|d| d["last_error"].is_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(received.lock().unwrap().is_empty());
    let error = items[0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        items[0]["status"] != "delivered" && error.to_lowercase().contains("certificate"),
        "{items:?}"
    );
    // A CA file that holds no certificate stops the start with a clear error.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let e = HttpSender::new(Some(&ca_file)).unwrap_err().to_string();
    assert!(e.contains("no certificate"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_refused_webhook_is_given_up_and_shown() {
    // 400: the PBX will never take it; no retry.
    let (url, received) = fake_pbx(vec![400]).await;
    let (api, admin) = center(Some(&url)).await;
    hook(
        &api,
        json!({"event_id": "b1", "type": "call.arrived", "call_id": "c-2", "queue": "sales"}),
    )
    .await;
    let mut failed = Vec::new();
    for _ in 0..200 {
        failed = deliveries(&api, &admin, "?status=failed").await;
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed.len(), 1, "the failure is visible");
    assert_eq!(failed[0]["kind"], "call.ring");
    assert_eq!(failed[0]["attempts"], 1);
    assert_eq!(failed[0]["last_status"], 400);
    assert!(failed[0]["last_error"].as_str().unwrap().contains("400"));
    assert_eq!(received.lock().unwrap().len(), 1);
    // Bad queries are clear 4xx.
    for (query, code) in [
        ("?status=lost", StatusCode::UNPROCESSABLE_ENTITY),
        ("?limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("?limit=x", StatusCode::BAD_REQUEST),
    ] {
        let (s, _) = api
            .call(
                Method::GET,
                &format!("/api/v1/integrations/pbx/deliveries{query}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(s, code, "{query}");
    }
    let (s, _) = api
        .call(
            Method::GET,
            "/api/v1/integrations/nobody/deliveries",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A URL of another scheme is refused at configuration time, with the reason.
    let (s, e) = api
        .call(
            Method::PUT,
            "/api/v1/integrations/pbx",
            Some(&admin),
            Some(json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET, "callback_url": "ftp://pbx.example/acd"})),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("callback_url")),
        "{e}"
    );
}

/// PBX-routes mode: no callback URL; the PBX rings whom it likes and reports who answered.
#[tokio::test]
async fn the_pbx_routes_and_the_answering_agent_becomes_busy() {
    let (api, _admin) = center(None).await;
    let arrived = hook(
        &api,
        json!({"event_id": "r1", "type": "call.arrived", "call_id": "c-3", "queue": "sales"}),
    )
    .await;
    let contact: ContactId = arrived["contact_id"].as_str().unwrap().parse().unwrap();
    let bob = AgentId::parse("bob").unwrap();
    // Our offer rings at Ann; Bob picked it up at his phone.
    let answered = hook(
        &api,
        json!({"event_id": "r2", "type": "call.answered", "call_id": "c-3", "agent": "bob"}),
    )
    .await;
    assert_eq!(answered["status"], "ok", "{answered}");
    assert!(matches!(
        api.dispatcher.contact(contact).await.unwrap(),
        Some(ContactState::Assigned { ref agent, .. }) if *agent == bob
    ));
    assert_eq!(
        api.dispatcher.agent_status(&bob).await.unwrap(),
        Some(AgentStatus::Busy)
    );
    let ann = AgentId::parse("ann").unwrap();
    assert_eq!(
        api.dispatcher.agent_status(&ann).await.unwrap(),
        Some(AgentStatus::Available),
        "Ann's offer was withdrawn"
    );
    // Another call answered by Bob, who is on the phone: calmly ignored, nothing wedged.
    hook(
        &api,
        json!({"event_id": "r3", "type": "call.arrived", "call_id": "c-4", "queue": "sales"}),
    )
    .await;
    let busy = hook(
        &api,
        json!({"event_id": "r4", "type": "call.answered", "call_id": "c-4", "agent": "bob"}),
    )
    .await;
    assert_eq!(busy["status"], "ignored", "{busy}");
    assert!(busy["reason"].as_str().unwrap().contains("busy"));
    // The CTI way: `answer` naming the extension that picked up.
    let (s, _) = api
        .call(
            Method::PUT,
            "/api/v1/integrations/cti",
            Some(&_admin),
            Some(json!({"integration_id": "cti", "kind": "zammad_cti", "secret": "cti-token-0123456789abcdef"})),
        )
        .await;
    assert!(s.is_success());
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let cti = "/api/v1/cti/cti-token-0123456789abcdef";
    let (s, _) = api
        .raw(
            Method::POST,
            cti,
            None,
            Some("event=newCall&from=1&to=sales&direction=in&callId=z-1".into()),
            &form,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .raw(
            Method::POST,
            cti,
            None,
            Some("event=answer&callId=z-1&direction=in&answeringNumber=201".into()),
            &form,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        api.dispatcher.agent_status(&ann).await.unwrap(),
        Some(AgentStatus::Busy),
        "extension 201 is Ann's"
    );
}
