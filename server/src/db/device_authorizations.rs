//! Device authorizations (RFC 8628): a device code (its SHA-256 hash) and a user code (a keyed
//! hash of its normalized letters), the client and scope asked for, and where the user's
//! decision stands. The polling interval and the last poll live here, so `slow_down` holds on
//! every replica.
//!
//! The table is declared here rather than in `schema.rs`: nothing joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::ids::AccountId;
use super::{from_db_time, parse_uuid, to_db_time, Conn, Unique};
use crate::error::{Error, Result};

diesel::table! {
    device_authorizations (id) {
        id -> Text,
        device_code_hash -> Text,
        user_code_hash -> Text,
        client_id -> Text,
        scope -> Text,
        status -> Text,
        account_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        auth_time -> Nullable<Timestamp>,
        amr -> Nullable<Text>,
        interval_seconds -> Integer,
        last_polled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the user.
    Pending,
    /// The user allowed it: the next poll gets the tokens.
    Approved,
    /// The user denied it.
    Denied,
    /// Its tokens were issued.
    Used,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Used => "used",
        }
    }

    fn parse(text: &str) -> Result<Status> {
        Ok(match text {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "denied" => Status::Denied,
            "used" => Status::Used,
            other => return Err(Error::internal(format!("unknown device authorization status {other}"))),
        })
    }
}

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = device_authorizations)]
struct Row {
    id: String,
    device_code_hash: String,
    user_code_hash: String,
    client_id: String,
    scope: String,
    status: String,
    account_id: Option<String>,
    session_id: Option<String>,
    auth_time: Option<NaiveDateTime>,
    amr: Option<String>,
    interval_seconds: i32,
    last_polled_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// A device authorization.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAuthorization {
    pub id: String,
    pub device_code_hash: String,
    pub user_code_hash: String,
    pub client: Uuid,
    pub scope: String,
    pub status: Status,
    /// The account that approved (or denied) it, the session it signed in with, and how.
    pub account: Option<Uuid>,
    pub session_id: Option<String>,
    pub auth_time: Option<DateTime<Utc>>,
    pub amr: Option<String>,
    /// Seconds the device waits between polls (grows by 5 with each `slow_down`).
    pub interval_seconds: i32,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

impl Row {
    fn into_record(self) -> Result<DeviceAuthorization> {
        Ok(DeviceAuthorization {
            id: self.id,
            device_code_hash: self.device_code_hash,
            user_code_hash: self.user_code_hash,
            client: parse_uuid(&self.client_id)?,
            scope: self.scope,
            status: Status::parse(&self.status)?,
            account: self.account_id.as_deref().map(parse_uuid).transpose()?,
            session_id: self.session_id,
            auth_time: self.auth_time.map(from_db_time),
            amr: self.amr,
            interval_seconds: self.interval_seconds,
            last_polled_at: self.last_polled_at.map(from_db_time),
            expires_at: from_db_time(self.expires_at),
        })
    }
}

pub fn insert(conn: &mut Conn, d: &DeviceAuthorization) -> Result<()> {
    let row = Row {
        id: d.id.clone(),
        device_code_hash: d.device_code_hash.clone(),
        user_code_hash: d.user_code_hash.clone(),
        client_id: d.client.to_string(),
        scope: d.scope.clone(),
        status: d.status.as_str().to_owned(),
        account_id: None,
        session_id: None,
        auth_time: None,
        amr: None,
        interval_seconds: d.interval_seconds,
        last_polled_at: None,
        created_at: to_db_time(super::now()),
        expires_at: to_db_time(d.expires_at),
    };
    diesel::insert_into(device_authorizations::table).values(&row).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Option<DeviceAuthorization>> {
    let row: Option<Row> = device_authorizations::table.find(id).select(Row::as_select()).unique(conn)?;
    row.map(Row::into_record).transpose()
}

pub fn by_device_code(conn: &mut Conn, device_code_hash: &str) -> Result<Option<DeviceAuthorization>> {
    let row: Option<Row> = device_authorizations::table
        .filter(device_authorizations::device_code_hash.eq(device_code_hash))
        .select(Row::as_select())
        .unique(conn)?;
    row.map(Row::into_record).transpose()
}

pub fn by_user_code(conn: &mut Conn, user_code_hash: &str) -> Result<Option<DeviceAuthorization>> {
    let row: Option<Row> = device_authorizations::table
        .filter(device_authorizations::user_code_hash.eq(user_code_hash))
        .select(Row::as_select())
        .unique(conn)?;
    row.map(Row::into_record).transpose()
}

/// Records a poll at `now`, with the interval the device must keep from now on; false when
/// another poll recorded itself since `seen` (the caller read `seen` as the last poll).
pub fn record_poll(
    conn: &mut Conn,
    id: &str,
    seen: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    interval_seconds: i32,
) -> Result<bool> {
    let target = device_authorizations::table.find(id);
    let set = (
        device_authorizations::last_polled_at.eq(Some(to_db_time(now))),
        device_authorizations::interval_seconds.eq(interval_seconds),
    );
    let changed = match seen {
        Some(seen) => diesel::update(target.filter(device_authorizations::last_polled_at.eq(to_db_time(seen))))
            .set(set)
            .execute(conn)?,
        None => {
            diesel::update(target.filter(device_authorizations::last_polled_at.is_null())).set(set).execute(conn)?
        }
    };
    Ok(changed == 1)
}

/// The user's decision on a pending authorization; false when it is no longer pending.
pub fn decide(
    conn: &mut Conn,
    id: &str,
    approved: bool,
    account: AccountId,
    session_id: &str,
    auth_time: DateTime<Utc>,
    amr: &str,
) -> Result<bool> {
    let status = if approved { Status::Approved } else { Status::Denied };
    let changed = diesel::update(
        device_authorizations::table.find(id).filter(device_authorizations::status.eq(Status::Pending.as_str())),
    )
    .set((
        device_authorizations::status.eq(status.as_str()),
        device_authorizations::account_id.eq(Some(account.to_string())),
        device_authorizations::session_id.eq(Some(session_id)),
        device_authorizations::auth_time.eq(Some(to_db_time(auth_time))),
        device_authorizations::amr.eq(Some(amr)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Marks an approved authorization used (its tokens are being issued); false when it was
/// already (a concurrent poll on another replica).
pub fn use_approved(conn: &mut Conn, id: &str) -> Result<bool> {
    let changed = diesel::update(
        device_authorizations::table.find(id).filter(device_authorizations::status.eq(Status::Approved.as_str())),
    )
    .set(device_authorizations::status.eq(Status::Used.as_str()))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Deletes up to `limit` authorizations that expired before `before`; returns how many.
/// Safe: an expired authorization is refused at the page and at the token endpoint alike.
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = device_authorizations::expires_at.lt(to_db_time(before));
    delete_batch!(conn, device_authorizations, id, expired, limit)
}
