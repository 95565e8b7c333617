//! Customer records, the help desk's customers: create, read (a merged customer reads as
//! its survivor), list and search (name prefix, an identity in any spelling, pages by id),
//! change with optimistic versions, add and remove identities, merge a duplicate.
//!
//! Identities are normalised here (by [`crate::identity`], pure) before the store sees
//! them, so a phone number matches in any spelling and an e-mail address in any case.
//!
//! Not yet: attaching an arriving contact to its customer (intake still records
//! `attributes.customer` in `contact_customer` for the reports), the timeline, the
//! at-risk flag.

use switchboard_domain::{Tier, ValidationError};
/// The records, as the store keeps them (the edges know no store).
pub use switchboard_store::{Customer, CustomerIdentity, IdentityKind};
use switchboard_store::{CustomerFilter, CustomerUpdate, NewCustomer, StoreError};

pub use crate::identity::CountryCode;
use crate::{identity, App, AppError};

/// Longest name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest notes, in characters.
pub const MAX_NOTES: usize = 10_000;
/// Most identities in one create.
pub const MAX_IDENTITIES: usize = 20;
/// Page size when the caller names none, and the most a page holds.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

/// A customer to create, as the caller sent it (identities not normalised yet).
#[derive(Clone, Debug)]
pub struct CustomerRequest {
    pub name: String,
    pub tier: Tier,
    pub language: Option<String>,
    pub notes: String,
    pub identities: Vec<(IdentityKind, String)>,
}

/// Changes to a customer; `None` leaves a field, `language: Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub tier: Option<Tier>,
    pub language: Option<Option<String>>,
    pub notes: Option<String>,
}

/// Which customers to list; identities as the caller wrote them.
#[derive(Clone, Debug, Default)]
pub struct CustomerSearch {
    pub name_prefix: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub external: Option<String>,
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

/// A page of customers, and the `after` of the next one (`None`: this is the last).
#[derive(Clone, Debug)]
pub struct CustomerPage {
    pub customers: Vec<Customer>,
    pub next_after: Option<i64>,
}

impl App {
    fn identity(
        &self,
        kind: IdentityKind,
        value: &str,
        field: &str,
    ) -> Result<CustomerIdentity, ValidationError> {
        identity::normalise(kind, value, self.default_country_code, field)
    }

    /// Creates a customer, numbered `C-000123`, with its identities.
    ///
    /// # Errors
    /// [`AppError::Invalid`] (a field, `identities[i].value` for an identity),
    /// `identity_taken` (another customer holds one; nothing is created), a store failure.
    pub async fn create_customer(&self, req: CustomerRequest) -> Result<Customer, AppError> {
        let name = check_name(&req.name)?;
        let language = req.language.as_deref().map(check_language).transpose()?;
        check_notes(&req.notes)?;
        if req.identities.len() > MAX_IDENTITIES {
            return Err(ValidationError::new("identities", "at most 20 at once").into());
        }
        let mut identities = Vec::with_capacity(req.identities.len());
        for (i, (kind, value)) in req.identities.iter().enumerate() {
            let identity = self.identity(*kind, value, &format!("identities[{i}].value"))?;
            if !identities.contains(&identity) {
                identities.push(identity);
            }
        }
        let customer = self
            .store
            .create_customer(&NewCustomer {
                name,
                tier: req.tier,
                language,
                notes: req.notes,
                identities,
                created_at: self.now(),
            })
            .await
            .map_err(identity_taken)?;
        tracing::info!(customer = %customer.number, "customer created");
        Ok(customer)
    }

