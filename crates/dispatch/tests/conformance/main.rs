//! The conformance suite: the same scenarios against every backend.

mod harness;
#[macro_use]
mod scenarios;

use switchboard_dispatch::{MemoryBackend, QueueBackend, RedisBackend};

/// How a scenario gets further fresh backends of the kind under test.
pub(crate) trait Fresh: QueueBackend + Sized {
    fn fresh(&self) -> impl std::future::Future<Output = Self> + Send;
}

impl Fresh for MemoryBackend {
    async fn fresh(&self) -> Self {
        MemoryBackend::new()
    }
}

impl Fresh for RedisBackend {
    async fn fresh(&self) -> Self {
        redis_backend().await
    }
}

/// A Redis backend in a namespace of its own, deleted when dropped. Fails (never skips)
/// when Redis is unreachable.
pub(crate) async fn redis_backend() -> RedisBackend {
    let url = switchboard_test_support::redis::url();
    let namespace = switchboard_test_support::redis::unique_namespace();
    RedisBackend::ephemeral(&url, &namespace)
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} is required for these tests: {e}"))
}

mod memory {
    use switchboard_dispatch::MemoryBackend;

    conformance_suite!(MemoryBackend::new());
}

mod redis {
    conformance_suite!(crate::redis_backend().await);
}
