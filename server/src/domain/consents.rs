//! An account's consents to applications, as it sees and withdraws them (self-service). Giving
//! consent happens on the hosted consent page (`oauth::consent`).

use gatehouse_api_types::Consent;
use serde_json::json;

use super::accounts::{self, Account};
use super::Context;
use crate::db::ids::{AccountId, ClientId, ClientUuid};
use crate::db::{self, Conn};
use crate::error::{Error, Result};

/// The applications the caller's account allowed, and what.
pub fn list(conn: &mut Conn, ctx: &Context) -> Result<Vec<Consent>> {
    let account = accounts::own(conn, ctx)?;
    Ok(db::consents::list(conn, AccountId(account.id))?
        .into_iter()
        .map(|c| Consent {
            client_id: c.client_id,
            client_name: c.client_name,
            scope: c.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            granted_at: c.granted_at,
        })
        .collect())
}

/// Withdraws the consent given to the application `client_id` (if there is one: withdrawing
/// twice is no error), and ends what it obtained with it: the refresh tokens it holds for the
/// account (access tokens end with their short life).
pub fn withdraw(conn: &mut Conn, ctx: &Context, client_id: &str) -> Result<()> {
    let account: Account = accounts::own(conn, ctx)?;
    let client = db::clients::get_by_client_id(conn, ClientId(client_id))?
        .ok_or_else(|| Error::NotFound(format!("no application {}", client_id.chars().take(64).collect::<String>())))?;
    let withdrawn = db::consents::delete(conn, AccountId(account.id), ClientUuid(client.client.id))?;
    let revoked =
        db::oauth::revoke_account_tokens(conn, AccountId(account.id), Some(ClientUuid(client.client.id)), db::now())?;
    db::audit::append(
        conn,
        vec![ctx
            .event("user.consent.withdraw")
            .target("client", client.client.id)
            .namespace(&account.namespace)
            .changes(json!({ "client_id": client.client.client_id, "withdrawn": withdrawn, "revoked_refresh_tokens": revoked }))],
    )?;
    Ok(())
}
