//! Normalising identities, pure: the one spelling each phone number, e-mail address and
//! external reference is stored and looked up by, so that `0171 234-5678`,
//! `+49 (0)171 2345678` and `0049 171 2345678` find the same customer.
//!
//! - **Phone** → E.164: `+` and 7 to 15 digits, the first not 0. Spaces, `-`, `.`, `(` and
//!   `)` are dropped; a leading `+` or `00` starts an international number (and a `(0)`
//!   after its country code, as in `+49 (0)171 …`, is dropped); any other number is
//!   national: its one leading trunk `0` is dropped and the configured default country
//!   calling code put in front. Without one, a national number is refused.
//! - **E-mail** → trimmed and lowercased whole. The local part is case-sensitive by the
//!   letter of RFC 5321, but no mail service in use treats it so, and a customer who writes
//!   `Ann@…` once and `ann@…` the next time is one customer: the whole address is compared
//!   case-insensitively. One `@`, a local part and a domain with a dot, no spaces, at most
//!   254 characters.
//! - **External** → trimmed and kept as given (case included): 1 to 128 characters, no
//!   control characters.

use std::fmt;

use switchboard_domain::ValidationError;
use switchboard_store::{CustomerIdentity, IdentityKind};

/// A country calling code (`49`, `1`, `352`): 1 to 3 digits, not starting with 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountryCode(u16);

