//! The operations endpoints: health, readiness, metrics, request ids, and the OpenAPI document
//! covering every route.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::json;
use switchboard_gateway::{routes, Access};
use tower::ServiceExt;

use crate::support::Api;

#[tokio::test]
async fn operations_endpoints() {
    let api = Api::new().await;
    let (s, body) = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, body) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (s, body["database"]["kind"].as_str()),
        (StatusCode::OK, Some("sqlite")),
        "{body}"
    );
    let (s, doc) = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for r in routes() {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from the OpenAPI document",
            r.method,
            r.path
        );
        if let Access::Roles(_) = r.access {
            assert_eq!(op["security"][0]["bearer"], json!([]));
        }
        if r.access != Access::Public {
            assert!(op["responses"]["401"].is_object());
        }
    }
    let (s, text) = api.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap().to_owned();
    assert!(text.contains("switchboard_http_requests_total{route=\"/api/openapi.json\",method=\"GET\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("switchboard_event_log_lag 0"));
    assert!(text.contains("switchboard_report_rollup_watermark_seconds 0"));
    assert!(text.contains("switchboard_report_rollup_failures_total 0"));
    // Request ids are echoed (or made up).
    let req = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let res = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = api
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-request-id"));
    let _ = Duration::ZERO;
}
