//! A post-contact survey answer.

mod support;

use insta::assert_json_snapshot;
use serde_json::json;
use support::{contact, read, round_trip};
use switchboard_protocol::surveys::{SurveyRequest, SurveyScale};

#[test]
fn requests() {
    let c = contact();
    let requests = [
        SurveyRequest {
            contact_id: c,
            scale: SurveyScale::Csat5,
            score: 4,
        },
        SurveyRequest {
            contact_id: c,
            scale: SurveyScale::Nps10,
            score: 0,
        },
    ]
    .map(|r| round_trip(&r));
    assert_json_snapshot!(requests);
}

#[test]
fn requests_refuse_unknown_fields_and_scales() {
    let c = contact();
    for (text, why) in [
        (
            json!({ "contact_id": c, "scale": "csat5", "score": 4, "comment": "great" }),
            "unknown field `comment`",
        ),
        (
            json!({ "contact_id": c, "scale": "ces7", "score": 4 }),
            "unknown variant `ces7`, expected `csat5` or `nps10`",
        ),
        (
            json!({ "contact_id": c, "scale": "nps10", "score": -1 }),
            "invalid value",
        ),
        (
            json!({ "contact_id": c, "scale": "nps10" }),
            "missing field `score`",
        ),
    ] {
        let error = read::<SurveyRequest>(&text.to_string()).expect_err(&text.to_string());
        assert!(error.contains(why), "{text}: {error}");
    }
}
