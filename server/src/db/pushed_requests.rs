//! Pushed authorization requests (RFC 9126): the parameters a client pushed, under the hash of
//! their `request_uri`, until they are redeemed (once: the row is deleted) or expire.
//!
//! The table is declared here rather than in `schema.rs`: nothing joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::ids::ClientUuid;
use super::{to_db_time, Conn, Unique};
use crate::error::Result;

diesel::table! {
    pushed_authorization_requests (id) {
        id -> Text,
        client_id -> Text,
        parameters -> Text,
        expires_at -> Timestamp,
        signed -> Bool,
    }
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = pushed_authorization_requests)]
struct Row {
    id: String,
    client_id: String,
    parameters: String,
    expires_at: NaiveDateTime,
    /// The parameters came in a signed request object (RFC 9101).
    signed: bool,
}

/// Keeps `parameters` (form-urlencoded) pushed by `client` under `id` until `expires_at`;
/// `signed` when they came in a verified request object.
pub fn insert(
    conn: &mut Conn,
    id: &str,
    client: ClientUuid,
    parameters: &str,
    signed: bool,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let row = Row {
        id: id.to_owned(),
        client_id: client.to_string(),
        parameters: parameters.to_owned(),
        expires_at: to_db_time(expires_at),
        signed,
    };
    diesel::insert_into(pushed_authorization_requests::table).values(&row).execute(conn)?;
    Ok(())
}

/// Takes the parameters pushed under `id` by `client`, if they have not expired at `now`: the
/// row is deleted, so a second taker (on any replica) gets nothing. Another client's request
/// is left alone. Answers the parameters and whether they came signed.
pub fn take(conn: &mut Conn, id: &str, client: ClientUuid, now: DateTime<Utc>) -> Result<Option<(String, bool)>> {
    let found: Option<Row> = pushed_authorization_requests::table
        .find(id)
        .filter(pushed_authorization_requests::client_id.eq(client.to_string()))
        .select(Row::as_select())
        .unique(conn)?;
    let Some(row) = found else { return Ok(None) };
    let deleted = diesel::delete(pushed_authorization_requests::table.find(id)).execute(conn)?;
    Ok((deleted == 1 && row.expires_at > to_db_time(now)).then_some((row.parameters, row.signed)))
}

/// Deletes up to `limit` pushed requests that expired before `before`; returns how many.
/// Safe: [`take`] never returns an expired one.
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = pushed_authorization_requests::expires_at.lt(to_db_time(before));
    delete_batch!(conn, pushed_authorization_requests, id, expired, limit)
}
