//! The rows behind retention with signed archives (`domain::audit_archive`): the audit signing
//! keys (private halves sealed with the master key), one row per archived segment, and the lease
//! that lets one replica archive at a time. The tables are declared here rather than in
//! `schema.rs`, beside their only queries.
//!
//! The one deletion the audit chain allows is here too ([`delete_archived`]): the triggers of
//! `audit_events` refuse a delete of any event that no row of `audit_archives` covers, and that
//! table is append-only, so the archive's row must be written (in the same transaction) first.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::audit_events;
use super::{to_db_time, Conn};
use crate::error::Result;

diesel::table! {
    audit_signing_keys (kid) {
        kid -> Text,
        public_key -> Text,
        private_key -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_archives (first_seq) {
        first_seq -> BigInt,
        last_seq -> BigInt,
        first_prev_hash -> Text,
        last_hash -> Text,
        events -> BigInt,
        segment -> Text,
        segment_sha256 -> Text,
        manifest_sha256 -> Text,
        kid -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_archive_lock (id) {
        id -> Integer,
        holder -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
    }
}

/// An audit signing key as stored: the public key base64url, the private key sealed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_signing_keys)]
pub struct AuditKeyRow {
    pub kid: String,
    pub public_key: String,
    pub private_key: Vec<u8>,
    pub created_at: NaiveDateTime,
}

/// An archived segment as recorded.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_archives)]
pub struct ArchiveRow {
    pub first_seq: i64,
    pub last_seq: i64,
    pub first_prev_hash: String,
    pub last_hash: String,
    pub events: i64,
    pub segment: String,
    pub segment_sha256: String,
    pub manifest_sha256: String,
    pub kid: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_key(conn: &mut Conn, row: &AuditKeyRow) -> Result<()> {
    diesel::insert_into(audit_signing_keys::table).values(row).execute(conn)?;
    Ok(())
}

/// Every audit signing key, newest first.
pub fn keys(conn: &mut Conn) -> Result<Vec<AuditKeyRow>> {
    Ok(audit_signing_keys::table
        .order((audit_signing_keys::created_at.desc(), audit_signing_keys::kid.asc()))
        .select(AuditKeyRow::as_select())
        .load(conn)?)
}

/// Every recorded archive, in chain order.
pub fn archives(conn: &mut Conn) -> Result<Vec<ArchiveRow>> {
    Ok(audit_archives::table.order(audit_archives::first_seq.asc()).select(ArchiveRow::as_select()).load(conn)?)
}

pub fn insert_archive(conn: &mut Conn, row: &ArchiveRow) -> Result<()> {
    diesel::insert_into(audit_archives::table).values(row).execute(conn)?;
    Ok(())
}

/// Deletes the live events `first_seq..=last_seq`, which a row of `audit_archives` inserted in
/// the same transaction must cover (the trigger refuses any other), and moves the chain's anchor
/// to the last of them. Returns how many it deleted.
pub fn delete_archived(conn: &mut Conn, first_seq: i64, last_seq: i64, last_hash: &str) -> Result<usize> {
    let deleted =
        diesel::delete(audit_events::table.filter(audit_events::seq.between(first_seq, last_seq))).execute(conn)?;
    super::audit::set_anchor(conn, last_seq, last_hash)?;
    Ok(deleted)
}

/// Takes (or renews) the archiving lease for `holder` until `until`, unless another holder's
/// lease is still running at `now`. Call it in a write transaction; true when taken.
pub fn take_lease(conn: &mut Conn, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool> {
    let taken = diesel::update(
        audit_archive_lock::table.find(1).filter(
            audit_archive_lock::holder
                .is_null()
                .or(audit_archive_lock::holder.eq(holder))
                .or(audit_archive_lock::expires_at.lt(to_db_time(now))),
        ),
    )
    .set((audit_archive_lock::holder.eq(holder), audit_archive_lock::expires_at.eq(to_db_time(until))))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the lease back, if `holder` still has it.
pub fn release_lease(conn: &mut Conn, holder: &str) -> Result<()> {
    diesel::update(audit_archive_lock::table.find(1).filter(audit_archive_lock::holder.eq(holder)))
        .set((audit_archive_lock::holder.eq(None::<String>), audit_archive_lock::expires_at.eq(None::<NaiveDateTime>)))
        .execute(conn)?;
    Ok(())
}
