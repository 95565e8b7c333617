//! The OpenAPI document derived from the route table and the types: every route is in it with
//! its bodies, query parameters and statuses, and every `$ref` resolves. (That the server
//! answers as documented is checked by schemathesis in `crates/server/tests/openapi_fuzz.rs`.)

use axum::http::Method;
use serde_json::Value;
use switchboard_gateway::{openapi, routes, Access};

fn op<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

fn statuses(op: &Value) -> Vec<String> {
    op["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_route_is_documented_with_its_answers() {
    let doc = openapi();
    for r in routes() {
        let method = r.method.as_str().to_lowercase();
        let op = op(&doc, &method, r.path);
        let codes = statuses(op);
        assert!(
            codes.iter().any(|c| c.starts_with('2') || c == "101"),
            "{method} {}: no success answer: {codes:?}",
            r.path
        );
        for reply in &r.replies {
            let answer = &op["responses"][reply.status.to_string()];
            if !reply.content.is_empty() {
                assert!(
                    answer["content"]
                        .as_object()
                        .is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                    "{method} {} {}: a body without a schema: {answer}",
                    r.path,
                    reply.status
                );
            }
        }
        if !r.body.is_empty() {
            assert!(
                op["requestBody"]["content"].is_object(),
                "{method} {}",
                r.path
            );
            for code in ["400", "413", "415", "422"] {
                assert!(
                    codes.contains(&code.to_owned()),
                    "{method} {}: no {code}",
                    r.path
                );
            }
        }
        if matches!(r.access, Access::Roles(_)) {
            assert!(codes.contains(&"401".into()) && codes.contains(&"403".into()));
            assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
        }
        if r.path.contains('{') {
            assert!(codes.contains(&"404".into()), "{method} {}", r.path);
        }
        for (code, answer) in op["responses"].as_object().unwrap() {
            if code.starts_with('4') || code.starts_with('5') {
                assert_eq!(
                    answer["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {} {code}",
                    r.path
                );
            }
        }
        if r.method == Method::GET && r.query.is_some() {
            assert!(
                op["parameters"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["in"] == "query")),
                "{method} {}: query parameters undeclared",
                r.path
            );
        }
    }
}

#[test]
fn creating_a_contact_is_documented_as_201_with_its_body() {
    let doc = openapi();
    let op = op(&doc, "post", "/api/v1/contacts");
    assert!(op["responses"]["200"].is_null(), "{op}");
    assert_eq!(
        op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ContactCreated"
    );
}

#[test]
fn query_parameters_security_and_limits_are_declared() {
    let doc = openapi();
    let names = |path: &str| -> Vec<String> {
        op(&doc, "get", path)["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let reports = names("/api/v1/reports");
    for name in ["from", "to", "queue", "interval", "format", "sl_formula"] {
        assert!(reports.contains(&name.to_owned()), "{reports:?}");
    }
    assert!(names("/api/v1/events").contains(&"type".to_owned()));
    assert!(names("/api/v1/integrations/{id}/deliveries").contains(&"status".to_owned()));
    for path in ["/api/v1/auth/login", "/api/v1/auth/setup"] {
        assert!(statuses(op(&doc, "post", path)).contains(&"429".into()));
    }
    assert_eq!(
        op(&doc, "post", "/api/v1/hooks/{integration_id}")["security"][0]["hmac"],
        serde_json::json!([])
    );
    // A route that API keys may call offers a session or a key with its scope; one for
    // people only offers a session.
    assert_eq!(
        op(&doc, "get", "/api/v1/reports")["security"],
        serde_json::json!([{"bearer": []}, {"api_key": ["reports:read"]}])
    );
    assert_eq!(
        op(&doc, "put", "/api/v1/queues/{id}")["security"][1]["api_key"],
        serde_json::json!(["configuration:write"])
    );
    assert_eq!(
        op(&doc, "get", "/api/v1/supervisor/ws")["security"][1]["api_key"],
        serde_json::json!(["live:read"])
    );
    assert_eq!(
        op(&doc, "post", "/api/v1/api-keys")["security"],
        serde_json::json!([{"bearer": []}])
    );
    // An event of the log flattens the event, which flattens the union of its kinds: both
    // are written out as one object per kind, which client generators take.
    let schemas = &doc["components"]["schemas"];
    let kinds = schemas["Event"]["oneOf"]
        .as_array()
        .expect("Event is a union")
        .len();
    assert!(kinds > 10, "{kinds}");
    assert_eq!(
        schemas["LoggedEvent"]["oneOf"].as_array().map(Vec::len),
        Some(kinds)
    );
    assert_eq!(schemas["Timestamp"]["oneOf"][1]["format"], "date-time");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert_eq!(schemes["hmac"]["name"], "x-switchboard-signature");
}

#[test]
fn every_reference_resolves() {
    let doc = openapi();
    fn walk(v: &Value, doc: &Value, missing: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let pointer = r.trim_start_matches('#');
                    if doc.pointer(pointer).is_none() {
                        missing.push(r.clone());
                    }
                }
                m.values().for_each(|v| walk(v, doc, missing));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, doc, missing)),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk(&doc, &doc, &mut missing);
    assert!(missing.is_empty(), "unresolved: {missing:?}");
    // The configuration bodies are the domain types' own schemas, not placeholders.
    let queue = &doc["components"]["schemas"]["QueueConfig"];
    assert!(queue["properties"]["offer_timeout"].is_object(), "{queue}");
    assert_eq!(queue["required"], serde_json::json!(["id"]));
}
