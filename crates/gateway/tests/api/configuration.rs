//! Configuration documents: a queue reaching the running dispatcher at once, references
//! checked, versions and `If-Match`, skills in use, integrations' secrets never shown.

use axum::http::{Method, StatusCode};
use serde_json::json;
use switchboard_store::Role;

use crate::support::Api;

#[tokio::test]
async fn configuration_reaches_the_running_dispatcher() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let supervisor = api.token(Role::Supervisor).await;
    // A queue needing an unknown skill is refused with the field named.
    let queue = json!({"id": "support", "required_skills": [{"skill": "tech", "min_level": 5}]});
    let (s, e) = api
        .call(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.clone()),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("required_skills[0].skill")
        ),
        "{e}"
    );
    let (s, _) = api
        .call(
            Method::PUT,
            "/api/v1/skills/tech",
            Some(&admin),
            Some(json!({"name": "tech"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, q) = api
        .call(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.clone()),
        )
        .await;
    assert_eq!(
        (s, q["version"].as_i64()),
        (StatusCode::CREATED, Some(1)),
        "{q}"
    );
    assert_eq!(q["offer_timeout"], 15.0, "defaults filled in");
    // The running dispatcher knows it at once.
    let (s, snap) = api
        .call(
            Method::GET,
            "/api/v1/queues/support/snapshot",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(
        (s, snap["waiting"].as_u64()),
        (StatusCode::OK, Some(0)),
        "{snap}"
    );
    // Optimistic concurrency: a stale If-Match is refused.
    let (s, _) = api
        .raw(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.to_string()),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = api
        .raw(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.to_string()),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("version_conflict"))
    );
    let (s, e) = api
        .raw(
            Method::PUT,
            "/api/v1/queues/support",
            Some(&admin),
            Some(queue.to_string()),
            &[("if-match", "soon")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_if_match"))
    );
    // The skill is in use now.
    let (s, e) = api
        .call(Method::DELETE, "/api/v1/skills/tech", Some(&admin), None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    // Path and body must name the same record.
    let (s, e) = api
        .call(
            Method::PUT,
            "/api/v1/queues/other",
            Some(&admin),
            Some(queue),
        )
        .await;
    assert_eq!(
        (s, e["details"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
    );
    // Integrations never show their secret.
    let integration =
        json!({"integration_id": "pbx", "kind": "generic", "secret": "0123456789abcdef0123"});
    let (s, shown) = api
        .call(
            Method::PUT,
            "/api/v1/integrations/pbx",
            Some(&admin),
            Some(integration),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(shown["secret"], "********");
    // Deleting the queue removes it from the dispatcher too.
    let (s, _) = api
        .call(Method::DELETE, "/api/v1/queues/support", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .call(
            Method::GET,
            "/api/v1/queues/support/snapshot",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
