//! Brute-force protection. Every attempt at a password or client secret counts against the
//! subject it names and against the source address **before** anything is verified: the
//! attempt is reserved on each counter in one transaction ([`reserve`]), so parallel attempts
//! cannot pass the limit together, and no increment is lost on any backend. Past a threshold
//! the attempt that reaches it locks the key for twice as long as the last lock (up to a cap);
//! while a key is locked nothing is verified and the caller gets 429 with Retry-After. A
//! success clears the subject's counter and gives the address its attempt back ([`succeeded`]).
//! The counters live in the database, so every replica sees the same lock.
//!
//! The subject is named as presented: a sign-in name that belongs to no account, or a client id
//! that names no client, has a counter and locks like a real one, so a lock-out tells nothing
//! about which accounts or clients exist.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::auth_throttle;
use crate::db::{self, Conn, Db};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts allowed before the first lock.
    pub threshold: i32,
    pub first_lock: Duration,
    pub max_lock: Duration,
    /// A success clears the counter (a subject's), or only gives its attempt back (an address,
    /// which many people may share).
    pub cleared_by_success: bool,
}

/// Per account or client: five tries, then 1 s, 2 s, 4 s, … up to 15 minutes.
pub const PER_SUBJECT: Policy = Policy {
    threshold: 5,
    first_lock: Duration::seconds(1),
    max_lock: Duration::minutes(15),
    cleared_by_success: true,
};
/// Per source address: more room (offices share an address), same growth.
pub const PER_ADDRESS: Policy = Policy {
    threshold: 20,
    first_lock: Duration::seconds(1),
    max_lock: Duration::minutes(15),
    cleared_by_success: false,
};
/// Counters forget attempts older than this.
const FORGET_AFTER: Duration = Duration::hours(1);

pub fn account_key(id: impl std::fmt::Display) -> String {
    format!("account:{id}")
}
pub fn client_key(id: impl std::fmt::Display) -> String {
    format!("client:{id}")
}
pub fn address_key(ip: &str) -> String {
    format!("ip:{ip}")
}
/// A name that signs in nothing, or a client id that names no client, as presented (hashed: the
/// counters are no record of what people typed).
pub fn presented_key(kind: &str, scope: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{kind}\0{scope}\0{name}").as_bytes());
    format!("{kind}:{}", hex::encode(&digest[..16]))
}

/// An attempt counted on its keys, waiting for its verdict.
#[derive(Debug, Clone)]
pub struct Reservation {
    keys: Vec<(String, Policy)>,
    /// The locks this attempt started (to put on record if it fails).
    pub locks: Vec<(String, DateTime<Utc>)>,
}

impl Reservation {
    /// A reservation that counted nothing (for a credential verified before, from the cache).
    pub fn none() -> Reservation {
        Reservation { keys: Vec::new(), locks: Vec::new() }
    }
}

/// Counts one attempt on every key in one write transaction, or refuses it with the seconds to
/// wait when a key is locked (then nothing is counted).
pub fn reserve(
    conn: &mut Conn,
    db: &Db,
    keys: &[(String, Policy)],
    now: DateTime<Utc>,
) -> Result<std::result::Result<Reservation, u64>> {
    // One order for everybody: two attempts never wait for each other's rows crosswise.
    let mut keys = keys.to_vec();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys.dedup_by(|a, b| a.0 == b.0);
    let counted = db.write_blocking(conn, |conn| {
        let mut locks = Vec::new();
        for (key, policy) in &keys {
            if let Some(until) = count(conn, key, *policy, now)? {
                locks.push((key.clone(), until));
            }
        }
        Ok(locks)
    });
    match counted {
        Ok(locks) => Ok(Ok(Reservation { keys, locks })),
        Err(Error::TooManyRequests { retry_after }) => Ok(Err(retry_after)),
        Err(e) => Err(e),
    }
}

/// Counts an attempt on one key (inside the caller's transaction); returns the lock it started,
/// if it reached the threshold. A locked key aborts the transaction with 429.
fn count(conn: &mut Conn, key: &str, policy: Policy, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let now_db = db::to_db_time(now);
    let fresh = (auth_throttle::key.eq(key), auth_throttle::failures.eq(0), auth_throttle::last_failure_at.eq(now_db));
    db::native!(conn, |c| diesel::insert_into(auth_throttle::table).values(fresh).on_conflict_do_nothing().execute(c))?;
    // The increment takes the row's lock (PostgreSQL): a parallel attempt waits here until this
    // transaction has set the lock it may start, and then sees it.
    diesel::update(auth_throttle::table.find(key))
        .set(auth_throttle::failures.eq(auth_throttle::failures + 1))
        .execute(conn)?;
    let (failures, last, locked_until): (i32, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) =
        auth_throttle::table
            .find(key)
            .select((auth_throttle::failures, auth_throttle::last_failure_at, auth_throttle::locked_until))
            .first(conn)?;
    if let Some(until) = locked_until.filter(|u| *u > now_db) {
        let retry_after = (until - now_db).num_milliseconds().max(0) as u64 / 1000 + 1;
        return Err(Error::TooManyRequests { retry_after });
    }
    let failures = if db::from_db_time(last) <= now - FORGET_AFTER { 1 } else { failures };
    let lock = (failures >= policy.threshold).then(|| {
        let doublings = (failures - policy.threshold).clamp(0, 20) as u32;
        now + (policy.first_lock * 2i32.pow(doublings)).min(policy.max_lock)
    });
    diesel::update(auth_throttle::table.find(key))
        .set((
            auth_throttle::failures.eq(failures),
            auth_throttle::last_failure_at.eq(now_db),
            auth_throttle::locked_until.eq(lock.map(db::to_db_time)),
        ))
        .execute(conn)?;
    Ok(lock)
}

/// The attempt was right: its subject's counter is cleared, and each address gets the attempt
/// back (and its lock lifted, if this attempt started it by reaching the threshold).
pub fn succeeded(conn: &mut Conn, db: &Db, reservation: &Reservation) -> Result<()> {
    if reservation.keys.is_empty() {
        return Ok(());
    }
    db.write_blocking(conn, |conn| {
        for (key, policy) in &reservation.keys {
            if policy.cleared_by_success {
                diesel::delete(auth_throttle::table.find(key)).execute(conn)?;
                continue;
            }
            diesel::update(auth_throttle::table.find(key).filter(auth_throttle::failures.gt(0)))
                .set(auth_throttle::failures.eq(auth_throttle::failures - 1))
                .execute(conn)?;
            if reservation.locks.iter().any(|(locked, _)| locked == key) {
                diesel::update(auth_throttle::table.find(key).filter(auth_throttle::failures.lt(policy.threshold)))
                    .set(auth_throttle::locked_until.eq(None::<chrono::NaiveDateTime>))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// Clears a subject's counter outside of an attempt (a password reset proved the address).
pub fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    diesel::delete(auth_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// Forgets up to `limit` unlocked counters whose last attempt was [`FORGET_AFTER`] before
/// `before`; returns how many.
/// Safe: [`count`] restarts such a counter at one anyway, and a lock is kept whatever its age.
pub fn forget_stale(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let stale = auth_throttle::last_failure_at
        .lt(db::to_db_time(before - FORGET_AFTER))
        .and(auth_throttle::locked_until.is_null().or(auth_throttle::locked_until.lt(db::to_db_time(before))));
    db::delete_batch!(conn, auth_throttle, key, stale, limit)
}
