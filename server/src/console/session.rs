//! The console's sessions (backend for frontend). Signing in runs Gatehouse's own
//! authorization-code + PKCE flow with the built-in `console` client; the tokens stay in a
//! server-side session row, sealed with the master key, and the browser holds only an HttpOnly
//! cookie. A request of the console is the session's account acting through its access token,
//! refreshed here when it expires — so disabling the account, revoking its tokens or ending the
//! session stops the console at once, exactly as for any other token holder.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::console::ConsoleSession;
use crate::db::ids::{AccountId, ClientId};
use crate::db::{self, Conn};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::authn::Origin;
use crate::domain::crypto::{random_token, same, token_hash};
use crate::domain::Caller;
use crate::error::{Error, Refusable, Result};
use crate::oauth::{bearer, issuance};
use crate::shell::{AppState, OAuth};

/// The built-in client the console signs in with (created by `gatehouse bootstrap`).
pub const CLIENT_ID: &str = crate::domain::clients::CONSOLE_CLIENT_ID;
/// Everything the signed-in account holds, who it is, and its own account (self-service).
pub const SCOPE: &str = "openid profile account *:*@*";
const SEAL_TOKENS: &str = "console-session-token";
const SEAL_LOGIN: &str = "console-login";

pub fn redirect_uri(oauth: &OAuth) -> String {
    oauth.settings.url("/console/callback")
}

/// The sign-in in flight between `/console/login` and `/console/callback`, sealed in a cookie.
#[derive(Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub verifier: String,
}

/// Starts a sign-in: the URL of the authorization request and the sealed cookie value that
/// proves, at the callback, that this browser started it.
pub fn begin_login(oauth: &OAuth) -> Result<(String, String)> {
    let pending = PendingLogin { state: random_token(16), verifier: random_token(32) };
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let mut url = url::Url::parse(&oauth.settings.url("/oauth/authorize")).map_err(Error::internal)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri(oauth))
        .append_pair("scope", SCOPE)
        .append_pair("state", &pending.state)
        .append_pair("nonce", &random_token(16))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let sealed = oauth.master.seal(SEAL_LOGIN, &serde_json::to_vec(&pending).map_err(Error::internal)?)?;
    Ok((url.to_string(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)))
}

/// Opens the pending sign-in from its cookie and checks the callback's `state` against it.
pub fn pending_login(oauth: &OAuth, cookie: &str, state: &str) -> Option<PendingLogin> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cookie).ok()?;
    let pending: PendingLogin = serde_json::from_slice(&oauth.master.open(SEAL_LOGIN, &sealed).ok()?).ok()?;
    same(&pending.state, state).then_some(pending)
}

