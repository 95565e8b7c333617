//! A fixed-window limit on sign-in attempts, per key (a username, a client address), so
//! that neither one account nor one machine can guess passwords quickly.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use switchboard_domain::Timestamp;

/// Sign-in attempts per key per minute.
#[derive(Debug)]
pub struct LoginLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Timestamp, u32)>>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for each key; `Err(retry_after)` if any is over the limit.
    pub fn attempt(&self, keys: &[String], now: Timestamp) -> Result<(), Duration> {
        let minute = Duration::from_secs(60);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.since(*start) < minute);
        }
        let mut wait = None;
        for key in keys {
            let entry = windows.entry(key.clone()).or_insert((now, 0));
            if now.since(entry.0) >= minute {
                *entry = (now, 0);
            }
            entry.1 += 1;
            if entry.1 > self.per_minute {
                let left = minute.saturating_sub(now.since(entry.0));
                wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
            }
        }
        wait.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_per_key_and_forgets_after_a_minute() {
        let l = LoginLimiter::new(2);
        let t = Timestamp::from_millis(0);
        let k = vec!["user:ann".to_owned()];
        assert!(l.attempt(&k, t).is_ok());
        assert!(l.attempt(&k, t).is_ok());
        assert!(l.attempt(&k, t).is_err());
        assert!(l.attempt(&["user:bob".to_owned()], t).is_ok());
        assert!(l.attempt(&k, t.plus(Duration::from_secs(60))).is_ok());
    }
}
