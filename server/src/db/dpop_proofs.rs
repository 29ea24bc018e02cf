//! The DPoP proofs (RFC 9449) already accepted, until they are too old to count: a proof
//! is accepted once, on every replica. The key is a hash of its key's thumbprint and its `jti`.
//!
//! The table is declared here rather than in `schema.rs`: nothing joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{to_db_time, Conn};
use crate::error::Result;

diesel::table! {
    dpop_proofs (id) {
        id -> Text,
        expires_at -> Timestamp,
    }
}

#[derive(Insertable)]
#[diesel(table_name = dpop_proofs)]
struct Row {
    id: String,
    expires_at: NaiveDateTime,
}

/// Records proof `id` (kept until `expires_at`); false when it was recorded before (a replay).
pub fn accept_once(conn: &mut Conn, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
    let row = Row { id: id.to_owned(), expires_at: to_db_time(expires_at) };
    let inserted =
        native!(conn, |c| diesel::insert_into(dpop_proofs::table).values(&row).on_conflict_do_nothing().execute(c))?;
    Ok(inserted == 1)
}

/// Deletes up to `limit` proofs that expired before `before`; returns how many.
/// Safe: a proof older than its row is refused for its `iat` before its `jti` is looked up.
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = dpop_proofs::expires_at.lt(to_db_time(before));
    delete_batch!(conn, dpop_proofs, id, expired, limit)
}