/// A started session: the cookie value (shown to the browser once, stored only as a hash).
pub struct Started {
    pub cookie: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Redeems the authorization code and starts a session, in one transaction. `Ok(Err(why))`
/// when the code is refused.
pub fn finish_login(state: &AppState, code: &str, verifier: &str, origin: &Origin) -> Refusable<Started, String> {
    let oauth = &state.oauth;
    let mut conn = state.db.get()?;
    state.db.write_blocking(&mut conn, |conn| {
        let (client, actor) = console_client(conn)?;
        let granted = issuance::redeem_code(
            conn,
            oauth,
            &client,
            &actor,
            issuance::Redemption {
                code,
                redirect_uri: Some(&redirect_uri(oauth)),
                verifier: Some(verifier),
                // The console's tokens stay in its server-side session: nothing to bind.
                dpop_jkt: None,
            },
        )?;
        let (tokens, event) = match granted {
            Ok(done) => done,
            Err((error, event)) => {
                db::audit::append(
                    conn,
                    event.into_iter().map(|e| e.request(origin.request_id.clone(), origin.ip.clone())).collect(),
                )?;
                return Ok(Err(error.description));
            }
        };
        // The console's own sign-ins are rare: its tokens are signed here, in the transaction
        // that stores them in the session.
        let tokens = tokens.sign(conn, oauth)?;
        let refresh = tokens
            .refresh_token
            .as_deref()
            .map(|t| db::oauth::find_refresh(conn, &token_hash(t)))
            .transpose()?
            .flatten();
        let account = refresh
            .as_ref()
            .map(|r| r.account)
            .or_else(|| subject_of(&tokens.access_token))
            .ok_or_else(|| Error::internal("token without subject"))?;
        let now = db::now();
        let cookie = random_token(32);
        let session = ConsoleSession {
            id: random_token(16),
            account,
            sso_session_id: refresh.and_then(|r| r.session_id),
            sealed_access_token: oauth.master.seal(SEAL_TOKENS, tokens.access_token.as_bytes())?,
            access_expires_at: now + chrono::Duration::seconds(i64::from(tokens.expires_in)),
            sealed_refresh_token: tokens
                .refresh_token
                .as_deref()
                .map(|t| oauth.master.seal(SEAL_TOKENS, t.as_bytes()))
                .transpose()?,
            expires_at: now + oauth.settings.session_ttl,
        };
        db::console::insert(conn, &session, &token_hash(&cookie))?;
        let signed_in = NewEvent::new(Actor::account(account.to_string()), "console.signin").target("account", account);
        db::audit::append(
            conn,
            [event, signed_in].into_iter().map(|e| e.request(origin.request_id.clone(), origin.ip.clone())).collect(),
        )?;
        Ok(Ok(Started { cookie, expires_at: session.expires_at }))
    })
}

/// The account a JWT names (its signature is checked where it is used, not here).
fn subject_of(token: &str) -> Option<uuid::Uuid> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    uuid::Uuid::parse_str(claims.get("sub")?.as_str()?).ok()
}

/// The console client, and itself as the actor of what it does.
fn console_client(conn: &mut Conn) -> Result<(crate::domain::clients::ClientView, Actor)> {
    let client = db::clients::get_by_client_id(conn, ClientId(CLIENT_ID))?
        .ok_or_else(|| Error::internal("the console client is missing; run `gatehouse bootstrap`"))?;
    let actor = Actor::client(client.client.id.to_string(), client.client.owner_account_id.map(|o| o.to_string()));
    Ok((client, actor))
}

/// The `X-CSRF-Token` of a session: a keyed hash of its cookie, so nothing more is stored.
pub fn csrf_token(oauth: &OAuth, cookie: &str) -> String {
    oauth.master.keyed_hash("console-csrf", cookie)
}

/// Who a console request acts as: the session's account through its access token (refreshed
/// when expired). `Ok(Err(reason))` when the session is over.
pub fn authenticate(state: &AppState, cookie: &str) -> Refusable<(Caller, ConsoleSession), &'static str> {
    if cookie.is_empty() || cookie.len() > 128 {
        return Ok(Err("malformed console session cookie"));
    }
    let mut conn = state.db.get()?;
    let Some(session) = db::console::find(&mut conn, &token_hash(cookie), db::now())? else {
        return Ok(Err("the console session has ended"));
    };
    let session = if session.access_expires_at > db::now() + chrono::Duration::seconds(5) {
        session
    } else {
        match refresh(state, &mut conn, &session.id)? {
            Some(session) => session,
            None => return Ok(Err("the console session has ended")),
        }
    };
    let access = String::from_utf8(state.oauth.master.open(SEAL_TOKENS, &session.sealed_access_token)?)
        .map_err(Error::internal)?;
    Ok(bearer::authenticate(&state.db, &mut conn, &state.oauth, &access, &bearer::Presentation::Bearer)?
        .map(|(caller, _)| (caller, session)))
}

