//! What the grants do, apart from HTTP: issue tokens for a signed-in account, redeem an
//! authorization code (PKCE, single use, reuse revokes what it issued), rotate a refresh token
//! (reuse of a rotated token revokes its whole family).

use base64::Engine;
use gatehouse_api_types::GrantType;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::claims::ClaimsRequest;
use super::scope::Scopes;
use super::tokens::{self, AccessTokenSpec, IdTokenSpec};
use super::OAuthError;
use crate::db::ids::{AccountId, ClientUuid};
use crate::db::oauth::{Code, RefreshToken};
use crate::db::{self, Conn};
use crate::domain::accounts::Account;
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::clients::ClientView;
use crate::domain::crypto::{random_token, same, token_hash};
use crate::error::{Refusable, Result};
use crate::shell::OAuth;

/// The token endpoint's answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// An outcome of a grant: the tokens (to sign once the transaction commits), or a refusal
/// that may still have changed something (a reused code or refresh token revokes what it
/// issued; that must commit).
pub type TokenOutcome = std::result::Result<(UnsignedTokens, NewEvent), (OAuthError, Option<NewEvent>)>;

/// A sign-in to turn into tokens.
pub struct UserTokens<'a> {
    pub client: &'a ClientView,
    pub account: &'a Account,
    pub scope: &'a Scopes,
    pub nonce: Option<&'a str>,
    pub auth_time: chrono::DateTime<chrono::Utc>,
    /// How the account signed in (RFC 8176 values, space-separated).
    pub amr: &'a str,
    pub session_id: Option<&'a str>,
    /// The refresh token family to continue (on refresh), or none to start one.
    pub family_id: Option<&'a str>,
    /// The authorization request's `claims` parameter (kept by its refresh tokens).
    pub claims: &'a ClaimsRequest,
    /// The key of the token request's DPoP proof, if it had one ([`TokenClient::dpop_jkt`]):
    /// the access token and the refresh token are bound to it.
    ///
    /// [`TokenClient::dpop_jkt`]: super::token_endpoint::TokenClient::dpop_jkt
    pub dpop_jkt: Option<&'a str>,
}

/// The tokens of a grant, decided and stored in its transaction, signed after it commits
/// ([`UnsignedTokens::sign`]): on SQLite no signature is computed while the write lock is held.
/// Should signing fail after the commit (no current key), the grant is on record and the caller
/// gets a 500 instead of tokens.
pub struct UnsignedTokens {
    access: tokens::UnsignedAccess,
    /// The ID token's claims (with `openid`), but its `at_hash`.
    id_token: Option<serde_json::Map<String, serde_json::Value>>,
    scope: String,
    refresh_token: Option<String>,
    /// The refresh token family continued or started.
    pub family_id: Option<String>,
}

impl UnsignedTokens {
    /// The access token's `jti`, for the audit event.
    pub fn jti(&self) -> &str {
        &self.access.claims.jti
    }

    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Signs the access token, then the ID token with the access token's `at_hash`.
    pub fn sign(self, conn: &mut Conn, oauth: &OAuth) -> Result<TokenResponse> {
        let access = self.access.sign(conn, &oauth.keys)?;
        let id_token = match self.id_token {
            Some(claims) => Some(tokens::sign_id_token(conn, &oauth.keys, claims, Some(&access.token))?),
            None => None,
        };
        Ok(TokenResponse {
            access_token: access.token,
            token_type: access.token_type,
            expires_in: access.expires_in,
            scope: self.scope,
            refresh_token: self.refresh_token,
            id_token,
        })
    }
}