impl CountryCode {
    /// `"49"` or `"+49"`.
    ///
    /// # Errors
    /// Anything but 1 to 3 digits not starting with 0.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let digits = s.trim().trim_start_matches('+');
        let ok = (1..=3).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        match digits.parse() {
            Ok(n) if ok => Ok(Self(n)),
            _ => Err(ValidationError::new(
                "default_country_code",
                "must be a country calling code: 1 to 3 digits, not starting with 0 (e.g. 49)",
            )),
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Longest external reference.
pub const MAX_EXTERNAL: usize = 128;
/// Longest e-mail address (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL: usize = 254;

/// The identity `value` of `kind` as stored; `field` names it in the error.
///
/// # Errors
/// A value that cannot be one of `kind` (see the module doc).
pub fn normalise(
    kind: IdentityKind,
    value: &str,
    default_country: Option<CountryCode>,
    field: &str,
) -> Result<CustomerIdentity, ValidationError> {
    let value = match kind {
        IdentityKind::Phone => phone(value, default_country, field)?,
        IdentityKind::Email => email(value, field)?,
        IdentityKind::External => external(value, field)?,
    };
    Ok(CustomerIdentity::new(kind, value))
}

/// A phone number in E.164.
///
/// # Errors
/// Not a phone number, or a national one without a default country code.
pub fn phone(
    value: &str,
    default_country: Option<CountryCode>,
    field: &str,
) -> Result<String, ValidationError> {
    let bad = || {
        ValidationError::new(
            field,
            "must be a phone number: + or 00 and the country code, or a national number; \
             digits with spaces, -, ., ( and ) between; 7 to 15 digits in all",
        )
    };
    let trimmed = value.trim();
    let (international, rest) = if let Some(rest) = trimmed.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = trimmed.strip_prefix("00") {
        (true, rest)
    } else {
        (false, trimmed)
    };
    // `+49 (0)171 …`: the trunk 0 some write after the country code.
    let rest = if international {
        rest.replacen("(0)", "", 1)
    } else {
        rest.to_owned()
    };
    let mut digits = String::with_capacity(rest.len());
    for ch in rest.chars() {
        match ch {
            '0'..='9' => digits.push(ch),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    let e164 = if international {
        digits
    } else {
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        if national.is_empty() {
            return Err(bad());
        }
        let country = default_country.ok_or_else(|| {
            ValidationError::new(
                field,
                "is a national number, and no default country code is configured \
                 (default_country_code): write it with + and the country code",
            )
        })?;
        format!("{country}{national}")
    };
    if !(7..=15).contains(&e164.len()) || e164.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("+{e164}"))
}

/// An e-mail address, lowercased.
///
/// # Errors
/// Not an address (see the module doc).
pub fn email(value: &str, field: &str) -> Result<String, ValidationError> {
    let bad = || {
        ValidationError::new(
            field,
            "must be an e-mail address: one @, a name before it and a domain with a dot after it, no spaces, at most 254 characters",
        )
    };
    let address = value.trim().to_lowercase();
    let Some((local, domain)) = address.split_once('@') else {
        return Err(bad());
    };
    let ok = address.chars().count() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(address)
    } else {
        Err(bad())
    }
}

/// An external reference, trimmed.
///
/// # Errors
/// Empty, longer than [`MAX_EXTERNAL`] characters, or with control characters.
pub fn external(value: &str, field: &str) -> Result<String, ValidationError> {
    let reference = value.trim();
    let n = reference.chars().count();
    if (1..=MAX_EXTERNAL).contains(&n) && !reference.chars().any(char::is_control) {
        Ok(reference.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            "must be 1 to 128 characters, without control characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DE: Option<CountryCode> = Some(CountryCode(49));

    fn check_phone(input: &str, country: Option<CountryCode>, expected: Option<&str>) {
        let got = phone(input, country, "value");
        assert_eq!(got.as_deref().ok(), expected, "{input:?}: {got:?}");
        if let Err(e) = got {
            assert_eq!(e.field, "value");
        }
    }

    #[test]
    fn phones_in_every_spelling_become_e164() {
        for spelling in [
            "+4917123456789",
            "+49 171 23456789",
            "+49 (0)171 234-567-89",
            "0049 171 23456789",
            "0171 23456789",
            "(0171) 234.567.89",
            "  017123456789  ",
            "17123456789",
        ] {
            check_phone(spelling, DE, Some("+4917123456789"));
        }
        check_phone("+1 (415) 555-0100", DE, Some("+14155550100"));
        check_phone("(415) 555-0100", Some(CountryCode(1)), Some("+14155550100"));
    }

    #[test]
    fn what_cannot_be_a_phone_number_is_refused() {
        for bad in [
            "",
            "   ",
            "+",
            "00",
            "0",
            "call me",
            "+49 171 2345 ext 12",
            "+49/171",
            "++49171234567",
            "+0171234567",
            "+123456",
            "+1234567890123456",
            "0049 (0",
        ] {
            check_phone(bad, DE, None);
        }
    }

    #[test]
    fn a_national_number_needs_a_default_country_code() {
        check_phone("0171 23456789", None, None);
        check_phone("+49 171 23456789", None, Some("+4917123456789"));
        check_phone("0049 171 23456789", None, Some("+4917123456789"));
    }

    #[test]
    fn country_codes_are_one_to_three_digits() {
        assert_eq!(CountryCode::parse("49"), Ok(CountryCode(49)));
        assert_eq!(CountryCode::parse("+1"), Ok(CountryCode(1)));
        for bad in ["", "0", "049", "1234", "4a", "+"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lowercased_whole() {
        assert_eq!(
            email("  Ann.Smith@Example.COM ", "email").unwrap(),
            "ann.smith@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "a@b@example.com",
            "ann smith@example.com",
            "ann@.com",
            "ann@example.",
        ] {
            assert!(email(bad, "email").is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(email(&long, "email").is_err());
    }

    #[test]
    fn external_references_are_kept_as_given() {
        assert_eq!(external(" CRM-0042 ", "x").unwrap(), "CRM-0042");
        assert_eq!(external("crm-0042", "x").unwrap(), "crm-0042");
        assert!(external("", "x").is_err());
        assert!(external("a\nb", "x").is_err());
        assert!(external(&"x".repeat(129), "x").is_err());
        assert!(external(&"é".repeat(128), "x").is_ok());
    }

    proptest! {
        /// Whatever goes in, what comes out is E.164, and normalising it again changes
        /// nothing.
        #[test]
        fn phones_come_out_in_e164_and_stay(input in "[+0-9 ().-]{0,24}", code in 1u16..=999) {
            if let Ok(e164) = phone(&input, Some(CountryCode(code)), "value") {
                let digits = &e164[1..];
                prop_assert!(e164.starts_with('+'));
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{}", e164);
                prop_assert!((7..=15).contains(&digits.len()), "{}", e164);
                prop_assert!(!digits.starts_with('0'), "{}", e164);
                prop_assert_eq!(phone(&e164, None, "value"), Ok(e164.clone()));
            }
        }

        /// Separators anywhere between the digits do not change the number (parentheses
        /// aside: `(0)` after the country code is the trunk prefix, dropped).
        #[test]
        fn separators_do_not_matter(digits in "[1-9][0-9]{6,13}", seps in proptest::collection::vec("[ .-]{0,2}", 15)) {
            let mut spelled = String::from("+");
            for (i, d) in digits.chars().enumerate() {
                spelled.push(d);
                spelled.push_str(&seps[i]);
            }
            prop_assert_eq!(phone(&spelled, None, "value"), Ok(format!("+{digits}")));
        }

        /// E-mail addresses that differ only in case are one address, and normalising is
        /// idempotent.
        #[test]
        fn email_case_does_not_matter(local in "[A-Za-z0-9._+]{1,20}", domain in "[A-Za-z0-9]{1,10}\\.[A-Za-z]{2,5}") {
            let address = format!("{local}@{domain}");
            let lower = email(&address, "email").unwrap();
            prop_assert_eq!(email(&address.to_uppercase(), "email").unwrap(), lower.clone());
            prop_assert_eq!(email(&lower, "email").unwrap(), lower.clone());
        }
    }
}
