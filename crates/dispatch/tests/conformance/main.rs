//! The conformance suite: the same scenarios against every backend.

mod harness;
#[macro_use]
mod scenarios;

use switchboard_dispatch::{MemoryBackend, QueueBackend};

/// How a scenario gets further fresh backends of the kind under test.
pub trait Fresh: QueueBackend + Sized {
    fn fresh(&self) -> impl std::future::Future<Output = Self> + Send;
}

impl Fresh for MemoryBackend {
    async fn fresh(&self) -> Self {
        MemoryBackend::new()
    }
}

mod memory {
    use switchboard_dispatch::MemoryBackend;

    conformance_suite!(MemoryBackend::new());
}
