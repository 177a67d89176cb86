//! A fixed pool of OS threads for the CPU-bound work of requests.
//!
//! Async workers only move bytes; parsing, computing and serialising run
//! here. A fixed set of threads (rather than tokio's growing blocking pool)
//! keeps hand-offs cheap, memory flat under load (no thread churn, a bounded
//! number of allocator arenas) and concurrency at the configured `workers`.
//! A job whose requester has gone (timed out, disconnected) before a thread
//! picks it up is skipped instead of computed for nobody.
//!
//! May import: nothing of the crate.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct Pool {
    tx: Sender<Job>,
    threads: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .finish()
    }
}

/// Why a job produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The job panicked; the text of the panic.
    Panicked(String),
    /// The pool is shutting down.
    Closed,
}

impl Pool {
    pub fn new(threads: usize, name: &str) -> Pool {
        let threads = threads.max(1);
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("spawning a pool thread");
        }
        Pool { tx, threads }
    }

    /// Queues `f` at once and returns a future of its value, so that
    /// waiting never blocks the async worker.
    pub fn run<T, F>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = Result<T, JobError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            if done_tx.is_closed() {
                return;
            }
            let r =
                catch_unwind(AssertUnwindSafe(f)).map_err(|p| JobError::Panicked(panic_text(&*p)));
            let _ = done_tx.send(r);
        });
        let sent = self.tx.send(job).is_ok();
        async move {
            if !sent {
                return Err(JobError::Closed);
            }
            done_rx.await.unwrap_or(Err(JobError::Closed))
        }
    }
}

/// The message of a panic payload.
pub fn panic_text(err: &(dyn std::any::Any + Send)) -> String {
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_panics() {
        let pool = Pool::new(2, "test");
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        let r: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert_eq!(r, Err(JobError::Panicked("boom".to_owned())));
        // both threads still serve
        let (a, b) = tokio::join!(pool.run(|| 1), pool.run(|| 2));
        assert_eq!((a, b), (Ok(1), Ok(2)));
    }

    #[tokio::test]
    async fn abandoned_jobs_are_skipped() {
        let pool = Pool::new(1, "test");
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        // Occupy the only thread, queue a job, abandon it, then free the thread.
        let blocker = pool.run(move || gate_rx.recv().ok());
        let flag = ran.clone();
        let abandoned = pool.run(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), abandoned).await;
        gate_tx.send(()).unwrap();
        blocker.await.unwrap();
        assert_eq!(pool.run(|| 1).await, Ok(1));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
