//! Second factors of accounts and their recovery codes. A factor has a kind (`totp`, and
//! `webauthn`), a name, a secret sealed with the master key (TOTP) or public credential
//! data (WebAuthn), and its use: when it was last used and, for TOTP, the last time step
//! accepted — [`accept_totp_step`] moves it forward only, so a code is accepted once even by
//! two replicas at the same instant. Recovery codes are stored as keyed hashes.
//!
//! The tables are declared here rather than in `schema.rs`: nothing joins them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::ids::AccountId;
use super::{from_db_time, parse_uuid, to_db_time, Conn};
use crate::error::Result;

diesel::table! {
    account_factors (id) {
        id -> Text,
        account_id -> Text,
        kind -> Text,
        name -> Text,
        secret -> Nullable<Binary>,
        public_data -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
        credential_id -> Nullable<Text>,
        sign_count -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (account_id, code_hash) {
        account_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

/// A factor as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub id: Uuid,
    pub account: Uuid,
    /// `totp` or `webauthn` (see [`super::passkeys`] for a passkey's own columns).
    pub kind: String,
    pub name: String,
    /// The shared secret, sealed with the master key to the factor's id (TOTP).
    pub secret: Option<Vec<u8>>,
    /// Public credential data (WebAuthn), as JSON.
    pub public_data: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The last TOTP time step accepted.
    pub last_step: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = account_factors)]
struct Row {
    id: String,
    account_id: String,
    kind: String,
    name: String,
    secret: Option<Vec<u8>>,
    public_data: Option<String>,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    last_step: Option<i64>,
}

impl Row {
    fn into_factor(self) -> Result<Factor> {
        Ok(Factor {
            id: parse_uuid(&self.id)?,
            account: parse_uuid(&self.account_id)?,
            kind: self.kind,
            name: self.name,
            secret: self.secret,
            public_data: self.public_data,
            created_at: from_db_time(self.created_at),
            last_used_at: self.last_used_at.map(from_db_time),
            last_step: self.last_step,
        })
    }
}

pub fn insert(conn: &mut Conn, factor: &Factor) -> Result<()> {
    let row = Row {
        id: factor.id.to_string(),
        account_id: factor.account.to_string(),
        kind: factor.kind.clone(),
        name: factor.name.clone(),
        secret: factor.secret.clone(),
        public_data: factor.public_data.clone(),
        created_at: to_db_time(factor.created_at),
        last_used_at: factor.last_used_at.map(to_db_time),
        last_step: factor.last_step,
    };
    diesel::insert_into(account_factors::table).values(row).execute(conn)?;
    Ok(())
}

/// The factors of an account, oldest first.
pub fn list(conn: &mut Conn, account: AccountId) -> Result<Vec<Factor>> {
    let rows: Vec<Row> = account_factors::table
        .filter(account_factors::account_id.eq(account.to_string()))
        .order(account_factors::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    rows.into_iter().map(Row::into_factor).collect()
}

/// Whether the account has any factor.
pub fn any(conn: &mut Conn, account: AccountId) -> Result<bool> {
    let count: i64 =
        account_factors::table.filter(account_factors::account_id.eq(account.to_string())).count().get_result(conn)?;
    Ok(count > 0)
}

/// Moves a TOTP factor's last accepted step forward to `step`; false when it already was at or
/// past it (the code was used, or a later one).
pub fn accept_totp_step(conn: &mut Conn, id: Uuid, step: i64, now: DateTime<Utc>) -> Result<bool> {
    let changed = diesel::update(
        account_factors::table
            .find(id.to_string())
            .filter(account_factors::last_step.is_null().or(account_factors::last_step.lt(step))),
    )
    .set((account_factors::last_step.eq(step), account_factors::last_used_at.eq(to_db_time(now))))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Renames a factor of `account`; false when it has no such factor.
pub fn rename(conn: &mut Conn, account: AccountId, id: Uuid, name: &str) -> Result<bool> {
    let changed = diesel::update(
        account_factors::table.find(id.to_string()).filter(account_factors::account_id.eq(account.to_string())),
    )
    .set(account_factors::name.eq(name))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Deletes a factor of `account`; false when it has no such factor.
pub fn delete(conn: &mut Conn, account: AccountId, id: Uuid) -> Result<bool> {
    let deleted = diesel::delete(
        account_factors::table.find(id.to_string()).filter(account_factors::account_id.eq(account.to_string())),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

// ---------------------------------------------------------------- recovery codes

/// Replaces the account's recovery codes with `hashes` (the old ones, used or not, are gone).
pub fn replace_recovery_codes(
    conn: &mut Conn,
    account: AccountId,
    hashes: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account.to_string()))).execute(conn)?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|hash| {
            (
                recovery_codes::account_id.eq(account.to_string()),
                recovery_codes::code_hash.eq(hash.clone()),
                recovery_codes::created_at.eq(to_db_time(now)),
            )
        })
        .collect();
    for row in rows {
        diesel::insert_into(recovery_codes::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Uses one unused recovery code of the account; false when none has this hash.
pub fn use_recovery_code(conn: &mut Conn, account: AccountId, hash: &str, now: DateTime<Utc>) -> Result<bool> {
    let changed = diesel::update(
        recovery_codes::table.find((account.to_string(), hash)).filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(to_db_time(now)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How many recovery codes the account has left.
pub fn unused_recovery_codes(conn: &mut Conn, account: AccountId) -> Result<i64> {
    Ok(recovery_codes::table
        .filter(recovery_codes::account_id.eq(account.to_string()))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Forgets the account's recovery codes (its last factor was removed).
pub fn delete_recovery_codes(conn: &mut Conn, account: AccountId) -> Result<usize> {
    Ok(diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account.to_string())))
        .execute(conn)?)
}
