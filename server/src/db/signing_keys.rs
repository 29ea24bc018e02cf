//! The signing keys' rows (private keys sealed with the master key) and the two server settings
//! that guard them: the lock that serializes key generation and rotation across replicas, and
//! the master key's check value. The rows behind the domain's signing keys
//! (`domain::signing_keys`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use gatehouse_api_types::KeyState;

use super::schema::{server_settings, signing_keys};
use super::{to_db_time, Conn};
use crate::error::Result;

/// A signing key as stored. `state` is `current`, `next`, `previous` or `retired`.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub private_key: Vec<u8>,
    pub public_jwk: String,
    pub created_at: NaiveDateTime,
    pub activated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
}

/// (alg, state) of every `current` and `next` key.
pub fn current_and_next(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    Ok(signing_keys::table
        .filter(signing_keys::state.eq_any([KeyState::Current.as_str(), KeyState::Next.as_str()]))
        .select((signing_keys::alg, signing_keys::state))
        .load(conn)?)
}

pub fn insert(conn: &mut Conn, row: &KeyRow) -> Result<()> {
    diesel::insert_into(signing_keys::table).values(row).execute(conn)?;
    Ok(())
}

/// Every key that is not retired, in no particular order.
pub fn published(conn: &mut Conn) -> Result<Vec<KeyRow>> {
    Ok(signing_keys::table
        .filter(signing_keys::state.ne(KeyState::Retired.as_str()))
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Every key that is not retired, by algorithm and newest first.
pub fn published_in_order(conn: &mut Conn) -> Result<Vec<KeyRow>> {
    Ok(signing_keys::table
        .filter(signing_keys::state.ne(KeyState::Retired.as_str()))
        .order((signing_keys::alg.asc(), signing_keys::created_at.desc()))
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// The public JWKs of every key that is not retired, by algorithm and newest first.
pub fn published_jwks(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(signing_keys::table
        .filter(signing_keys::state.ne(KeyState::Retired.as_str()))
        .order((signing_keys::alg.asc(), signing_keys::created_at.desc()))
        .select(signing_keys::public_jwk)
        .load(conn)?)
}

/// Moves every key one state on, as of `now`: `previous` keys that stopped signing before
/// `retire_before` → `retired`; `current` → `previous`; `next` → `current`. (The new `next`
/// keys are the caller's to insert.)
pub fn advance_states(conn: &mut Conn, now: DateTime<Utc>, retire_before: DateTime<Utc>) -> Result<()> {
    let (now, expired) = (to_db_time(now), to_db_time(retire_before));
    diesel::update(
        signing_keys::table
            .filter(signing_keys::state.eq(KeyState::Previous.as_str()))
            .filter(signing_keys::retired_at.lt(expired)),
    )
    .set(signing_keys::state.eq(KeyState::Retired.as_str()))
    .execute(conn)?;
    // Previous keys of an older version, which did not record when they stopped signing.
    diesel::update(
        signing_keys::table
            .filter(signing_keys::state.eq(KeyState::Previous.as_str()))
            .filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(now))
    .execute(conn)?;
    diesel::update(signing_keys::table.filter(signing_keys::state.eq(KeyState::Current.as_str())))
        .set((signing_keys::state.eq(KeyState::Previous.as_str()), signing_keys::retired_at.eq(now)))
        .execute(conn)?;
    diesel::update(signing_keys::table.filter(signing_keys::state.eq(KeyState::Next.as_str())))
        .set((signing_keys::state.eq(KeyState::Current.as_str()), signing_keys::activated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// The kids of the `current` keys, by algorithm.
pub fn current_kids(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(signing_keys::table
        .filter(signing_keys::state.eq(KeyState::Current.as_str()))
        .order(signing_keys::alg.asc())
        .select(signing_keys::kid)
        .load(conn)?)
}

/// Serializes key generation and rotation across replicas (a row lock on PostgreSQL; the
/// write transaction itself on SQLite).
pub fn lock(conn: &mut Conn) -> Result<()> {
    diesel::update(server_settings::table.find("signing_keys_lock"))
        .set(server_settings::value.eq(server_settings::value))
        .execute(conn)?;
    Ok(())
}

/// The check value of the master key the database was set up with, once recorded.
pub fn master_key_check(conn: &mut Conn) -> Result<Option<String>> {
    Ok(server_settings::table.find("master_key_check").select(server_settings::value).first(conn).optional()?)
}

/// Records the master key's check value (a conflict when another replica recorded one first).
pub fn insert_master_key_check(conn: &mut Conn, check: &str) -> Result<()> {
    diesel::insert_into(server_settings::table)
        .values((server_settings::name.eq("master_key_check"), server_settings::value.eq(check)))
        .execute(conn)?;
    Ok(())
}
