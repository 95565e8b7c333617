//! API keys and customer records as they cross the wire.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{at, read, round_trip};
use switchboard_domain::Tier;
use switchboard_protocol::{
    api_keys::{ApiKeyCreated, ApiKeyView, NewApiKey, Scope},
    customers::{CustomerPage, CustomerView, Identity, IdentityKind, NewCustomer},
};

#[test]
fn api_keys() {
    let view = ApiKeyView {
        api_key_id: 3,
        name: "pbx-bridge".into(),
        prefix: "sbk_Ab3dE5gH".into(),
        scopes: vec![Scope::ContactsWrite, Scope::LiveRead],
        created_by: None,
        created_at: at(0),
        expires_at: None,
        last_used_at: Some(at(60_000)),
        revoked_at: None,
    };
    let created = ApiKeyCreated {
        key: "sbk_Ab3dE5gH-the-rest-of-the-key".into(),
        api_key: view,
    };
    let json = round_trip(&created);
    // As the gateway serialises it: every nullable field present.
    assert_eq!(json["api_key"]["revoked_at"], json!(null));
    assert_json_snapshot!(json);

    let request: NewApiKey = read(
        &json!({"name": "bi", "scopes": ["reports:read"], "expires_at": "2027-01-01T00:00:00Z"})
            .to_string(),
    )
    .unwrap();
    assert_eq!(request.scopes, [Scope::ReportsRead]);
    assert_eq!(
        request.expires_at.map(|t| t.as_millis()),
        Some(1_798_761_600_000)
    );
    for bad in [
        json!({"name": "bi", "scopes": ["reports:write"]}),
        json!({"name": "bi", "scopes": ["reports:read"], "role": "admin"}),
    ] {
        assert!(read::<NewApiKey>(&bad.to_string()).is_err(), "{bad}");
    }
}

#[test]
fn customers() {
    let ann = CustomerView {
        customer_id: 12,
        number: "C-000012".into(),
        name: "Ann Example".into(),
        tier: Tier::Gold,
        language: None,
        notes: String::new(),
        identities: vec![
            Identity {
                kind: IdentityKind::Phone,
                value: "+4917123456789".into(),
            },
            Identity {
                kind: IdentityKind::Email,
                value: "ann@example.com".into(),
            },
        ],
        version: 2,
        created_at: at(0),
        updated_at: at(5_000),
    };
    let page = round_trip(&CustomerPage {
        customers: vec![ann],
        next_after: None,
    });
    assert_eq!(page["customers"][0]["language"], json!(null));
    assert_json_snapshot!(page);

    let new: NewCustomer = read(&json!({"name": "Bob"}).to_string()).unwrap();
    assert_eq!((new.tier, new.identities.len()), (Tier::default(), 0));
    assert!(read::<NewCustomer>(&json!({"name": "Bob", "number": "C-1"}).to_string()).is_err());
}
