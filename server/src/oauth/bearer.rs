//! What a presented access token stands for right now. The token says who and which scopes;
//! whether it still counts and what its subject may do are read fresh: the client must exist
//! and be enabled with an enabled owner, a user's account must be enabled, and neither may have
//! ended its tokens since the token was issued (a password set, a secret rotated without
//! overlap). One check, used by the Management API (`Authorization: Bearer`), UserInfo and
//! introspection alike.
//!
//! On the Management API a client's token acts with the client's effective permissions (its
//! management scopes narrow them); a user's token with its account's grants met with its
//! management scopes and with what its client may do (whoever controls the client received
//! the token; the console's client is the exception: it holds nothing and its tokens stay in
//! the server-side session of the signed-in browser).

use gatehouse_api_types::grant::{self, Grant};

use super::scope::{Scopes, ACCOUNT};
use super::tokens::{self, AccessClaims, Rejection};
use crate::db::clients::Credential;
use crate::db::ids::{AccountId, ClientId};
use crate::db::{self, Conn, Db, Probe};
use crate::domain::accounts::Account;
use crate::domain::clients::CONSOLE_CLIENT_ID;
use crate::domain::{dpop, Caller};
use crate::error::Refusable;
use crate::shell::OAuth;

/// The live subject of a token.
pub enum Standing {
    /// A client acting for itself (client credentials).
    Client(Credential),
    /// An account, through `client`.
    Account { account: Box<Account>, client: Credential },
}

/// Whether a verified token still counts, and whose it is (under the `probe` the request read
/// first, as for its revocation).
pub fn standing(db: &Db, conn: &mut Conn, probe: &Probe, claims: &AccessClaims) -> Refusable<Standing, Rejection> {
    let Some(client) = db.credential_probed(conn, probe, ClientId(&claims.client_id), db::now())? else {
        return Ok(Err("the token's client no longer exists"));
    };
    let is_console = client.client_id == CONSOLE_CLIENT_ID;
    if client.disabled || !(is_console || client.owner.as_ref().is_some_and(|o| !o.disabled)) {
        return Ok(Err("the token's client is disabled"));
    }
    if claims.is_client_token() {
        if issued_before(claims, client.tokens_valid_after) {
            return Ok(Err("the client's tokens were ended by a secret rotation"));
        }
        return Ok(Ok(Standing::Client(client)));
    }
    let Ok(id) = uuid::Uuid::parse_str(&claims.sub) else { return Ok(Err("malformed subject")) };
    let Some(account) = db::accounts::get(conn, AccountId(id))?.filter(|a| !a.disabled) else {
        return Ok(Err("the account is disabled or deleted"));
    };
    if issued_before(claims, account.tokens_valid_after) {
        return Ok(Err("the account's tokens were ended by a password change"));
    }
    Ok(Ok(Standing::Account { account: Box::new(account), client }))
}

/// True when the token was issued before `valid_after` (to the second: `iat` has no more).
fn issued_before(claims: &AccessClaims, valid_after: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    valid_after.is_some_and(|t| claims.iat < t.timestamp())
}

/// What a client may do right now: its grants met with its owner's.
fn client_power(client: &Credential) -> Vec<Grant> {
    match &client.owner {
        Some(owner) if !owner.disabled && !client.disabled => grant::effective(&client.permissions, &owner.held()),
        _ => Vec::new(),
    }
}

/// How an access token was presented to a resource (RFC 9449 §7).
pub enum Presentation<'a> {
    /// `Authorization: Bearer` (or UserInfo's form parameter).
    Bearer,
    /// `Authorization: DPoP`, with the request's `DPoP` header (if any), method and URL.
    DPoP { proof: Option<&'a str>, method: &'a str, url: &'a str },
}