    /// Customer `id`; a merged one answers its survivor (whose id differs).
    ///
    /// # Errors
    /// [`AppError::NotFound`], a store failure.
    pub async fn customer(&self, id: i64) -> Result<Customer, AppError> {
        self.store
            .resolve_customer(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Live customers matching every filter given, by id.
    ///
    /// # Errors
    /// [`AppError::Invalid`] (an identity that cannot be one, a limit out of 1..=200, more
    /// than one identity filter), a store failure.
    pub async fn customers(&self, search: CustomerSearch) -> Result<CustomerPage, AppError> {
        let limit = search.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ValidationError::new("limit", "must be 1 to 200").into());
        }
        let identities = [
            (IdentityKind::Phone, search.phone, "phone"),
            (IdentityKind::Email, search.email, "email"),
            (IdentityKind::External, search.external, "external"),
        ];
        let mut identity = None;
        for (kind, value, field) in identities {
            let Some(value) = value else { continue };
            if identity.is_some() {
                return Err(ValidationError::new(field, "search by one identity at a time").into());
            }
            identity = Some(self.identity(kind, &value, field)?);
        }
        let customers = self
            .store
            .list_customers(&CustomerFilter {
                name_prefix: search.name_prefix.filter(|p| !p.trim().is_empty()),
                identity,
                after: search.after,
                limit: limit + 1,
            })
            .await?;
        Ok(page(customers, limit as usize))
    }

    /// Changes customer `id` (at version `expected`, if given).
    ///
    /// # Errors
    /// [`AppError::Invalid`], [`AppError::NotFound`], [`AppError::VersionConflict`],
    /// `merged` (it was merged into another: change that one), a store failure.
    pub async fn update_customer(
        &self,
        id: i64,
        changes: CustomerChanges,
        expected: Option<i64>,
    ) -> Result<Customer, AppError> {
        let update = CustomerUpdate {
            name: changes.name.as_deref().map(check_name).transpose()?,
            tier: changes.tier,
            language: changes
                .language
                .map(|l| l.as_deref().map(check_language).transpose())
                .transpose()?,
            notes: changes
                .notes
                .map(|n| check_notes(&n).map(|()| n))
                .transpose()?,
        };
        self.live(id).await?;
        self.store
            .update_customer(id, &update, expected, self.now())
            .await
            .map_err(|e| match (e, expected) {
                (StoreError::Conflict(m), Some(_)) => AppError::VersionConflict(m),
                (StoreError::Conflict(m), None) => AppError::refused("merged", m),
                (e, _) => e.into(),
            })
    }

    /// Gives customer `id` an identity (holding it already changes nothing).
    ///
    /// # Errors
    /// [`AppError::Invalid`] (`value`), [`AppError::NotFound`], `merged`, `identity_taken`
    /// (another customer holds it), a store failure.
    pub async fn add_customer_identity(
        &self,
        id: i64,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Customer, AppError> {
        let identity = self.identity(kind, value, "value")?;
        self.live(id).await?;
        self.store
            .add_customer_identity(id, &identity, self.now())
            .await
            .map_err(identity_taken)
    }

    /// Takes an identity (in any spelling) from customer `id` (at version `expected`, if
    /// given).
    ///
    /// # Errors
    /// [`AppError::Invalid`] (`value`), [`AppError::NotFound`] (no such customer, or it
    /// does not hold the identity), [`AppError::VersionConflict`], `merged`, a store failure.
    pub async fn remove_customer_identity(
        &self,
        id: i64,
        kind: IdentityKind,
        value: &str,
        expected: Option<i64>,
    ) -> Result<Customer, AppError> {
        let identity = self.identity(kind, value, "value")?;
        self.live(id).await?;
        let removed = self
            .store
            .remove_customer_identity(id, &identity, expected, self.now())
            .await
            .map_err(|e| match (e, expected) {
                (StoreError::Conflict(m), Some(_)) => AppError::VersionConflict(m),
                (e, _) => merged(e),
            })?;
        if !removed {
            return Err(AppError::not_found(format!(
                "{} identity {:?} of customer {id}",
                identity.kind, identity.value
            )));
        }
        self.customer(id).await
    }

    /// Merges customer `from` (the duplicate) into `into` (the survivor): `from`'s identities
    /// move to `into`, and reading `from` answers `into` from then on. Returns the survivor.
    ///
    /// # Errors
    /// [`AppError::Invalid`] (`from` is `into`), [`AppError::NotFound`] (either), `merged`
    /// (either was merged already), a store failure.
    pub async fn merge_customers(&self, into: i64, from: i64) -> Result<Customer, AppError> {
        if into == from {
            return Err(
                ValidationError::new("from", "must be another customer than this one").into(),
            );
        }
        for id in [into, from] {
            self.live(id).await?;
        }
        let survivor = self
            .store
            .merge_customers(into, from, self.now())
            .await
            .map_err(merged)?;
        tracing::info!(customer = %survivor.number, merged = from, "customers merged");
        Ok(survivor)
    }

    /// Customer `id` as stored, if it is live: [`AppError::NotFound`] or `merged` otherwise.
    async fn live(&self, id: i64) -> Result<Customer, AppError> {
        let customer = self
            .store
            .customer(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        match customer.merged_into {
            Some(survivor) => Err(AppError::refused(
                "merged",
                format!(
                    "customer {} was merged into customer {survivor} ({})",
                    customer.number,
                    switchboard_store::customer_number(survivor)
                ),
            )),
            None => Ok(customer),
        }
    }
}

fn not_found(id: i64) -> AppError {
    AppError::not_found(format!("customer {id}"))
}

fn identity_taken(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::refused("identity_taken", m),
        e => e.into(),
    }
}

fn merged(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::refused("merged", m),
        e => e.into(),
    }
}

/// The first `limit` of `customers` (fetched one more than that), and whether more follow.
fn page(mut customers: Vec<Customer>, limit: usize) -> CustomerPage {
    let more = customers.len() > limit;
    customers.truncate(limit);
    let next_after = if more {
        customers.last().map(|c| c.customer_id)
    } else {
        None
    };
    CustomerPage {
        customers,
        next_after,
    }
}

fn check_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    let n = name.chars().count();
    if (1..=MAX_NAME).contains(&n) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(ValidationError::new(
            "name",
            "must be 1 to 200 characters, without control characters",
        ))
    }
}

