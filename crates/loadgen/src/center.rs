//! The center a run needs, written straight into the database before the server starts:
//! one queue, N agents each with a user and a session token, a supervisor with a session
//! token (for `POST /api/v1/contacts`), and a signed-hook integration.
//! Signing in thousands of users through the API would hash thousands of passwords and hit
//! the sign-in rate limit, so all users share one precomputed hash and get their session
//! rows directly; the server sees exactly what a sign-in would have stored.

use std::time::Duration;

use anyhow::Context;
use futures_util::{stream, StreamExt, TryStreamExt};
use switchboard_app::accounts::PasswordHashing;
use switchboard_domain::{AgentId, QueueConfig, QueueId, Timestamp};
use switchboard_store::{NewUser, Role, Store};
use switchboard_test_support::center;

/// The queue every call of a run goes to.
pub const QUEUE: &str = "load";
/// The telephony integration the hooks are signed for.
pub const INTEGRATION: &str = "loadgen-pbx";

/// What the load needs to know about the center it prepared.
#[derive(Debug, Clone)]
pub struct Center {
    /// One session token per agent, in agent order.
    pub tokens: Vec<String>,
    /// The session token of a supervisor, who may create contacts over REST.
    pub supervisor_token: String,
    pub integration: String,
    pub secret: String,
}

/// How many database writes run at once while preparing (PostgreSQL gains from a few; SQLite
/// serialises them anyway).
const PREPARE_CONCURRENCY: usize = 8;

/// Creates the queue (wrap-up `wrap_up`), `agents` agents with users and sessions, a
/// supervisor with a session, and the integration, in an empty database that `store` has migrated.
pub async fn prepare(store: &Store, agents: usize, wrap_up: Duration) -> anyhow::Result<Center> {
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64,
    );
    let mut queue = QueueConfig::new(QueueId::parse(QUEUE)?);
    queue.wrap_up = wrap_up;
    center::put(store, &queue, now).await?;
    let secret = center::random_token()?;
    center::put(
        store,
        &center::generic_integration(INTEGRATION, &secret),
        now,
    )
    .await?;
    // One hash for everyone: nobody signs in with it, it only has to be a valid PHC string.
    let shared_hash =
        center::password_hash(&center::random_token()?, PasswordHashing::default()).await?;
    let expires = Timestamp::from_millis(now.as_millis() + 24 * 3_600_000);
    let tokens: Vec<String> = stream::iter(0..agents)
        .map(|i| {
            let shared_hash = shared_hash.clone();
            async move { add_agent(store, i, &shared_hash, now, expires).await }
        })
        .buffered(PREPARE_CONCURRENCY)
        .try_collect()
        .await?;
    let supervisor_token = add_supervisor(store, &shared_hash, now, expires).await?;
    Ok(Center {
        tokens,
        supervisor_token,
        integration: INTEGRATION.into(),
        secret,
    })
}

fn agent_name(i: usize) -> String {
    format!("lg{i:05}")
}

async fn add_agent(
    store: &Store,
    i: usize,
    shared_hash: &str,
    now: Timestamp,
    expires: Timestamp,
) -> anyhow::Result<String> {
    let id = AgentId::parse(&agent_name(i))?;
    let display_name = format!("Agent {i}");
    let agent = center::agent(&id, &display_name, &format!("{}", 10_000 + i));
    center::put(store, &agent, now).await?;
    let user = NewUser {
        username: agent_name(i),
        display_name,
        role: Role::Agent,
        password_hash: shared_hash.to_owned(),
        agent_id: Some(id.clone()),
    };
    let signed_in = center::user_with_session(store, &user, (now, expires))
        .await
        .with_context(|| format!("the user of {id}"))?;
    Ok(signed_in.token)
}

async fn add_supervisor(
    store: &Store,
    shared_hash: &str,
    now: Timestamp,
    expires: Timestamp,
) -> anyhow::Result<String> {
    let user = NewUser {
        username: "lgsupervisor".into(),
        display_name: "Load supervisor".into(),
        role: Role::Supervisor,
        password_hash: shared_hash.to_owned(),
        agent_id: None,
    };
    let signed_in = center::user_with_session(store, &user, (now, expires))
        .await
        .context("the supervisor")?;
    Ok(signed_in.token)
}
