//! What each account allowed each application: the scopes it consented to.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::ids::{AccountId, ClientUuid};
use super::schema::{clients, consents};
use super::{from_db_time, parse_uuid, to_db_time, Conn, Unique};
use crate::error::Result;

/// A consent, with the name and public id of the application it was given to.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub client: Uuid,
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: DateTime<Utc>,
}

/// The scope `account` consented to for `client`, if any.
pub fn scope(conn: &mut Conn, account: AccountId, client: ClientUuid) -> Result<Option<String>> {
    consents::table.find((account.to_string(), client.to_string())).select(consents::scope).unique(conn)
}

/// Records (or widens) a consent: `scope` is everything consented to so far.
pub fn put(conn: &mut Conn, account: AccountId, client: ClientUuid, scope: &str, now: DateTime<Utc>) -> Result<()> {
    let values = (
        consents::account_id.eq(account.to_string()),
        consents::client_id.eq(client.to_string()),
        consents::scope.eq(scope),
        consents::granted_at.eq(to_db_time(now)),
    );
    // An upsert, which diesel offers on each backend's own connection.
    native!(conn, |c| diesel::insert_into(consents::table)
        .values(values)
        .on_conflict((consents::account_id, consents::client_id))
        .do_update()
        .set((consents::scope.eq(scope), consents::granted_at.eq(to_db_time(now))))
        .execute(c))?;
    Ok(())
}

/// The consents of an account, by application.
pub fn list(conn: &mut Conn, account: AccountId) -> Result<Vec<Consent>> {
    let rows: Vec<(String, String, String, String, NaiveDateTime)> = consents::table
        .inner_join(clients::table)
        .filter(consents::account_id.eq(account.to_string()))
        .order(clients::client_id.asc())
        .select((consents::client_id, clients::client_id, clients::name, consents::scope, consents::granted_at))
        .load(conn)?;
    rows.into_iter()
        .map(|(client, client_id, client_name, scope, granted_at)| {
            Ok(Consent {
                client: parse_uuid(&client)?,
                client_id,
                client_name,
                scope,
                granted_at: from_db_time(granted_at),
            })
        })
        .collect()
}

/// Withdraws a consent; false when there was none.
pub fn delete(conn: &mut Conn, account: AccountId, client: ClientUuid) -> Result<bool> {
    Ok(diesel::delete(consents::table.find((account.to_string(), client.to_string()))).execute(conn)? == 1)
}
