//! Customer records: one row per customer with its generated number (`C-000123`), name,
//! tier, language, notes and version, and the identities (phone, e-mail, external
//! reference) that find it. Identities are unique across the table and only live customers
//! hold them: merging a duplicate moves its identities to the survivor and marks the
//! duplicate `merged_into`, in one transaction.
//!
//! The store keeps identity values as it is given them: normalising a phone number or an
//! e-mail address is the application's.

use std::{fmt, str::FromStr};

use sqlx::AssertSqlSafe;
use switchboard_domain::{Tier, Timestamp};

use crate::{
    error::on_constraint,
    store::{with_reader, with_writer},
    Store, StoreError,
};

/// What an identity is: a phone number (E.164), an e-mail address, or a reference in
/// another system (a CRM id, an account number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    Phone,
    Email,
    External,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone",
            IdentityKind::Email => "email",
            IdentityKind::External => "external",
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "phone" => Ok(IdentityKind::Phone),
            "email" => Ok(IdentityKind::Email),
            "external" => Ok(IdentityKind::External),
            other => Err(StoreError::Invalid(format!(
                "identity kind must be phone, email or external (got {other:?})"
            ))),
        }
    }
}

/// One identity of a customer, its value already normalised by the caller.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerIdentity {
    pub kind: IdentityKind,
    pub value: String,
}

impl CustomerIdentity {
    pub fn new(kind: IdentityKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }
}

/// A customer to create (version 1), with the identities it starts with.
#[derive(Clone, Debug)]
pub struct NewCustomer {
    pub name: String,
    pub tier: Tier,
    pub language: Option<String>,
    pub notes: String,
    pub identities: Vec<CustomerIdentity>,
    pub created_at: Timestamp,
}

