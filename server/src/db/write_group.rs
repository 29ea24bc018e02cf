//! SQLite's one writer, and group commit for short write transactions (ADR 0021).
//!
//! SQLite lets one transaction write at a time, so this process queues its writers on one lock
//! ([`Db::write_blocking`]) rather than letting them spin in SQLite's busy handler. Each commit
//! then costs a `BEGIN IMMEDIATE`, a journal write and an `fsync` (`synchronous = FULL`): for a
//! refresh grant that was about a fifth of its CPU above its signatures.
//!
//! [`Db::write_grouped`] hands short write work to the group's writer thread and lets its caller
//! wait for the outcome without holding a thread ([`Grouped::committed`]). The writer takes the
//! lock, takes everything queued meanwhile, runs each piece in its own savepoint of one
//! transaction, appends the audit events of the pieces that succeeded in one batch (one turn
//! of the chain's head for the group), commits once, and hands every piece its outcome.
//! Nothing is answered before the commit it depends on, and a piece that fails undoes only its
//! own savepoint. The writer never waits for company: a piece queued alone commits alone.
//! Because the callers wait asynchronously, a group can hold the work of every request in
//! flight, not only of the requests that hold a blocking thread (ADR 0023).
//!
//! PostgreSQL takes writers concurrently and commits each on its own.
//!
//! [`Db::write_blocking`]: super::Db::write_blocking
//! [`Db::write_grouped`]: super::Db::write_grouped

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::oneshot;

use super::audit::{self, NewEvent, PreparedEvent};
use super::{savepoint, transaction, Conn, DatabaseUrl};
use crate::error::{Error, Result};

/// A piece of queued work. The writer runs it in its savepoint, collects the audit events of
/// the piece if it succeeded, and gets back what hands the outcome to its caller once the
/// transaction's fate is known; or, when the work cannot run (no connection, or the group's
/// transaction could not begin), tells it why.
type Work = Box<dyn FnOnce(std::result::Result<&mut Conn, &Error>, &mut Vec<PreparedEvent>) -> Option<Answer> + Send>;
/// Hands a caller its outcome: `Ok` once the transaction committed, the commit's failure
/// otherwise.
type Answer = Box<dyn FnOnce(std::result::Result<(), &Error>) + Send>;

pub struct WriteGroup {
    lock: Arc<Mutex<()>>,
    /// Where the writer thread opens its own connection (outside the pool, which it would
    /// otherwise hold one of for good).
    url: DatabaseUrl,
    /// The writer thread's queue, started with the first grouped write.
    writer: OnceLock<Sender<Work>>,
}

/// The outcome of a grouped write: known now (PostgreSQL ran it in its own transaction), or
/// once the group's writer has committed it (SQLite).
pub enum Grouped<T> {
    Done(Result<T>),
    Queued(oneshot::Receiver<Result<T>>),
}

impl<T> Grouped<T> {
    /// Waits for the outcome without holding a thread.
    pub async fn committed(self) -> Result<T> {
        match self {
            Grouped::Done(outcome) => outcome,
            Grouped::Queued(answer) => answer.await.unwrap_or_else(|_| Err(lost())),
        }
    }

    /// Waits for the outcome on a blocking thread (the tests' way).
    #[cfg(test)]
    pub fn wait(self) -> Result<T> {
        match self {
            Grouped::Done(outcome) => outcome,
            Grouped::Queued(answer) => answer.blocking_recv().unwrap_or_else(|_| Err(lost())),
        }
    }
}

impl WriteGroup {
    pub fn new(url: DatabaseUrl) -> WriteGroup {
        WriteGroup { lock: Arc::default(), url, writer: OnceLock::new() }
    }

