//! The client assertions (`private_key_jwt`) already accepted, until they expire: an assertion
//! is accepted once, on every replica. The key is a hash of the client id and the `jti`.
//!
//! The table is declared here rather than in `schema.rs`: nothing joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{to_db_time, Conn};
use crate::error::Result;

diesel::table! {
    client_assertions (id) {
        id -> Text,
        expires_at -> Timestamp,
    }
}

#[derive(Insertable)]
#[diesel(table_name = client_assertions)]
struct Row {
    id: String,
    expires_at: NaiveDateTime,
}

/// Records assertion `id` (kept until `expires_at`); false when it was recorded before (a replay).
pub fn accept_once(conn: &mut Conn, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
    let row = Row { id: id.to_owned(), expires_at: to_db_time(expires_at) };
    let inserted = native!(conn, |c| diesel::insert_into(client_assertions::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Deletes up to `limit` assertions that expired before `before`; returns how many.
/// Safe: an expired assertion is refused for its `exp` before its `jti` is looked up.
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = client_assertions::expires_at.lt(to_db_time(before));
    delete_batch!(conn, client_assertions, id, expired, limit)
}
