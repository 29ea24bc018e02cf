//! One-time codes for email and phone verification and password reset: six digits, stored as
//! keyed hashes, expiring after ten minutes, dead after five wrong attempts. A new code of the
//! same purpose replaces the old one.

use uuid::Uuid;

use super::crypto::{numeric_code, same, MasterKey};
use crate::db::ids::AccountId;
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
    db::codes::consume_unused(conn, AccountId(account), purpose.as_str(), now)?;
    let code = numeric_code(6);
    db::codes::insert(
        conn,
        &db::codes::NewCode {
            account: AccountId(account),
            purpose: purpose.as_str(),
            target,
            code_hash: hash(master, account, purpose, &code),
            created_at: now,
            expires_at: now + chrono::Duration::minutes(LIFETIME_MINUTES),
        },
    )?;
    Ok(code)
}

/// Checks a code (inside the caller's transaction); a wrong one counts an attempt. A right one
/// is not used up until [`consume`]: a form with two codes consumes both or neither.
pub fn check(conn: &mut Conn, master: &MasterKey, account: Uuid, purpose: Purpose, code: &str) -> Result<bool> {
    let Some(live) = db::codes::live(conn, AccountId(account), purpose.as_str(), db::now())? else { return Ok(false) };
    if live.attempts >= MAX_ATTEMPTS {
        return Ok(false);
    }
    let matches = code.trim().len() == 6 && same(&live.code_hash, &hash(master, account, purpose, code.trim()));
    if !matches {
        db::codes::set_attempts(conn, &live.id, live.attempts + 1)?;
    }
    Ok(matches)
}

/// Uses up the live code of a purpose (after [`check`] accepted it).
pub fn consume(conn: &mut Conn, account: Uuid, purpose: Purpose) -> Result<()> {
    db::codes::consume_unused(conn, AccountId(account), purpose.as_str(), db::now())
}
