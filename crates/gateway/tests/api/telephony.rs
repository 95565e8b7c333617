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
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_event"))
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

/// A generic hook to integration `pbx`, signed now, with these headers besides.
async fn signed_with(api: &Api, body: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let ts = now_secs();
    let signature = sign(SECRET, ts, body.as_bytes());
    let ts = ts.to_string();
    let mut all = vec![
        (TIMESTAMP_HEADER, ts.as_str()),
        (SIGNATURE_HEADER, &signature),
    ];
    all.extend_from_slice(headers);
    api.raw(
        Method::POST,
        "/api/v1/hooks/pbx",
        None,
        Some(body.into()),
        &all,
    )
    .await
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>, Option<&str>) {
    (
        answer.0,
        answer.1["code"].as_str(),
        answer.1["details"]["field"].as_str(),
    )
}

#[tokio::test]
async fn a_signed_hook_must_say_it_is_json() {
    let (api, admin) = center().await;
    let body =
        json!({"event_id": "ct", "type": "call.arrived", "call_id": "ct-1", "queue": "sales"})
            .to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let answer = signed_with(&api, &body, &[("content-type", content_type)]).await;
        assert_eq!(
            code(&answer),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_media_type"),
                None
            ),
            "{content_type}: {answer:?}"
        );
    }
    // The signature still comes first: unsigned is 401 whatever the content type.
    let (s, e) = api
        .raw(
            Method::POST,
            "/api/v1/hooks/pbx",
            None,
            Some(body.clone()),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
    assert_eq!(waiting(&api, &admin).await, 0, "nothing was queued");
    // With a charset it is JSON all the same.
    let (s, ok) = signed_with(
        &api,
        &body,
        &[("content-type", "application/json; charset=utf-8")],
    )
    .await;
    assert_eq!(
        (s, ok["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{ok}"
    );
}

#[tokio::test]
async fn hook_fields_are_bounded_and_printable_and_refusals_store_nothing() {
    let (api, admin) = center().await;
    let arrival = |event_id: &str, extra: Value| {
        let mut v = json!({"event_id": event_id, "type": "call.arrived", "call_id": "b-1", "queue": "sales"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let cases = [
        (arrival("b1", json!({"caller": "+1555\u{0}0100"})), "caller"),
        (arrival("b1", json!({"caller": "5".repeat(33)})), "caller"),
        (
            arrival("b1", json!({"customer_name": "n".repeat(10_000)})),
            "customer_name",
        ),
        (arrival("b1", json!({"customer": "crm\n42"})), "customer"),
        (
            arrival("b1", json!({"language": "en\u{1b}[2J"})),
            "language",
        ),
        (
            arrival("b1", json!({"ivr": {"menu": "1\u{0}"}})),
            "ivr.menu",
        ),
        (arrival("b1\u{0}", json!({})), "event_id"),
        (
            json!({"event_id": "b2", "type": "call.ended", "call_id": "b-1", "cause": "c".repeat(10_000)}),
            "cause",
        ),
        (
            json!({"event_id": "b3", "type": "call.ended", "call_id": "b-1", "cause": "hang\u{0}up"}),
            "cause",
        ),
        (
            json!({"event_id": "b4", "type": "call.callback_requested", "call_id": "b-1", "number": "1".repeat(10_000)}),
            "number",
        ),
    ];
    for (body, field) in cases {
        let answer = hook(&api, body.clone()).await;
        assert_eq!(
            code(&answer),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid"),
                Some(field)
            ),
            "{body:.200}: {answer:?}"
        );
    }
    assert_eq!(waiting(&api, &admin).await, 0, "nothing was queued");
    // The refused deliveries stored no answer: the event id is still free, and its first
    // valid delivery is answered the same when repeated.
    let good = arrival(
        "b1",
        json!({"caller": "+1 555 010 0100", "customer_name": "Zoë Ünal"}),
    );
    let (s, first) = hook(&api, good.clone()).await;
    assert_eq!(
        (s, first["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{first}"
    );
    let (s, again) = hook(&api, good).await;
    assert_eq!((s, &again), (StatusCode::OK, &first));
    assert_eq!(waiting(&api, &admin).await, 1);
}

#[tokio::test]
async fn cti_refuses_unknown_events_media_types_a_missing_direction_and_unbounded_fields() {
    let (api, admin) = center().await;
    let post = |body: String, content_type: Option<&'static str>| {
        let api = &api;
        async move {
            let headers: Vec<(&str, &str)> = content_type
                .map(|c| vec![("content-type", c)])
                .unwrap_or_default();
            api.raw(Method::POST, CTI, None, Some(body), &headers).await
        }
    };
    let form = Some("application/x-www-form-urlencoded");
    let new_call = "event=newCall&from=%2B4930123&to=sales&direction=in&callId=m-1";
    // Neither form nor JSON: 415 (and a wrong token is 401 first).
    for content_type in [Some("text/plain"), Some("multipart/form-data; boundary=x")] {
        let answer = post(new_call.into(), content_type).await;
        assert_eq!(
            code(&answer),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_media_type"),
                None
            ),
            "{content_type:?}: {answer:?}"
        );
    }
    let (s, _) = api
        .raw(
            Method::POST,
            "/api/v1/cti/wrong-token",
            None,
            Some(new_call.into()),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Without a content type the body cannot be read: 415 too.
    let raw = api.raw(Method::POST, CTI, None, None, &[]).await;
    assert_eq!(raw.0, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{raw:?}");
    // An unknown event is not answered 200.
    for body in [
        "event=transfer&callId=m-1&direction=in",
        "event=newcall&callId=m-1&direction=in&to=sales",
    ] {
        let answer = post(body.into(), form).await;
        assert_eq!(
            code(&answer),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("unknown_event"),
                Some("event")
            ),
            "{body}: {answer:?}"
        );
    }
    // newCall must say which way the call goes.
    let answer = post(
        "event=newCall&from=%2B4930123&to=sales&callId=m-2".into(),
        form,
    )
    .await;
    assert_eq!(
        code(&answer),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid"),
            Some("direction")
        ),
        "{answer:?}"
    );
    // Bounded, printable fields.
    let long = "9".repeat(10_000);
    for (body, field) in [
        (
            format!("event=newCall&from={long}&to=sales&direction=in&callId=m-3"),
            "from",
        ),
        (
            "event=newCall&from=%2B4930%00123&to=sales&direction=in&callId=m-3".to_owned(),
            "from",
        ),
        (
            format!("event=hangup&callId=m-3&direction=in&cause={long}"),
            "cause",
        ),
        (
            "event=answer&callId=m-3&direction=in&user=ann%0Aroot".to_owned(),
            "user",
        ),
        (
            format!("event=answer&callId=m-3&direction=in&answeringNumber={long}"),
            "answeringNumber",
        ),
        (
            "event=newCall&to=sales&direction=in&callId=m%003".to_owned(),
            "call_id",
        ),
    ] {
        let answer = post(body.clone(), form).await;
        assert_eq!(
            code(&answer),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid"),
                Some(field)
            ),
            "{body:.100}: {answer:?}"
        );
    }
    assert_eq!(waiting(&api, &admin).await, 0, "nothing was queued");
    // The same call announced twice is still calm, and queued once.
    for _ in 0..2 {
        let (s, body) = post(new_call.into(), form).await;
        assert_eq!((s, body), (StatusCode::OK, json!({})));
    }
    assert_eq!(waiting(&api, &admin).await, 1);
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

#[tokio::test]
async fn a_signature_is_verified_whole_and_its_hex_in_either_case() {
    let (api, _) = center().await;
    let body =
        json!({"event_id": "s1", "type": "call.arrived", "call_id": "s-1", "queue": "sales"})
            .to_string();
    let ts = now_secs();
    let good = sign(SECRET, ts, body.as_bytes());
    let ts = ts.to_string();
    let post = |signature: String| {
        let (api, body, ts) = (&api, body.clone(), ts.clone());
        async move {
            api.raw(
                Method::POST,
                "/api/v1/hooks/pbx",
                None,
                Some(body),
                &[(TIMESTAMP_HEADER, &ts), (SIGNATURE_HEADER, &signature)],
            )
            .await
        }
    };
    let hex = good.strip_prefix("sha256=").unwrap();
    for bad in [
        format!("sha256={}", &hex[..32]),
        format!("sha256={hex}00"),
        format!("sha256={}", &hex[..63]),
        format!("sha256={}zz", &hex[..62]),
        hex.to_owned(),
        "sha256=".to_owned(),
    ] {
        let (s, e) = post(bad.clone()).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_signature")),
            "{bad}"
        );
    }
    let (s, ok) = post(format!("sha256={}", hex.to_uppercase())).await;
    assert_eq!(
        (s, ok["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{ok}"
    );
}
