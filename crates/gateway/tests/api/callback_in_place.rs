//! `POST /api/v1/contacts/{contact_id}/callback`: what it answers and every refusal with its
//! status and stable code; its place in the OpenAPI document.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_dispatch::QueueBackend;
use switchboard_domain::{AgentId, Channel, Command, ContactId, Presence};
use switchboard_store::Role;

use crate::support::Api;

async fn contact(api: &Api, token: &str, channel: &str) -> String {
    let (s, created) = api
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(token),
            Some(json!({"queue": "sales", "channel": channel})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created["contact_id"].as_str().unwrap().to_owned()
}

async fn callback(api: &Api, token: &str, contact: &str, body: Value) -> (StatusCode, Value) {
    api.call(
        Method::POST,
        &format!("/api/v1/contacts/{contact}/callback"),
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_waiting_call_becomes_a_callback_and_everything_else_is_refused() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let supervisor = api.token(Role::Supervisor).await;
    for (path, body) in [
        ("/api/v1/queues/sales", json!({"id": "sales"})),
        (
            "/api/v1/agents/ann",
            json!({"id": "ann", "display_name": "Ann", "number": "1001"}),
        ),
    ] {
        let (s, e) = api.call(Method::PUT, path, Some(&admin), Some(body)).await;
        assert!(s.is_success(), "{path}: {e}");
    }
    let first = contact(&api, &admin, "voice").await;
    let second = contact(&api, &admin, "voice").await;
    let chat = contact(&api, &admin, "chat").await;
    let mail = contact(&api, &admin, "email").await;

    // The second call asks (a supervisor's web form): it keeps its place, behind the first.
    let due = api.state.app.now().as_millis() + 3_600_000;
    let (s, body) = callback(
        &api,
        &supervisor,
        &second,
        json!({"number": " +44 20 7946 0958 ", "due": due}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"contact_id": second, "queue": "sales", "state": "queued", "channel": "callback",
               "number": "+442079460958", "due": due, "position": 2, "estimated_wait": null})
    );
    let id: ContactId = second.parse().unwrap();
    assert_eq!(
        api.dispatcher.contact_channel(id).await.unwrap(),
        Some(Channel::Callback)
    );
    // A waiting chat too ("call me instead"), in its place behind both calls.
    let (s, body) = callback(&api, &admin, &chat, json!({"number": "020 7946 0958"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["channel"].as_str(),
            body["number"].as_str(),
            body["position"].as_u64()
        ),
        (Some("callback"), Some("02079460958"), Some(3)),
        "{body}"
    );
    assert_eq!(body["due"], Value::Null);

    let nobody = "0190f0c4-0000-7000-8000-00000000beef";
    let cases = [
        (
            second.as_str(),
            json!({"number": "+15550100"}),
            StatusCode::CONFLICT,
            "already_callback",
        ),
        (
            mail.as_str(),
            json!({"number": "+15550100"}),
            StatusCode::CONFLICT,
            "wrong_channel",
        ),
        (
            nobody,
            json!({"number": "+15550100"}),
            StatusCode::NOT_FOUND,
            "unknown_contact",
        ),
        (
            first.as_str(),
            json!({"number": "not a number"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            first.as_str(),
            json!({"number": "+15550100", "due": 1_000}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            first.as_str(),
            json!({"number": "+15550100", "due": "soon"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            first.as_str(),
            json!({"number": "+15550100", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            first.as_str(),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "42",
            json!({"number": "+15550100"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (contact, body, status, code) in cases {
        let (s, e) = callback(&api, &admin, contact, body.clone()).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (status, Some(code)),
            "{contact} {body}: {e}"
        );
    }
    let (s, e) = api
        .raw(
            Method::POST,
            &format!("/api/v1/contacts/{first}/callback"),
            Some(&admin),
            Some("{\"number\": ".into()),
            &[],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let (s, e) = callback(&api, &admin, &first, json!({"number": "1"})).await;
    assert_eq!(e["details"]["field"], "number", "{s} {e}");

    // Ann comes: the first call rings at her — not waiting any more; nor once answered.
    api.dispatcher
        .execute(
            Command::SetPresence {
                agent: AgentId::parse("ann").unwrap(),
                presence: Presence::Available,
            },
            api.state.app.now(),
        )
        .await
        .unwrap();
    let (s, e) = callback(&api, &admin, &first, json!({"number": "+15550100"})).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_waiting")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("offered"), "{e}");
}

#[test]
fn the_route_is_documented() {
    let doc = switchboard_gateway::openapi();
    let op = &doc["paths"]["/api/v1/contacts/{contact_id}/callback"]["post"];
    assert_eq!(op["x-roles"], json!(["supervisor", "admin"]));
    assert!(op["responses"]["409"].is_object(), "{op}");
    assert!(op["responses"]["404"].is_object(), "{op}");
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CallbackRequest"
    );
    let schema = &doc["components"]["schemas"]["CallbackRequest"];
    assert_eq!(schema["required"], json!(["number"]));
    let events = doc["components"]["schemas"]["CallEvent"]["oneOf"]
        .as_array()
        .expect("CallEvent is a union of its types")
        .iter()
        .flat_map(|v| {
            v["properties"]["type"]["enum"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect::<Vec<_>>();
    assert!(
        events.contains(&json!("call.callback_requested")),
        "{events:?}"
    );
}
