//! Brute-force protection. Failed passwords and client secrets count against the account or
//! client and against the source address; past a threshold each further failure locks the key
//! for twice as long as the last time (up to a cap), and while a key is locked no verification
//! is attempted: the caller gets 429 with Retry-After. The counters live in the database, so
//! every replica sees the same lock. A success clears the account's or client's counter.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::auth_throttle;
use crate::db::{self, Conn};
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before the first lock.
    pub threshold: i32,
    pub first_lock: Duration,
    pub max_lock: Duration,
}

/// Per account or client: five tries, then 1 s, 2 s, 4 s, … up to 15 minutes.
pub const PER_SUBJECT: Policy = Policy { threshold: 5, first_lock: Duration::seconds(1), max_lock: Duration::minutes(15) };
/// Per source address: more room (offices share an address), same growth.
pub const PER_ADDRESS: Policy = Policy { threshold: 20, first_lock: Duration::seconds(1), max_lock: Duration::minutes(15) };
/// Counters forget failures older than this.
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

/// Seconds until the longest of these locks ends, if any key is locked.
pub fn locked(conn: &mut Conn, keys: &[String], now: DateTime<Utc>) -> Result<Option<u64>> {
    let until: Vec<Option<chrono::NaiveDateTime>> = auth_throttle::table
        .filter(auth_throttle::key.eq_any(keys))
        .select(auth_throttle::locked_until)
        .load(conn)?;
    let now_db = db::to_db_time(now);
    Ok(until
        .into_iter()
        .flatten()
        .filter(|u| *u > now_db)
        .map(|u| (u - now_db).num_milliseconds().max(0) as u64 / 1000 + 1)
        .max())
}

/// Counts a failure; returns the lock's end when this failure locked the key.
pub fn failure(conn: &mut Conn, key: &str, policy: Policy, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let now_db = db::to_db_time(now);
    let current: Option<(i32, chrono::NaiveDateTime)> = auth_throttle::table
        .find(key)
        .select((auth_throttle::failures, auth_throttle::last_failure_at))
        .first(conn)
        .optional()?;
    let failures = match current {
        Some((n, last)) if db::from_db_time(last) > now - FORGET_AFTER => n + 1,
        _ => 1,
    };
    let lock = (failures >= policy.threshold).then(|| {
        let doublings = (failures - policy.threshold).min(20) as u32;
        let length = policy.first_lock * 2i32.pow(doublings.min(30));
        now + length.min(policy.max_lock)
    });
    let values = (
        auth_throttle::failures.eq(failures),
        auth_throttle::last_failure_at.eq(now_db),
        auth_throttle::locked_until.eq(lock.map(db::to_db_time)),
    );
    // The update finds no row when housekeeping removed the stale counter meanwhile.
    let updated = current.is_some()
        && diesel::update(auth_throttle::table.find(key))
            .set(values)
            .execute(conn)?
            == 1;
    if !updated {
        diesel::insert_into(auth_throttle::table).values((auth_throttle::key.eq(key), values.0, values.1, values.2)).execute(conn)?;
    }
    Ok(lock)
}

/// Forgets the failures of a key after a success.
pub fn success(conn: &mut Conn, key: &str) -> Result<()> {
    diesel::delete(auth_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// Forgets up to `limit` unlocked counters whose last failure was [`FORGET_AFTER`] before
/// `before`; returns how many.
/// Safe: [`failure`] restarts such a counter at one anyway, and a lock is kept whatever its age.
pub fn forget_stale(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let stale = auth_throttle::last_failure_at
        .lt(db::to_db_time(before - FORGET_AFTER))
        .and(
            auth_throttle::locked_until
                .is_null()
                .or(auth_throttle::locked_until.lt(db::to_db_time(before))),
        );
    db::delete_batch!(conn, auth_throttle, key, stale, limit)
}
