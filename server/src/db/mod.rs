//! Storage: one connection type over SQLite and PostgreSQL, one pool, one set of queries.
//!
//! Queries are written once against [`Conn`] (diesel's `MultiConnection`); the few places that
//! must differ by backend match on the enum, through `native!` (ADR 0001). Every query of the
//! server is a function of a module here (one per table or group of tables), taking
//! `&mut Conn` and typed arguments ([`ids`] for the ids that are easy to swap); nothing outside
//! `db/` writes a query. Every call runs on a blocking thread, never on the async workers.
//!
//! `db` holds the stored records (each beside its table's queries: [`accounts::Account`],
//! [`clients::Client`], [`audit::StoredEvent`] and its chain, …) and their column encodings
//! ([`fold`] for the `*_key` columns, [`grant_strings`]), `domain` the rules over them; `db`
//! never imports `domain`.
//!
//! # How to reach the database
//!
//! One way in for each place code runs:
//!
//! - **A Management API handler** uses its `Api` extractor (`http::auth`): `api.read(|conn, ctx| …)`
//!   for a read, `api.write(…)` for a change (one write transaction, with its audit events),
//!   `api.create(…)` for a create with an `Idempotency-Key`. They authenticate the caller first,
//!   in the same blocking call.
//! - **Other async code** (the token service, the console, the operations routes) uses
//!   [`Db::run`] for a read and [`Db::write`] for a change (one write transaction), or
//!   [`Db::run_on`] when the closure takes its own connections (it hashes a password between two
//!   statements, say, and must not hold a connection meanwhile). Each first waits for admission
//!   ([`Db::admit`]: a 503 when none comes within the pool timeout), then runs on a blocking
//!   thread.
//! - **Code already on a blocking thread** takes a pooled connection with [`Db::get`] and writes
//!   with [`Db::write_blocking`], which on SQLite also queues the writers of this process (so not
//!   [`transaction`] directly); [`savepoint`] for a part that may fail alone inside a transaction.
//!
//! [`blocking`] runs work on a blocking thread without admission: startup (migrations, the
//! signing keys), callers that took their turn with [`Db::admit`] themselves (the `Api`
//! extractor, the token endpoint), and, today, the token service's hosted forms and client
//! authentication.

/// Runs one diesel expression on the concrete connection behind a [`Conn`]: the same query
/// text, type-checked for both backends. For the hot paths only (a token grant's client
/// lookup, the audit writer's inserts): through the `MultiConnection`, diesel serializes a
/// query's SQL again on every execution, and multi-row `INSERT`s are not available.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pg($c) => $body,
            $crate::db::Conn::Sqlite($c) => $body,
        }
    };
}

/// Deletes at most `$limit` rows of `$table` that match `$condition`, by their text key `$key`:
/// the keys first (`LIMIT` is not available on `DELETE` everywhere), then the rows, with the
/// condition checked again so that a row changed in between stays. Evaluates to the number
/// of rows deleted, in a function returning `Result<usize>`. For housekeeping's batches.
macro_rules! delete_batch {
    ($conn:expr, $table:ident, $key:ident, $condition:expr, $limit:expr) => {{
        let condition = $condition;
        let keys: Vec<String> = $table::table.filter(condition).select($table::$key).limit($limit).load($conn)?;
        Ok(diesel::delete($table::table.filter($table::$key.eq_any(&keys)).filter(condition)).execute($conn)?)
    }};
}

pub mod accounts;
pub mod audit;
pub mod audit_archive;
mod chunks;
pub mod client_assertions;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod console;
pub mod credential_cache;
pub mod device_authorizations;
pub mod dpop_proofs;
pub mod factor_challenges;
pub mod factors;
mod fixed;
pub mod groups;
pub mod idempotency;
pub mod ids;
pub mod log_streams;
pub mod namespaces;
pub mod oauth;
pub mod outbox;
pub mod passkeys;
mod pool;
pub mod pushed_requests;
pub mod schema;
pub mod session_clients;
pub mod signing_keys;
pub mod throttle;
mod write_group;

pub use chunks::{ChunkDone, Committed, Writing};

