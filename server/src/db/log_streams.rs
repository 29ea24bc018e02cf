//! Log streams' rows: the stream (name, URL, filter, sealed secret), its cursor into the audit
//! chain and its delivery status, and the claim the delivery worker ([`crate::log_streams`])
//! takes before it sends a batch. The claim lapses, so a crashed replica's stream is picked up
//! again; the cursor only moves from the value the batch was read at, so a stale worker can
//! never move it.
//!
//! The table is declared here rather than in `schema.rs`: nothing joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use gatehouse_api_types::LogStreamFilter;
use uuid::Uuid;

use super::{from_db_time, from_json_text, parse_uuid, to_db_time, to_json_text, Conn, Unique};
use crate::error::Result;

diesel::table! {
    log_streams (id) {
        id -> Text,
        name -> Text,
        owner_account_id -> Nullable<Text>,
        url -> Text,
        filter -> Text,
        secret -> Binary,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cursor_seq -> BigInt,
        pending_last_seq -> Nullable<BigInt>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

/// A stream as stored; `secret` sealed with the master key.
#[derive(Debug, Clone, PartialEq)]
pub struct LogStream {
    pub id: Uuid,
    pub name: String,
    /// The account the stream delivers for (set by whoever last pointed it somewhere): it
    /// delivers only while that account holds `audit:read@*`. `None` once the account is gone.
    pub owner_account_id: Option<Uuid>,
    pub url: String,
    pub filter: LogStreamFilter,
    pub secret: Vec<u8>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The last sequence number delivered (or passed over as not matching).
    pub cursor_seq: i64,
    /// The last event of the batch that failed, which the next attempt sends again, unchanged.
    pub pending_last_seq: Option<i64>,
    /// Failed attempts in a row.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = log_streams)]
struct Row {
    id: String,
    name: String,
    owner_account_id: Option<String>,
    url: String,
    filter: String,
    secret: Vec<u8>,
    disabled: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    cursor_seq: i64,
    pending_last_seq: Option<i64>,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_attempt_at: Option<NaiveDateTime>,
    last_success_at: Option<NaiveDateTime>,
    failing_since: Option<NaiveDateTime>,
    last_error: Option<String>,
}

impl Row {
    fn into_stream(self) -> Result<LogStream> {
        Ok(LogStream {
            id: parse_uuid(&self.id)?,
            name: self.name,
            owner_account_id: self.owner_account_id.as_deref().map(parse_uuid).transpose()?,
            url: self.url,
            filter: from_json_text(&self.filter)?,
            secret: self.secret,
            disabled: self.disabled,
            created_at: from_db_time(self.created_at),
            updated_at: from_db_time(self.updated_at),
            cursor_seq: self.cursor_seq,
            pending_last_seq: self.pending_last_seq,
            attempts: self.attempts,
            next_attempt_at: from_db_time(self.next_attempt_at),
            last_attempt_at: self.last_attempt_at.map(from_db_time),
            last_success_at: self.last_success_at.map(from_db_time),
            failing_since: self.failing_since.map(from_db_time),
            last_error: self.last_error,
        })
    }
}

pub fn insert(conn: &mut Conn, stream: &LogStream) -> Result<()> {
    diesel::insert_into(log_streams::table)
        .values((
            log_streams::id.eq(stream.id.to_string()),
            log_streams::name.eq(&stream.name),
            log_streams::owner_account_id.eq(stream.owner_account_id.map(|id| id.to_string())),
            log_streams::url.eq(&stream.url),
            log_streams::filter.eq(to_json_text(&stream.filter)?),
            log_streams::secret.eq(&stream.secret),
            log_streams::disabled.eq(stream.disabled),
            log_streams::created_at.eq(to_db_time(stream.created_at)),
            log_streams::updated_at.eq(to_db_time(stream.updated_at)),
            log_streams::cursor_seq.eq(stream.cursor_seq),
            log_streams::attempts.eq(stream.attempts),
            log_streams::next_attempt_at.eq(to_db_time(stream.next_attempt_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut Conn, id: Uuid) -> Result<Option<LogStream>> {
    let row: Option<Row> = log_streams::table.find(id.to_string()).select(Row::as_select()).unique(conn)?;
    row.map(Row::into_stream).transpose()
}

/// Up to `limit` streams with ids after `after`, in id (creation) order.
pub fn list(conn: &mut Conn, after: Option<&str>, limit: i64) -> Result<Vec<LogStream>> {
    let mut query = log_streams::table.select(Row::as_select()).order(log_streams::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(log_streams::id.gt(after.to_owned()));
    }
    query.load::<Row>(conn)?.into_iter().map(Row::into_stream).collect()
}

/// Stores what a caller may change: name, URL, filter, disabled.
pub fn update(conn: &mut Conn, stream: &LogStream) -> Result<()> {
    diesel::update(log_streams::table.find(stream.id.to_string()))
        .set((
            log_streams::name.eq(&stream.name),
            log_streams::owner_account_id.eq(stream.owner_account_id.map(|id| id.to_string())),
            log_streams::url.eq(&stream.url),
            log_streams::filter.eq(to_json_text(&stream.filter)?),
            log_streams::disabled.eq(stream.disabled),
            log_streams::updated_at.eq(to_db_time(stream.updated_at)),
            log_streams::next_attempt_at.eq(to_db_time(stream.next_attempt_at)),
            log_streams::attempts.eq(stream.attempts),
            log_streams::pending_last_seq.eq(stream.pending_last_seq),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut Conn, id: Uuid) -> Result<bool> {
    Ok(diesel::delete(log_streams::table.find(id.to_string())).execute(conn)? > 0)
}

/// Up to `limit` enabled streams due at `now` and not claimed, the longest waiting first.
pub fn due(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>> {
    let now = to_db_time(now);
    let ids: Vec<String> = log_streams::table
        .filter(log_streams::disabled.eq(false))
        .filter(log_streams::next_attempt_at.le(now))
        .filter(log_streams::claimed_until.is_null().or(log_streams::claimed_until.lt(now)))
        .order(log_streams::next_attempt_at.asc())
        .limit(limit)
        .select(log_streams::id)
        .load(conn)?;
    ids.iter().map(|id| parse_uuid(id)).collect()
}

/// Claims an enabled, due stream until `until`, unless another claim holds at `now`; false when
/// another replica has it (or it was disabled, deleted or put off meanwhile).
pub fn claim(conn: &mut Conn, id: Uuid, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool> {
    let now = to_db_time(now);
    let claimed = diesel::update(
        log_streams::table
            .find(id.to_string())
            .filter(log_streams::disabled.eq(false))
            .filter(log_streams::next_attempt_at.le(now))
            .filter(log_streams::claimed_until.is_null().or(log_streams::claimed_until.lt(now))),
    )
    .set(log_streams::claimed_until.eq(to_db_time(until)))
    .execute(conn)?;
    Ok(claimed > 0)
}

/// Moves the cursor from `from` to `to` and releases the claim, in one statement. With
/// `delivered` the batch was acknowledged: the failure status is cleared. False when the cursor
/// was no longer at `from` (nothing changed then).
pub fn advance(conn: &mut Conn, id: Uuid, from: i64, to: i64, delivered: bool, now: DateTime<Utc>) -> Result<bool> {
    let target = log_streams::table.find(id.to_string()).filter(log_streams::cursor_seq.eq(from));
    let moved = if delivered {
        let now = to_db_time(now);
        diesel::update(target)
            .set((
                log_streams::cursor_seq.eq(to),
                log_streams::pending_last_seq.eq(None::<i64>),
                log_streams::claimed_until.eq(None::<NaiveDateTime>),
                log_streams::attempts.eq(0),
                log_streams::last_attempt_at.eq(Some(now)),
                log_streams::last_success_at.eq(Some(now)),
                log_streams::failing_since.eq(None::<NaiveDateTime>),
                log_streams::last_error.eq(None::<String>),
            ))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                log_streams::cursor_seq.eq(to),
                log_streams::pending_last_seq.eq(None::<i64>),
                log_streams::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?
    };
    Ok(moved > 0)
}

/// A failed attempt: the batch that failed (it ends at `pending_last_seq`; `None` when no batch
/// was read), when to try it again and why it failed.
pub struct Failure<'a> {
    pub pending_last_seq: Option<i64>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub error: &'a str,
    pub failing_since: DateTime<Utc>,
}

/// Records a failed attempt and releases the claim: the same batch is due again at
/// `next_attempt_at`.
pub fn record_failure(conn: &mut Conn, id: Uuid, failure: Failure, now: DateTime<Utc>) -> Result<()> {
    diesel::update(log_streams::table.find(id.to_string()))
        .set((
            log_streams::pending_last_seq.eq(failure.pending_last_seq),
            log_streams::attempts.eq(failure.attempts),
            log_streams::next_attempt_at.eq(to_db_time(failure.next_attempt_at)),
            log_streams::claimed_until.eq(None::<NaiveDateTime>),
            log_streams::last_attempt_at.eq(Some(to_db_time(now))),
            log_streams::failing_since.eq(Some(to_db_time(failure.failing_since))),
            log_streams::last_error.eq(Some(failure.error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The lowest cursor of the enabled streams: the events after it are not yet delivered to every
/// stream, so no archive may take them out of the live chain.
pub fn slowest_cursor(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(log_streams::table
        .filter(log_streams::disabled.eq(false))
        .select(diesel::dsl::min(log_streams::cursor_seq))
        .first(conn)?)
}

/// Releases a claim without moving the cursor.
pub fn release(conn: &mut Conn, id: Uuid) -> Result<()> {
    diesel::update(log_streams::table.find(id.to_string()))
        .set(log_streams::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}
