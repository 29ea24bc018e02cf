//! Appends the audit events that are not part of a change's own transaction: refusals,
//! failures, idempotent replays, first verifications of a credential, grants and reads.
//! Requests hand their events to one writer thread; it commits whatever has queued up in one
//! transaction (group commit), so an event costs a share of one commit, not a commit. Changes
//! are never audited here: they append their event in their own transaction.
//!
//! A decision ([`AuditLog::record`]) is answered only once its event is committed, so a killed
//! process never loses one. Successful reads ([`AuditLog::read`]) follow `--audit-reads`: rolled
//! up into access summaries (the default, [`summaries`]), an event each handed over without
//! waiting for the commit, or nothing.
//!
//! Handing over waits only for room in a bounded queue (backpressure, never dropping an
//! event). A batch that fails to commit (database unreachable) is retried until it commits;
//! `flush` waits for everything handed over before it; `close` hands over the open summaries
//! and flushes, at shutdown.

pub mod summaries;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TrySendError, Receiver, Sender};
use uuid::Uuid;

use self::summaries::{minute_of, Summaries};
use crate::config::AuditReads;
use crate::db::ids::ClientUuid;
use crate::db::{self, Db};
use crate::domain::audit::NewEvent;
use crate::error::{Error, Result};

const MAX_BATCH: usize = 512;
const QUEUE: usize = 8192;
/// How long a request waits for room in the queue before it fails with 503.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(5);
/// `last_used_at` of a client is written at most this often.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

enum Job {
    Events(Vec<NewEvent>),
    Touch(Uuid),
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Events whose sender waits for their commit.
    Committed(Vec<NewEvent>, tokio::sync::oneshot::Sender<()>),
}

/// Observes the size of each committed batch, for `/metrics`.
pub type BatchObserver = Box<dyn Fn(usize) + Send>;

#[derive(Clone)]
pub struct AuditLog {
    jobs: Sender<Job>,
    /// How long a caller of [`AuditLog::record`] waits: the database's pool timeout,
    /// the budget of every other database wait of a request.
    commit_timeout: Duration,
    /// When each client's use was last handed to the writer: a grant checks here instead of
    /// waking the writer for a touch it would skip.
    touched: Arc<Mutex<HashMap<Uuid, Instant>>>,
    reads: AuditReads,
    summaries: Arc<Summaries>,
}

impl AuditLog {
    pub fn start(db: Db, observe: BatchObserver, reads: AuditReads) -> Result<AuditLog> {
        let (jobs, incoming) = mpsc::channel(QUEUE);
        let commit_timeout = db.timeout();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || Writer { db, observe }.run(incoming))
            .map_err(Error::internal)?;
        let summaries = Arc::new(Summaries::default());
        if reads == AuditReads::Summary {
            let (summaries, jobs) = (summaries.clone(), jobs.clone());
            std::thread::Builder::new()
                .name("audit-summaries".into())
                .spawn(move || close_each_minute(&summaries, &jobs))
                .map_err(Error::internal)?;
        }
        Ok(AuditLog { jobs, commit_timeout, touched: Arc::default(), reads, summaries })
    }

    /// Records a successful read as `--audit-reads` says: counted in its minute's summary, or
    /// handed to the writer (waiting for room in the queue, not for the commit), or not at all.
    pub async fn read(&self, event: NewEvent) -> Result<()> {
        match self.reads {
            AuditReads::Off => Ok(()),
            AuditReads::Full => self.hand_over(Job::Events(vec![event])).await,
            AuditReads::Summary => {
                let early = self.summaries.add(event, chrono::Utc::now());
                if early.is_empty() {
                    return Ok(());
                }
                self.hand_over(Job::Events(early)).await
            }
        }
    }

    /// Hands `events` to the writer and waits for their commit (sharing it with whatever else
    /// is queued): for decisions that must not be answered before they are on record (refusals,
    /// failures, verifications, issued tokens). After the pool timeout the caller gets 503 (the
    /// database is not taking writes); the events are still committed once it does.
    pub async fn record(&self, events: Vec<NewEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, committed) = tokio::sync::oneshot::channel();
        self.hand_over(Job::Committed(events, done)).await?;
        match tokio::time::timeout(self.commit_timeout, committed).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::internal("the audit writer stopped")),
            Err(_) => Err(Error::Unavailable("the audit log cannot commit".into())),
        }
    }

    /// Queues a job, waiting at most [`HAND_OVER_TIMEOUT`] for room (backpressure).
    async fn hand_over(&self, job: Job) -> Result<()> {
        match tokio::time::timeout(HAND_OVER_TIMEOUT, self.jobs.send(job)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Unavailable("the audit log is shut down".into())),
            Err(_) => Err(Error::Unavailable("the audit log is backed up".into())),
        }
    }

    /// Waits until every event handed over before this call is committed.
    pub async fn flush(&self) -> Result<()> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.jobs.send(Job::Flush(done)).await.map_err(|_| Error::Unavailable("the audit log is shut down".into()))?;
        committed.await.map_err(|_| Error::internal("the audit writer stopped"))
    }

    /// Hands over every open access summary and waits for everything to be committed: at
    /// shutdown, once no more requests come in.
    pub async fn close(&self) -> Result<()> {
        let open = self.summaries.close(None);
        if !open.is_empty() {
            self.hand_over(Job::Events(open)).await?;
        }
        self.flush().await
    }

    /// Notes that a client was used (written at most once a minute per client).
    pub fn touch_client(&self, id: Uuid) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if touched.get(&id).is_some_and(|at| now.duration_since(*at) < TOUCH_INTERVAL) {
                return;
            }
            if touched.len() > 100_000 {
                touched.clear();
            }
            touched.insert(id, now);
        }
        if let Err(TrySendError::Closed(_)) = self.jobs.try_send(Job::Touch(id)) {
            log::debug!("audit log closed; last use of a client not recorded");
        }
    }
}

