//! Limits on failed sign-ins (OWASP's "account lockout" done without handing attackers a
//! lockout button): only **failures** count, and they count per **(account, client
//! address)**, so a stranger guessing at an account from their machine locks out only
//! themselves, and a whole floor signing in behind one NAT address is never slowed by its
//! own successes.
//!
//! - Per (account, client): the [`LimitPolicy::lockout_after`]-th failure locks that pair
//!   out for [`LimitPolicy::base_lockout`]; each further one doubles it, capped at
//!   [`LimitPolicy::max_lockout`]. Failures are forgotten after
//!   [`LimitPolicy::forget_after`] without one; a success forgets them at once.
//! - Per client address, over every account: at most
//!   [`LimitPolicy::client_failures_per_minute`] failures in a fixed minute, then that
//!   address waits for the minute to end (one machine spraying many accounts).
//!
//! Pure logic: every call takes `now`; the caller checks before verifying a password (so a
//! locked-out pair stays slow — no hash is computed for it) and records the outcome after.
//! State is in memory, per instance.

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Duration};

use switchboard_domain::Timestamp;

/// How failed sign-ins are limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitPolicy {
    /// The failure of one (account, client) pair that locks it out first (the ones before
    /// cost nothing).
    pub lockout_after: u32,
    /// The first lockout; each further failure doubles it.
    pub base_lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// A pair's failures are forgotten after this long without a new one.
    pub forget_after: Duration,
    /// Failures per client address per minute, over all accounts.
    pub client_failures_per_minute: u32,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        Self {
            lockout_after: 5,
            base_lockout: Duration::from_secs(2),
            max_lockout: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(15 * 60),
            client_failures_per_minute: 30,
        }
    }
}

/// Who tries: the account (a username as typed, normalised) and where from (`None` when
/// the client's address is unknown: such attempts share one key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PairKey {
    account: String,
    client: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug)]
struct Pair {
    failures: u32,
    last_failure: Timestamp,
    locked_until: Timestamp,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Timestamp,
    failures: u32,
}

#[derive(Debug, Default)]
struct State {
    pairs: HashMap<PairKey, Pair>,
    clients: HashMap<Option<IpAddr>, Window>,
}

/// The failed sign-in limits (see the module's documentation).
#[derive(Debug)]
pub struct LoginLimiter {
    policy: LimitPolicy,
    state: Mutex<State>,
}

/// Entries kept before stale ones are swept.
const SWEEP_ABOVE: usize = 100_000;
const MINUTE: Duration = Duration::from_secs(60);

impl LoginLimiter {
    pub fn new(policy: LimitPolicy) -> Self {
        Self {
            policy: LimitPolicy {
                lockout_after: policy.lockout_after.max(1),
                client_failures_per_minute: policy.client_failures_per_minute.max(1),
                max_lockout: policy.max_lockout.max(policy.base_lockout),
                ..policy
            },
            state: Mutex::new(State::default()),
        }
    }

    pub fn policy(&self) -> &LimitPolicy {
        &self.policy
    }

