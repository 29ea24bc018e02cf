//! Long writes in chunks, each its own transaction, committed in order, two at a time.
//!
//! A chunk's work has two parts: `insert` (rows that may run beside the chunk before it) and
//! `then` (what must follow the chunk before it: audit events, which extend one chain). The
//! next chunk is started once this one's `insert` is done; its `then` waits until this chunk
//! committed, and a chunk whose predecessor failed rolls back. So the chain holds the chunks in
//! order, nothing commits after a chunk that failed, and on PostgreSQL one chunk's inserts run
//! on one connection while the chunk before it appends and commits on another. A row the
//! earlier chunk took (a unique key) makes the later insert wait for that commit and then see
//! it, as if the chunks were written one after the other. On SQLite the write lock makes them
//! one after the other.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::oneshot;

use super::{start_blocking, Conn, Db};
use crate::error::{Error, Result};

/// Whether a chunk committed (`true`), or failed (`false`, or its writer is gone).
pub struct Committed(oneshot::Receiver<bool>);

/// A chunk's result, once it committed or failed (its work runs whether or not this is awaited).
pub type ChunkDone<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// A chunk being written.
pub struct Writing<T> {
    pub done: ChunkDone<T>,
    /// Answers once the chunk's `insert` is done (an error: the chunk failed before that).
    pub inserted: oneshot::Receiver<()>,
    /// For the chunk after this one.
    pub committed: Committed,
}

impl Db {
    /// Starts writing a chunk on a blocking thread once admitted to the pool (the turn is held
    /// until the chunk is done), in a transaction of its own: `insert`, then, once `previous`
    /// committed, `then`. See the module's comment.
    pub async fn write_chunk<I, T, A, B>(&self, previous: Option<Committed>, insert: A, then: B) -> Result<Writing<T>>
    where
        A: FnOnce(&mut Conn) -> Result<I> + Send + 'static,
        B: FnOnce(&mut Conn, I) -> Result<T> + Send + 'static,
        I: Send + 'static,
        T: Send + 'static,
    {
        let (inserted_tx, inserted) = oneshot::channel();
        let (committed_tx, committed) = oneshot::channel();
        let turn = self.admit().await?;
        let db = self.clone();
        let done = start_blocking(move || {
            let _turn = turn;
            let mut conn = db.get()?;
            let outcome = db.write_blocking(&mut conn, |conn| {
                let inserted = insert(conn)?;
                let _ = inserted_tx.send(());
                if let Some(Committed(previous)) = previous {
                    if previous.blocking_recv() != Ok(true) {
                        return Err(Error::Unavailable("stopped: an earlier chunk was not written".into()));
                    }
                }
                then(conn, inserted)
            });
            let _ = committed_tx.send(outcome.is_ok());
            outcome
        });
        Ok(Writing { done: Box::pin(done), inserted, committed: Committed(committed) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{DatabaseUrl, PoolSettings};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(db: &Db, sql: &str) -> i64 {
        let mut conn = db.get().unwrap();
        diesel::sql_query(sql).get_result::<Count>(&mut *conn).unwrap().n
    }

    fn sqlite(dir: &tempfile::TempDir) -> Db {
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("chunks.db").display())).unwrap();
        let settings = PoolSettings { max_size: 4, timeout: Duration::from_secs(5), min_idle: 0, credential_cache: 0 };
        let db = Db::connect(&url, &settings).unwrap();
        let mut conn = db.get().unwrap();
        match &mut *conn {
            Conn::Sqlite(c) => c.batch_execute("CREATE TABLE t (chunk INTEGER NOT NULL, part TEXT NOT NULL)").unwrap(),
            Conn::Pg(_) => unreachable!(),
        }
        db
    }

    fn write(conn: &mut Conn, chunk: i64, part: &str) -> Result<()> {
        diesel::sql_query(format!("INSERT INTO t VALUES ({chunk}, '{part}')")).execute(conn)?;
        Ok(())
    }

    /// Chunks after one whose second part fails roll back, though their inserts ran; the
    /// chunks before it stay.
    #[actix_web::test]
    async fn nothing_commits_after_a_chunk_that_failed() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let first = db.write_chunk(None, |c| write(c, 1, "insert"), |c, ()| write(c, 1, "then")).await.unwrap();
        first.inserted.await.unwrap();
        let second = db
            .write_chunk(
                Some(first.committed),
                |c| write(c, 2, "insert"),
                |_, ()| Err::<(), _>(Error::Internal("the second chunk's events".into())),
            )
            .await
            .unwrap();
        second.inserted.await.unwrap();
        let third = db
            .write_chunk(Some(second.committed), |c| write(c, 3, "insert"), |c, ()| write(c, 3, "then"))
            .await
            .unwrap();
        first.done.await.unwrap();
        assert!(matches!(second.done.await, Err(Error::Internal(_))));
        assert!(matches!(third.done.await, Err(Error::Unavailable(_))));
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM t WHERE chunk = 1"), 2);
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM t WHERE chunk > 1"), 0);
    }

    /// A chunk's second part runs only after the chunk before it committed, whatever the
    /// order the threads get to run in.
    #[actix_web::test]
    async fn chunks_commit_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir);
        let mut previous = None;
        let mut writing = Vec::new();
        for chunk in 1..=6 {
            let w = db
                .write_chunk(
                    previous.take(),
                    move |c| write(c, chunk, "insert"),
                    move |c, ()| {
                        // Every chunk before this one is in (committed), none after it.
                        let before = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM t WHERE chunk < {chunk}"))
                            .get_result::<Count>(c)?
                            .n;
                        assert_eq!(before, 2 * (chunk - 1));
                        write(c, chunk, "then")
                    },
                )
                .await
                .unwrap();
            w.inserted.await.unwrap();
            previous = Some(w.committed);
            writing.push(w.done);
        }
        for done in writing {
            done.await.unwrap();
        }
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM t"), 12);
    }
}
