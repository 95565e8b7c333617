//! Customer records through the API: numbered on create, found by a phone number in any
//! spelling and an e-mail address in any case, an identity held by one customer only,
//! changes guarded by If-Match, merges, and a table of bad inputs — each a 4xx with its code.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_app::{customers::CountryCode, Secret, Settings as AppSettings};
use switchboard_gateway::Settings;
use switchboard_store::Role;
use switchboard_test_support::center::CHEAP;

use crate::support::Api;

/// The API with national numbers taken as German ones.
async fn api() -> Api {
    Api::with(
        AppSettings {
            password_hashing: CHEAP,
            setup_secret: Some(Secret::new("s3tup-secret-for-tests")),
            default_country_code: Some(CountryCode::parse("49").unwrap()),
            ..AppSettings::default()
        },
        Settings::default(),
    )
    .await
}

async fn create(api: &Api, token: &str, body: Value) -> Value {
    let (status, answer) = api
        .call(Method::POST, "/api/v1/customers", Some(token), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

/// The ids of the customers a search finds.
async fn found(api: &Api, token: &str, query: &str) -> Vec<i64> {
    let (status, page) = api
        .call(
            Method::GET,
            &format!("/api/v1/customers?{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn customers_are_numbered_and_found_by_phone_in_any_spelling_and_email_in_any_case() {
    let api = api().await;
    let supervisor = api.token(Role::Supervisor).await;
    let agent = api.token(Role::Agent).await;
    let ann = create(
        &api,
        &supervisor,
        json!({
            "name": "Ann Smith",
            "tier": "gold",
            "language": "de",
            "notes": "prefers mornings",
            "identities": [
                {"kind": "phone", "value": "0171 234-5678"},
                {"kind": "email", "value": " Ann.Smith@Example.COM"},
                {"kind": "external", "value": "CRM-42"}
            ]
        }),
    )
    .await;
    let id = ann["customer_id"].as_i64().unwrap();
    assert_eq!(ann["number"], format!("C-{id:06}"));
    assert_eq!(
        (&ann["tier"], &ann["language"], &ann["version"]),
        (&json!("gold"), &json!("de"), &json!(1))
    );
    assert_eq!(
        ann["identities"],
        json!([
            {"kind": "phone", "value": "+491712345678"},
            {"kind": "email", "value": "ann.smith@example.com"},
            {"kind": "external", "value": "CRM-42"}
        ])
    );
    let bob = create(&api, &supervisor, json!({"name": "Bob"})).await;
    assert_eq!(bob["tier"], "standard");
    assert_eq!(bob["language"], Value::Null);

    // Agents read (a screen pop needs the record): every spelling finds Ann.
    for phone in [
        "%2B491712345678",
        "%2B49%20(0)171%20234%205678",
        "0049-171-2345678",
        "(0171)%202345678",
        "0171.234.5678",
    ] {
        assert_eq!(
            found(&api, &agent, &format!("phone={phone}")).await,
            vec![id],
            "{phone}"
        );
    }
    for email in [
        "ann.smith@example.com",
        "ANN.SMITH@EXAMPLE.COM",
        "Ann.Smith@example.com",
    ] {
        assert_eq!(
            found(&api, &agent, &format!("email={email}")).await,
            vec![id],
            "{email}"
        );
    }
    assert_eq!(found(&api, &agent, "external=CRM-42").await, vec![id]);
    assert!(
        found(&api, &agent, "external=crm-42").await.is_empty(),
        "external refs keep their case"
    );
    assert!(found(&api, &agent, "phone=0171%20234%205679")
        .await
        .is_empty());
    assert_eq!(found(&api, &agent, "name=ann%20s").await, vec![id]);
    let bob_id = bob["customer_id"].as_i64().unwrap();
    assert_eq!(found(&api, &agent, "").await, vec![id, bob_id]);

    // Pages by id.
    let (_, first) = api
        .call(Method::GET, "/api/v1/customers?limit=1", Some(&agent), None)
        .await;
    assert_eq!(first["next_after"], id);
    assert_eq!(
        found(&api, &agent, &format!("limit=1&after={id}")).await,
        vec![bob_id]
    );
    let (_, last) = api
        .call(
            Method::GET,
            &format!("/api/v1/customers?limit=1&after={id}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(last["next_after"], Value::Null);

    // Get, with the version as ETag; agents may not write.
    let (status, headers, got) = api
        .from(
            None,
            Method::GET,
            &format!("/api/v1/customers/{id}"),
            Some(&agent),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(got, ann);
    let (status, answer) = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&agent),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::FORBIDDEN, &json!("forbidden"))
    );
}

#[tokio::test]
async fn an_identity_belongs_to_one_customer() {
    let api = api().await;
    let admin = api.token(Role::Admin).await;
    let ann = create(
        &api,
        &admin,
        json!({"name": "Ann", "identities": [{"kind": "phone", "value": "+49 171 2345678"}]}),
    )
    .await;
    let ann_id = ann["customer_id"].as_i64().unwrap();
    // The same number in another spelling, on a new customer: refused, nothing created.
    let (status, answer) = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            Some(json!({"name": "Ann 2", "identities": [{"kind": "phone", "value": "0171 2345678"}]})),
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::CONFLICT, &json!("identity_taken")),
        "{answer}"
    );
    assert_eq!(found(&api, &admin, "").await, vec![ann_id]);

    let bob = create(&api, &admin, json!({"name": "Bob"})).await;
    let bob_id = bob["customer_id"].as_i64().unwrap();
    let identities = format!("/api/v1/customers/{bob_id}/identities");
    let (status, answer) = api
        .call(
            Method::POST,
            &identities,
            Some(&admin),
            Some(json!({"kind": "phone", "value": "0049171/2345678"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "'/' is no phone separator: {answer}"
    );
    let (status, answer) = api
        .call(
            Method::POST,
            &identities,
            Some(&admin),
            Some(json!({"kind": "phone", "value": "00491712345678"})),
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::CONFLICT, &json!("identity_taken")),
        "{answer}"
    );
    let (status, answer) = api
        .call(
            Method::POST,
            &identities,
            Some(&admin),
            Some(json!({"kind": "email", "value": "Bob@Example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["identities"],
        json!([{"kind": "email", "value": "bob@example.com"}])
    );
    assert_eq!(answer["version"], 2);

    // Ann lets go of the number (named in yet another spelling), at the version she is at;
    // then Bob may take it.
    let ann_phone =
        format!("/api/v1/customers/{ann_id}/identities?kind=phone&value=0171%20234%2056%2078");
    let (status, answer) = api
        .raw(
            Method::DELETE,
            &ann_phone,
            Some(&admin),
            None,
            &[("if-match", "\"5\"")],
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::PRECONDITION_FAILED, &json!("version_conflict")),
        "{answer}"
    );
    let (status, answer) = api
        .raw(
            Method::DELETE,
            &ann_phone,
            Some(&admin),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (&answer["identities"], &answer["version"]),
        (&json!([]), &json!(2))
    );
    let (status, answer) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/customers/{ann_id}/identities?kind=phone&value=0171%20234%2056%2078"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    let (status, _) = api
        .call(
            Method::POST,
            &identities,
            Some(&admin),
            Some(json!({"kind": "phone", "value": "0171 2345678"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found(&api, &admin, "phone=01712345678").await, vec![bob_id]);
}

#[tokio::test]
async fn changes_are_guarded_by_if_match() {
    let api = api().await;
    let supervisor = api.token(Role::Supervisor).await;
    let ann = create(&api, &supervisor, json!({"name": "Ann", "language": "de"})).await;
    let path = format!("/api/v1/customers/{}", ann["customer_id"]);
    let patch = |body: Value, version: &'static str| {
        let (api, path, token) = (&api, path.clone(), supervisor.clone());
        async move {
            api.raw(
                Method::PATCH,
                &path,
                Some(&token),
                Some(body.to_string()),
                &[("if-match", version)],
            )
            .await
        }
    };
    let (status, v2) = patch(json!({"tier": "platinum", "language": null}), "\"1\"").await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(
        (&v2["tier"], &v2["language"], &v2["version"], &v2["name"]),
        (&json!("platinum"), &Value::Null, &json!(2), &json!("Ann"))
    );
    let (status, stale) = patch(json!({"name": "Ann B"}), "\"1\"").await;
    assert_eq!(
        (status, &stale["code"]),
        (StatusCode::PRECONDITION_FAILED, &json!("version_conflict")),
        "{stale}"
    );
    let (status, bad) = patch(json!({"name": "Ann B"}), "soon").await;
    assert_eq!(
        (status, &bad["code"]),
        (StatusCode::BAD_REQUEST, &json!("bad_if_match"))
    );
    let (_, now) = api.call(Method::GET, &path, Some(&supervisor), None).await;
    assert_eq!(
        (&now["name"], &now["version"]),
        (&json!("Ann"), &json!(2)),
        "refused changes change nothing"
    );
    let (status, v3) = patch(json!({"name": "Ann B"}), "2").await;
    assert_eq!((status, &v3["version"]), (StatusCode::OK, &json!(3)));
}

#[tokio::test]
async fn merging_moves_identities_and_the_duplicate_reads_as_the_survivor() {
    let api = api().await;
    let supervisor = api.token(Role::Supervisor).await;
    let keep = create(
        &api,
        &supervisor,
        json!({"name": "Ann Smith", "identities": [{"kind": "email", "value": "ann@example.com"}]}),
    )
    .await;
    let dup = create(
        &api,
        &supervisor,
        json!({"name": "A. Smith", "identities": [{"kind": "phone", "value": "+44 20 7946 0000"}]}),
    )
    .await;
    let (keep_id, dup_id) = (
        keep["customer_id"].as_i64().unwrap(),
        dup["customer_id"].as_i64().unwrap(),
    );
    let merge = |into: i64, from: Value| {
        let (api, token) = (&api, supervisor.clone());
        async move {
            api.call(
                Method::POST,
                &format!("/api/v1/customers/{into}/merge"),
                Some(&token),
                Some(json!({"from": from})),
            )
            .await
        }
    };
    let (status, survivor) = merge(keep_id, json!(dup_id)).await;
    assert_eq!(status, StatusCode::OK, "{survivor}");
    assert_eq!(survivor["customer_id"], keep_id);
    assert_eq!(
        survivor["identities"],
        json!([{"kind": "phone", "value": "+442079460000"}, {"kind": "email", "value": "ann@example.com"}])
    );
    let (status, read) = api
        .call(
            Method::GET,
            &format!("/api/v1/customers/{dup_id}"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, survivor, "the duplicate answers the survivor");
    assert_eq!(
        found(&api, &supervisor, "phone=00442079460000").await,
        vec![keep_id]
    );
    assert_eq!(
        found(&api, &supervisor, "").await,
        vec![keep_id],
        "merged customers are not listed"
    );

    let (status, again) = merge(keep_id, json!(dup_id)).await;
    assert_eq!(
        (status, &again["code"]),
        (StatusCode::CONFLICT, &json!("merged")),
        "{again}"
    );
    let (status, changed) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/customers/{dup_id}"),
            Some(&supervisor),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(
        (status, &changed["code"]),
        (StatusCode::CONFLICT, &json!("merged")),
        "{changed}"
    );
    let (status, itself) = merge(keep_id, json!(keep_id)).await;
    assert_eq!(
        (status, &itself["details"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("from"))
    );
    let (status, missing) = merge(keep_id, json!(999_999)).await;
    assert_eq!(
        (status, &missing["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
}

/// A request, the status and code it must get, and the field a 422 names.
type Case = (
    Method,
    String,
    Option<Value>,
    u16,
    &'static str,
    Option<&'static str>,
);

/// Bad input: each answer a 4xx with a stable code (and for 422 the field), nothing stored.
#[tokio::test]
async fn bad_input_is_refused_with_its_code() {
    let api = api().await;
    let admin = api.token(Role::Admin).await;
    let ann = create(&api, &admin, json!({"name": "Ann"})).await;
    let ann_path = format!("/api/v1/customers/{}", ann["customer_id"]);
    let identities = format!("{ann_path}/identities");
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "  "})),
            422,
            "invalid",
            Some("name"),
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "x".repeat(201)})),
            422,
            "invalid",
            Some("name"),
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "A", "tier": "iron"})),
            422,
            "invalid",
            None,
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "A", "language": "de_DE"})),
            422,
            "invalid",
            Some("language"),
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "A", "number": "C-1"})),
            422,
            "invalid",
            None,
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(
                json!({"name": "A", "identities": [{"kind": "email", "value": "ok@x.org"}, {"kind": "phone", "value": "call me"}]}),
            ),
            422,
            "invalid",
            Some("identities[1].value"),
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(
                json!({"name": "A", "identities": [{"kind": "email", "value": "not-an-address"}]}),
            ),
            422,
            "invalid",
            Some("identities[0].value"),
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "A", "identities": [{"kind": "fax", "value": "1"}]})),
            422,
            "invalid",
            None,
        ),
        (
            Method::POST,
            "/api/v1/customers".into(),
            Some(json!({"name": "A", "identities": [{"kind": "external", "value": ""}]})),
            422,
            "invalid",
            Some("identities[0].value"),
        ),
        (
            Method::POST,
            identities.clone(),
            Some(json!({"kind": "phone", "value": "+12"})),
            422,
            "invalid",
            Some("value"),
        ),
        (
            Method::POST,
            "/api/v1/customers/999999/identities".into(),
            Some(json!({"kind": "email", "value": "a@x.org"})),
            404,
            "not_found",
            None,
        ),
        (
            Method::PATCH,
            ann_path.clone(),
            Some(json!({"notes": "n".repeat(10_001)})),
            422,
            "invalid",
            Some("notes"),
        ),
        (
            Method::PATCH,
            "/api/v1/customers/999999".into(),
            Some(json!({"name": "B"})),
            404,
            "not_found",
            None,
        ),
        (
            Method::PATCH,
            "/api/v1/customers/abc".into(),
            Some(json!({"name": "B"})),
            400,
            "bad_request",
            None,
        ),
        (
            Method::GET,
            "/api/v1/customers/999999".into(),
            None,
            404,
            "not_found",
            None,
        ),
        (
            Method::GET,
            "/api/v1/customers?limit=0".into(),
            None,
            422,
            "invalid",
            Some("limit"),
        ),
        (
            Method::GET,
            "/api/v1/customers?limit=201".into(),
            None,
            422,
            "invalid",
            Some("limit"),
        ),
        (
            Method::GET,
            "/api/v1/customers?phone=abc".into(),
            None,
            422,
            "invalid",
            Some("phone"),
        ),
        (
            Method::GET,
            "/api/v1/customers?phone=%2B4917112345&email=a@x.org".into(),
            None,
            422,
            "invalid",
            Some("email"),
        ),
        (
            Method::GET,
            "/api/v1/customers?colour=red".into(),
            None,
            400,
            "bad_request",
            None,
        ),
        (
            Method::DELETE,
            identities.clone(),
            None,
            400,
            "bad_request",
            None,
        ),
        (
            Method::DELETE,
            format!("{identities}?kind=email&value=nobody@x.org"),
            None,
            404,
            "not_found",
            None,
        ),
        (
            Method::POST,
            format!("{ann_path}/merge"),
            Some(json!({"from": "two"})),
            422,
            "invalid",
            None,
        ),
    ];
    for (method, path, body, status, code, field) in cases {
        let (got, answer) = api
            .call(method.clone(), &path, Some(&admin), body.clone())
            .await;
        let what = format!("{method} {path} {body:?}: {got} {answer}");
        assert_eq!(got.as_u16(), status, "{what}");
        assert_eq!(answer["code"], code, "{what}");
        if let Some(field) = field {
            assert_eq!(answer["details"]["field"], field, "{what}");
        }
    }
    let (_, listed) = api
        .call(Method::GET, "/api/v1/customers", Some(&admin), None)
        .await;
    assert_eq!(
        listed["customers"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    let (_, now) = api.call(Method::GET, &ann_path, Some(&admin), None).await;
    assert_eq!(now, ann, "nothing changed");
}

/// A national number without a configured country code is refused, with the field.
#[tokio::test]
async fn a_national_number_needs_the_default_country_code() {
    let api = Api::new().await;
    let admin = api.token(Role::Admin).await;
    let (status, answer) = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            Some(
                json!({"name": "Ann", "identities": [{"kind": "phone", "value": "0171 2345678"}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["details"]["field"], "identities[0].value");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("default_country_code"),
        "{answer}"
    );
    let intl = create(
        &api,
        &admin,
        json!({"name": "Ann", "identities": [{"kind": "phone", "value": "+49 171 2345678"}]}),
    )
    .await;
    assert_eq!(intl["identities"][0]["value"], "+491712345678");
}
