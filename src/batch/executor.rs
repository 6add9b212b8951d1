//! A small pool of low-priority threads for bulk scoring, so batch streams use the CPU that
//! real-time calls leave free instead of competing with them.

use std::sync::mpsc;
use std::sync::Mutex;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads that run bulk jobs at a lower scheduling priority (nice 10 on Linux).
#[derive(Debug)]
pub struct BulkExecutor {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Nice value of bulk threads: the kernel gives a nice-0 thread about ten times the CPU share
/// of a nice-10 one when both want it.
pub const BULK_NICE: i32 = 10;

impl BulkExecutor {
    /// Starts `threads` bulk threads.
    ///
    /// # Panics
    /// A thread cannot be spawned.
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let handles = (0..threads.max(1))
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("bankscore-bulk-{i}"))
                    .spawn(move || {
                        lower_priority();
                        loop {
                            let job = match rx.lock() {
                                Ok(guard) => guard.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => {
                                    // A panicking job must not take its thread with it.
                                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                                        tracing::error!("a bulk job panicked; its caller gets an internal error");
                                    }
                                }
                                Err(_) => return,
                            }
                        }
                    })
                    .expect("spawn a bulk thread")
            })
            .collect();
        Self {
            jobs: Mutex::new(Some(tx)),
            threads: Mutex::new(handles),
        }
    }

    /// Runs `f` on a bulk thread and waits (asynchronously) for its result.
    ///
    /// # Errors
    /// The executor has shut down, or `f` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, BulkError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        {
            let jobs = self.jobs.lock().map_err(|_| BulkError::ShutDown)?;
            let sender = jobs.as_ref().ok_or(BulkError::ShutDown)?;
            sender.send(job).map_err(|_| BulkError::ShutDown)?;
        }
        // The job was queued: a dropped answer means it panicked.
        rx.await.map_err(|_| BulkError::Panicked)
    }
}

impl Drop for BulkExecutor {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}

/// Why a bulk job gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BulkError {
    /// The executor has shut down.
    #[error("the bulk executor has shut down")]
    ShutDown,
    /// The job panicked (a defect; the thread survives).
    #[error("a bulk job panicked")]
    Panicked,
}

fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory-safety preconditions; on Linux, PRIO_PROCESS with
    // who = 0 changes the calling thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, BULK_NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_bulk_threads_and_return_their_results() {
        let pool = BulkExecutor::new(2);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("bankscore-bulk-"));
        let sums = futures_sum(&pool).await;
        assert_eq!(sums, (0..50u64).map(|i| i * 2).sum::<u64>());
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_thread_lives_on() {
        let pool = BulkExecutor::new(1);
        let failed = pool.run(|| -> u32 { panic!("defect") }).await;
        assert_eq!(failed, Err(BulkError::Panicked));
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    async fn futures_sum(pool: &BulkExecutor) -> u64 {
        let mut total = 0;
        for i in 0..50u64 {
            total += pool.run(move || i * 2).await.unwrap();
        }
        total
    }
}
