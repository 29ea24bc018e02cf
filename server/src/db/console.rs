//! The console's server-side sessions. The cookie is stored only as a SHA-256 hash; the tokens
//! the session holds are sealed with the master key by the caller.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::ids::AccountId;
use super::schema::console_sessions;
use super::{from_db_time, parse_uuid, to_db_time, Conn, Unique};
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
struct Row {
    id: String,
    token_hash: String,
    account_id: String,
    sso_session_id: Option<String>,
    access_token: Vec<u8>,
    access_expires_at: NaiveDateTime,
    refresh_token: Option<Vec<u8>>,
    created_at: NaiveDateTime,
    refreshed_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// A signed-in console: who, and the (sealed) tokens the server holds for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    pub id: String,
    pub account: Uuid,
    pub sso_session_id: Option<String>,
    pub sealed_access_token: Vec<u8>,
    pub access_expires_at: DateTime<Utc>,
    pub sealed_refresh_token: Option<Vec<u8>>,
    pub expires_at: DateTime<Utc>,
}

impl TryFrom<Row> for ConsoleSession {
    type Error = crate::error::Error;

    fn try_from(r: Row) -> Result<ConsoleSession> {
        Ok(ConsoleSession {
            id: r.id,
            account: parse_uuid(&r.account_id)?,
            sso_session_id: r.sso_session_id,
            sealed_access_token: r.access_token,
            access_expires_at: from_db_time(r.access_expires_at),
            sealed_refresh_token: r.refresh_token,
            expires_at: from_db_time(r.expires_at),
        })
    }
}

pub fn insert(conn: &mut Conn, s: &ConsoleSession, token_hash: &str) -> Result<()> {
    let now = to_db_time(super::now());
    let row = Row {
        id: s.id.clone(),
        token_hash: token_hash.to_owned(),
        account_id: s.account.to_string(),
        sso_session_id: s.sso_session_id.clone(),
        access_token: s.sealed_access_token.clone(),
        access_expires_at: to_db_time(s.access_expires_at),
        refresh_token: s.sealed_refresh_token.clone(),
        created_at: now,
        refreshed_at: now,
        expires_at: to_db_time(s.expires_at),
    };
    diesel::insert_into(console_sessions::table).values(row).execute(conn)?;
    Ok(())
}

/// The live session behind a cookie.
pub fn find(conn: &mut Conn, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ConsoleSession>> {
    let row: Option<Row> = console_sessions::table
        .filter(console_sessions::token_hash.eq(token_hash))
        .filter(console_sessions::expires_at.gt(to_db_time(now)))
        .select(Row::as_select())
        .unique(conn)?;
    row.map(ConsoleSession::try_from).transpose()
}

/// Takes the session's row lock (PostgreSQL; SQLite serializes writers anyway) so that two
/// requests never refresh the same tokens at once. False when the session is gone.
pub fn lock(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<bool> {
    let changed = diesel::update(console_sessions::table.find(id))
        .set(console_sessions::refreshed_at.eq(to_db_time(now)))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Option<ConsoleSession>> {
    let row: Option<Row> = console_sessions::table.find(id).select(Row::as_select()).unique(conn)?;
    row.map(ConsoleSession::try_from).transpose()
}

/// Stores the tokens of a refresh.
pub fn store_tokens(
    conn: &mut Conn,
    id: &str,
    access: Vec<u8>,
    access_expires_at: DateTime<Utc>,
    refresh: Option<Vec<u8>>,
) -> Result<()> {
    diesel::update(console_sessions::table.find(id))
        .set((
            console_sessions::access_token.eq(access),
            console_sessions::access_expires_at.eq(to_db_time(access_expires_at)),
            console_sessions::refresh_token.eq(refresh),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut Conn, id: &str) -> Result<bool> {
    Ok(diesel::delete(console_sessions::table.find(id)).execute(conn)? == 1)
}

/// Ends every console session of an account; returns how many there were.
pub fn delete_for_account(conn: &mut Conn, account: AccountId) -> Result<usize> {
    Ok(diesel::delete(console_sessions::table.filter(console_sessions::account_id.eq(account.to_string())))
        .execute(conn)?)
}

/// Removes up to `limit` sessions that expired before `before`; returns how many.
/// Safe: [`find`] never returns an expired session (signing out deletes the row at once).
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = console_sessions::expires_at.lt(to_db_time(before));
    delete_batch!(conn, console_sessions, id, expired, limit)
}
