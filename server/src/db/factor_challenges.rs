//! Challenges between the server and a browser, kept in the database (the answer may reach
//! another replica): a WebAuthn ceremony (webauthn-rs's state) or a TOTP secret being enrolled
//! (sealed), bound to an authorization request or an account, expiring. A challenge is taken
//! once ([`take_ceremony`] deletes it as it reads it), so an answer is accepted once even when
//! two replicas receive it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{from_db_time, parse_uuid, to_db_time, Conn};
use crate::error::Result;

diesel::table! {
    factor_challenges (id) {
        id -> Text,
        purpose -> Text,
        request_id -> Nullable<Text>,
        account_id -> Nullable<Text>,
        state -> Text,
        expires_at -> Timestamp,
    }
}

/// A challenge waiting for the browser's answer.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub id: String,
    /// `register`, `second-factor`, `passwordless` or `totp`.
    pub purpose: String,
    /// The authorization request of a hosted sign-in.
    pub request_id: Option<String>,
    /// The account that registers a passkey, or whose passkey is asked for.
    pub account: Option<Uuid>,
    /// webauthn-rs's state, as JSON (the challenge and the credentials allowed: nothing
    /// secret), or a TOTP secret sealed to the challenge (base64).
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = factor_challenges)]
struct CeremonyRow {
    id: String,
    purpose: String,
    request_id: Option<String>,
    account_id: Option<String>,
    state: String,
    expires_at: NaiveDateTime,
}

/// Starts a ceremony, replacing any other of the same request (hosted sign-in) or of the same
/// account and purpose (registration): one open challenge per sign-in or per account.
pub fn replace_ceremony(conn: &mut Conn, ceremony: &Ceremony) -> Result<()> {
    let table = factor_challenges::table;
    match (&ceremony.request_id, ceremony.account) {
        (Some(request), _) => {
            diesel::delete(table.filter(factor_challenges::request_id.eq(request))).execute(conn)?;
        }
        (None, Some(account)) => {
            diesel::delete(
                table
                    .filter(factor_challenges::account_id.eq(account.to_string()))
                    .filter(factor_challenges::purpose.eq(&ceremony.purpose)),
            )
            .execute(conn)?;
        }
        (None, None) => {}
    }
    let row = CeremonyRow {
        id: ceremony.id.clone(),
        purpose: ceremony.purpose.clone(),
        request_id: ceremony.request_id.clone(),
        account_id: ceremony.account.map(|a| a.to_string()),
        state: ceremony.state.clone(),
        expires_at: to_db_time(ceremony.expires_at),
    };
    diesel::insert_into(table).values(row).execute(conn)?;
    Ok(())
}

/// Takes a challenge that has not expired: it is deleted as it is read (inside the caller's
/// write transaction), so it answers once — of two takers, one deletes it and one finds nothing.
pub fn take_ceremony(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<Option<Ceremony>> {
    let Some(ceremony) = get_ceremony(conn, id, now)? else { return Ok(None) };
    if !delete_ceremony(conn, id)? {
        return Ok(None);
    }
    Ok(Some(ceremony))
}

impl CeremonyRow {
    fn into_ceremony(self) -> Result<Ceremony> {
        Ok(Ceremony {
            id: self.id,
            purpose: self.purpose,
            request_id: self.request_id,
            account: self.account_id.as_deref().map(parse_uuid).transpose()?,
            state: self.state,
            expires_at: from_db_time(self.expires_at),
        })
    }
}

/// Forgets ceremonies nobody answered (housekeeping).
pub fn delete_expired(conn: &mut Conn, before: DateTime<Utc>, limit: i64) -> Result<usize> {
    let expired = factor_challenges::expires_at.lt(to_db_time(before));
    delete_batch!(conn, factor_challenges, id, expired, limit)
}

/// A challenge that has not expired, left in place (a wrong answer may be corrected).
pub fn get_ceremony(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<Option<Ceremony>> {
    let row: Option<CeremonyRow> = factor_challenges::table
        .find(id)
        .filter(factor_challenges::expires_at.gt(to_db_time(now)))
        .select(CeremonyRow::as_select())
        .first(conn)
        .optional()?;
    row.map(CeremonyRow::into_ceremony).transpose()
}

/// Deletes a challenge; false when it was gone already (answered by someone else).
pub fn delete_ceremony(conn: &mut Conn, id: &str) -> Result<bool> {
    Ok(diesel::delete(factor_challenges::table.find(id)).execute(conn)? == 1)
}
