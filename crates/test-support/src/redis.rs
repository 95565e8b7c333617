//! A Redis key namespace per test. Switchboard writes every key of namespace `N` as
//! `switchboard:{N}:…` (the hash tag keeps a namespace on one cluster slot); a test that
//! owns a namespace deletes those keys when it is done.
//!
//! Redis that cannot be reached fails the test, naming the URL; it never skips it.

use crate::Error;

/// Where the local Redis of a development machine and CI is.
const LOCAL_REDIS: &str = "redis://127.0.0.1:6379";

/// `REDIS_URL`, or the local Redis.
pub fn url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| LOCAL_REDIS.into())
}

/// A namespace nobody else uses (`test-<32 hex digits>`), for a backend that deletes its
/// own keys (an ephemeral `RedisBackend`); otherwise take a [`RedisNamespace`].
pub fn unique_namespace() -> String {
    crate::unique_name("test-")
}

/// The pattern of every key in `namespace`.
fn pattern(namespace: &str) -> String {
    format!("switchboard:{{{namespace}}}:*")
}

/// A namespace of one test's (or one run's) own on a Redis that answered; its keys are
/// deleted when the guard drops, or by [`RedisNamespace::remove`], which reports a failure.
#[derive(Debug)]
pub struct RedisNamespace {
    url: String,
    name: String,
    removed: bool,
}

impl RedisNamespace {
    /// A fresh namespace on [`url`]'s Redis. Panics — the test fails, it is not skipped —
    /// when Redis does not answer.
    pub async fn create() -> RedisNamespace {
        let url = url();
        RedisNamespace::try_create(&url)
            .await
            .unwrap_or_else(|e| panic!("Redis at {url} is required for this test: {e}"))
    }

    /// A fresh namespace on the Redis at `url`, once it answered `PING`.
    pub async fn try_create(url: &str) -> Result<RedisNamespace, Error> {
        let client =
            redis::Client::open(url).map_err(|e| Error::new(format!("reading {url:?}"), e))?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| Error::new(format!("connecting to {url}"), e))?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| Error::new(format!("PING to {url}"), e))?;
        if pong != "PONG" {
            return Err(Error::new(format!("PING to {url}"), format!("{pong:?}")));
        }
        Ok(RedisNamespace {
            url: url.to_owned(),
            name: unique_namespace(),
            removed: false,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The namespace (what `SWITCHBOARD_REDIS_NAMESPACE` or a backend is given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every key in the namespace now.
    pub async fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("a Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("Redis at {} is required for this test: {e}", self.url));
        redis::cmd("KEYS")
            .arg(pattern(&self.name))
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("KEYS on {}: {e}", self.url))
    }

    /// Deletes its keys now, reporting a failure.
    pub async fn remove(mut self) -> Result<(), Error> {
        self.removed = true;
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| Error::new(format!("reading {:?}", self.url), e))?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| Error::new(format!("connecting to {}", self.url), e))?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern(&self.name))
            .query_async(&mut conn)
            .await
            .map_err(|e| Error::new(format!("listing the keys of {}", self.name), e))?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .map_err(|e| Error::new(format!("deleting the keys of {}", self.name), e))?;
        }
        Ok(())
    }
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // The blocking client: this may run inside an async test, or outside any runtime.
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            eprintln!("could not delete the keys of {}: Redis is gone", self.name);
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern(&self.name))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plant(ns: &RedisNamespace, key: &str) {
        let client = redis::Client::open(ns.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = format!("switchboard:{{{}}}:{key}", ns.name());
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("x")
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_namespace_is_fresh_and_its_keys_go_away() {
        let (a, b) = (
            RedisNamespace::create().await,
            RedisNamespace::create().await,
        );
        assert_ne!(a.name(), b.name());
        plant(&a, "one").await;
        plant(&a, "two").await;
        plant(&b, "one").await;
        assert_eq!(a.keys().await.len(), 2);
        let a_again = RedisNamespace {
            url: a.url.clone(),
            name: a.name.clone(),
            removed: true,
        };
        drop(a);
        assert!(a_again.keys().await.is_empty());
        assert_eq!(b.keys().await.len(), 1, "another namespace is left alone");
        let b_again = RedisNamespace {
            url: b.url.clone(),
            name: b.name.clone(),
            removed: true,
        };
        b.remove().await.unwrap();
        assert!(b_again.keys().await.is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_naming_it() {
        let err = RedisNamespace::try_create("redis://127.0.0.1:1")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("connecting to redis://127.0.0.1:1: "),
            "{err}"
        );
    }
}
