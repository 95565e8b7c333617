//! [`Api`]: the router without a server, over a fresh SQLite store and an in-memory
//! dispatcher; users of each role signed in, and requests made with `oneshot`.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::Value;
use switchboard_app::{App, Secret, Settings as AppSettings};
use switchboard_dispatch::{AnyBackend, MemoryBackend, SystemClock};
use switchboard_gateway::{router, AppState, Settings};
use switchboard_store::{NewUser, Role, Store};
use switchboard_test_support::{
    center::{self, CHEAP},
    database::TestDatabase,
    unique_name,
};
use tower::ServiceExt;

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) struct Api {
    pub(crate) app: Router,
    pub(crate) state: AppState,
    pub(crate) store: Store,
    pub(crate) dispatcher: Arc<AnyBackend>,
    _db: TestDatabase,
}

impl Api {
    pub(crate) async fn new() -> Self {
        Self::with(
            AppSettings {
                password_hashing: CHEAP,
                setup_secret: Some(Secret::new("s3tup-secret-for-tests")),
                ..AppSettings::default()
            },
            Settings::default(),
        )
        .await
    }

    /// The application's settings and the edge's.
    pub(crate) async fn with(app: AppSettings, edge: Settings) -> Self {
        let db = TestDatabase::sqlite();
        let store = db.store().await;
        let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
        let app = App::new(
            store.clone(),
            dispatcher.clone(),
            Arc::new(SystemClock),
            app,
        );
        let state = AppState::new(app, edge);
        Self {
            app: router(state.clone()),
            state,
            store,
            dispatcher,
            _db: db,
        }
    }

    /// A user of `role` with a session; returns the bearer token.
    pub(crate) async fn token(&self, role: Role) -> String {
        let user = NewUser {
            username: unique_name(&format!("{}-", role.as_str())),
            display_name: "Test".into(),
            role,
            password_hash: center::cheap_password_hash(PASSWORD).await.unwrap(),
            agent_id: None,
        };
        center::user_signed_in(&self.store, &user)
            .await
            .unwrap()
            .token
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.raw(method, path, token, body.map(|b| b.to_string()), &[])
            .await
    }

    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let (status, _, value) = self.from(None, method, path, token, body, headers).await;
        (status, value)
    }

    /// A request from TCP peer `peer` (as `into_make_service_with_connect_info` gives it;
    /// `None`: unknown, as with `oneshot`); also returns the response's headers.
    pub(crate) async fn from(
        &self,
        peer: Option<&str>,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        if let Some(peer) = peer {
            let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, headers, value)
    }
}