/// Hands each minute's access summaries to the writer once the minute has closed (a second
/// into the next, so that reads counted at its last instant are in).
fn close_each_minute(summaries: &Summaries, jobs: &Sender<Job>) {
    loop {
        let now = chrono::Utc::now();
        let into_minute = Duration::from_millis((now.timestamp_millis().rem_euclid(60_000)) as u64);
        std::thread::sleep(Duration::from_secs(61).saturating_sub(into_minute));
        let closed = summaries.close(Some(minute_of(chrono::Utc::now())));
        if !closed.is_empty() && jobs.blocking_send(Job::Events(closed)).is_err() {
            return;
        }
        if jobs.is_closed() {
            return;
        }
    }
}

struct Writer {
    db: Db,
    observe: BatchObserver,
}

impl Writer {
    fn run(self, mut incoming: Receiver<Job>) {
        let mut events = Vec::new();
        let mut touches = Vec::new();
        let mut flushes = Vec::new();
        let mut backoff = Duration::from_millis(50);
        loop {
            if events.is_empty() && touches.is_empty() && flushes.is_empty() {
                match incoming.blocking_recv() {
                    Some(job) => self.take(job, &mut events, &mut touches, &mut flushes),
                    None => return,
                }
            }
            while events.len() < MAX_BATCH {
                match incoming.try_recv() {
                    Ok(job) => self.take(job, &mut events, &mut touches, &mut flushes),
                    Err(_) => break,
                }
            }
            match self.commit(&events, &touches) {
                Ok(()) => {
                    (self.observe)(events.len());
                    touches.clear();
                    events.clear();
                    for done in flushes.drain(..) {
                        let _ = done.send(());
                    }
                    backoff = Duration::from_millis(50);
                }
                Err(e) => {
                    log::warn!("audit writer: cannot commit {} events, retrying in {backoff:?}: {e}", events.len());
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn take(
        &self,
        job: Job,
        events: &mut Vec<NewEvent>,
        touches: &mut Vec<Uuid>,
        flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>,
    ) {
        match job {
            Job::Events(batch) => events.extend(batch),
            Job::Touch(id) => {
                if !touches.contains(&id) {
                    touches.push(id);
                }
            }
            Job::Flush(done) => flushes.push(done),
            Job::Committed(batch, done) => {
                events.extend(batch);
                flushes.push(done);
            }
        }
    }

    fn commit(&self, events: &[NewEvent], touches: &[Uuid]) -> Result<()> {
        if events.is_empty() && touches.is_empty() {
            return Ok(());
        }
        let mut conn = self.db.get()?;
        self.db.write_blocking(&mut conn, |conn| {
            db::audit::append(conn, events.to_vec())?;
            let now = db::now();
            for id in touches {
                db::clients::touch_last_used(conn, ClientUuid(*id), now)?;
            }
            Ok(())
        })
    }
}
