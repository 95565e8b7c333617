//! The HTTP API's error body: every failed request answers `{code, message, details}`, with a
//! stable, machine-readable `code` and, for some codes, `details` saying which input was wrong
//! or when to try again.

use serde::{Deserialize, Serialize};

/// The body of every 4xx and 5xx answer of the HTTP API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable and machine-readable: `invalid`, `not_found`, `unauthorized`, `rate_limited`…
    pub code: String,
    /// In words an operator understands; a 5xx never reveals its cause.
    pub message: String,
    /// Absent when the code says it all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ErrorDetails>,
}

/// What an [`ErrorBody`] adds to its code, told apart by its keys.
///
/// Its OpenAPI schema is written out below rather than derived: `{field, problem}` also has
/// the shape of `{field}`, so the shapes are `anyOf`, where a derive says `oneOf`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// `invalid` (422): the offending input, e.g. `agent_id` or `expansion[1].after`, and
    /// what was wrong with it.
    Invalid { field: String, problem: String },
    /// `rate_limited` (429): seconds until another attempt may succeed (at least 1).
    RetryAfter { retry_after_secs: u64 },
    /// The staffing calculators' `invalid` (422): the input out of range; `null` for
    /// `no_staffing_solution` (409), where no single input is at fault.
    Field {
        #[serde(deserialize_with = "crate::nullable")]
        field: Option<String>,
    },
}

#[cfg(feature = "openapi")]
mod schema {
    use utoipa::{
        openapi::{
            schema::{AnyOfBuilder, ObjectBuilder, Type},
            RefOr, Schema,
        },
        PartialSchema, ToSchema,
    };

    use super::ErrorDetails;

    impl PartialSchema for ErrorDetails {
        fn schema() -> RefOr<Schema> {
            let text = || ObjectBuilder::new().schema_type(Type::String);
            AnyOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .property("field", text())
                        .property("problem", text())
                        .required("field")
                        .required("problem")
                        .description(Some("invalid (422): the offending input and what was wrong with it")),
                )
                .item(
                    ObjectBuilder::new()
                        .property(
                            "retry_after_secs",
                            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)),
                        )
                        .required("retry_after_secs")
                        .description(Some("rate_limited (429): seconds until another attempt may succeed")),
                )
                .item(
                    ObjectBuilder::new()
                        .property(
                            "field",
                            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])),
                        )
                        .required("field")
                        .description(Some("the staffing calculators: the input out of range, null when none is at fault")),
                )
                .description(Some("What the error adds to its code, told apart by its keys"))
                .into()
        }
    }

    impl ToSchema for ErrorDetails {}
}
