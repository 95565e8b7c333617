//! Background tasks the application owns: each is spawned under a name into a [`Tasks`]
//! group and ended by cancelling the group's token, then awaited — no task is aborted blind
//! or left running past a stop. A server keeps one group per stage and stops them in order
//! (the followers of the event stream before the timers, the timers before the journal).

use std::{future::Future, time::Duration};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// A named group of tasks stopped together.
#[derive(Debug)]
pub struct Tasks {
    name: &'static str,
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            tracker: TaskTracker::new(),
            stop: CancellationToken::new(),
        }
    }

    /// Spawns a task that watches its token and returns once it is cancelled (finishing
    /// what it was in the middle of, if it chooses to).
    pub fn spawn<F>(&self, task: &'static str, run: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let fut = run(self.stop.child_token());
        self.tracker.spawn(async move {
            fut.await;
            tracing::debug!(task, "task ended");
        });
    }

    /// Spawns a task that runs until the group stops; at the stop it is dropped at its next
    /// `.await` (for tasks whose every step may be cut, such as followers of a stream).
    pub fn spawn_until_stopped<F>(&self, task: &'static str, run: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn(task, move |stop| async move {
            stop.run_until_cancelled(run).await;
        });
    }

    /// How many of the group's tasks are still running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// Cancels every task of the group and waits for them to end, at most `grace`. Returns
    /// whether all ended in time (those that did not are logged and left to the runtime's
    /// own shutdown).
    pub async fn stop(self, grace: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return true;
        }
        tracing::warn!(
            group = self.name,
            running = self.tracker.len(),
            "tasks did not stop in time"
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stop_cancels_every_task_and_waits_for_it_to_finish() {
        let tasks = Tasks::new("test");
        let finished = Arc::new(AtomicBool::new(false));
        let seen = finished.clone();
        tasks.spawn("cooperative", move |stop| async move {
            stop.cancelled().await;
            // Work after the signal is waited for.
            tokio::time::sleep(Duration::from_millis(50)).await;
            seen.store(true, Ordering::SeqCst);
        });
        tasks.spawn_until_stopped("follower", std::future::pending());
        assert_eq!(tasks.len(), 2);
        assert!(tasks.stop(Duration::from_secs(1)).await);
        assert!(finished.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ignores_the_stop_is_reported_after_the_grace() {
        let tasks = Tasks::new("test");
        tasks.spawn("stubborn", |_stop| std::future::pending());
        assert!(!tasks.stop(Duration::from_millis(100)).await);
    }
}
