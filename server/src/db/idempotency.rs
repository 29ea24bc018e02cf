//! Stored responses of POSTs made with an `Idempotency-Key`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{to_db_time, Conn, Unique};
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredResponse {
    pub key_hash: String,
    pub request_hash: String,
    pub status: i32,
    pub location: Option<String>,
    /// Encrypted under a key derived from the Idempotency-Key, which is not stored.
    pub body: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// The created resource's ETag, replayed with it.
    pub etag: Option<String>,
}

pub fn get(conn: &mut Conn, key_hash: &str) -> Result<Option<StoredResponse>> {
    idempotency_keys::table.find(key_hash).select(StoredResponse::as_select()).unique(conn)
}

/// Claims the key (a unique violation when another request holds it).
pub fn insert(conn: &mut Conn, response: &StoredResponse) -> Result<()> {
    diesel::insert_into(idempotency_keys::table).values(response).execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut Conn, response: &StoredResponse) -> Result<()> {
    diesel::update(idempotency_keys::table.find(&response.key_hash)).set(response).execute(conn)?;
    Ok(())
}

/// Forgets up to `limit` keys stored before `before`; returns how many.
/// Safe when `before` is past the retention: the domain treats an older key as new anyway.
pub fn delete_older_than(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let old = idempotency_keys::created_at.lt(to_db_time(before));
    delete_batch!(conn, idempotency_keys, key_hash, old, limit)
}

/// Forgets one key if it was stored before `before`.
pub fn delete_older_than_for(conn: &mut Conn, key_hash: &str, before: DateTime<Utc>) -> Result<()> {
    diesel::delete(idempotency_keys::table.find(key_hash).filter(idempotency_keys::created_at.lt(to_db_time(before))))
        .execute(conn)?;
    Ok(())
}
