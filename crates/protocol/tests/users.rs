//! Sign-in and user administration.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{agent, at, read, round_trip};
use switchboard_protocol::users::{
    LoginRequest, LoginResponse, NewUser, Role, SetupRequest, UserPatch, UserView,
};

fn ann() -> UserView {
    UserView {
        user_id: 7,
        username: "ann".to_owned(),
        display_name: "Ann Agent".to_owned(),
        role: Role::Agent,
        agent_id: Some(agent("ann")),
        disabled: false,
        version: 3,
    }
}

#[test]
fn users_as_shown() {
    let admin = UserView {
        user_id: 1,
        username: "root".to_owned(),
        display_name: "Administrator".to_owned(),
        role: Role::Admin,
        agent_id: None,
        disabled: true,
        version: 1,
    };
    let users = [ann(), admin].map(|u| round_trip(&u));
    // As the gateway's own `UserView` serialised: `agent_id` always present.
    assert_eq!(users[1]["agent_id"], json!(null));
    assert_json_snapshot!(users);
}

#[test]
fn login() {
    let request: LoginRequest =
        read(&json!({ "username": "ann", "password": "correct horse" }).to_string()).unwrap();
    let response = LoginResponse {
        token: "sbt_0123456789abcdef".to_owned(),
        expires_at: at(12 * 3_600_000),
        user: ann(),
    };
    assert_json_snapshot!([round_trip(&request), round_trip(&response)]);
}

#[test]
fn requests_refuse_unknown_fields() {
    let login = json!({ "username": "ann", "password": "x", "remember": true });
    let setup = json!({ "setup_secret": "s", "username": "root", "display_name": "Root", "password": "x", "role": "admin" });
    for error in [
        read::<LoginRequest>(&login.to_string()).unwrap_err(),
        read::<SetupRequest>(&setup.to_string()).unwrap_err(),
    ] {
        assert!(error.contains("unknown field"), "{error}");
    }
}

#[test]
fn setup_and_new_users() {
    let setup: SetupRequest = read(
        &json!({ "setup_secret": "s3cret", "username": "root", "display_name": "Administrator", "password": "long enough pass" })
            .to_string(),
    )
    .unwrap();
    let agent_user: NewUser = read(
        &json!({ "username": "ann", "display_name": "Ann Agent", "role": "agent", "password": "long enough pass", "agent_id": "ann" })
            .to_string(),
    )
    .unwrap();
    let supervisor: NewUser = read(
        &json!({ "username": "sue", "display_name": "Sue", "role": "supervisor", "password": "long enough pass" })
            .to_string(),
    )
    .unwrap();
    assert_eq!(supervisor.agent_id, None);
    let error = read::<NewUser>(
        &json!({ "username": "sue", "display_name": "Sue", "role": "boss", "password": "p" })
            .to_string(),
    )
    .unwrap_err();
    assert!(
        error.contains("unknown variant `boss`, expected one of `agent`, `supervisor`, `admin`"),
        "{error}"
    );
    assert_json_snapshot!([
        round_trip(&setup),
        round_trip(&agent_user),
        round_trip(&supervisor)
    ]);
}

#[test]
fn patches_tell_a_missing_agent_from_a_null_one() {
    let check = |text: serde_json::Value, expected: UserPatch| {
        let patch: UserPatch = read(&text.to_string()).unwrap();
        assert_eq!(patch, expected, "{text}");
        assert_eq!(round_trip(&patch), text);
    };
    check(json!({}), UserPatch::default());
    check(
        json!({ "agent_id": null }),
        UserPatch {
            agent_id: Some(None),
            ..UserPatch::default()
        },
    );
    check(
        json!({ "display_name": "Ann B.", "role": "supervisor", "password": "long enough pass", "agent_id": "ann", "disabled": true }),
        UserPatch {
            display_name: Some("Ann B.".to_owned()),
            role: Some(Role::Supervisor),
            password: Some("long enough pass".to_owned()),
            agent_id: Some(Some(agent("ann"))),
            disabled: Some(true),
        },
    );
    let error = read::<UserPatch>(&json!({ "username": "x" }).to_string()).unwrap_err();
    assert!(error.contains("unknown field `username`"), "{error}");
}
