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

/// Checks a new password against the policy.
///
/// # Errors
/// `AccountError::Invalid` naming the `password` field.
pub fn check_password_policy(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return Err(AccountError::Invalid(ValidationError::new(
            "password",
            "must be 10 to 256 characters",
        )));
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
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("exactly 10").is_ok());
        assert!(check_password_policy(&"x".repeat(257)).is_err());
    }
}
