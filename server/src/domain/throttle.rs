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
use sha2::{Digest, Sha256};

use crate::db::{self, Conn, Db};
use crate::error::{Error, Refusable, Result};

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
/// Second-factor codes of an account: a counter of their own, which a right password does not
/// clear (else every password would buy new guesses at the code).
pub fn factor_key(account: impl std::fmt::Display) -> String {
    format!("factor:{account}")
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
pub fn reserve(conn: &mut Conn, db: &Db, keys: &[(String, Policy)], now: DateTime<Utc>) -> Refusable<Reservation, u64> {
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
    db::throttle::create_if_missing(conn, key, now)?;
    // The increment takes the row's lock (PostgreSQL): a parallel attempt waits here until this
    // transaction has set the lock it may start, and then sees it.
    db::throttle::increment(conn, key)?;
    let counter = db::throttle::get(conn, key)?;
    if let Some(until) = counter.locked_until.filter(|u| *u > now) {
        let retry_after = (until - now).num_milliseconds().max(0) as u64 / 1000 + 1;
        return Err(Error::TooManyRequests { retry_after });
    }
    let failures = if counter.last_failure_at <= now - FORGET_AFTER { 1 } else { counter.failures };
    let lock = (failures >= policy.threshold).then(|| {
        let doublings = (failures - policy.threshold).clamp(0, 20) as u32;
        now + (policy.first_lock * 2i32.pow(doublings)).min(policy.max_lock)
    });
    db::throttle::store(conn, key, &db::throttle::Counter { failures, last_failure_at: now, locked_until: lock })?;
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
                db::throttle::delete(conn, key)?;
                continue;
            }
            db::throttle::take_back_failure(conn, key)?;
            if reservation.locks.iter().any(|(locked, _)| locked == key) {
                db::throttle::unlock_below(conn, key, policy.threshold)?;
            }
        }
        Ok(())
    })
}

/// Clears a subject's counter outside of an attempt (a password reset proved the address).
pub fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    db::throttle::delete(conn, key)
}

/// Forgets up to `limit` unlocked counters whose last attempt was [`FORGET_AFTER`] before
/// `before`; returns how many.
/// Safe: [`count`] restarts such a counter at one anyway, and a lock is kept whatever its age.
pub fn forget_stale(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    db::throttle::delete_stale(conn, before - FORGET_AFTER, before, limit)
}
