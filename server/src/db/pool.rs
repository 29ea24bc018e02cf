//! The shared handle on the database: a pool of connections (r2d2), admission to it, and
//! SQLite's one writer at a time with its group commit (`write_group`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::r2d2::R2D2Connection;

use super::audit::{self, NewEvent};
use super::clients::{self, Credential};
use super::credential_cache::{self, CredentialCache, Epochs};
use super::ids::ClientId;
use super::write_group::{self, Grouped};
use super::{blocking, ping, transaction, Backend, Conn, DatabaseUrl};
use crate::error::{Error, Result};

/// Opens connections for the pool (the backend is fixed by the URL).
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = Error;

    fn connect(&self) -> Result<Conn> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<()> {
        conn.ping().map_err(Error::from)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.is_broken()
    }
}

/// r2d2 logs connection errors through this; one line, no URL.
#[derive(Debug)]
struct PoolErrors;

/// When a connection was last found lost (seconds since the Unix epoch; 0: never): connections
/// are tested on checkout for [`TEST_AFTER_LOSS`] after it.
static CONNECTION_LOST_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
const TEST_AFTER_LOSS: i64 = 60;

/// Blocking threads per async worker on SQLite (ADR 0023; measured with 2, 4, 8 and the
/// default in `bench/cpu.sh`).
const SQLITE_BLOCKING_THREADS_PER_WORKER: usize = 2;

pub(super) fn connection_lost() {
    CONNECTION_LOST_AT.store(Utc::now().timestamp(), std::sync::atomic::Ordering::Relaxed);
}

fn connection_lost_recently() -> bool {
    let at = CONNECTION_LOST_AT.load(std::sync::atomic::Ordering::Relaxed);
    at != 0 && Utc::now().timestamp() - at <= TEST_AFTER_LOSS
}

impl r2d2::HandleError<Error> for PoolErrors {
    fn handle_error(&self, error: Error) {
        connection_lost();
        log::warn!("database pool: {error}");
    }
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: u32,
    pub timeout: Duration,
    /// Connections kept open while idle. One-shot commands keep none: a connection still being
    /// opened in the background when the process exits can crash libpq's teardown.
    pub min_idle: u32,
    /// Credentials remembered under the credential epoch (0: none; ADR 0020).
    pub credential_cache: usize,
}

/// The shared handle: a pool, plus (for SQLite) the one in-process write lock that queues
/// writers instead of letting them spin on SQLite's busy handler.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    /// Admission to the pool: callers wait here (asynchronously) rather than piling up
    /// blocking threads on the pool's lock.
    permits: Arc<tokio::sync::Semaphore>,
    backend: Backend,
    /// SQLite's one writer at a time, and its group commit (`write_group`).
    write_group: Option<Arc<write_group::WriteGroup>>,
    url: DatabaseUrl,
    /// How long a caller waits for admission (and then for a connection) before a 503.
    timeout: Duration,
    /// Clients' credentials and tokens found not revoked, under their epochs (None: read on
    /// every request).
    credentials: Option<Arc<CredentialCache>>,
}

/// The epochs one request read before trusting what its replica remembers ([`Db::probe`]).
#[derive(Clone, Copy, Debug)]
pub struct Probe(Option<Epochs>);

