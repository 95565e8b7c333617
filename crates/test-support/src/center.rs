//! A small center written straight through the store, as an administrator's configuration
//! and the users' sign-ins would have written it: queues, agents, integrations, users with
//! sessions. Faster than the API (no password hashing per user, no sign-in rate limit), and
//! what the server then reads is exactly what it would have stored itself.

use switchboard_app::accounts::{hash_password, new_token, token_hash, PasswordHashing};
use switchboard_domain::{Agent, AgentId, AgentProfile, Integration, IntegrationKind, Timestamp};
use switchboard_store::{Document, NewUser, Role, Store, User};

use crate::Error;

/// Argon2id turned down as far as it goes: for users whose password a test does type.
pub const CHEAP: PasswordHashing = PasswordHashing {
    memory_kib: 256,
    iterations: 1,
};

/// A session's lifetime when a test does not care: from the epoch to far in the future.
pub const ALWAYS: (Timestamp, Timestamp) = (
    Timestamp::from_millis(0),
    Timestamp::from_millis(i64::MAX / 2),
);

/// Stores `doc` as a new document (version 1), as of `now`.
pub async fn put<D: Document>(store: &Store, doc: &D, now: Timestamp) -> Result<(), Error> {
    store
        .put(doc, Some(0), now)
        .await
        .map(drop)
        .map_err(|e| Error::new(format!("storing {} {}", D::KIND, doc.id()), e))
}

/// An agent with default routing (no skills, default capacity), no extension and no team.
pub fn agent(id: &AgentId, display_name: &str, number: &str) -> Agent {
    Agent {
        profile: AgentProfile::new(id.clone()),
        display_name: display_name.to_owned(),
        number: number.to_owned(),
        extension: None,
        team: None,
    }
}

/// A generic telephony integration whose hooks are signed with `secret`.
pub fn generic_integration(id: &str, secret: &str) -> Integration {
    Integration {
        integration_id: id.to_owned(),
        kind: IntegrationKind::Generic,
        secret: secret.to_owned(),
        callback_url: None,
    }
}

/// A random secret or token, as the server mints them.
pub fn random_token() -> Result<String, Error> {
    new_token().map_err(|e| Error::new("drawing a random token", e.to_string()))
}

/// The stored form of `password` at [`CHEAP`] cost.
pub async fn cheap_password_hash(password: &str) -> Result<String, Error> {
    password_hash(password, CHEAP).await
}

/// The stored form of `password` at `cost`.
pub async fn password_hash(password: &str, cost: PasswordHashing) -> Result<String, Error> {
    hash_password(password.to_owned(), cost)
        .await
        .map_err(|e| Error::new("hashing a password", e.to_string()))
}

/// A user of `role` and a bearer token of theirs.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub token: String,
}

/// Creates `user` and signs them in for [`ALWAYS`].
pub async fn user_signed_in(store: &Store, user: &NewUser) -> Result<SignedIn, Error> {
    user_with_session(store, user, ALWAYS).await
}

/// Creates `user` and stores a session for a fresh random token, valid over
/// `(from, until)` — what a sign-in at `from` would have stored.
pub async fn user_with_session(
    store: &Store,
    user: &NewUser,
    (from, until): (Timestamp, Timestamp),
) -> Result<SignedIn, Error> {
    let user = store
        .create_user(user)
        .await
        .map_err(|e| Error::new(format!("creating user {}", user.username), e))?;
    let token = random_token()?;
    store
        .create_session(&token_hash(&token), user.user_id, from, until)
        .await
        .map_err(|e| Error::new(format!("a session of {}", user.username), e))?;
    Ok(SignedIn { user, token })
}

/// A user without an agent, whose password nobody types (`password_hash` is not a hash).
pub fn staff(username: &str, role: Role) -> NewUser {
    NewUser {
        username: username.to_owned(),
        display_name: username.to_owned(),
        role,
        password_hash: "not used".into(),
        agent_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{database::TestDatabase, time::t0};
    use switchboard_domain::{QueueConfig, QueueId};

    #[tokio::test]
    async fn a_seeded_center_reads_back_and_its_tokens_sign_in() {
        let db = TestDatabase::sqlite();
        let store = db.store().await;
        let queue = QueueConfig::new(QueueId::parse("sales").unwrap());
        put(&store, &queue, t0()).await.unwrap();
        let ann = AgentId::parse("ann").unwrap();
        put(&store, &agent(&ann, "Ann", "1001"), t0())
            .await
            .unwrap();
        put(&store, &generic_integration("pbx", "s3cret"), t0())
            .await
            .unwrap();
        // Putting it again as new is a conflict, reported with what was stored.
        let err = put(&store, &queue, t0()).await.unwrap_err();
        assert!(
            err.to_string().starts_with("storing queue sales: "),
            "{err}"
        );
        assert_eq!(store.list::<QueueConfig>().await.unwrap().len(), 1);
        assert_eq!(store.list::<Agent>().await.unwrap()[0].doc.number, "1001");

        let mut user = staff("ann", Role::Agent);
        user.agent_id = Some(ann.clone());
        user.password_hash = cheap_password_hash("a password").await.unwrap();
        let signed = user_signed_in(&store, &user).await.unwrap();
        let sup = user_signed_in(&store, &staff("sue", Role::Supervisor))
            .await
            .unwrap();
        assert_ne!(signed.token, sup.token);
        let user = store
            .session_user(&token_hash(&signed.token), t0())
            .await
            .unwrap()
            .expect("the token is a live session");
        assert_eq!(user.user_id, signed.user.user_id);
        store.close().await;
    }
}