/// Access token, ID token (with `openid`) and refresh token (when the client may refresh) for
/// an account: the refresh token is stored, the rest is signed later ([`UnsignedTokens::sign`]).
///
/// Management scopes are cut down to what the client may do right now (see
/// [`Scopes::bounded_by`]); a token without management scopes or `account` is for its client
/// alone (its audience), not for the Management API.
pub fn issue_for_user(conn: &mut Conn, oauth: &OAuth, t: UserTokens<'_>) -> Result<UnsignedTokens> {
    let client = &t.client.client;
    let scope = &t.scope.bounded_by(t.client.user_token_bound().as_deref());
    let t = UserTokens { scope, ..t };
    let audience = (!scope.reaches_api()).then_some(client.client_id.as_str());
    let access = tokens::access_claims(
        &oauth.settings,
        AccessTokenSpec {
            client_id: &client.client_id,
            subject: &t.account.id.to_string(),
            scope: t.scope,
            ttl_seconds: client.access_token_ttl.unwrap_or(oauth.settings.default_access_ttl),
            alg: client.access_token_alg,
            auth_time: Some(t.auth_time.timestamp()),
            session_id: t.session_id,
            audience,
            userinfo_claims: &t.claims.userinfo_claims(),
            dpop_jkt: t.dpop_jkt,
        },
    );
    let id_token = t.scope.has(super::scope::OPENID).then(|| {
        tokens::id_token_claims(
            &oauth.settings,
            IdTokenSpec {
                client_id: &client.client_id,
                account: t.account,
                scope: t.scope,
                nonce: t.nonce,
                auth_time: t.auth_time.timestamp(),
                amr: t.amr,
                session_id: t.session_id,
                access_token: None,
                attribute_claims: &client.attribute_claims,
                requested: &t.claims.id_token_claims(),
            },
        )
    });
    let (refresh_token, family_id) = if client.allows_grant(GrantType::RefreshToken) {
        let family = t.family_id.map(str::to_owned).unwrap_or_else(|| random_token(16));
        let token = random_token(32);
        db::oauth::insert_refresh(
            conn,
            &RefreshToken {
                id: uuid::Uuid::now_v7().to_string(),
                token_hash: token_hash(&token),
                family_id: family.clone(),
                client: client.id,
                account: t.account.id,
                session_id: t.session_id.map(str::to_owned),
                scope: t.scope.to_string(),
                auth_time: t.auth_time,
                expires_at: db::now() + oauth.settings.refresh_ttl,
                used_at: None,
                revoked_at: None,
                amr: t.amr.to_owned(),
                claims: t.claims.stored(),
                dpop_jkt: t.dpop_jkt.map(str::to_owned),
            },
        )?;
        (Some(token), Some(family))
    } else {
        (None, None)
    };
    Ok(UnsignedTokens { access, id_token, scope: t.scope.to_string(), refresh_token, family_id })
}

/// The audit event of tokens issued (or refused) to `client` for `account`.
pub fn token_event(actor: &Actor, grant_type: GrantType, account: Option<&Account>) -> NewEvent {
    let event = NewEvent::new(actor.clone(), "oauth.token");
    let event = match account {
        Some(a) => event.target("account", a.id).namespace(&a.namespace),
        None => event,
    };
    event.changes(json!({ "grant_type": grant_type }))
}

fn with_details(mut event: NewEvent, details: serde_json::Value) -> NewEvent {
    if let (Some(serde_json::Value::Object(changes)), serde_json::Value::Object(more)) = (&mut event.changes, details) {
        changes.extend(more);
    }
    event
}

/// `BASE64URL(SHA256(code_verifier))` against the stored challenge (RFC 7636, S256 only).
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    valid
        && same(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            challenge,
        )
}

/// What a client presents to redeem a code.
pub struct Redemption<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub verifier: Option<&'a str>,
    /// The key of the request's DPoP proof (see [`UserTokens::dpop_jkt`]).
    pub dpop_jkt: Option<&'a str>,
}

