//! The device authorization grant (RFC 8628) at the back channel: `POST
//! /oauth/device_authorization`, where a device (a CLI, a TV) authenticates as at the token
//! endpoint (or names itself, a public client) and receives a device code and a user code, and
//! the token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant, which it polls
//! until the user decided on the hosted page ([`super::device_page`]).
//!
//! Both codes are stored hashed (the device code by SHA-256, the low-entropy user code keyed
//! with the master key), live ten minutes and are used once. The polling interval and the last
//! poll are stored with the authorization, so `slow_down` (the interval grows by 5 seconds for
//! good) holds on every replica. The tokens are those of the code flow, issued by the same path
//! ([`issuance::issue_for_user`]) for the session the user approved in.

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_api_types::GrantType;
use serde_json::json;

use super::endpoints::client_of;
use super::form::Form;
use super::issuance::{self, TokenOutcome, UserTokens};
use super::scope::Scopes;
use super::OAuthError;
use crate::db::device_authorizations::{DeviceAuthorization, Status};
use crate::db::ids::{AccountId, ClientUuid};
use crate::db::{self, Conn};
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::clients::ClientView;
use crate::domain::crypto::{random_token, token_hash, MasterKey};
use crate::domain::user_code;
use crate::error::{Error, Result};
use crate::shell::{self, AppState, OAuth};

/// How long a device code and its user code live.
pub const LIFETIME_SECONDS: i64 = 600;
/// The first polling interval, in seconds.
pub const INTERVAL_SECONDS: i32 = 5;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECONDS: i32 = 5;
/// The hosted page where the user enters the code.
pub const VERIFICATION_PATH: &str = "/oauth/device";

/// The keyed hash a normalized user code is stored and found under.
pub fn user_code_hash(master: &MasterKey, code: &str) -> String {
    master.keyed_hash("device-user-code", code)
}

/// `POST /oauth/device_authorization`.
pub async fn authorize_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> std::result::Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let client = client_of(&req, &state, &form).await?;
    if form.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(OAuthError::invalid_request("client_id is not the authenticated client's"));
    }
    let scope = form.get("scope").unwrap_or_default().to_owned();
    let origin = shell::origin(&req);
    let worker = state.clone();
    let answer = state
        .db
        .write(move |conn| {
            let oauth = &worker.oauth;
            let event = NewEvent::new(client.actor.clone(), "oauth.device_authorization")
                .target("client", client.id)
                .request(origin.request_id.clone(), origin.ip.clone());
            let Some(view) = db::clients::get(conn, ClientUuid(client.id))? else {
                return Ok(Err(OAuthError::invalid_client(false)));
            };
            let scope = match check(&view, &scope) {
                Ok(scope) => scope,
                Err(error) => {
                    let changes = json!({ "client_id": client.client_id, "error": error.error, "error_description": error.description });
                    db::audit::append(conn, vec![event.outcome(Outcome::Denied).changes(changes)])?;
                    return Ok(Err(error));
                }
            };
            let (device_code, code) = (random_token(32), fresh_user_code(conn, &oauth.master)?);
            let device = DeviceAuthorization {
                id: random_token(16),
                device_code_hash: token_hash(&device_code),
                user_code_hash: user_code_hash(&oauth.master, &code),
                client: client.id,
                scope: scope.to_string(),
                status: Status::Pending,
                account: None,
                session_id: None,
                auth_time: None,
                amr: None,
                interval_seconds: INTERVAL_SECONDS,
                last_polled_at: None,
                expires_at: db::now() + chrono::Duration::seconds(LIFETIME_SECONDS),
            };
            db::device_authorizations::insert(conn, &device)?;
            let changes = json!({ "client_id": client.client_id, "scope": device.scope, "device_authorization": device.id });
            db::audit::append(conn, vec![event.changes(changes)])?;
            let shown = user_code::display(&code);
            let uri = oauth.settings.url(VERIFICATION_PATH);
            let complete = super::authorize::redirect_with(&uri, &[("user_code", Some(shown.as_str()))]);
            Ok(Ok(json!({
                "device_code": device_code,
                "user_code": shown,
                "verification_uri": uri,
                "verification_uri_complete": complete,
                "expires_in": LIFETIME_SECONDS,
                "interval": INTERVAL_SECONDS,
            })))
        })
        .await??;
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(answer))
}

