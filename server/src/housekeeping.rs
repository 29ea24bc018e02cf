//! Housekeeping: deletes the rows no flow can use any more, so that the tables taking
//! short-lived rows (pending sign-ins, codes, tokens, sessions, throttling counters, delivered
//! mail, idempotency keys, self-registrations never verified) stay the size of what is live. Every replica sweeps when it starts
//! and then every ten minutes; two replicas sweeping at once just find less to delete.
//!
//! A statement deletes at most [`BATCH`] rows, each batch in its own short write transaction,
//! repeated until a table has no more to give: a backlog (say, after a long outage) never holds
//! SQLite's single write lock, or PostgreSQL's row locks, for long. Why each condition is safe
//! is written at its query, next to the table's other queries.
//!
//! The audit log is the one table with a retention of its own (`--audit-retention`): its old
//! events leave the live chain only into a signed archive (`domain::audit_archive`), so
//! without `--audit-archive-dir` none is ever deleted. Replicas take turns through a lease.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::db::{self, Conn, Db};
use crate::domain::audit_archive::{self, ArchiveRequest, ArchiveRun, SEGMENT_EVENTS};
use crate::domain::crypto::MasterKey;
use crate::domain::{accounts, idempotency, throttle};
use crate::error::Result;
use crate::outbox;

/// How often a replica sweeps.
const INTERVAL: Duration = Duration::from_secs(600);
/// The most rows one statement deletes.
const BATCH: i64 = 1000;
/// Rows outlive their end by this much, so that a replica whose clock runs behind (and so still
/// honours them a little longer) never finds them gone early.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// What a sweep needs to know of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// No access token lives longer than this (`--max-access-token-ttl`).
    pub max_access_ttl: chrono::Duration,
}

/// How the audit log is archived on schedule (`--audit-retention`, `--audit-archive-dir`).
#[derive(Clone)]
pub struct AuditRetention {
    /// Events older than this are archived; `None`: kept forever.
    pub keep: Option<chrono::Duration>,
    pub archive_dir: Option<std::path::PathBuf>,
    pub master: MasterKey,
}

impl AuditRetention {
    pub fn new(days: f64, archive_dir: Option<std::path::PathBuf>, master: MasterKey) -> AuditRetention {
        let keep = (days > 0.0).then(|| chrono::Duration::milliseconds((days * 86_400_000.0) as i64));
        AuditRetention { keep, archive_dir, master }
    }
}

/// Sweeps at once, then every [`INTERVAL`] for as long as the server runs.
pub async fn run(db: Db, retention: Retention, audit: AuditRetention) {
    if audit.keep.is_some() && audit.archive_dir.is_none() {
        log::info!("audit retention needs --audit-archive-dir: without one no audit event is archived or deleted");
    }
    let mut every = actix_web::rt::time::interval(INTERVAL);
    // After a sweep that outlasted the interval, wait a whole interval rather than catch up.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        sweep(&db, retention).await;
        archive_audit(&db, &audit).await;
    }
}

/// Archives the audit events older than the retention, when there is an archive directory.
/// Another replica archiving meanwhile is not an error: this one skips its turn.
async fn archive_audit(db: &Db, audit: &AuditRetention) {
    let (Some(keep), Some(dir)) = (audit.keep, audit.archive_dir.clone()) else {
        return;
    };
    let request = ArchiveRequest { before: db::now() - keep, dir, segment_events: SEGMENT_EVENTS };
    let (db, master) = (db.clone(), audit.master.clone());
    match db::blocking(move || audit_archive::archive(&db, &master, &request)).await {
        Ok(ArchiveRun::Busy) => log::info!("housekeeping: another replica is archiving the audit log"),
        Ok(ArchiveRun::Done { segments, elapsed }) if !segments.is_empty() => {
            let events: i64 = segments.iter().map(|s| s.events).sum();
            log::info!(
                "housekeeping: archived {events} audit events into {} segments in {} ms",
                segments.len(),
                elapsed.as_millis()
            );
        }
        Ok(ArchiveRun::Done { .. }) => {}
        Err(e) => log::warn!("housekeeping: cannot archive the audit log (nothing was deleted unarchived): {e}"),
    }
}