    /// The write lock, for a writer with a transaction of its own.
    pub fn serialize(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `f` for the writer thread, to run in a savepoint of a transaction shared with
    /// whatever else is queued (see the module's comment). `f` returns its value and the
    /// audit events to append with what it wrote.
    pub fn submit<T, F>(&self, f: F) -> oneshot::Receiver<Result<T>>
    where
        F: FnOnce(&mut Conn) -> Result<(T, Vec<NewEvent>)> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let work: Work = Box::new(move |conn, appended| match conn {
            Ok(conn) => {
                let value = savepoint(conn, f).map(|(value, events)| {
                    appended.extend(events.into_iter().map(PreparedEvent::from));
                    value
                });
                Some(Box::new(move |committed| {
                    let outcome = match committed {
                        Ok(()) => value,
                        Err(e) => Err(not_committed(e)),
                    };
                    let _ = answer.send(outcome);
                }))
            }
            Err(e) => {
                let _ = answer.send(Err(not_committed(e)));
                None
            }
        });
        let writer = self.writer.get_or_init(|| self.start_writer());
        // A send fails only if the writer thread is gone; the dropped answer then tells the
        // caller its write was lost.
        let _ = writer.send(work);
        answered
    }

    fn start_writer(&self) -> Sender<Work> {
        let (queue, incoming) = channel();
        let (lock, url) = (self.lock.clone(), self.url.clone());
        let started = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_groups(&lock, &url, &incoming));
        if let Err(e) = started {
            log::error!("cannot start the SQLite writer thread: {e}");
        }
        queue
    }
}

/// The writer thread: one group per turn of the lock, until every handle on the database is
/// gone. It writes on a connection of its own, kept between groups, so that it never waits for
/// the pool nor holds one of its connections (ADR 0021). A panic in a group's work loses that
/// group (its callers are told) but not the thread.
fn write_groups(lock: &Mutex<()>, url: &DatabaseUrl, incoming: &Receiver<Work>) {
    let mut kept = None;
    while let Ok(first) = incoming.recv() {
        let _serialized = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let group: Vec<Work> = std::iter::once(first).chain(incoming.try_iter()).collect();
        let conn = match kept.take().map_or_else(|| url.connect(), Ok) {
            Ok(conn) => conn,
            Err(e) => {
                group.into_iter().for_each(|work| drop(work(Err(&e), &mut Vec::new())));
                continue;
            }
        };
        match catch_unwind(AssertUnwindSafe(|| write_group(conn, group))) {
            Ok(conn) => kept = conn,
            Err(_) => log::error!("a grouped write panicked: its group did not commit"),
        }
    }
}

/// Runs every piece of `group` in one transaction, then appends their events, and answers
/// each once it has committed; hands back the connection when it committed (after a failure
/// the next group opens another).
fn write_group(mut conn: Conn, mut group: Vec<Work>) -> Option<Conn> {
    let mut answers = Vec::with_capacity(group.len());
    let mut events = Vec::new();
    let committed = transaction(&mut conn, |conn| {
        answers.extend(group.drain(..).filter_map(|work| work(Ok(&mut *conn), &mut events)));
        audit::append_prepared(conn, events)
    });
    for answer in answers {
        answer(committed.as_ref().map(|_| ()));
    }
    match &committed {
        Ok(()) => Some(conn),
        Err(e) => {
            // The transaction could not begin, or did not commit: what did not run is told why.
            for work in group {
                drop(work(Err(e), &mut Vec::new()));
            }
            None
        }
    }
}

fn lost() -> Error {
    Error::internal("a grouped write was lost")
}