/// Whether `client` may start a device authorization for `scope`: the scope it would be granted.
fn check(view: &ClientView, scope: &str) -> std::result::Result<Scopes, OAuthError> {
    if !view.signs_users_in() {
        return Err(OAuthError::invalid_client(false));
    }
    if !view.client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client("this client may not use the device authorization grant"));
    }
    if view.client.user_namespace.is_none() {
        return Err(OAuthError::unauthorized_client("this client has no user namespace to sign users into"));
    }
    let scope = Scopes::parse(scope).map_err(OAuthError::invalid_scope)?;
    // No more than the client itself may do (whoever controls it receives the tokens).
    Ok(scope.bounded_by(view.user_token_bound().as_deref()))
}

/// A user code no live (or not yet swept) authorization has.
fn fresh_user_code(conn: &mut Conn, master: &MasterKey) -> Result<String> {
    for _ in 0..5 {
        let code = user_code::generate();
        if db::device_authorizations::by_user_code(conn, &user_code_hash(master, &code))?.is_none() {
            return Ok(code);
        }
    }
    Err(Error::internal("no free user code after five tries"))
}

/// The device code grant, inside a write transaction: the poll is recorded (and commits) whatever
/// the answer.
pub fn poll(
    conn: &mut Conn,
    oauth: &OAuth,
    client: &ClientView,
    actor: &Actor,
    device_code: &str,
    dpop_jkt: Option<&str>,
) -> Result<TokenOutcome> {
    let refuse = |error: OAuthError| Ok(Err((error, None)));
    let now = db::now();
    let found = db::device_authorizations::by_device_code(conn, &token_hash(device_code))?;
    let Some(device) = found.filter(|d| d.client == client.client.id) else {
        return refuse(OAuthError::invalid_grant("the device code is invalid"));
    };
    if device.expires_at <= now {
        return refuse(OAuthError::new("expired_token", "the device code has expired: start again"));
    }
    let too_soon = device
        .last_polled_at
        .is_some_and(|last| now - last < chrono::Duration::seconds(i64::from(device.interval_seconds)));
    let interval = if too_soon { device.interval_seconds + SLOW_DOWN_SECONDS } else { device.interval_seconds };
    let recorded = db::device_authorizations::record_poll(conn, &device.id, device.last_polled_at, now, interval)?;
    if too_soon || !recorded {
        // `!recorded`: another poll (on any replica) came in between, so this one came too soon.
        return refuse(OAuthError::new("slow_down", format!("poll at most every {interval} seconds")));
    }
    match device.status {
        Status::Pending => refuse(OAuthError::new("authorization_pending", "the user has not decided yet")),
        Status::Denied => refuse(OAuthError::new("access_denied", "the user denied the request")),
        Status::Used => refuse(OAuthError::invalid_grant("the device code was already used")),
        Status::Approved => issue(conn, oauth, client, actor, &device, dpop_jkt),
    }
}

fn issue(
    conn: &mut Conn,
    oauth: &OAuth,
    client: &ClientView,
    actor: &Actor,
    device: &DeviceAuthorization,
    dpop_jkt: Option<&str>,
) -> Result<TokenOutcome> {
    let refuse = |why: &str| Ok(Err((OAuthError::invalid_grant(why.to_owned()), None)));
    if !db::device_authorizations::use_approved(conn, &device.id)? {
        return refuse("the device code was already used");
    }
    let (Some(account), Some(auth_time), Some(amr)) = (device.account, device.auth_time, device.amr.as_deref()) else {
        return Err(Error::internal("an approved device authorization without its sign-in"));
    };
    let Some(account) = db::accounts::get(conn, AccountId(account))?.filter(|a| !a.disabled) else {
        return refuse("the account can no longer sign in");
    };
    let scope = Scopes::parse(&device.scope).map_err(Error::internal)?;
    let issued = issuance::issue_for_user(
        conn,
        oauth,
        UserTokens {
            client,
            account: &account,
            scope: &scope,
            nonce: None,
            auth_time,
            amr,
            session_id: device.session_id.as_deref(),
            family_id: None,
            claims: &Default::default(),
            dpop_jkt,
        },
    )?;
    let event = issuance::token_event(actor, GrantType::DeviceCode, Some(&account)).changes(json!({
        "grant_type": GrantType::DeviceCode,
        "scope": issued.scope(),
        "jti": issued.jti(),
        "device_authorization": device.id,
    }));
    Ok(Ok((issued, event)))
}
