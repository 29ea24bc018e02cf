//! One-time codes for email and phone verification and password reset: six digits, stored as
//! keyed hashes, expiring after ten minutes, dead after five wrong attempts. A new code of the
//! same purpose replaces the old one.

use diesel::prelude::*;
use uuid::Uuid;

use super::crypto::{numeric_code, same, MasterKey};
use crate::db::schema::verification_codes;
use crate::db::{self, Conn};
use crate::error::Result;

pub const LIFETIME_MINUTES: i64 = 10;
pub const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Email,
    Phone,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Email => "email",
            Purpose::Phone => "phone",
            Purpose::Reset => "reset",
        }
    }
}

fn hash(master: &MasterKey, account: Uuid, purpose: Purpose, code: &str) -> String {
    master.keyed_hash("one-time-code", &format!("{account}:{}:{code}", purpose.as_str()))
}

/// Issues a new code (inside the caller's transaction) and returns it, to be sent.
pub fn issue(conn: &mut Conn, master: &MasterKey, account: Uuid, purpose: Purpose, target: &str) -> Result<String> {
    let now = db::now();
    diesel::update(
        verification_codes::table
            .filter(verification_codes::account_id.eq(account.to_string()))
            .filter(verification_codes::purpose.eq(purpose.as_str()))
            .filter(verification_codes::consumed_at.is_null()),
    )
    .set(verification_codes::consumed_at.eq(db::to_db_time(now)))
    .execute(conn)?;
    let code = numeric_code(6);
    diesel::insert_into(verification_codes::table)
        .values((
            verification_codes::id.eq(Uuid::now_v7().to_string()),
            verification_codes::account_id.eq(account.to_string()),
            verification_codes::purpose.eq(purpose.as_str()),
            verification_codes::target.eq(target),
            verification_codes::code_hash.eq(hash(master, account, purpose, &code)),
            verification_codes::attempts.eq(0),
            verification_codes::created_at.eq(db::to_db_time(now)),
            verification_codes::expires_at.eq(db::to_db_time(now + chrono::Duration::minutes(LIFETIME_MINUTES))),
        ))
        .execute(conn)?;
    Ok(code)
}

/// Checks a code (inside the caller's transaction); a wrong one counts an attempt. A right one
/// is not used up until [`consume`]: a form with two codes consumes both or neither.
pub fn check(conn: &mut Conn, master: &MasterKey, account: Uuid, purpose: Purpose, code: &str) -> Result<bool> {
    let now = db::to_db_time(db::now());
    let live: Option<(String, String, i32)> = verification_codes::table
        .filter(verification_codes::account_id.eq(account.to_string()))
        .filter(verification_codes::purpose.eq(purpose.as_str()))
        .filter(verification_codes::consumed_at.is_null())
        .filter(verification_codes::expires_at.gt(now))
        .order(verification_codes::created_at.desc())
        .select((verification_codes::id, verification_codes::code_hash, verification_codes::attempts))
        .first(conn)
        .optional()?;
    let Some((id, stored, attempts)) = live else { return Ok(false) };
    if attempts >= MAX_ATTEMPTS {
        return Ok(false);
    }
    let matches = code.trim().len() == 6 && same(&stored, &hash(master, account, purpose, code.trim()));
    if !matches {
        diesel::update(verification_codes::table.find(&id))
            .set(verification_codes::attempts.eq(attempts + 1))
            .execute(conn)?;
    }
    Ok(matches)
}

/// Uses up the live code of a purpose (after [`check`] accepted it).
pub fn consume(conn: &mut Conn, account: Uuid, purpose: Purpose) -> Result<()> {
    diesel::update(
        verification_codes::table
            .filter(verification_codes::account_id.eq(account.to_string()))
            .filter(verification_codes::purpose.eq(purpose.as_str()))
            .filter(verification_codes::consumed_at.is_null()),
    )
    .set(verification_codes::consumed_at.eq(db::to_db_time(db::now())))
    .execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` codes (used or not) that expired before `before`; returns how many.
/// Safe: [`check`] accepts only an unexpired code, and nothing else needs an expired one.
pub fn delete_expired(conn: &mut Conn, before: chrono::DateTime<chrono::Utc>, limit: i64) -> Result<usize> {
    let expired = verification_codes::expires_at.lt(db::to_db_time(before));
    db::delete_batch!(conn, verification_codes, id, expired, limit)
}
