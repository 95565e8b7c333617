//! Passwords: the policy for new ones, Argon2id hashes made and checked off the async
//! threads (they take tens of milliseconds by design).

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use switchboard_domain::ValidationError;

use super::AccountError;

/// Cost of password hashing (Argon2id). Production defaults follow OWASP's minimum
/// (19 MiB, 2 passes); tests turn it down.
#[derive(Clone, Copy, Debug)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

fn argon2(cost: PasswordHashing) -> Result<Argon2<'static>, AccountError> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|e| AccountError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Passwords refused whatever their length: the most common ones of 10+ characters (from
/// the published breach lists' top entries) and this product's own name.
const COMMON: &[&str] = &[
    "1234567890",
    "0123456789",
    "0987654321",
    "1234567891",
    "12345678910",
    "123456789a",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "asdfghjkl;",
    "zxcvbnm,./",
    "abcdefghij",
    "abc1234567",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "p@ssw0rd123",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "changeme123",
    "administrator",
    "adminadmin",
    "admin12345",
    "admin123456",
    "qwerty1234",
    "qwerty12345",
    "qwerty123456",
    "switchboard",
    "switchboard1",
    "switchboard123",
];

/// Checks a new password of `username` against the policy: 10 to 256 characters, not a
/// placeholder copied from an example (`<10+ characters>`, anything wrapped in `<…>`), not
/// one character repeated, not containing the username, not one of the most common
/// passwords.
///
/// # Errors
/// `AccountError::Invalid` naming the `password` field, saying which rule it broke.
pub fn check_password_policy(username: &str, password: &str) -> Result<(), AccountError> {
    let refuse = |why: &str| {
        Err(AccountError::Invalid(ValidationError::new(
            "password",
            why.to_owned(),
        )))
    };
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return refuse("must be 10 to 256 characters");
    }
    let trimmed = password.trim();
    if trimmed.starts_with('<') && trimmed.ends_with('>') {
        return refuse(
            "looks like a placeholder (<…>) copied from an example; choose a real password",
        );
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return refuse("must not be one character repeated");
    }
    let lower = password.to_lowercase();
    let username = username.trim().to_lowercase();
    if username.chars().count() >= 3 && lower.contains(&username) {
        return refuse("must not contain the username");
    }
    if COMMON.contains(&lower.as_str()) {
        return refuse("is one of the most common passwords; choose another");
    }
    Ok(())
}

/// Hashes a password (a PHC string with its own salt and parameters).
///
/// # Errors
/// `AccountError::Internal` when no randomness or no blocking thread is to be had.
pub async fn hash_password(
    password: String,
    cost: PasswordHashing,
) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            AccountError::Internal(format!("hashing a password: {what}: {e}"))
        };
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| internal("salt", &e))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| internal("salt", &e))?;
        Ok(argon2(cost)?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| internal("argon2", &e))?
            .to_string())
    })
    .await
    .map_err(|e| AccountError::Internal(format!("hashing a password: {e}")))?
}

/// Verifies against a stored hash (its own parameters apply). A malformed hash verifies
/// nothing.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: PasswordHashing = PasswordHashing {
        memory_kib: 256,
        iterations: 1,
    };

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery".into(), CHEAP)
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), hash).await);
        assert!(!verify_password("anything".into(), "not a hash".into()).await);
    }

    #[test]
    fn the_policy_wants_10_to_256_characters() {
        assert!(check_password_policy("ann", "short").is_err());
        assert!(check_password_policy("ann", "exactly 10").is_ok());
        assert!(check_password_policy("ann", &"xy".repeat(129)).is_err());
    }

    #[test]
    fn the_policy_refuses_placeholders_repeats_the_username_and_common_passwords() {
        let cases = [
            ("admin", "<10+ characters>", "placeholder"),
            ("admin", " <your password here> ", "placeholder"),
            ("admin", "aaaaaaaaaaaa", "repeated"),
            ("admin", "admin-is-me-2026", "username"),
            ("Ann.Lee", "my name is ann.lee!", "username"),
            ("admin", "Password123", "common"),
            ("admin", "1234567890", "common"),
            ("admin", "Switchboard", "common"),
        ];
        for (username, password, why) in cases {
            let e = check_password_policy(username, password).expect_err(password);
            assert!(
                e.to_string().contains(match why {
                    "placeholder" => "placeholder",
                    "repeated" => "repeated",
                    "username" => "username",
                    _ => "most common",
                }),
                "{password}: {e}"
            );
        }
        // What remains is allowed: brackets inside a password, a short username inside it.
        for ok in [
            "correct horse battery",
            "a<b>c d e f g",
            "x7!kQ#2vLm9",
            "jo is my friend",
        ] {
            assert!(check_password_policy("jo", ok).is_ok(), "{ok}");
        }
    }
}
