//! The brute-force counters behind the domain's throttle (`domain::throttle`): one row per key
//! (a subject or a source address) with its failures, last failure and lock.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::auth_throttle;
use super::{from_db_time, to_db_time, Conn};
use crate::error::Result;

/// A counter as stored.
pub struct Counter {
    pub failures: i32,
    pub last_failure_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Creates the counter of `key` at zero failures, unless it exists.
pub fn create_if_missing(conn: &mut Conn, key: &str, now: DateTime<Utc>) -> Result<()> {
    let fresh =
        (auth_throttle::key.eq(key), auth_throttle::failures.eq(0), auth_throttle::last_failure_at.eq(to_db_time(now)));
    native!(conn, |c| diesel::insert_into(auth_throttle::table).values(fresh).on_conflict_do_nothing().execute(c))?;
    Ok(())
}

/// Adds one failure. The increment takes the row's lock (PostgreSQL): a parallel attempt
/// waits here until this transaction ends.
pub fn increment(conn: &mut Conn, key: &str) -> Result<()> {
    diesel::update(auth_throttle::table.find(key))
        .set(auth_throttle::failures.eq(auth_throttle::failures + 1))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut Conn, key: &str) -> Result<Counter> {
    let (failures, last, locked_until): (i32, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) =
        auth_throttle::table
            .find(key)
            .select((auth_throttle::failures, auth_throttle::last_failure_at, auth_throttle::locked_until))
            .first(conn)?;
    Ok(Counter { failures, last_failure_at: from_db_time(last), locked_until: locked_until.map(from_db_time) })
}

pub fn store(conn: &mut Conn, key: &str, counter: &Counter) -> Result<()> {
    diesel::update(auth_throttle::table.find(key))
        .set((
            auth_throttle::failures.eq(counter.failures),
            auth_throttle::last_failure_at.eq(to_db_time(counter.last_failure_at)),
            auth_throttle::locked_until.eq(counter.locked_until.map(to_db_time)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut Conn, key: &str) -> Result<()> {
    diesel::delete(auth_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// Takes one failure back (never below zero).
pub fn take_back_failure(conn: &mut Conn, key: &str) -> Result<()> {
    diesel::update(auth_throttle::table.find(key).filter(auth_throttle::failures.gt(0)))
        .set(auth_throttle::failures.eq(auth_throttle::failures - 1))
        .execute(conn)?;
    Ok(())
}

/// Lifts the lock of `key` if its failures are below `threshold` now.
pub fn unlock_below(conn: &mut Conn, key: &str, threshold: i32) -> Result<()> {
    diesel::update(auth_throttle::table.find(key).filter(auth_throttle::failures.lt(threshold)))
        .set(auth_throttle::locked_until.eq(None::<chrono::NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` counters whose last failure was before `last_failure_before` and that
/// are not locked at `unlocked_at`; returns how many.
pub fn delete_stale(
    conn: &mut Conn,
    last_failure_before: DateTime<Utc>,
    unlocked_at: DateTime<Utc>,
    limit: i64,
) -> Result<usize> {
    let stale = auth_throttle::last_failure_at
        .lt(to_db_time(last_failure_before))
        .and(auth_throttle::locked_until.is_null().or(auth_throttle::locked_until.lt(to_db_time(unlocked_at))));
    delete_batch!(conn, auth_throttle, key, stale, limit)
}