impl Db {
    pub fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Db> {
        let pool = r2d2::Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(settings.min_idle.min(settings.max_size)))
            .connection_timeout(settings.timeout)
            // Broken connections are detected when a query fails (and by `has_broken`); a
            // `SELECT 1` before every checkout would double the cost of a cheap request.
            .test_on_check_out(false)
            .error_handler(Box::new(PoolErrors))
            .build(Manager { url: url.clone() })
            .map_err(|e| Error::Unavailable(format!("cannot open the database {}: {e}", url.redacted())))?;
        let write_group = (url.backend == Backend::Sqlite).then(|| Arc::new(write_group::WriteGroup::new(url.clone())));
        let permits = Arc::new(tokio::sync::Semaphore::new(settings.max_size as usize));
        let credentials =
            (settings.credential_cache > 0).then(|| Arc::new(CredentialCache::new(settings.credential_cache)));
        Ok(Db {
            pool,
            permits,
            backend: url.backend,
            write_group,
            url: url.clone(),
            timeout: settings.timeout,
            credentials,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The threads each async worker may run blocking work on, or None for the runtime's
    /// default (ADR 0023). On SQLite a query is CPU work on a local file: threads beyond a few
    /// per worker only add wake-ups and context switches (a read cost 10–30% more CPU with the
    /// default), and work beyond them waits in the worker's queue, where a finishing thread
    /// takes it without being woken. A PostgreSQL query mostly waits for its server, so there
    /// the pool's admission alone bounds the work in flight.
    pub fn blocking_threads_per_worker(&self) -> Option<usize> {
        match self.backend {
            Backend::Sqlite => Some(SQLITE_BLOCKING_THREADS_PER_WORKER),
            Backend::Postgres => None,
        }
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// What a request reads before trusting anything this replica remembers: the credential
    /// and revocation epochs (one statement; ADR 0020, ADR 0026). Nothing when the cache is off.
    pub fn probe(&self, conn: &mut Conn) -> Result<Probe> {
        match &self.credentials {
            Some(_) => Ok(Probe(Some(credential_cache::current_epochs(conn)?))),
            None => Ok(Probe(None)),
        }
    }

    /// A client's credential as the database holds it now: remembered under the credential epoch
    /// when the cache is on (ADR 0020), read in full otherwise. Probes first.
    pub fn credential(&self, conn: &mut Conn, client_id: ClientId, now: DateTime<Utc>) -> Result<Option<Credential>> {
        let probe = self.probe(conn)?;
        self.credential_probed(conn, &probe, client_id, now)
    }

    /// [`Db::credential`] under the `probe` this request read first.
    pub fn credential_probed(
        &self,
        conn: &mut Conn,
        probe: &Probe,
        client_id: ClientId,
        now: DateTime<Utc>,
    ) -> Result<Option<Credential>> {
        match (&self.credentials, probe.0) {
            (Some(cache), Some(epochs)) => cache.credential(conn, epochs, client_id, now),
            _ => Ok(clients::credential_until(conn, client_id, now)?.map(|(credential, _)| credential)),
        }
    }

    /// Whether the access token `jti`, its signature verified, was revoked: looked up unless
    /// this replica found it not revoked under the revocation epoch of `probe` (ADR 0026).
    pub fn is_revoked(&self, conn: &mut Conn, probe: &Probe, jti: &str) -> Result<bool> {
        match (&self.credentials, probe.0) {
            (Some(cache), Some(epochs)) => cache.is_revoked(conn, epochs, jti),
            _ => super::oauth::is_revoked(conn, jti),
        }
    }

    /// The pool timeout: the longest a caller waits for the database before a 503.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// (connections open, connections idle, maximum).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections, self.pool.max_size())
    }

    /// A pooled connection, for blocking code (`503` when none frees up within the timeout).
    ///
    /// Connections are not tested on checkout (a `SELECT 1` per request would double a cheap
    /// one), except for a while after a connection was lost: then idle connections opened
    /// before the outage are dead too, and each would fail one request after the database is
    /// back. A connection that fails the test is discarded (its failed query marks it broken)
    /// and another taken.
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>> {
        let checkout = || self.pool.get().map_err(|e| Error::Unavailable(format!("database unavailable: {e}")));
        if !connection_lost_recently() {
            return checkout();
        }
        for _ in 0..=self.pool.max_size() {
            let mut conn = checkout()?;
            if ping(&mut conn).is_ok() {
                return Ok(conn);
            }
        }
        checkout()
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.admit().await?;
        let db = self.clone();
        blocking(move || f(&mut *db.get()?)).await
    }

    /// Runs `f`, which takes its own connections, on a blocking thread once admitted.
    pub async fn run_on<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.admit().await?;
        blocking(f).await
    }

    /// Waits for a turn at the pool (a blocking call of this process then finds a connection);
    /// `503` when no turn comes within the pool timeout, e.g. while every connection is stuck on
    /// a database that stopped answering. The turn is held until it is dropped, also by work
    /// that outlives the caller (`write_chunk`).
    pub async fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        match tokio::time::timeout(self.timeout, self.permits.clone().acquire_owned()).await {
            Ok(permit) => permit.map_err(|_| Error::Unavailable("the database pool is closed".into())),
            Err(_) => Err(Error::Unavailable("database unavailable: no connection freed up in time".into())),
        }
    }

    /// Runs `f` in one write transaction on a blocking thread: all of it commits or none does.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.admit().await?;
        let db = self.clone();
        blocking(move || db.write_blocking(&mut *db.get()?, f)).await
    }

    /// The same, for code already on a blocking thread with its own connection.
    pub fn write_blocking<T>(&self, conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let _serialized = self.write_group.as_ref().map(|group| group.serialize());
        transaction(conn, f)
    }

    /// The same for a short transaction that may share its commit with others (SQLite; see
    /// `write_group`): `f` runs in a savepoint on the writer thread, and its outcome comes back
    /// once the shared transaction committed, to be awaited without holding a thread
    /// ([`Grouped::committed`]). On PostgreSQL, `f` runs now in a transaction of its own on
    /// `conn`. `f` returns its value and the audit events appended with what it wrote (on
    /// SQLite with those of its whole group, in one batch).
    pub fn write_grouped<T, F>(&self, conn: &mut Conn, f: F) -> Grouped<T>
    where
        F: FnOnce(&mut Conn) -> Result<(T, Vec<NewEvent>)> + Send + 'static,
        T: Send + 'static,
    {
        match &self.write_group {
            Some(group) => Grouped::Queued(group.submit(f)),
            None => Grouped::Done(transaction(conn, |conn| {
                let (value, events) = f(conn)?;
                audit::append(conn, events)?;
                Ok(value)
            })),
        }
    }
}
