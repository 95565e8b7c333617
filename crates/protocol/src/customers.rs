//! Customer records: `/api/v1/customers` — a customer to create, the changes to one, an
//! identity (phone, e-mail, external reference) to add or remove, a merge, the query of a
//! list or a search, and the customer as shown.
//!
//! Identities are sent as people write them (`0171 234-5678`, `Ann@Example.com`) and shown
//! as stored: phone numbers in E.164 (`+4917123456789`), e-mail addresses lowercased,
//! external references as given.

use serde::{Deserialize, Serialize};
use switchboard_domain::{Tier, Timestamp};

use crate::users::present;

/// What an identity is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// A phone number, stored in E.164.
    Phone,
    /// An e-mail address, stored lowercased.
    Email,
    /// A reference in another system (CRM id, account number), stored as given.
    External,
}

/// One identity of a customer. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kind: IdentityKind,
    /// As written when sent; normalised when shown.
    pub value: String,
}

/// `POST /api/v1/customers`: a customer to create. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// 1 to 200 characters.
    pub name: String,
    /// `standard` when absent.
    #[serde(default)]
    pub tier: Tier,
    /// A language tag such as `de` or `en-GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Up to 10,000 characters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Up to 20; each must be held by no other customer (409 `identity_taken`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<Identity>,
}

/// `PATCH /api/v1/customers/{customer_id}`: the fields to change; absent fields stay, and
/// `language: null` clears the language. Unknown fields are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub language: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// `POST /api/v1/customers/{customer_id}/merge`: the duplicate to merge into this customer.
/// Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The duplicate's `customer_id`: its identities move here, and reading it answers this
    /// customer from then on.
    pub from: i64,
}

/// A customer as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerView {
    pub customer_id: i64,
    /// `C-` and at least six digits, e.g. `C-000123`.
    pub number: String,
    pub name: String,
    pub tier: Tier,
    #[serde(deserialize_with = "crate::nullable")]
    pub language: Option<String>,
    pub notes: String,
    /// Normalised, sorted by kind (phone, email, external) and value.
    pub identities: Vec<Identity>,
    /// For `If-Match` (also the `ETag` of `GET /api/v1/customers/{customer_id}`).
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The query string of `GET /api/v1/customers`: filters, all optional and combined. Unknown
/// keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct CustomerQuery {
    /// Names starting with this (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The customer with this phone number, in any spelling (normalised first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The customer with this e-mail address (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The customer with this external reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
    /// Only customers after this id (the previous page's `next_after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    /// 1–200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query string of `DELETE /api/v1/customers/{customer_id}/identities`: the identity to
/// remove (its value in any spelling).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct IdentityQuery {
    pub kind: IdentityKind,
    pub value: String,
}

/// A page of customers (live ones, by id): `next_after` is the `after` of the next page,
/// `null` on the last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPage {
    pub customers: Vec<CustomerView>,
    #[serde(deserialize_with = "crate::nullable")]
    pub next_after: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_a_null_language_from_an_absent_one() {
        let clear: CustomerPatch = serde_json::from_str(r#"{"language":null}"#).unwrap();
        assert_eq!(clear.language, Some(None));
        let keep: CustomerPatch = serde_json::from_str(r#"{"name":"Ann"}"#).unwrap();
        assert_eq!(keep.language, None);
        assert!(serde_json::from_str::<CustomerPatch>(r#"{"number":"C-1"}"#).is_err());
    }

    #[test]
    fn a_new_customer_defaults_to_the_standard_tier() {
        let new: NewCustomer = serde_json::from_str(r#"{"name":"Ann"}"#).unwrap();
        assert_eq!((new.tier, new.identities.len()), (Tier::Standard, 0));
        let kind: IdentityKind = serde_json::from_str(r#""email""#).unwrap();
        assert_eq!(kind, IdentityKind::Email);
    }
}
