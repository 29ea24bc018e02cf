//! One-time codes (email and phone verification, password reset), stored as keyed hashes: the
//! rows behind the domain's codes (`domain::codes`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::ids::AccountId;
use super::schema::verification_codes;
use super::{to_db_time, Conn};
use crate::error::Result;

/// A fresh code, as stored.
pub struct NewCode<'a> {
    pub account: AccountId,
    pub purpose: &'a str,
    pub target: &'a str,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The live code of an account and purpose: unused and unexpired.
pub struct LiveCode {
    pub id: String,
    pub code_hash: String,
    pub attempts: i32,
}

/// Uses up every unused code of `account` for `purpose`, as of `now`.
pub fn consume_unused(conn: &mut Conn, account: AccountId, purpose: &str, now: DateTime<Utc>) -> Result<()> {
    diesel::update(
        verification_codes::table
            .filter(verification_codes::account_id.eq(account.to_string()))
            .filter(verification_codes::purpose.eq(purpose))
            .filter(verification_codes::consumed_at.is_null()),
    )
    .set(verification_codes::consumed_at.eq(to_db_time(now)))
    .execute(conn)?;
    Ok(())
}

pub fn insert(conn: &mut Conn, code: &NewCode) -> Result<()> {
    diesel::insert_into(verification_codes::table)
        .values((
            verification_codes::id.eq(Uuid::now_v7().to_string()),
            verification_codes::account_id.eq(code.account.to_string()),
            verification_codes::purpose.eq(code.purpose),
            verification_codes::target.eq(code.target),
            verification_codes::code_hash.eq(&code.code_hash),
            verification_codes::attempts.eq(0),
            verification_codes::created_at.eq(to_db_time(code.created_at)),
            verification_codes::expires_at.eq(to_db_time(code.expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The newest unused code of `account` for `purpose` that has not expired at `now`.
pub fn live(conn: &mut Conn, account: AccountId, purpose: &str, now: DateTime<Utc>) -> Result<Option<LiveCode>> {
    let live: Option<(String, String, i32)> = verification_codes::table
        .filter(verification_codes::account_id.eq(account.to_string()))
        .filter(verification_codes::purpose.eq(purpose))
        .filter(verification_codes::consumed_at.is_null())
        .filter(verification_codes::expires_at.gt(to_db_time(now)))
        .order(verification_codes::created_at.desc())
        .select((verification_codes::id, verification_codes::code_hash, verification_codes::attempts))
        .first(conn)
        .optional()?;
    Ok(live.map(|(id, code_hash, attempts)| LiveCode { id, code_hash, attempts }))
}

pub fn set_attempts(conn: &mut Conn, id: &str, attempts: i32) -> Result<()> {
    diesel::update(verification_codes::table.find(id)).set(verification_codes::attempts.eq(attempts)).execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` codes (used or not) that expired before `before`; returns how many.
/// Safe: a code is checked only while unexpired, and nothing else needs an expired one.
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = verification_codes::expires_at.lt(to_db_time(before));
    delete_batch!(conn, verification_codes, id, expired, limit)
}