/// The sender constraint of a verified token: a DPoP-bound token (`cnf.jkt`) counts only as
/// `DPoP` with a fresh proof by its key for this request and token (`ath`), accepted once on
/// every replica; a token without `cnf` only as `Bearer`. Nonces are not required here.
pub fn sender_constrained(
    db: &Db,
    conn: &mut Conn,
    oauth: &OAuth,
    claims: &AccessClaims,
    token: &str,
    presentation: &Presentation<'_>,
) -> Refusable<(), Rejection> {
    let (proof, method, url) = match (presentation, &claims.cnf) {
        (Presentation::Bearer, None) => return Ok(Ok(())),
        (Presentation::Bearer, Some(_)) => {
            return Ok(Err("DPoP-bound token: present it as Authorization: DPoP with a DPoP proof"))
        }
        (Presentation::DPoP { .. }, None) => return Ok(Err("DPoP scheme with a token that is not DPoP-bound")),
        (Presentation::DPoP { proof: None, .. }, Some(_)) => {
            return Ok(Err("DPoP proof: a DPoP header is required with a DPoP-bound token"))
        }
        (Presentation::DPoP { proof: Some(proof), method, url }, Some(_)) => (*proof, *method, *url),
    };
    let parsed = match dpop::parse(proof) {
        Ok(parsed) => parsed,
        Err(reason) => return Ok(Err(reason)),
    };
    let request = dpop::Request { method, url, access_token: Some(token), nonce_required: false };
    let nonces = dpop::Nonces::new(&oauth.master);
    if let Err(refusal) = dpop::check(&parsed, &request, &nonces, db::now()) {
        return Ok(Err(refusal.reason()));
    }
    if claims.cnf.as_ref().is_none_or(|cnf| !crate::domain::crypto::same(&cnf.jkt, &parsed.jkt)) {
        return Ok(Err("DPoP proof: signed by another key than the token is bound to"));
    }
    if !dpop::accept_once(db, conn, &parsed)? {
        return Ok(Err("DPoP proof: replayed (its jti was used before)"));
    }
    Ok(Ok(()))
}

/// The caller a valid access token stands for on the Management API, or why it is refused.
pub fn authenticate(
    db: &Db,
    conn: &mut Conn,
    oauth: &OAuth,
    token: &str,
    presentation: &Presentation<'_>,
) -> Refusable<(Caller, AccessClaims), Rejection> {
    let audience = oauth.settings.api_audience();
    // One read of the epochs for the token's revocation and its client's credential.
    let probe = db.probe(conn)?;
    let claims = match tokens::verify_access(db, conn, &probe, &oauth.keys, &oauth.settings, token, Some(&audience))? {
        Ok(claims) => claims,
        Err(reason) => return Ok(Err(reason)),
    };
    if let Err(reason) = sender_constrained(db, conn, oauth, &claims, token, presentation)? {
        return Ok(Err(reason));
    }
    let Ok(scope) = Scopes::parse(&claims.scope) else { return Ok(Err("token scope does not parse")) };
    let caller = match standing(db, conn, &probe, &claims)? {
        Err(reason) => return Ok(Err(reason)),
        Ok(Standing::Client(client)) => {
            let owner = client.owner.expect("an active client has an owner");
            let caller = Caller::client(client.id, client.client_id, owner.to_api(), client.permissions, owner.held());
            // A client token without management scopes carries all the client may do.
            if scope.grants.is_empty() {
                caller
            } else {
                narrow(caller, &scope.grants)
            }
        }
        Ok(Standing::Account { account, client }) => {
            let held = account.power();
            let mut caller = Caller::account(account.id, account.namespace, account.username, held);
            caller.self_service = scope.has(ACCOUNT);
            caller.auth_time = claims.auth_time.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
            let caller = narrow(caller, &scope.grants);
            if client.client_id == CONSOLE_CLIENT_ID {
                caller
            } else {
                narrow(caller, &client_power(&client))
            }
        }
    };
    Ok(Ok((caller, claims)))
}

fn narrow(mut caller: Caller, bound: &[Grant]) -> Caller {
    caller.effective = grant::effective(&caller.effective, bound);
    caller
}