pub use fixed::{bind, fixed, fixed_rows};
use pool::connection_lost;
pub use pool::{Db, Manager, PoolSettings, Probe};
pub use write_group::Grouped;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use gatehouse_api_types::grant::Grant;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// A connection to whichever database the URL names. PostgreSQL comes first: SQLite would
/// accept any string as a file name.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `--database-url`: `sqlite://path` (or `sqlite:path`) or `postgres://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL for PostgreSQL.
    target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl { backend: Backend::Postgres, target: url.to_owned() });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| Error::bad_request("database URL must start with sqlite:// or postgres://"))?;
        if path.is_empty() {
            return Err(Error::bad_request("sqlite:// URL needs a file path, e.g. sqlite://gatehouse.db"));
        }
        Ok(DatabaseUrl { backend: Backend::Sqlite, target: path.to_owned() })
    }

    /// The database file, for an embedded database.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    /// The URL without its password, for log lines.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => redact_password(&self.target),
        }
    }

    pub fn connect(&self) -> Result<Conn> {
        let conn = match self.backend {
            Backend::Postgres => Conn::Pg(PgConnection::establish(&self.target).map_err(unavailable)?),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target).map_err(unavailable)?;
                // busy_timeout first: switching to WAL may itself have to wait for a lock.
                // temp_store = MEMORY keeps a savepoint's journal (each grouped write runs in
                // one, ADR 0021) in memory: on a file it cost ~13 page writes per refresh grant.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
                )
                .map_err(Error::from)?;
                Conn::Sqlite(conn)
            }
        };
        Ok(conn)
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

fn unavailable(e: diesel::ConnectionError) -> Error {
    Error::Unavailable(format!("cannot connect to the database: {}", first_line(&e.to_string())))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// Whether the database answers (`SELECT 1`).
pub fn ping(conn: &mut Conn) -> Result<()> {
    Ok(conn.batch_execute("SELECT 1")?)
}

/// Applies pending migrations; returns their names.
pub fn migrate(conn: &mut Conn) -> Result<Vec<String>> {
    let applied = match conn {
        Conn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.iter().map(|m| m.to_string()).collect()),
        Conn::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.iter().map(|m| m.to_string()).collect())
        }
    };
    applied.map_err(|e| Error::Internal(format!("migration failed: {e}")))
}

/// `query.unique(conn)`: the row a lookup by a unique key finds, if any; diesel's
/// `.first(conn).optional()` without its `LIMIT ?`. SQLite (3.50) prepares a statement whose
/// `LIMIT` is a bound parameter again on every execution (the planner may use the bound value),
/// which cost a Basic-auth read more than all its other database work; a lookup by a unique key
/// needs no `LIMIT`, and its cached statement runs as prepared.
pub trait Unique<U> {
    fn unique(self, conn: &mut Conn) -> Result<Option<U>>;
}

impl<'q, Q, U> Unique<U> for Q
where
    Q: diesel::RunQueryDsl<Conn> + diesel::query_dsl::LoadQuery<'q, Conn, U>,
{
    fn unique(self, conn: &mut Conn) -> Result<Option<U>> {
        Ok(diesel::RunQueryDsl::load(self, conn)?.into_iter().next())
    }
}

/// Runs blocking work (queries, file I/O) off the async workers.
pub async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    start_blocking(f).await
}

/// Starts blocking work off the async workers now; the future answers its result. The work
/// runs to its end whether or not the future is awaited.
pub fn start_blocking<T, F>(f: F) -> impl std::future::Future<Output = Result<T>> + Send + 'static
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let started = actix_web::rt::task::spawn_blocking(f);
    async move { started.await.map_err(|e| Error::Internal(format!("blocking task failed: {e}")))? }
}

/// A write transaction. On SQLite it is `BEGIN IMMEDIATE`, which takes the write lock up front
/// so that a transaction that reads first never fails to upgrade later.
pub fn transaction<T>(conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        Conn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    // Audit names learnt in this transaction are cached once it commits (audit::names).
    audit::names::transaction_begins();
    match f(conn) {
        Ok(value) => {
            let committed = <Conn as Connection>::TransactionManager::commit_transaction(conn);
            match committed {
                Ok(()) => audit::names::transaction_committed(),
                Err(_) => audit::names::rolled_back_to(0),
            }
            committed?;
            Ok(value)
        }
        Err(error) => {
            audit::names::rolled_back_to(0);
            if let Err(rollback) = <Conn as Connection>::TransactionManager::rollback_transaction(conn) {
                log::warn!("rollback failed: {rollback}");
            }
            Err(error)
        }
    }
}

