//! `POST /api/v1/surveys`: a customer's answer to a post-contact survey question (CSAT or
//! NPS, for the reports).

use serde::{Deserialize, Serialize};
use switchboard_domain::ContactId;

/// A survey answer. Unknown fields are refused; the score's range is checked against the
/// scale by the statistics (`SurveyAnswer::validate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SurveyRequest {
    pub contact_id: ContactId,
    pub scale: SurveyScale,
    pub score: u8,
}

/// The question answered, named as `switchboard_stats::SurveyScale` serialises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SurveyScale {
    /// "How satisfied were you?", 1 to 5.
    Csat5,
    /// "How likely are you to recommend us?", 0 to 10.
    Nps10,
}
