//! The outbox's rows: messages queued in the transaction that needs them, claimed and marked by
//! the delivery worker in [`crate::outbox`]. Bodies arrive here sealed.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::outbox;
use super::{to_db_time, Conn};
use crate::error::Result;

/// A message to queue; `body` sealed with the master key.
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub channel: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: Vec<u8>,
}

/// A message due for delivery.
pub struct DueMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: Vec<u8>,
    pub attempts: i32,
}

/// Queues a message, due at once (`now`).
pub fn insert(conn: &mut Conn, message: NewMessage, now: DateTime<Utc>) -> Result<()> {
    let now = to_db_time(now);
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(message.id),
            outbox::channel.eq(message.channel),
            outbox::recipient.eq(message.recipient),
            outbox::subject.eq(message.subject),
            outbox::body.eq(message.body),
            outbox::created_at.eq(now),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` unsent messages due at `now` and not claimed, the longest waiting first.
pub fn due(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueMessage>> {
    let now = to_db_time(now);
    let due: Vec<(String, String, String, String, Vec<u8>, i32)> = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now)))
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select((outbox::id, outbox::channel, outbox::recipient, outbox::subject, outbox::body, outbox::attempts))
        .load(conn)?;
    Ok(due
        .into_iter()
        .map(|(id, channel, recipient, subject, body, attempts)| DueMessage {
            id,
            channel,
            recipient,
            subject,
            body,
            attempts,
        })
        .collect())
}

/// Claims an unsent message until `until`, unless another claim holds at `now`; false when
/// another replica has it.
pub fn claim(conn: &mut Conn, id: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool> {
    let now = to_db_time(now);
    let claimed = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::sent_at.is_null())
            .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now))),
    )
    .set(outbox::claimed_until.eq(to_db_time(until)))
    .execute(conn)?;
    Ok(claimed > 0)
}

/// Marks a message sent at `at`, erasing its body.
pub fn mark_sent(conn: &mut Conn, id: &str, at: DateTime<Utc>) -> Result<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(to_db_time(at)),
            outbox::body.eq(Vec::<u8>::new()),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: the message is due again at `next_attempt_at`, unclaimed.
pub fn schedule_retry(
    conn: &mut Conn,
    id: &str,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: String,
) -> Result<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(to_db_time(next_attempt_at)),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(last_error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` messages delivered before `before`; returns how many.
/// Safe: the worker only reads undelivered messages, and those are never deleted, however old.
pub fn delete_delivered(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let delivered = outbox::sent_at.lt(to_db_time(before));
    delete_batch!(conn, outbox, id, delivered, limit)
}
