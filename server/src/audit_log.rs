//! Appends the audit events that are not part of a change's own transaction (reads, refusals,
//! authentication decisions). Requests hand their events to one writer thread and wait until
//! they are committed; the writer commits whatever has queued up in one transaction, so many
//! concurrent requests share one commit (group commit) instead of queueing for the chain head.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use uuid::Uuid;

use crate::db::{self, Db};
use crate::domain::audit::NewEvent;
use crate::error::{Error, Result};

const MAX_BATCH: usize = 512;
const QUEUE: usize = 16_384;
/// `last_used_at` of a client is written at most this often.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

enum Job {
    Events(Vec<NewEvent>, tokio::sync::oneshot::Sender<Result<()>>),
    Touch(Uuid),
}

/// Observes the size of each committed batch, for `/metrics`.
pub type BatchObserver = Box<dyn Fn(usize) + Send>;

#[derive(Clone)]
pub struct AuditLog {
    jobs: Sender<Job>,
}

impl AuditLog {
    pub fn start(db: Db, observe: BatchObserver) -> Result<AuditLog> {
        let (jobs, incoming) = crossbeam_channel::bounded(QUEUE);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || Writer { db, observe, touched: HashMap::new() }.run(incoming))
            .map_err(Error::internal)?;
        Ok(AuditLog { jobs })
    }

    /// Appends `events` and waits until they are committed.
    pub async fn record(&self, events: Vec<NewEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, committed) = tokio::sync::oneshot::channel();
        self.jobs.try_send(Job::Events(events, done)).map_err(|e| match e {
            TrySendError::Full(_) => Error::Unavailable("the audit log is overloaded".into()),
            TrySendError::Disconnected(_) => Error::Unavailable("the audit log is shutting down".into()),
        })?;
        committed.await.map_err(|_| Error::internal("the audit writer stopped"))?
    }

    /// Notes that a client was used (written at most once a minute per client).
    pub fn touch_client(&self, id: Uuid) {
        let _ = self.jobs.try_send(Job::Touch(id));
    }
}

struct Writer {
    db: Db,
    observe: BatchObserver,
    touched: HashMap<Uuid, Instant>,
}

impl Writer {
    fn run(mut self, incoming: Receiver<Job>) {
        while let Ok(first) = incoming.recv() {
            let mut events = Vec::new();
            let mut waiting = Vec::new();
            let mut touches = Vec::new();
            let mut next = Some(first);
            while let Some(job) = next {
                match job {
                    Job::Events(batch, done) => {
                        events.extend(batch);
                        waiting.push(done);
                    }
                    Job::Touch(id) => {
                        if self.touched.get(&id).is_none_or(|at| at.elapsed() >= TOUCH_INTERVAL) {
                            touches.push(id);
                        }
                    }
                }
                next = if events.len() < MAX_BATCH { incoming.try_recv().ok() } else { None };
            }
            let count = events.len();
            let outcome = self.commit(events, &touches);
            if outcome.is_ok() {
                (self.observe)(count);
                let now = Instant::now();
                if self.touched.len() > 100_000 {
                    self.touched.clear();
                }
                self.touched.extend(touches.into_iter().map(|id| (id, now)));
            }
            for done in waiting {
                let _ = done.send(match &outcome {
                    Ok(()) => Ok(()),
                    Err(e) => Err(Error::Unavailable(format!("the audit log cannot be written: {e}"))),
                });
            }
        }
    }

    fn commit(&self, events: Vec<NewEvent>, touches: &[Uuid]) -> Result<()> {
        let mut conn = self.db.get()?;
        self.db.write_blocking(&mut conn, |conn| {
            db::audit::append(conn, events)?;
            let now = db::now();
            for id in touches {
                db::clients::touch_last_used(conn, *id, now)?;
            }
            Ok(())
        })
    }
}