/// Redeems an authorization code, inside a write transaction.
pub fn redeem_code(
    conn: &mut Conn,
    oauth: &OAuth,
    client: &ClientView,
    actor: &Actor,
    redemption: Redemption<'_>,
) -> Result<TokenOutcome> {
    let Redemption { code, redirect_uri, verifier, dpop_jkt } = redemption;
    let refuse = |why: &str| Ok(Err((OAuthError::invalid_grant(why.to_owned()), None)));
    let now = db::now();
    let Some(stored): Option<Code> = db::oauth::get_code(conn, &token_hash(code))? else {
        return refuse("the code is invalid or expired");
    };
    if stored.client != client.client.id {
        return refuse("the code is invalid or expired");
    }
    if stored.used_at.is_some() || !db::oauth::use_code(conn, &stored.code_hash, now)? {
        // A code used twice may have been stolen: revoke everything it issued (RFC 6749 4.1.2).
        let mut revoked = 0;
        if let Some(family) = &stored.family_id {
            revoked = db::oauth::revoke_family(conn, family, now)?;
        }
        if let Some(jti) = &stored.access_token_jti {
            tokens::revoke_jti(conn, jti, now + chrono::Duration::seconds(i64::from(oauth.settings.max_access_ttl)))?;
        }
        let event = token_event(actor, GrantType::AuthorizationCode, None)
            .target("account", stored.account)
            .outcome(Outcome::Denied)
            .changes(json!({ "grant_type": GrantType::AuthorizationCode, "reason": "code reused", "revoked_refresh_tokens": revoked }));
        return Ok(Err((OAuthError::invalid_grant("the code was already used"), Some(event))));
    }
    if stored.expires_at <= now {
        return refuse("the code is invalid or expired");
    }
    if redirect_uri != Some(stored.redirect_uri.as_str()) {
        return refuse("redirect_uri does not match the authorization request");
    }
    match (&stored.code_challenge, verifier) {
        (Some(_), None) => return refuse("code_verifier is required (PKCE)"),
        (Some(challenge), Some(v)) if !pkce_matches(challenge, v) => {
            return refuse("code_verifier does not match the code_challenge")
        }
        (None, Some(_)) => return refuse("code_verifier given but the authorization request had no code_challenge"),
        _ => {}
    }
    // A code bound to a key at the authorization request (`dpop_jkt`) is redeemed only with a
    // proof by that key (RFC 9449 §10).
    if stored.dpop_jkt.is_some() && stored.dpop_jkt.as_deref() != dpop_jkt {
        return refuse("the code is bound to another DPoP key (dpop_jkt)");
    }
    let Some(account) = db::accounts::get(conn, AccountId(stored.account))?.filter(|a| !a.disabled) else {
        return refuse("the account can no longer sign in");
    };
    let scope = Scopes::parse(&stored.scope).map_err(crate::error::Error::internal)?;
    let claims = ClaimsRequest::from_stored(stored.claims.as_deref());
    let issued = issue_for_user(
        conn,
        oauth,
        UserTokens {
            client,
            account: &account,
            scope: &scope,
            nonce: stored.nonce.as_deref(),
            auth_time: stored.auth_time,
            amr: &stored.amr,
            session_id: stored.session_id.as_deref(),
            family_id: None,
            claims: &claims,
            dpop_jkt,
        },
    )?;
    db::oauth::record_code_issue(conn, &stored.code_hash, issued.family_id.as_deref(), issued.jti())?;
    let event = with_details(
        token_event(actor, GrantType::AuthorizationCode, Some(&account)),
        json!({ "scope": issued.scope(), "jti": issued.jti() }),
    );
    Ok(Ok((issued, event)))
}