/// A language tag: 2 to 35 ASCII letters, digits and `-`, starting with a letter (`de`,
/// `en-GB`, `zh-Hant-TW`).
fn check_language(tag: &str) -> Result<String, ValidationError> {
    let tag = tag.trim();
    let ok = (2..=35).contains(&tag.len())
        && tag.starts_with(|c: char| c.is_ascii_alphabetic())
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(tag.to_owned())
    } else {
        Err(ValidationError::new(
            "language",
            "must be a language tag such as de or en-GB",
        ))
    }
}

fn check_notes(notes: &str) -> Result<(), ValidationError> {
    if notes.chars().count() <= MAX_NOTES {
        Ok(())
    } else {
        Err(ValidationError::new(
            "notes",
            "must be at most 10000 characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use switchboard_domain::Timestamp;

    use super::*;

    fn customer(id: i64) -> Customer {
        Customer {
            customer_id: id,
            number: switchboard_store::customer_number(id),
            name: "Ann".into(),
            tier: Tier::Standard,
            language: None,
            notes: String::new(),
            merged_into: None,
            identities: Vec::new(),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_page_says_where_the_next_starts() {
        let full = page((1..=3).map(customer).collect(), 2);
        assert_eq!(full.customers.len(), 2);
        assert_eq!(full.next_after, Some(2));
        let last = page((1..=2).map(customer).collect(), 2);
        assert_eq!((last.customers.len(), last.next_after), (2, None));
    }

    #[test]
    fn names_languages_and_notes_are_checked() {
        assert_eq!(check_name("  Ann Smith ").unwrap(), "Ann Smith");
        for bad in ["", "   ", "a\u{0}b", &"x".repeat(201)] {
            assert_eq!(check_name(bad).unwrap_err().field, "name", "{bad:?}");
        }
        for good in ["de", "en-GB", "zh-Hant-TW"] {
            assert_eq!(check_language(good).unwrap(), good);
        }
        for bad in ["", "d", "1de", "de_DE", "de GB", &"a".repeat(36)] {
            assert_eq!(
                check_language(bad).unwrap_err().field,
                "language",
                "{bad:?}"
            );
        }
        assert!(check_notes(&"n".repeat(10_000)).is_ok());
        assert_eq!(check_notes(&"n".repeat(10_001)).unwrap_err().field, "notes");
    }
}
