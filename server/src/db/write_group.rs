//! SQLite's one writer, and group commit for short write transactions (ADR 0021).
//!
//! SQLite lets one transaction write at a time, so this process queues its writers on one lock
//! ([`Db::write_blocking`]) rather than letting them spin in SQLite's busy handler. Each commit
//! then costs a `BEGIN IMMEDIATE`, a journal write and an `fsync` (`synchronous = FULL`): for a
//! refresh grant that was about a fifth of its CPU above its signatures.
//!
//! [`Db::write_grouped`] shares one transaction among the writers that queue meanwhile: each
//! writer puts its work in the group's queue, then waits for the lock. Whoever gets the lock
//! and finds its own work still queued leads: it takes everything queued, runs each piece in
//! its own savepoint in one transaction, commits once, and hands every piece its answer
//! before it lets the lock go. A writer whose work an earlier leader took finds its answer
//! waiting when it gets the lock. Nothing is answered before the commit it depends on, and a
//! piece that fails undoes only its own savepoint. No thread is added and no writer waits for
//! company: a writer alone commits alone.
//!
//! PostgreSQL takes writers concurrently and commits each on its own.

use std::sync::mpsc::{sync_channel, TryRecvError};
use std::sync::{Mutex, MutexGuard};

use super::{savepoint, transaction, Conn};
use crate::error::{Error, Result};

/// A piece of queued work: run by the leader in its savepoint, it returns what hands the
/// outcome to its writer once the transaction's fate is known.
type Work = Box<dyn FnOnce(&mut Conn) -> Answer + Send>;
/// Hands a writer its outcome: `Ok` once the transaction committed, the commit's failure
/// otherwise.
type Answer = Box<dyn FnOnce(std::result::Result<(), &Error>) + Send>;

/// A writer's queued work, and what tells it why its work never ran (the group's transaction
/// could not begin).
struct Queued {
    work: Work,
    refuse: Box<dyn FnOnce(&Error) + Send>,
}

#[derive(Default)]
pub struct WriteGroup {
    lock: Mutex<()>,
    queued: Mutex<Vec<Queued>>,
}

impl WriteGroup {
    /// The write lock, for a writer with a transaction of its own.
    pub fn serialize(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in a savepoint of a write transaction shared with the writers queued meanwhile
    /// (see the module's comment), on `conn` if this writer leads.
    pub fn write<T, F>(&self, conn: &mut Conn, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = sync_channel::<Result<T>>(1);
        let refused = answer.clone();
        let work: Work = Box::new(move |conn| {
            let value = savepoint(conn, f);
            Box::new(move |committed| {
                let outcome = match committed {
                    Ok(()) => value,
                    Err(e) => Err(not_committed(e)),
                };
                let _ = answer.send(outcome);
            })
        });
        let refuse = Box::new(move |e: &Error| {
            let _ = refused.send(Err(not_committed(e)));
        });
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).push(Queued { work, refuse });
        let _serialized = self.serialize();
        match answered.try_recv() {
            Ok(outcome) => return outcome,
            // Taken by a leader that did not hand it back: it panicked running the group.
            Err(TryRecvError::Disconnected) => return Err(Error::internal("a grouped write was lost")),
            Err(TryRecvError::Empty) => {}
        }
        // Still queued: this writer leads, with everything queued so far (its own work too).
        let mut waiting = std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()));
        let mut answers = Vec::with_capacity(waiting.len());
        let committed = transaction(conn, |conn| {
            answers.extend(waiting.drain(..).map(|queued| (queued.work)(conn)));
            Ok(())
        });
        for answer in answers {
            answer(committed.as_ref().map(|_| ()));
        }
        if let Err(e) = &committed {
            for queued in waiting {
                (queued.refuse)(e);
            }
        }
        answered.recv().map_err(|_| Error::internal("a grouped write was lost"))?
    }
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

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Integer};

    use super::*;
    use crate::db::DatabaseUrl;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn connect(path: &std::path::Path) -> Conn {
        let mut conn = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap().connect().unwrap();
        match &mut conn {
            Conn::Sqlite(c) => c.batch_execute("PRAGMA busy_timeout = 5000").unwrap(),
            Conn::Pg(_) => unreachable!(),
        }
        conn
    }

    /// Writers queued while the lock is held share one transaction, run by one of them; a
    /// writer whose work fails gets its error and leaves nothing behind, the others commit.
    #[test]
    fn queued_writers_share_one_commit_and_a_failure_undoes_only_its_own_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("group.db");
        let mut setup = connect(&path);
        match &mut setup {
            Conn::Sqlite(c) => {
                c.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER NOT NULL)").unwrap()
            }
            Conn::Pg(_) => unreachable!(),
        }
        let group = Arc::new(WriteGroup::default());
        let ran_on: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
        let held = group.serialize();
        let writers: Vec<_> = (0..12)
            .map(|n: i32| {
                let (group, ran_on, path) = (group.clone(), ran_on.clone(), path.clone());
                std::thread::spawn(move || {
                    let mut conn = connect(&path);
                    group.write(&mut conn, move |conn| {
                        ran_on.lock().unwrap().push(std::thread::current().id());
                        diesel::sql_query("INSERT INTO t (n) VALUES (?)").bind::<Integer, _>(n).execute(conn)?;
                        if n % 4 == 0 {
                            return Err(Error::Conflict(format!("writer {n} refuses")));
                        }
                        Ok(n)
                    })
                })
            })
            .collect();
        while group.queued.lock().unwrap().len() < writers.len() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(held);
        for (n, writer) in writers.into_iter().enumerate() {
            match writer.join().unwrap() {
                Ok(value) => assert_eq!(value, n as i32),
                Err(Error::Conflict(detail)) => assert!(n % 4 == 0 && detail == format!("writer {n} refuses")),
                Err(other) => panic!("writer {n}: {other}"),
            }
        }
        let ran_on = ran_on.lock().unwrap();
        assert_eq!(ran_on.len(), 12);
        assert!(ran_on.iter().all(|t| *t == ran_on[0]), "all queued work ran in one leader's transaction");
        let rows: Vec<Count> =
            diesel::sql_query("SELECT count(*) AS n FROM t WHERE n % 4 != 0").load(&mut setup).unwrap();
        let refused: Vec<Count> =
            diesel::sql_query("SELECT count(*) AS n FROM t WHERE n % 4 = 0").load(&mut setup).unwrap();
        assert_eq!((rows[0].n, refused[0].n), (9, 0));
    }

    /// A writer alone commits alone, on its own connection.
    #[test]
    fn a_writer_alone_commits_its_own_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alone.db");
        let mut conn = connect(&path);
        match &mut conn {
            Conn::Sqlite(c) => c.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)").unwrap(),
            Conn::Pg(_) => unreachable!(),
        }
        let group = WriteGroup::default();
        let value = group
            .write(&mut conn, |conn| Ok(diesel::sql_query("INSERT INTO t (n) VALUES (7)").execute(conn)?))
            .unwrap();
        assert_eq!(value, 1);
        assert!(group.queued.lock().unwrap().is_empty());
        let rows: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM t").load(&mut conn).unwrap();
        assert_eq!(rows[0].n, 1);
    }
}