/// Reads that see one snapshot of the database. On SQLite they run in one deferred (read)
/// transaction, so the statements share one read lock of the WAL where each would take and
/// release its own; nothing in `f` may write. On PostgreSQL they run as they are: a `BEGIN` and
/// a `COMMIT` would be two more round trips.
pub fn read_snapshot<T>(conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
    let Conn::Sqlite(c) = conn else { return f(conn) };
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED")?;
    let done = f(conn);
    // A read transaction has nothing to keep or undo: it ends either way.
    if let Err(end) = <Conn as Connection>::TransactionManager::commit_transaction(conn) {
        log::warn!("ending a read transaction failed: {end}");
        if <Conn as Connection>::TransactionManager::rollback_transaction(conn).is_err() {
            return Err(end.into());
        }
    }
    done
}

/// Runs `f` in a savepoint of the current transaction: on error only its own work is undone.
pub fn savepoint<T>(conn: &mut Conn, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
    let mark = audit::names::pending_mark();
    let done = conn.transaction(f);
    if done.is_err() {
        audit::names::rolled_back_to(mark);
    }
    done
}

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Error::NotFound("not found".into()),
            DieselError::DatabaseError(kind, info) => {
                let message = info.message().to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        Error::Conflict(conflict_detail(info.constraint_name(), &message))
                    }
                    DatabaseErrorKind::ForeignKeyViolation => Error::Conflict(
                        "the resource is still referenced by, or refers to something that does not exist".into(),
                    ),
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                        connection_lost();
                        Error::Unavailable("database connection lost".into())
                    }
                    DatabaseErrorKind::SerializationFailure => Error::Unavailable("database busy, retry".into()),
                    _ if message.contains("database is locked") || message.contains("database is busy") => {
                        Error::Unavailable("database busy, retry".into())
                    }
                    _ => Error::Internal(format!("database error: {message}")),
                }
            }
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// Names the field behind a unique violation (PostgreSQL names the index; SQLite the columns).
fn conflict_detail(constraint: Option<&str>, message: &str) -> String {
    let text = format!("{} {}", constraint.unwrap_or(""), message);
    let field = if text.contains("username") {
        "username"
    } else if text.contains("email") {
        "email"
    } else if text.contains("phone") {
        "phone_number"
    } else if text.contains("namespaces") {
        "slug"
    } else if text.contains("client_id") {
        "client_id"
    } else {
        return "the resource already exists".into();
    };
    format!("{field} is already taken")
}

// ---------------------------------------------------------------- value conversions

/// Times are stored as UTC without zone, at microsecond precision (what PostgreSQL keeps), so
/// what is hashed into the audit chain reads back identically on both backends.
pub fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let micros = t.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(t)
}

pub fn to_db_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