/// Rotates the session's tokens under its row lock; a concurrent request that already did it
/// leaves fresh tokens behind, which are used as they are. None ends the session (its refresh
/// token was revoked, the account disabled, ...).
fn refresh(state: &AppState, conn: &mut Conn, id: &str) -> Result<Option<ConsoleSession>> {
    let oauth = &state.oauth;
    state.db.write_blocking(conn, |conn| {
        let now = db::now();
        if !db::console::lock(conn, id, now)? {
            return Ok(None);
        }
        let Some(session) = db::console::get(conn, id)? else { return Ok(None) };
        if session.access_expires_at > now + chrono::Duration::seconds(5) {
            return Ok(Some(session));
        }
        let Some(sealed) = &session.sealed_refresh_token else {
            db::console::delete(conn, id)?;
            return Ok(None);
        };
        let token = String::from_utf8(oauth.master.open(SEAL_TOKENS, sealed)?).map_err(Error::internal)?;
        let (client, actor) = console_client(conn)?;
        match issuance::refresh(conn, oauth, &client, &actor, &token, None, None)? {
            Ok((tokens, event)) => {
                let tokens = tokens.sign(conn, oauth)?;
                let access = oauth.master.seal(SEAL_TOKENS, tokens.access_token.as_bytes())?;
                let refresh = tokens
                    .refresh_token
                    .as_deref()
                    .map(|t| oauth.master.seal(SEAL_TOKENS, t.as_bytes()))
                    .transpose()?;
                let expires = now + chrono::Duration::seconds(i64::from(tokens.expires_in));
                db::console::store_tokens(conn, id, access.clone(), expires, refresh.clone())?;
                db::audit::append(conn, vec![event])?;
                Ok(Some(ConsoleSession {
                    sealed_access_token: access,
                    access_expires_at: expires,
                    sealed_refresh_token: refresh,
                    ..session
                }))
            }
            Err((_, event)) => {
                db::console::delete(conn, id)?;
                db::audit::append(conn, event.into_iter().collect())?;
                Ok(None)
            }
        }
    })
}

/// Signs out: ends the console session, the SSO session it came from and every token of it.
pub fn sign_out(state: &AppState, cookie: &str, origin: &Origin) -> Result<bool> {
    let mut conn = state.db.get()?;
    state.db.write_blocking(&mut conn, |conn| {
        let now = db::now();
        let Some(session) = db::console::find(conn, &token_hash(cookie), now)? else { return Ok(false) };
        db::console::delete(conn, &session.id)?;
        let mut revoked = 0;
        if let Some(sso) = &session.sso_session_id {
            revoked = db::oauth::revoke_session_tokens(conn, sso, now)?;
            crate::domain::backchannel_logout::end_session(conn, AccountId(session.account), sso, now)?;
        }
        let event = NewEvent::new(Actor::account(session.account.to_string()), "console.signout")
            .target("account", session.account)
            .changes(json!({ "revoked_refresh_tokens": revoked }))
            .request(origin.request_id.clone(), origin.ip.clone());
        db::audit::append(conn, vec![event])?;
        Ok(true)
    })
}

/// Points the console client at this server's callback (the issuer is known only when serving).
/// Called before each sign-in; changes something only when the issuer changed.
pub fn prepare_client(state: &AppState) -> Result<()> {
    let redirect = redirect_uri(&state.oauth);
    let mut conn = state.db.get()?;
    let Some(view) = db::clients::get_by_client_id(&mut conn, ClientId(CLIENT_ID))? else {
        return Err(Error::Unavailable(
            "the console client is missing: run `gatehouse bootstrap` on an empty database".into(),
        ));
    };
    if view.client.redirect_uris == [redirect.clone()] {
        return Ok(());
    }
    state.db.write_blocking(&mut conn, |conn| {
        let before = view.client;
        let mut after = before.clone();
        after.redirect_uris = vec![redirect];
        after.version += 1;
        after.updated_at = db::now();
        match db::clients::update(conn, &after, before.version) {
            // Another replica or request got there first.
            Err(Error::PreconditionFailed) => return Ok(()),
            other => other?,
        }
        let event = NewEvent::new(Actor::system(), "client.update").target("client", after.id).diff(
            Some(json!({ "redirect_uris": before.redirect_uris })),
            Some(json!({ "redirect_uris": after.redirect_uris })),
        );
        db::audit::append(conn, vec![event])
    })
}