/// A table's deletion: removes up to the given number of rows; returns how many it removed.
type Delete = Arc<dyn Fn(&mut Conn, i64) -> Result<usize> + Send + Sync>;

fn table(
    rows: &'static str,
    delete: impl Fn(&mut Conn, i64) -> Result<usize> + Send + Sync + 'static,
) -> (&'static str, Delete) {
    (rows, Arc::new(delete))
}

/// Every swept table (named as its rows are in the log) with its deletion as of `now`.
fn deletions(now: DateTime<Utc>, retention: Retention) -> Vec<(&'static str, Delete)> {
    let ended = now - CLOCK_SKEW;
    let used_codes_ended = ended - retention.max_access_ttl;
    let delivered = ended - outbox::KEEP_DELIVERED;
    let idempotency_ended = ended - idempotency::retention();
    vec![
        table("authorization requests", move |c, n| db::oauth::delete_expired_requests(c, ended, n)),
        table("authorization codes", move |c, n| db::oauth::delete_dead_codes(c, ended, used_codes_ended, n)),
        table("refresh tokens", move |c, n| db::oauth::delete_expired_refresh_tokens(c, ended, n)),
        table("revoked access tokens", move |c, n| db::oauth::delete_expired_revocations(c, ended, n)),
        table("client assertions", move |c, n| db::client_assertions::delete_expired(c, ended, n)),
        table("DPoP proofs", move |c, n| db::dpop_proofs::delete_expired(c, ended, n)),
        table("pushed authorization requests", move |c, n| db::pushed_requests::delete_expired(c, ended, n)),
        table("device authorizations", move |c, n| db::device_authorizations::delete_expired(c, ended, n)),
        table("factor challenges", move |c, n| db::factor_challenges::delete_expired(c, ended, n)),
        table("sign-in sessions", move |c, n| db::oauth::delete_expired_sessions(c, ended, n)),
        table("console sessions", move |c, n| db::console::delete_expired(c, ended, n)),
        table("one-time codes", move |c, n| db::codes::delete_expired(c, ended, n)),
        table("throttle counters", move |c, n| throttle::forget_stale(c, ended, n)),
        table("delivered messages", move |c, n| db::outbox::delete_delivered(c, delivered, n)),
        table("idempotency keys", move |c, n| db::idempotency::delete_older_than(c, idempotency_ended, n)),
        table("unverified registrations", move |c, n| accounts::delete_expired_registrations(c, now, n)),
    ]
}

/// One sweep over every table. Logs one line with what it removed, if anything; a table that
/// fails is skipped with a warning (the next sweep tries it again).
async fn sweep(db: &Db, retention: Retention) {
    let started = Instant::now();
    let mut removed = Vec::new();
    for (rows, delete) in deletions(db::now(), retention) {
        let (count, outcome) = drain(db, delete).await;
        if let Err(e) = outcome {
            log::warn!("housekeeping: cannot remove {rows} (removed {count} before the error): {e}");
        }
        if count > 0 {
            removed.push(format!("{count} {rows}"));
        }
    }
    if !removed.is_empty() {
        log::info!("housekeeping: removed {} in {} ms", removed.join(", "), started.elapsed().as_millis());
    }
}

/// Deletes batch after batch until one comes back short; returns how many rows in all, and
/// the error that stopped it early, if one did.
async fn drain(db: &Db, delete: Delete) -> (usize, Result<()>) {
    let mut total = 0;
    loop {
        let batch = delete.clone();
        match db.write(move |conn| batch(conn, BATCH)).await {
            Ok(count) => {
                total += count;
                if count < BATCH as usize {
                    return (total, Ok(()));
                }
            }
            Err(e) => return (total, Err(e)),
        }
    }
}
