//! Contacts coming in: signed PBX hooks (idempotent, refused when unsigned, stale or
//! malformed), the Zammad CTI, and chats and emails created through the API.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_gateway::hooks::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use switchboard_store::Role;

use crate::support::Api;

pub(super) const SECRET: &str = "pbx-shared-secret-0123456789";
const CTI: &str = "/api/v1/cti/cti-token-0123456789abcdef";

async fn center() -> (Api, String) {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    for (path, body) in [
        ("/api/v1/queues/sales", json!({"id": "sales"})),
        (
            "/api/v1/integrations/pbx",
            json!({"integration_id": "pbx", "kind": "generic", "secret": SECRET}),
        ),
        (
            "/api/v1/integrations/cti",
            json!({"integration_id": "cti", "kind": "zammad_cti", "secret": "cti-token-0123456789abcdef"}),
        ),
    ] {
        let (s, e) = api.call(Method::PUT, path, Some(&admin), Some(body)).await;
        assert!(s.is_success(), "{path}: {e}");
    }
    (api, admin)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A generic hook to integration `pbx`, signed now with [`SECRET`].
pub(super) async fn hook(api: &Api, body: Value) -> (StatusCode, Value) {
    signed(api, body, now_secs(), SECRET).await
}

async fn signed(api: &Api, body: Value, ts: i64, secret: &str) -> (StatusCode, Value) {
    let body = body.to_string();
    let signature = sign(secret, ts, body.as_bytes());
    let ts = ts.to_string();
    api.raw(
        Method::POST,
        "/api/v1/hooks/pbx",
        None,
        Some(body),
        &[(TIMESTAMP_HEADER, &ts), (SIGNATURE_HEADER, &signature)],
    )
    .await
}

async fn waiting(api: &Api, admin: &str) -> u64 {
    let (_, snap) = api
        .call(
            Method::GET,
            "/api/v1/queues/sales/snapshot",
            Some(admin),
            None,
        )
        .await;
    snap["waiting"].as_u64().unwrap()
}

#[tokio::test]
async fn a_signed_call_enters_the_queue_once() {
    let (api, admin) = center().await;
    let arrival = json!({"event_id": "e1", "type": "call.arrived", "call_id": "1545241916.41", "queue": "sales", "caller": "+33123456789", "tier": "gold"});
    let (s, first) = hook(&api, arrival.clone()).await;
    assert_eq!(
        (s, first["status"].as_str(), first["position"].as_u64()),
        (StatusCode::OK, Some("ok"), Some(1)),
        "{first}"
    );
    // The same delivery again: the same answer, nothing new.
    let (s, again) = hook(&api, arrival).await;
    assert_eq!((s, &again), (StatusCode::OK, &first));
    // A new delivery (new event id) for the same call: still one contact.
    let (s, third) = hook(&api, json!({"event_id": "e2", "type": "call.arrived", "call_id": "1545241916.41", "queue": "sales"})).await;
    assert_eq!(
        (s, &third["contact_id"]),
        (StatusCode::OK, &first["contact_id"])
    );
    assert_eq!(waiting(&api, &admin).await, 1);
    // The caller hangs up while waiting: abandoned.
    let (s, ended) = hook(&api, json!({"event_id": "e3", "type": "call.ended", "call_id": "1545241916.41", "cause": "cancel"})).await;
    assert_eq!(
        (s, ended["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{ended}"
    );
    assert_eq!(waiting(&api, &admin).await, 0);
    // Events late or out of order are answered calmly.
    let (s, held) = hook(
        &api,
        json!({"event_id": "e4", "type": "call.held", "call_id": "1545241916.41"}),
    )
    .await;
    assert_eq!(
        (s, held["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let (s, early) = hook(
        &api,
        json!({"event_id": "e5", "type": "call.ended", "call_id": "early"}),
    )
    .await;
    assert_eq!(
        (s, early["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let (s, late) = hook(
        &api,
        json!({"event_id": "e6", "type": "call.arrived", "call_id": "early", "queue": "sales"}),
    )
    .await;
    assert_eq!(
        (s, late["status"].as_str()),
        (StatusCode::OK, Some("ignored")),
        "a hang-up before the arrival keeps it out"
    );
    assert_eq!(waiting(&api, &admin).await, 0);
}

#[tokio::test]
async fn unsigned_stale_and_malformed_hooks_are_refused() {
    let (api, _) = center().await;
    let body = json!({"event_id": "x", "type": "call.arrived", "call_id": "c", "queue": "sales"});
    let (s, e) = signed(&api, body.clone(), now_secs(), "not-the-secret-at-all").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
    let (s, e) = signed(&api, body.clone(), now_secs() - 301, SECRET).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("stale_request")),
        "a replay after the window"
    );
    let (s, _) = api
        .raw(
            Method::POST,
            "/api/v1/hooks/pbx",
            None,
            Some(body.to_string()),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = api
        .raw(
            Method::POST,
            "/api/v1/hooks/nobody",
            None,
            Some(body.to_string()),
            &[(TIMESTAMP_HEADER, "1"), (SIGNATURE_HEADER, "sha256=00")],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = hook(
        &api,
        json!({"event_id": "y", "type": "call.exploded", "call_id": "c"}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
    );
    let (s, e) = hook(
        &api,
        json!({"event_id": "z", "type": "call.arrived", "call_id": "c", "queue": "nope"}),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_queue"))
    );
    let ts = now_secs();
    let garbage = "{oops";
    let signature = sign(SECRET, ts, garbage.as_bytes());
    let (s, e) = api
        .raw(
            Method::POST,
            "/api/v1/hooks/pbx",
            None,
            Some(garbage.into()),
            &[
                (TIMESTAMP_HEADER, &ts.to_string()),
                (SIGNATURE_HEADER, &signature),
            ],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
}

#[tokio::test]
async fn zammad_cti_works_form_encoded_and_idempotent() {
    let (api, admin) = center().await;
    let form_type = [("content-type", "application/x-www-form-urlencoded")];
    let new_call = "event=newCall&from=%2B4930123&to=sales&direction=in&callId=1545241916.41&user%5B%5D=Zammad";
    let (s, body) = api
        .raw(Method::POST, CTI, None, Some(new_call.into()), &form_type)
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({})));
    let (s, _) = api
        .raw(Method::POST, CTI, None, Some(new_call.into()), &form_type)
        .await;
    assert_eq!(s, StatusCode::OK, "a repeated newCall is calm");
    assert_eq!(waiting(&api, &admin).await, 1, "and queues the call once");
    let (s, _) = api
        .raw(
            Method::POST,
            CTI,
            None,
            Some("event=hangup&callId=unknown.1&cause=cancel&direction=in".into()),
            &form_type,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "a hangup for an unknown call is calm");
    let (s, _) = api
        .raw(
            Method::POST,
            CTI,
            None,
            Some("event=hangup&callId=1545241916.41&cause=cancel&direction=in".into()),
            &form_type,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(waiting(&api, &admin).await, 0);
    let (s, e) = api
        .raw(
            Method::POST,
            CTI,
            None,
            Some("event=newCall&callId=2&direction=sideways&to=sales".into()),
            &form_type,
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("direction"))
    );
    let (s, _) = api
        .raw(
            Method::POST,
            "/api/v1/cti/wrong-token",
            None,
            Some(new_call.into()),
            &form_type,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // JSON works too.
    let (s, body) = api
        .call(
            Method::POST,
            CTI,
            None,
            Some(json!({"event": "newCall", "callId": "3", "to": "sales", "direction": "in"})),
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({})));
}

#[tokio::test]
async fn chats_and_emails_are_created_through_the_api() {
    let (api, admin) = center().await;
    let (s, created) = api.call(Method::POST, "/api/v1/contacts", Some(&admin), Some(json!({"queue": "sales", "channel": "chat", "tier": "platinum", "attributes": {"subject": "order 42"}}))).await;
    assert_eq!(
        (s, created["state"].as_str(), created["position"].as_u64()),
        (StatusCode::CREATED, Some("queued"), Some(1)),
        "{created}"
    );
    let id = created["contact_id"].as_str().unwrap();
    let (s, pos) = api
        .call(
            Method::GET,
            &format!("/api/v1/contacts/{id}/position"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((s, pos["position"].as_u64()), (StatusCode::OK, Some(1)));
    let (s, e) = api
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(&admin),
            Some(json!({"queue": "sales", "channel": "fax"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
    );
}