/// Rotates a refresh token, inside a write transaction.
pub fn refresh(
    conn: &mut Conn,
    oauth: &OAuth,
    client: &ClientView,
    actor: &Actor,
    token: &str,
    scope: Option<&str>,
    dpop_jkt: Option<&str>,
) -> Result<TokenOutcome> {
    let refuse = |why: &str| Ok(Err((OAuthError::invalid_grant(why.to_owned()), None)));
    let now = db::now();
    let hash = token_hash(token);
    // Found and spent in one statement when it may be; otherwise read to tell why it is refused.
    let stored = match db::oauth::spend_refresh(conn, &hash, ClientUuid(client.client.id), dpop_jkt, now)? {
        Some(spent) => spent,
        None => match unspendable(conn, client, actor, &hash, dpop_jkt, now)? {
            Ok(stored) => stored,
            Err(refusal) => return Ok(Err(refusal)),
        },
    };
    let granted = Scopes::parse(&stored.scope).map_err(crate::error::Error::internal)?;
    let scope = match scope {
        Some(text) => match Scopes::parse(text) {
            Ok(asked) if asked.within(&granted) => asked,
            _ => return Ok(Err((OAuthError::invalid_scope("the scope must be within the original grant"), None))),
        },
        None => granted,
    };
    let Some(account) = db::accounts::get(conn, AccountId(stored.account))?.filter(|a| !a.disabled) else {
        db::oauth::revoke_family(conn, &stored.family_id, now)?;
        return refuse("the account can no longer sign in");
    };
    let claims = ClaimsRequest::from_stored(stored.claims.as_deref());
    let issued = issue_for_user(
        conn,
        oauth,
        UserTokens {
            client,
            account: &account,
            scope: &scope,
            nonce: None,
            auth_time: stored.auth_time,
            amr: &stored.amr,
            session_id: stored.session_id.as_deref(),
            family_id: Some(&stored.family_id),
            claims: &claims,
            dpop_jkt,
        },
    )?;
    let event = with_details(
        token_event(actor, GrantType::RefreshToken, Some(&account)),
        json!({ "scope": issued.scope(), "jti": issued.jti() }),
    );
    Ok(Ok((issued, event)))
}

/// Why a refresh token that [`db::oauth::spend_refresh`] would not spend is refused: the checks
/// of that statement, one by one. A token that comes back after its rotation revokes its whole
/// family. Answers the token only if it could be spent after all (nothing refused it here).
fn unspendable(
    conn: &mut Conn,
    client: &ClientView,
    actor: &Actor,
    hash: &str,
    dpop_jkt: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Refusable<RefreshToken, (OAuthError, Option<NewEvent>)> {
    let refuse = |why: &str| Ok(Err((OAuthError::invalid_grant(why.to_owned()), None)));
    let Some(stored) = db::oauth::find_refresh(conn, hash)? else {
        return refuse("the refresh token is invalid");
    };
    if stored.client != client.client.id || stored.revoked_at.is_some() {
        return refuse("the refresh token is invalid");
    }
    // A refresh token issued with a DPoP proof is bound to its key (RFC 9449 §5): refreshed
    // only with a proof by that key, never without one. Checked before it is used:
    // a proof by another key does not spend the holder's token.
    if stored.dpop_jkt.is_some() && stored.dpop_jkt.as_deref() != dpop_jkt {
        return refuse("the refresh token is bound to another DPoP key");
    }
    if stored.used_at.is_some() || !db::oauth::use_refresh(conn, &stored.id, now)? {
        // A rotated token came back: someone holds a copy. Revoke the whole family.
        let revoked = db::oauth::revoke_family(conn, &stored.family_id, now)?;
        let event = token_event(actor, GrantType::RefreshToken, None)
            .target("account", stored.account)
            .outcome(Outcome::Denied)
            .changes(json!({ "grant_type": GrantType::RefreshToken, "reason": "refresh token reused", "revoked_refresh_tokens": revoked }));
        return Ok(Err((
            OAuthError::invalid_grant("the refresh token was already used; its family is revoked"),
            Some(event),
        )));
    }
    if stored.expires_at <= now {
        return refuse("the refresh token has expired");
    }
    Ok(Ok(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", verifier));
        assert!(!pkce_matches(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"
        ));
        assert!(!pkce_matches("short", "short"));
    }
}
