//! Passkeys: WebAuthn credentials, rows of `account_factors` of kind `webauthn` with their
//! credential id and signature counter, which only moves forward ([`record_use`]). Their
//! ceremonies are [`super::factor_challenges`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::factors::{self, account_factors, Factor};
use super::ids::AccountId;
use super::{parse_uuid, to_db_time, Conn};
use crate::error::Result;

/// Stores a new passkey: the factor, its credential id (unique: a credential belongs to one
/// account) and its counter.
pub fn insert(conn: &mut Conn, factor: &Factor, credential_id: &str, sign_count: i64) -> Result<()> {
    factors::insert(conn, factor)?;
    diesel::update(account_factors::table.find(factor.id.to_string()))
        .set((account_factors::credential_id.eq(credential_id), account_factors::sign_count.eq(sign_count)))
        .execute(conn)?;
    Ok(())
}

/// Whether a credential id is registered already (to any account).
pub fn credential_exists(conn: &mut Conn, credential_id: &str) -> Result<bool> {
    let count: i64 =
        account_factors::table.filter(account_factors::credential_id.eq(credential_id)).count().get_result(conn)?;
    Ok(count > 0)
}

/// The account owning a credential, and the factor's id.
pub fn owner_of(conn: &mut Conn, credential_id: &str) -> Result<Option<(Uuid, Uuid)>> {
    let found: Option<(String, String)> = account_factors::table
        .filter(account_factors::credential_id.eq(credential_id))
        .select((account_factors::id, account_factors::account_id))
        .first(conn)
        .optional()?;
    found.map(|(id, account)| Ok((parse_uuid(&id)?, parse_uuid(&account)?))).transpose()
}

/// The passkeys of an account with their counters.
pub fn of_account(conn: &mut Conn, account: AccountId) -> Result<Vec<(Factor, i64)>> {
    let counters: Vec<(String, Option<i64>)> = account_factors::table
        .filter(account_factors::account_id.eq(account.to_string()))
        .filter(account_factors::kind.eq(crate::domain::passkeys::WEBAUTHN))
        .select((account_factors::id, account_factors::sign_count))
        .load(conn)?;
    let factors = factors::list(conn, account)?;
    Ok(factors
        .into_iter()
        .filter_map(|f| {
            let id = f.id.to_string();
            counters.iter().find(|(c, _)| *c == id).map(|(_, count)| (f, count.unwrap_or(0)))
        })
        .collect())
}

/// Records an accepted assertion: the credential as updated (counter, backup state), the
/// counter, the time. The counter moves forward only (an authenticator without one always says
/// 0); false when another use got there first with the same or a later counter.
pub fn record_use(
    conn: &mut Conn,
    factor: Uuid,
    public_data: &str,
    sign_count: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row = account_factors::table.find(factor.to_string());
    let changes = (
        account_factors::public_data.eq(public_data),
        account_factors::sign_count.eq(sign_count),
        account_factors::last_used_at.eq(to_db_time(now)),
    );
    let changed = if sign_count == 0 {
        diesel::update(row.filter(account_factors::sign_count.eq(0).or(account_factors::sign_count.is_null())))
            .set(changes)
            .execute(conn)?
    } else {
        diesel::update(row.filter(account_factors::sign_count.lt(sign_count).or(account_factors::sign_count.is_null())))
            .set(changes)
            .execute(conn)?
    };
    Ok(changed == 1)
}