pub fn from_db_time(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub fn parse_uuid(text: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(text).map_err(|_| Error::Internal(format!("stored id is not a UUID: {text}")))
}

/// A text column holding one of a fixed set of values (see `gatehouse_api_types::protocol`).
pub fn parse_text<T: std::str::FromStr<Err = gatehouse_api_types::UnknownValue>>(text: &str) -> Result<T> {
    text.parse().map_err(|e| Error::Internal(format!("stored value '{text}' is not valid: {e}")))
}

pub fn to_json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

pub fn from_json_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("stored JSON is malformed: {e}")))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` prefix pattern.
pub fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Parses stored grant strings; a stored grant that no longer parses is dropped with a warning
/// (it can only come from a manual edit of the database).
pub fn parse_stored_grants(texts: &[String]) -> Vec<Grant> {
    texts
        .iter()
        .filter_map(|t| match Grant::parse(t) {
            Ok(g) => Some(g),
            Err(e) => {
                log::warn!("ignoring a stored grant that does not parse: {e}");
                None
            }
        })
        .collect()
}

pub fn grant_strings(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(Grant::to_string).collect()
}

/// The comparison key of a sign-in name, as the `*_key` columns hold it:
/// NFKC(case fold(NFKC(name))), an approximation of Unicode's NFKC_Casefold that is stable
/// under repetition.
pub fn fold(name: &str) -> String {
    let normalized: String = name.nfkc().collect();
    caseless::default_case_fold_str(&normalized).nfkc().collect()
}

/// The smallest string above every string that starts with `prefix` (byte-wise order, which is
/// SQLite's BINARY and PostgreSQL's "C" collation), for index-friendly prefix ranges.
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut upper = String::with_capacity(prefix.len() + 4);
    upper.push_str(prefix);
    upper.push(char::MAX);
    upper
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new SQLite database in `dir`, migrated to the current schema: its URL and a
    /// connection to it.
    pub(crate) fn migrated_sqlite(dir: &tempfile::TempDir) -> (DatabaseUrl, Conn) {
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("migrated.db").display())).unwrap();
        let mut conn = url.connect().unwrap();
        migrate(&mut conn).unwrap();
        (url, conn)
    }

    /// Fails unless SQLite (the bundled one, on the migrated schema) runs the statement `sql`
    /// (as `diesel::debug_query` prints it) by searching each table by a key: no table scanned,
    /// no join materialised, no index built on the fly, no sort.
    pub(crate) fn assert_searches_by_key(sql: &str) {
        use diesel::sql_types::Text;
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Step {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let sql = sql.split(" -- binds:").next().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (_, mut conn) = migrated_sqlite(&dir);
        let plan: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(&mut conn).unwrap();
        let plan: Vec<String> = plan.into_iter().map(|step| step.detail).collect();
        assert!(!plan.is_empty());
        for step in &plan {
            assert!(step.starts_with("SEARCH ") && !step.contains("AUTOMATIC"), "{step} in the plan {plan:?} of {sql}");
        }
    }

    #[test]
    fn a_read_snapshot_sees_one_state_and_refuses_writes_on_sqlite() {
        use diesel::sql_types::BigInt;
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let count = |conn: &mut Conn| -> Result<i64> {
            Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result::<Count>(conn)?.n)
        };
        let insert =
            |conn: &mut Conn| -> Result<usize> { Ok(diesel::sql_query("INSERT INTO t VALUES (1)").execute(conn)?) };
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("snapshot.db").display())).unwrap();
        let settings =
            PoolSettings { max_size: 2, timeout: std::time::Duration::from_secs(5), min_idle: 0, credential_cache: 0 };
        let db = Db::connect(&url, &settings).unwrap();
        let (mut reader, mut writer) = (db.get().unwrap(), db.get().unwrap());
        diesel::sql_query("CREATE TABLE t (n INTEGER NOT NULL)").execute(&mut *writer).unwrap();
        transaction(&mut writer, insert).unwrap();

        let seen = read_snapshot(&mut reader, |conn| {
            let before = count(conn)?;
            // Another connection commits meanwhile: the snapshot does not see it.
            transaction(&mut writer, insert)?;
            Ok((before, count(conn)?))
        })
        .unwrap();
        assert_eq!(seen, (1, 1));
        assert_eq!(count(&mut reader).unwrap(), 2, "a new statement after the snapshot sees the commit");

        assert!(read_snapshot(&mut reader, |conn| transaction(conn, insert)).is_err(), "no write inside a snapshot");
        assert_eq!(count(&mut reader).unwrap(), 2);
        assert!(read_snapshot(&mut reader, count).is_ok(), "the connection is usable after a refused write");
    }

    #[test]
    fn parses_database_urls() {
        assert_eq!(DatabaseUrl::parse("sqlite://gatehouse.db").unwrap().backend, Backend::Sqlite);
        assert_eq!(DatabaseUrl::parse("sqlite:/tmp/x.db").unwrap().target, "/tmp/x.db");
        assert_eq!(DatabaseUrl::parse("postgres://u@h/db").unwrap().backend, Backend::Postgres);
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn redacts_passwords_from_urls() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/gh").unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/gh");
        assert!(!url.redacted().contains("s3cret"));
    }

    #[test]
    fn escapes_like_patterns() {
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn folds_case_and_compatibility_forms() {
        assert_eq!(fold("ALICE"), "alice");
        assert_eq!(fold("ａｌｉｃｅ"), "alice");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold(&fold("ǅemal")), fold("ǅemal"));
    }

    #[test]
    fn prefix_bound_is_above_all_extensions() {
        let upper = prefix_upper_bound("ali");
        for s in ["ali", "alice", "ali\u{fffd}", "aliz"] {
            assert!(s >= "ali" && s < upper.as_str(), "{s}");
        }
        assert!("alj" > upper.as_str());
    }
}