    /// May `account` try from `client` at `now`? `Err(retry_after)` while the pair is locked
    /// out or the client has failed too often this minute. Counts nothing.
    pub fn check(
        &self,
        account: &str,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), Duration> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        if let Some(pair) = state.pairs.get(&key(account, client)) {
            wait = wait.max(pair.locked_until.since(now));
        }
        if let Some(w) = state.clients.get(&client) {
            if now.since(w.start) < MINUTE && w.failures >= self.policy.client_failures_per_minute {
                wait = wait.max(MINUTE.saturating_sub(now.since(w.start)));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_millis(1)))
        }
    }

    /// Records a failed sign-in; returns how long the pair is now locked out (zero while it
    /// has failures to spare).
    pub fn failed(&self, account: &str, client: Option<IpAddr>, now: Timestamp) -> Duration {
        let policy = self.policy;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.pairs.len() + state.clients.len() > SWEEP_ABOVE {
            state.pairs.retain(|_, p| {
                now.since(p.last_failure) < policy.forget_after || p.locked_until > now
            });
            state.clients.retain(|_, w| now.since(w.start) < MINUTE);
        }
        let window = state.clients.entry(client).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now.since(window.start) >= MINUTE {
            *window = Window {
                start: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
        let pair = state.pairs.entry(key(account, client)).or_insert(Pair {
            failures: 0,
            last_failure: now,
            locked_until: now,
        });
        if now.since(pair.last_failure) >= policy.forget_after && pair.locked_until <= now {
            pair.failures = 0;
        }
        pair.failures = pair.failures.saturating_add(1);
        pair.last_failure = now;
        let lockout = lockout(&policy, pair.failures);
        pair.locked_until = now.plus(lockout);
        lockout
    }

    /// Records a successful sign-in: the pair's failures are forgotten. (Successes never
    /// count against anyone.)
    pub fn succeeded(&self, account: &str, client: Option<IpAddr>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.pairs.remove(&key(account, client));
    }
}

fn key(account: &str, client: Option<IpAddr>) -> PairKey {
    PairKey {
        account: account.to_owned(),
        client,
    }
}

/// The lockout after the `failures`-th failure: none before `lockout_after`, then
/// `base_lockout` doubled per failure beyond, capped.
fn lockout(policy: &LimitPolicy, failures: u32) -> Duration {
    if failures < policy.lockout_after {
        return Duration::ZERO;
    }
    let doublings = (failures - policy.lockout_after).min(31);
    policy
        .base_lockout
        .saturating_mul(1u32 << doublings)
        .min(policy.max_lockout)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;

    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)));

    fn policy() -> LimitPolicy {
        LimitPolicy {
            lockout_after: 3,
            base_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(60),
            forget_after: Duration::from_secs(600),
            client_failures_per_minute: 1000,
        }
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_millis(1_000_000 + secs as i64 * 1000)
    }

    #[test]
    fn lockouts_start_after_the_lockout_after_and_double_up_to_the_cap() {
        let l = LoginLimiter::new(policy());
        let mut t = 0;
        for _ in 0..2 {
            assert!(l.check("ann", A, at(t)).is_ok());
            assert_eq!(l.failed("ann", A, at(t)), Duration::ZERO);
        }
        let mut seen = vec![];
        for _ in 0..9 {
            let lock = l.failed("ann", A, at(t));
            assert_eq!(l.check("ann", A, at(t)), Err(lock));
            seen.push(lock.as_secs());
            t += lock.as_secs();
            assert!(l.check("ann", A, at(t)).is_ok(), "free again when it ends");
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_locked_out_client_does_not_lock_out_another_client_or_account() {
        let l = LoginLimiter::new(policy());
        for _ in 0..50 {
            l.failed("ann", A, at(0));
        }
        assert!(l.check("ann", A, at(0)).is_err());
        assert!(l.check("ann", B, at(0)).is_ok());
        assert!(l.check("bob", A, at(0)).is_ok());
    }

    #[test]
    fn successes_never_count_and_forget_the_pairs_failures() {
        let l = LoginLimiter::new(LimitPolicy {
            client_failures_per_minute: 2,
            ..policy()
        });
        // Successes are not recorded as anything but a reset.
        for _ in 0..1000 {
            assert!(l.check("ann", A, at(0)).is_ok());
            l.succeeded("ann", A);
        }
        l.failed("ann", A, at(0));
        l.succeeded("ann", A);
        l.failed("bob", B, at(0));
        l.failed("bob", B, at(0));
        // B has spent its failures this minute, on any account; A has one left.
        assert!(l.check("carl", B, at(1)).is_err());
        assert!(l.check("carl", A, at(1)).is_ok());
        assert!(l.check("carl", B, at(60)).is_ok(), "a new minute");
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_while() {
        let l = LoginLimiter::new(policy());
        for _ in 0..3 {
            l.failed("ann", A, at(0));
        }
        assert!(l.check("ann", A, at(0)).is_err());
        assert_eq!(l.failed("ann", A, at(700)), Duration::ZERO, "starts over");
    }

    proptest! {
        /// Whatever the sequence of failures and successes from other clients or for other
        /// accounts, the real user's pair (ann, B) is never refused, and a pair's lockout
        /// never exceeds the cap.
        #[test]
        fn nothing_others_do_locks_a_pair_out(
            steps in proptest::collection::vec((0u8..4, any::<bool>(), 0u64..30), 0..200)
        ) {
            let l = LoginLimiter::new(policy());
            let mut t = 0;
            for (who, ok, dt) in steps {
                t += dt;
                let (account, client) = match who {
                    0 => ("ann", A),
                    1 => ("bob", B),
                    2 => ("bob", A),
                    _ => ("carl", None),
                };
                if ok {
                    l.succeeded(account, client);
                } else {
                    let lock = l.failed(account, client, at(t));
                    prop_assert!(lock <= Duration::from_secs(60));
                }
                prop_assert!(l.check("ann", B, at(t)).is_ok());
            }
        }
    }
}
