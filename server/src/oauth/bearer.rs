//! `Authorization: Bearer` on the Management API. The token says who and which scopes; what
//! the subject may do is read fresh: a client's effective permissions or an account's grants,
//! narrowed by the token's management scopes. A disabled account or client stops its tokens at
//! once, and so does revoking the token.

use gatehouse_api_types::grant;

use super::scope::Scopes;
use super::tokens::{self, AccessClaims};
use super::OAuth;
use crate::db::{self, Conn};
use crate::domain::Caller;
use crate::error::Result;

/// The caller a valid access token stands for, or why it is refused.
pub fn authenticate(conn: &mut Conn, oauth: &OAuth, token: &str) -> Result<std::result::Result<(Caller, AccessClaims), &'static str>> {
    let audience = oauth.settings.api_audience();
    let claims = match tokens::verify_access(conn, &oauth.keys, &oauth.settings, token, Some(&audience))? {
        Ok(claims) => claims,
        Err(reason) => return Ok(Err(reason)),
    };
    let Ok(scope) = Scopes::parse(&claims.scope) else { return Ok(Err("token scope does not parse")) };
    let Some(client) = db::clients::credential(conn, &claims.client_id, db::now())? else { return Ok(Err("the token's client no longer exists")) };
    let owner_active = client.owner.as_ref().is_some_and(|o| !o.disabled);
    if client.disabled || !owner_active {
        return Ok(Err("the token's client is disabled"));
    }
    let caller = if claims.is_client_token() {
        let owner = client.owner.expect("checked above");
        let caller = Caller::client(client.id, client.client_id, owner.to_ref(), client.permissions, owner.permissions.clone());
        // A client token without management scopes carries all the client may do.
        if scope.grants.is_empty() { caller } else { narrow(caller, &scope) }
    } else {
        let Ok(id) = uuid::Uuid::parse_str(&claims.sub) else { return Ok(Err("malformed subject")) };
        let Some(account) = db::accounts::get(conn, id)?.filter(|a| !a.disabled) else { return Ok(Err("the account is disabled or deleted")) };
        // An account token carries only the management scopes it was granted.
        narrow(Caller::account(account.id, account.namespace, account.username, account.permissions), &scope)
    };
    Ok(Ok((caller, claims)))
}

fn narrow(mut caller: Caller, scope: &Scopes) -> Caller {
    caller.effective = grant::effective(&caller.effective, &scope.grants);
    caller
}