/// A stored customer with its identities (sorted by kind, then value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: i64,
    /// `C-` and the id in at least six digits.
    pub number: String,
    pub name: String,
    pub tier: Tier,
    pub language: Option<String>,
    pub notes: String,
    /// The customer this one was merged into; `None` while it is live.
    pub merged_into: Option<i64>,
    pub identities: Vec<CustomerIdentity>,
    /// 1 on create, +1 on every change (identities and merges included).
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A partial update: `None` leaves a field as it is; `language: Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct CustomerUpdate {
    pub name: Option<String>,
    pub tier: Option<Tier>,
    pub language: Option<Option<String>>,
    pub notes: Option<String>,
}

/// Which live customers to list: all filters optional and combined, by id after `after`.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    /// Names starting with this, compared lowercased.
    pub name_prefix: Option<String>,
    /// The customer holding this identity.
    pub identity: Option<CustomerIdentity>,
    /// Only ids above this (the last id of the previous page).
    pub after: Option<i64>,
    /// At most this many (clamped to 1..=1000).
    pub limit: u32,
}

/// The customer number of id `customer_id`.
pub fn customer_number(customer_id: i64) -> String {
    format!("C-{customer_id:06}")
}

/// The name as prefix search compares it.
fn folded(name: &str) -> String {
    name.to_lowercase()
}

fn tier_word(tier: Tier) -> &'static str {
    tier.as_str()
}

fn tier_of(word: &str) -> Option<Tier> {
    [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Platinum]
        .into_iter()
        .find(|t| t.as_str() == word)
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    customer_id: i64,
    number: Option<String>,
    name: String,
    tier: String,
    language: Option<String>,
    notes: String,
    merged_into: Option<i64>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl CustomerRow {
    fn into_customer(self, identities: Vec<CustomerIdentity>) -> Result<Customer, StoreError> {
        let tier = tier_of(&self.tier).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "customer {}: tier {:?}",
                self.customer_id, self.tier
            ))
        })?;
        Ok(Customer {
            number: self
                .number
                .unwrap_or_else(|| customer_number(self.customer_id)),
            customer_id: self.customer_id,
            name: self.name,
            tier,
            language: self.language,
            notes: self.notes,
            merged_into: self.merged_into,
            identities,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    customer_id: i64,
    kind: String,
    value: String,
}

impl IdentityRow {
    fn identity(self) -> Result<(i64, CustomerIdentity), StoreError> {
        let kind = self.kind.parse().map_err(|_| {
            StoreError::Corrupt(format!(
                "customer {}: identity kind {:?}",
                self.customer_id, self.kind
            ))
        })?;
        Ok((self.customer_id, CustomerIdentity::new(kind, self.value)))
    }
}

/// The columns of [`CustomerRow`], in a literal for `concat!`.
macro_rules! customer_columns {
    () => {
        "customer_id, number, name, tier, language, notes, merged_into, version, created_at, \
         updated_at"
    };
}

/// Escapes `%`, `_` and `\` for a `like … escape '\'` pattern.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl Store {
    /// Creates a customer with its identities, and gives it its number, in one transaction.
    /// [`StoreError::Conflict`] (nothing created) if another customer holds one of the
    /// identities.
    pub async fn create_customer(&self, new: &NewCustomer) -> Result<Customer, StoreError> {
        let at = new.created_at.as_millis();
        let id: i64 = with_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "insert into customer (name, name_folded, tier, language, notes, version, \
                     created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, 1, $6, $6) \
                 returning customer_id",
            )
            .bind(&new.name)
            .bind(folded(&new.name))
            .bind(tier_word(new.tier))
            .bind(new.language.as_deref())
            .bind(&new.notes)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("update customer set number = $2 where customer_id = $1")
                .bind(id)
                .bind(customer_number(id))
                .execute(&mut *tx)
                .await?;
            for identity in &new.identities {
                sqlx::query(
                    "insert into customer_identity (kind, value, customer_id, created_at) \
                     values ($1, $2, $3, $4)",
                )
                .bind(identity.kind.as_str())
                .bind(&identity.value)
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(on_constraint(&taken(identity)))?;
            }
            tx.commit().await?;
            id
        });
        self.customer(id).await?.ok_or(StoreError::NotFound)
    }

    /// One customer as stored: a merged one too (with `merged_into` set, and no identities).
    pub async fn customer(&self, customer_id: i64) -> Result<Option<Customer>, StoreError> {
        let row: Option<CustomerRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                customer_columns!(),
                " from customer where customer_id = $1"
            ))
            .bind(customer_id)
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else { return Ok(None) };
        let mut identities = self.identities_of(&[customer_id]).await?;
        Ok(Some(row.into_customer(
            identities.pop().map(|(_, v)| v).unwrap_or_default(),
        )?))
    }

    /// The live customer `customer_id` stands for: itself, or the survivor it was merged
    /// into.
    pub async fn resolve_customer(&self, customer_id: i64) -> Result<Option<Customer>, StoreError> {
        match self.customer(customer_id).await? {
            Some(Customer {
                merged_into: Some(survivor),
                ..
            }) => self.customer(survivor).await,
            found => Ok(found),
        }
    }

    /// The customer holding `identity` (always a live one), if any.
    pub async fn customer_by_identity(
        &self,
        identity: &CustomerIdentity,
    ) -> Result<Option<Customer>, StoreError> {
        let id: Option<i64> = with_reader!(self, |pool| {
            sqlx::query_scalar(
                "select customer_id from customer_identity where kind = $1 and value = $2",
            )
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .fetch_optional(pool)
            .await?
        });
        match id {
            Some(id) => self.customer(id).await,
            None => Ok(None),
        }
    }

    /// Live customers matching `filter`, by id.
    pub async fn list_customers(
        &self,
        filter: &CustomerFilter,
    ) -> Result<Vec<Customer>, StoreError> {
        let limit = i64::from(filter.limit.clamp(1, 1000));
        let prefix = filter
            .name_prefix
            .as_deref()
            .map(|p| like_prefix(&folded(p)));
        let rows: Vec<CustomerRow> = with_reader!(self, |pool| {
            sqlx::query_as(concat!(
                "select ",
                customer_columns!(),
                " from customer c \
                 where merged_into is null \
                   and customer_id > $1 \
                   and ($2 is null or name_folded like $2 escape '\\') \
                   and ($3 is null or exists (select 1 from customer_identity i \
                       where i.customer_id = c.customer_id and i.kind = $3 and i.value = $4)) \
                 order by customer_id limit $5"
            ))
            .bind(filter.after.unwrap_or(0))
            .bind(prefix.as_deref())
            .bind(filter.identity.as_ref().map(|i| i.kind.as_str()))
            .bind(filter.identity.as_ref().map(|i| i.value.as_str()))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
        let mut identities = self.identities_of(&ids).await?.into_iter().peekable();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mine = match identities.peek() {
                Some((id, _)) if *id == row.customer_id => {
                    identities.next().map(|(_, v)| v).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            out.push(row.into_customer(mine)?);
        }
        Ok(out)
    }

    /// The identities of these customers, grouped by customer id (ascending; customers
    /// without any left out), each group sorted by kind and value.
    async fn identities_of(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, Vec<CustomerIdentity>)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "select customer_id, kind, value from customer_identity \
             where customer_id in ({}) order by customer_id",
            placeholders.join(", ")
        );
        let rows: Vec<IdentityRow> = with_reader!(self, |pool| {
            // Only `$n` placeholders are formatted in; the ids are bound.
            let mut query = sqlx::query_as(AssertSqlSafe(sql.as_str()));
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        let mut grouped: Vec<(i64, Vec<CustomerIdentity>)> = Vec::new();
        for row in rows {
            let (id, identity) = row.identity()?;
            match grouped.last_mut() {
                Some((last, list)) if *last == id => list.push(identity),
                _ => grouped.push((id, vec![identity])),
            }
        }
        for (_, list) in &mut grouped {
            list.sort();
        }
        Ok(grouped)
    }

    /// Applies `update` to a live customer and returns it (version + 1). With
    /// `expected_version`, only if the stored version is that one ([`StoreError::Conflict`]
    /// otherwise, or for a merged customer); [`StoreError::NotFound`] if there is none.
    pub async fn update_customer(
        &self,
        customer_id: i64,
        update: &CustomerUpdate,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Customer, StoreError> {
        let (set_language, language) = match &update.language {
            Some(l) => (true, l.as_deref()),
            None => (false, None),
        };
        let changed = with_writer!(self, |pool| {
            sqlx::query(
                "update customer set \
                     name = coalesce($2, name), \
                     name_folded = coalesce($3, name_folded), \
                     tier = coalesce($4, tier), \
                     language = case when $5 then $6 else language end, \
                     notes = coalesce($7, notes), \
                     version = version + 1, \
                     updated_at = $8 \
                 where customer_id = $1 and merged_into is null \
                   and ($9 is null or version = $9)",
            )
            .bind(customer_id)
            .bind(update.name.as_deref())
            .bind(update.name.as_deref().map(folded))
            .bind(update.tier.map(tier_word))
            .bind(set_language)
            .bind(language)
            .bind(update.notes.as_deref())
            .bind(now.as_millis())
            .bind(expected_version)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let current = self
            .customer(customer_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(refusal(&current, expected_version));
        }
        Ok(current)
    }

    /// Gives live customer `customer_id` the identity (version + 1); holding it already
    /// changes nothing. [`StoreError::Conflict`] if another customer holds it, or the
    /// customer was merged; [`StoreError::NotFound`] if there is no such customer.
    pub async fn add_customer_identity(
        &self,
        customer_id: i64,
        identity: &CustomerIdentity,
        now: Timestamp,
    ) -> Result<Customer, StoreError> {
        let outcome: Result<(), StoreError> = with_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            let live = sqlx::query(
                "update customer set version = version + 1, updated_at = $2 \
                 where customer_id = $1 and merged_into is null",
            )
            .bind(customer_id)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if live == 0 {
                Err(StoreError::NotFound)
            } else {
                let owner: Option<i64> = sqlx::query_scalar(
                    "select customer_id from customer_identity where kind = $1 and value = $2",
                )
                .bind(identity.kind.as_str())
                .bind(&identity.value)
                .fetch_optional(&mut *tx)
                .await?;
                match owner {
                    // Already there: nothing to change (the version stays).
                    Some(owner) if owner == customer_id => Ok(()),
                    Some(_) => Err(StoreError::Conflict(taken(identity))),
                    None => {
                        sqlx::query(
                            "insert into customer_identity (kind, value, customer_id, \
                                 created_at) \
                             values ($1, $2, $3, $4)",
                        )
                        .bind(identity.kind.as_str())
                        .bind(&identity.value)
                        .bind(customer_id)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(on_constraint(&taken(identity)))?;
                        tx.commit().await?;
                        Ok(())
                    }
                }
            }
        });
        let current = self.customer(customer_id).await?;
        match (outcome, current) {
            (_, None) => Err(StoreError::NotFound),
            (Err(StoreError::NotFound), Some(c)) => Err(refusal(&c, None)),
            (Err(e), _) => Err(e),
            (Ok(()), Some(c)) => Ok(c),
        }
    }

    /// Takes the identity from live customer `customer_id` (version + 1), at version
    /// `expected_version` if given. `false` if the customer does not hold it (nothing
    /// changes); [`StoreError::NotFound`] if there is no such customer,
    /// [`StoreError::Conflict`] if it was merged or is at another version.
    pub async fn remove_customer_identity(
        &self,
        customer_id: i64,
        identity: &CustomerIdentity,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let outcome: Result<u64, StoreError> = with_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            // Locks the row, and checks it is live and at the version named.
            let live = sqlx::query(
                "update customer set version = version + 1, updated_at = $2 \
                 where customer_id = $1 and merged_into is null \
                   and ($3 is null or version = $3)",
            )
            .bind(customer_id)
            .bind(now.as_millis())
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if live == 0 {
                Err(StoreError::NotFound)
            } else {
                let removed = sqlx::query(
                    "delete from customer_identity \
                     where customer_id = $1 and kind = $2 and value = $3",
                )
                .bind(customer_id)
                .bind(identity.kind.as_str())
                .bind(&identity.value)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // Not held: the rollback leaves the version as it was.
                if removed > 0 {
                    tx.commit().await?;
                }
                Ok(removed)
            }
        });
        match outcome {
            Ok(removed) => Ok(removed > 0),
            Err(StoreError::NotFound) => {
                let current = self
                    .customer(customer_id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                Err(refusal(&current, expected_version))
            }
            Err(e) => Err(e),
        }
    }

    /// Merges customer `duplicate` into `survivor` in one transaction: the duplicate's
    /// identities move to the survivor, the duplicate (and any customer merged into it
    /// before) gets `merged_into = survivor`, and both versions go up. Returns the survivor.
    /// [`StoreError::NotFound`] if either does not exist, [`StoreError::Conflict`] if either
    /// was merged already; [`StoreError::Invalid`] if they are the same.
    pub async fn merge_customers(
        &self,
        survivor: i64,
        duplicate: i64,
        now: Timestamp,
    ) -> Result<Customer, StoreError> {
        if survivor == duplicate {
            return Err(StoreError::Invalid(
                "a customer cannot be merged into itself".into(),
            ));
        }
        let at = now.as_millis();
        let outcome: Result<(), StoreError> = with_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            // Both must be live; the updates lock both rows until the commit.
            let mut live = 0;
            for id in [survivor, duplicate] {
                live += sqlx::query(
                    "update customer set version = version + 1, updated_at = $2 \
                     where customer_id = $1 and merged_into is null",
                )
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            if live < 2 {
                Err(StoreError::NotFound)
            } else {
                sqlx::query("update customer_identity set customer_id = $1 where customer_id = $2")
                    .bind(survivor)
                    .bind(duplicate)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "update customer set merged_into = $1 \
                     where customer_id = $2 or merged_into = $2",
                )
                .bind(survivor)
                .bind(duplicate)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        });
        match outcome {
            Ok(()) => self.customer(survivor).await?.ok_or(StoreError::NotFound),
            Err(StoreError::NotFound) => {
                for id in [survivor, duplicate] {
                    let c = self.customer(id).await?.ok_or(StoreError::NotFound)?;
                    if c.merged_into.is_some() {
                        return Err(refusal(&c, None));
                    }
                }
                Err(StoreError::Conflict("a customer changed meanwhile".into()))
            }
            Err(e) => Err(e),
        }
    }
}

fn taken(identity: &CustomerIdentity) -> String {
    format!(
        "another customer has the {} identity {:?}",
        identity.kind, identity.value
    )
}

/// Why a write to `current` changed nothing: it was merged, or is at another version.
fn refusal(current: &Customer, expected_version: Option<i64>) -> StoreError {
    match current.merged_into {
        Some(survivor) => StoreError::Conflict(format!(
            "customer {} was merged into {}",
            current.number,
            customer_number(survivor)
        )),
        None => StoreError::Conflict(format!(
            "customer {} is at version {}, not {}",
            current.number,
            current.version,
            expected_version.unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_least_six_digits() {
        assert_eq!(customer_number(123), "C-000123");
        assert_eq!(customer_number(1_234_567), "C-1234567");
    }

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(like_prefix("an"), "an%");
        assert_eq!(like_prefix("50%_a\\"), "50\\%\\_a\\\\%");
    }

    #[test]
    fn tiers_round_trip_through_their_words() {
        for tier in [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Platinum] {
            assert_eq!(tier_of(tier_word(tier)), Some(tier));
        }
        assert_eq!(tier_of("iron"), None);
    }
}
