//! A dedicated pool for argon2: a few threads at a lower scheduling priority, fed by a bounded
//! queue. Hashing never runs on the async workers, and a burst of user creations cannot starve
//! the cheap requests: when both want the CPU, the kernel favours the request threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Sender, TrySendError};

use super::password::{self, HashParams, Verified};
use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

/// Observes how long each hash or verification took (seconds), for `/metrics`.
pub type Timer = Arc<dyn Fn(&'static str, f64) + Send + Sync>;

#[derive(Clone)]
pub struct HashPool {
    jobs: Sender<Job>,
    queued: Arc<AtomicUsize>,
    params: HashParams,
    timer: Timer,
    /// A hash of nothing anyone knows, verified against when there is no real hash, so that an
    /// unknown name costs as much time as a wrong password.
    decoy: Arc<String>,
}

/// How much lower than the request threads the hashing threads run (`nice` value).
const HASHING_NICENESS: i32 = 10;

impl HashPool {
    pub fn new(threads: usize, queue: usize, params: HashParams, timer: Timer) -> Result<HashPool> {
        let (jobs, incoming) = crossbeam_channel::bounded::<Job>(queue);
        for n in 0..threads.max(1) {
            let incoming = incoming.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority(HASHING_NICENESS);
                    for job in incoming {
                        job();
                    }
                })
                .map_err(Error::internal)?;
        }
        let decoy = Arc::new(password::decoy(&params));
        Ok(HashPool { jobs, queued: Arc::new(AtomicUsize::new(0)), params, timer, decoy })
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Jobs waiting or running.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    fn submit<T: Send + 'static>(
        &self,
        op: &'static str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<T>> {
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = self.queued.clone();
        let timer = self.timer.clone();
        let job: Job = Box::new(move || {
            let start = Instant::now();
            let value = work();
            timer(op, start.elapsed().as_secs_f64());
            queued.fetch_sub(1, Ordering::Relaxed);
            let _ = done.send(value);
        });
        self.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.jobs.try_send(job) {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(match e {
                TrySendError::Full(_) => Error::TooManyRequests { retry_after: 1 },
                TrySendError::Disconnected(_) => Error::Unavailable("password hashing is shutting down".into()),
            });
        }
        Ok(result)
    }

    async fn run<T: Send + 'static>(&self, op: &'static str, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        self.submit(op, work)?.await.map_err(|_| Error::internal("a hashing thread stopped"))
    }

    /// Hashes a new password or secret with the configured argon2id parameters.
    pub async fn hash(&self, secret: String) -> Result<String> {
        let params = self.params;
        self.run("hash", move || password::hash(&params, &secret)).await?
    }

    /// Verifies `secret` against a stored PHC string; with `None`, spends the same time and
    /// answers no.
    pub async fn verify(&self, stored: Option<String>, secret: String) -> Result<Verified> {
        let params = self.params;
        let decoy = self.decoy.clone();
        self.run("verify", move || verify_or_decoy(&params, &decoy, stored, &secret)).await
    }

    /// Hashes on the pool from a blocking thread.
    pub fn hash_blocking(&self, secret: String) -> Result<String> {
        let params = self.params;
        self.submit("hash", move || password::hash(&params, &secret))?
            .blocking_recv()
            .map_err(|_| Error::internal("a hashing thread stopped"))?
    }

    /// The same, for a blocking thread: waits for the hashing pool without holding anything.
    pub fn verify_blocking(&self, stored: Option<String>, secret: String) -> Result<Verified> {
        let params = self.params;
        let decoy = self.decoy.clone();
        self.submit("verify", move || verify_or_decoy(&params, &decoy, stored, &secret))?
            .blocking_recv()
            .map_err(|_| Error::internal("a hashing thread stopped"))
    }
}

fn verify_or_decoy(params: &HashParams, decoy: &str, stored: Option<String>, secret: &str) -> Verified {
    match stored {
        Some(stored) => password::verify(params, &stored, secret),
        None => {
            let _ = password::verify(params, decoy, secret);
            Verified::No
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux: nice applies per thread).
#[allow(unsafe_code)]
fn lower_priority(niceness: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority and gettid have no memory-safety preconditions; failure is harmless.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, niceness);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = niceness;
}
