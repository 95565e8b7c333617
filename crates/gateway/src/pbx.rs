//! Outbound webhooks to the PBX at the HTTP edge: the signed HTTP client the application's
//! deliverer sends through ([`HttpSender`], a `switchboard_app::pbx::Sender`) and
//! `GET /api/v1/integrations/{id}/deliveries`. What is sent, when and how often it is retried
//! is the application's (`switchboard_app::pbx`).
//!
//! Each POST is signed like the inbound hooks: HMAC-SHA256 over `"{timestamp}.{body}"` with
//! the integration's secret, headers `x-switchboard-timestamp`, `x-switchboard-signature` and
//! `x-switchboard-event-id` (the delivery's id, for the receiver's de-duplication). A 2xx
//! answer is success; other 4xx answers (but 408/425/429) are final; timeouts (5 s),
//! connection failures and 5xx are retried.
//!
//! `https://` URLs go over TLS (rustls): the server's certificate must chain to the
//! system's trust store or to the private CA given to [`HttpSender::new`]; a failed
//! handshake is a connection failure, retried and shown in the delivery's error.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Query, State},
    http::StatusCode,
    Json,
};
use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use rustls_pki_types::{pem::PemObject, CertificateDer};
use switchboard_app::pbx::{Delivery, SendFailure, Sender};
use switchboard_domain::Timestamp;
use switchboard_protocol::deliveries::{Deliveries, DeliveriesQuery, WebhookDelivery};

use crate::{
    error::{ApiError, ApiPath},
    hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER},
    state::AppState,
};

pub const EVENT_ID_HEADER: &str = "x-switchboard-event-id";
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PBX webhooks' HTTP(S) client: one connection pool for every delivery.
#[derive(Clone, Debug)]
pub struct HttpSender {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// Why the webhook client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("reading the CA file {path}: {error}")]
    CaFile { path: String, error: String },
    #[error("the CA file {0} holds no certificate")]
    EmptyCaFile(String),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

impl HttpSender {
    /// A client trusting the system's certificate authorities and, if given, the PEM
    /// certificates of `extra_ca_file` (a private CA of the PBX).
    ///
    /// # Errors
    /// [`TlsSetupError`] if the file can't be read or holds no certificate.
    pub fn new(extra_ca_file: Option<&Path>) -> Result<Self, TlsSetupError> {
        let extra = match extra_ca_file {
            None => Vec::new(),
            Some(path) => {
                let shown = path.display().to_string();
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| TlsSetupError::CaFile {
                        path: shown.clone(),
                        error: e.to_string(),
                    })?;
                if certs.is_empty() {
                    return Err(TlsSetupError::EmptyCaFile(shown));
                }
                certs
            }
        };
        Self::with_roots(extra, true)
    }

    /// A client trusting only `roots` (and the system's if `system` is set).
    ///
    /// # Errors
    /// [`TlsSetupError::Tls`] if rustls refuses its settings.
    pub fn with_roots(
        roots: Vec<CertificateDer<'static>>,
        system: bool,
    ) -> Result<Self, TlsSetupError> {
        let mut store = rustls::RootCertStore::empty();
        if system {
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::warn!(error = %e, "a system CA certificate could not be read");
            }
            let (added, ignored) = store.add_parsable_certificates(native.certs);
            tracing::debug!(added, ignored, "system CA certificates");
        }
        for cert in roots {
            store.add(cert)?;
        }
        // ring rather than aws-lc-rs: no C library build (aws-lc needs its own toolchain
        // steps), at the price of no post-quantum key exchange, which is what rustls
        // deprecates the ring provider for. The link carries signed call-control messages
        // to the center's own PBX; revisit when the PBX side offers hybrid key exchange.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }
}

/// An error with its causes, `outer: inner: innermost` (hyper's own text is only
/// "client error (Connect)"; the TLS reason is further down).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Sender for HttpSender {
    async fn send(&self, d: Delivery) -> Result<u16, SendFailure> {
        let fail = |error: String, status, final_| SendFailure {
            error,
            status,
            final_,
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|t| t.as_secs() as i64)
            .unwrap_or_default();
        let request = hyper::Request::post(&d.url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                sign(&d.secret, timestamp, d.body.as_bytes()),
            )
            .header(EVENT_ID_HEADER, &d.id)
            .body(Full::new(Bytes::from(d.body)))
            .map_err(|e| fail(format!("bad request: {e}"), None, true))?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request)).await {
            Err(_) => Err(fail("timed out after 5 s".to_owned(), None, false)),
            Ok(Err(e)) => Err(fail(causes(&e), None, false)),
            Ok(Ok(response)) => {
                let status = response.status();
                let code = status.as_u16();
                if status.is_success() {
                    Ok(code)
                } else {
                    let retryable = status.is_server_error() || matches!(code, 408 | 425 | 429);
                    Err(fail(
                        format!("the PBX answered {status}"),
                        Some(code),
                        !retryable,
                    ))
                }
            }
        }
    }
}

/// `GET /api/v1/integrations/{id}/deliveries`: the latest outbound webhooks and how they
/// went, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    ApiPath(integration): ApiPath<String>,
    query: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Deliveries>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let rows = state
        .app
        .webhook_deliveries(&integration, q.status.as_deref(), q.limit.unwrap_or(100))
        .await?;
    let items = rows
        .into_iter()
        .map(|d| WebhookDelivery {
            id: d.id,
            kind: d.kind,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: Timestamp::from_millis(d.next_attempt_at),
            last_error: d.last_error,
            last_status: d.last_status,
            created_at: Timestamp::from_millis(d.created_at),
            delivered_at: d.delivered_at.map(Timestamp::from_millis),
            body: serde_json::from_str(&d.body).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Json(Deliveries { items }))
}