/// What each writer of a group that did not commit is told.
fn not_committed(e: &Error) -> Error {
    match e {
        Error::Unavailable(detail) => Error::Unavailable(detail.clone()),
        other => Error::Internal(format!("the write transaction did not commit: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::thread::ThreadId;

    use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Integer};

    use serde_json::json;

    use super::*;
    use crate::domain::audit::Actor;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// A database with the schema and a table `t`, its URL and a connection to it.
    fn database(dir: &tempfile::TempDir) -> (DatabaseUrl, Conn) {
        let (url, mut conn) = crate::db::tests::migrated_sqlite(dir);
        match &mut conn {
            Conn::Sqlite(c) => c.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)").unwrap(),
            Conn::Pg(_) => unreachable!(),
        }
        (url, conn)
    }

    fn count(conn: &mut Conn, filter: &str) -> i64 {
        let rows: Vec<Count> =
            diesel::sql_query(format!("SELECT count(*) AS n FROM t WHERE {filter}")).load(conn).unwrap();
        rows[0].n
    }

    /// The depth of the transaction `conn` is in (1: a transaction, 2: a savepoint in one).
    fn depth(conn: &mut Conn) -> u32 {
        let Conn::Sqlite(c) = conn else { unreachable!() };
        AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth().unwrap().map_or(0, |d| d.get())
    }

    /// Work queued while the lock is held runs in one transaction on the writer's thread, each
    /// piece in its own savepoint; a piece that fails gets its error and leaves nothing behind
    /// (its audit event neither), the others commit with theirs.
    #[test]
    fn queued_work_shares_one_commit_and_a_failure_undoes_only_its_own_work() {
        let dir = tempfile::tempdir().unwrap();
        let (url, mut conn) = database(&dir);
        let group = WriteGroup::new(url);
        let ran: Arc<Mutex<Vec<(ThreadId, u32)>>> = Arc::default();
        let held = group.serialize();
        let answers: Vec<_> = (0..12)
            .map(|n: i32| {
                let ran = ran.clone();
                group.submit(move |conn| {
                    ran.lock().unwrap().push((std::thread::current().id(), depth(conn)));
                    diesel::sql_query("INSERT INTO t (n) VALUES (?)").bind::<Integer, _>(n).execute(conn)?;
                    if n % 4 == 0 {
                        return Err(Error::Conflict(format!("piece {n} refuses")));
                    }
                    Ok((n, vec![NewEvent::new(Actor::anonymous(), "test.piece").changes(json!({ "n": n }))]))
                })
            })
            .collect();
        assert!(ran.lock().unwrap().is_empty(), "nothing runs while the lock is held");
        drop(held);
        for (n, answer) in answers.into_iter().enumerate() {
            match Grouped::Queued(answer).wait() {
                Ok(value) => assert_eq!(value, n as i32),
                Err(Error::Conflict(detail)) => assert!(n % 4 == 0 && detail == format!("piece {n} refuses")),
                Err(other) => panic!("piece {n}: {other}"),
            }
        }
        let ran = ran.lock().unwrap();
        assert_eq!(ran.len(), 12);
        assert!(ran.iter().all(|(thread, _)| *thread == ran[0].0 && *thread != std::thread::current().id()));
        assert!(ran.iter().all(|(_, depth)| *depth == 2), "each piece ran in a savepoint of one transaction");
        assert_eq!((count(&mut conn, "n % 4 != 0"), count(&mut conn, "n % 4 = 0")), (9, 0));
        let audited: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM audit_events").load(&mut conn).unwrap();
        assert_eq!(audited[0].n, 9, "the events of the pieces that committed, and only theirs");
        assert!(
            matches!(audit::verify(&mut conn).unwrap(), audit::ChainStatus::Intact { events: 9 }),
            "the chain holds"
        );
    }

    /// A piece queued alone commits alone, and the writer keeps going after a piece panics:
    /// that piece's caller is told its write was lost.
    #[test]
    fn a_piece_alone_commits_and_a_panic_loses_only_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let (url, mut conn) = database(&dir);
        let group = WriteGroup::new(url);
        let written = |n: i32| {
            Grouped::Queued(group.submit(move |conn| {
                Ok((diesel::sql_query("INSERT INTO t (n) VALUES (?)").bind::<Integer, _>(n).execute(conn)?, vec![]))
            }))
            .wait()
        };
        assert_eq!(written(7).unwrap(), 1);
        assert_eq!(count(&mut conn, "n = 7"), 1);
        let panicked =
            Grouped::Queued(group.submit(|_| -> Result<((), Vec<NewEvent>)> { panic!("a piece panics") })).wait();
        assert!(matches!(panicked, Err(Error::Internal(detail)) if detail.contains("lost")));
        assert_eq!(written(8).unwrap(), 1);
        assert_eq!(count(&mut conn, "n IN (7, 8)"), 2);
    }
}
