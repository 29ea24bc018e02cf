//! The device authorization grant's hosted page (RFC 8628 §3.3) at `/oauth/device`: the user
//! enters the code the device shows (`?user_code=` fills it in, `verification_uri_complete`),
//! and from there it is an authorization request like any other: the hosted sign-in (second
//! factor and forced enrolment included) when the browser has no session that suffices, then the
//! consent page, always (the user confirms which application asks, and for what), whose answer
//! approves or denies the device's request instead of sending a code to a redirect URI.
//!
//! Guessing codes is throttled like passwords (a counter per address, [`throttle`]), and every
//! code entered is audited (`oauth.device.verify`). A code of a disabled client, or of a client
//! whose owner is disabled, or that no longer has the grant, does nothing.

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_api_types::GrantType;
use maud::html;
use serde_json::json;

use super::authorize::{error_page, request_lifetime, respond, session_account, sign_in_page, too_many, Next};
use super::device::{user_code_hash, VERIFICATION_PATH};
use super::form::Form;
use super::pages::{self, Page, Rendered};
use super::{consent, session};
use crate::db::device_authorizations::{DeviceAuthorization, Status};
use crate::db::ids::{AccountId, ClientUuid};
use crate::db::oauth::{AuthRequest, SsoSession};
use crate::db::{self, Conn};
use crate::domain::accounts::Account;
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::authn::{record_lockouts, throttle_keys, Origin};
use crate::domain::clients::ClientView;
use crate::domain::crypto::{random_token, same};
use crate::domain::{throttle, user_code};
use crate::error::Result;
use crate::shell::AppState;

/// The double-submit cookie of the code form.
const CSRF_COOKIE: &str = "gatehouse_device";
/// What a code that cannot be used says, whatever the reason.
const NOT_VALID: &str = "That code is not valid or has expired. Check the code your device shows.";

/// `GET /oauth/device`: the code form.
pub async fn code_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let typed = Form::parse(req.query_string().as_bytes())
        .ok()
        .and_then(|f| f.get("user_code").map(|c| c.chars().take(16).collect::<String>()))
        .unwrap_or_default();
    form_page(&state, &typed, Vec::new(), StatusCode::OK).respond()
}

fn form_page(state: &AppState, typed: &str, errors: Vec<String>, status: StatusCode) -> Rendered {
    let csrf = random_token(24);
    let cookie = session::cookie_with(
        &state.oauth.settings,
        CSRF_COOKIE,
        csrf.clone(),
        chrono::Duration::minutes(15),
        SameSite::Strict,
    );
    let body = html! {
        p class="lead" { "Enter the code shown on your device." }
        (pages::error_list(&errors))
        form method="post" action=(VERIFICATION_PATH) {
            input type="hidden" name="csrf" value=(csrf);
            label for="user_code" { "Code" }
            input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required value=(typed);
            button type="submit" { "Continue" }
        }
    };
    Page::new("Connect a device").status(status).render(body).cookie(cookie)
}

/// `POST /oauth/device`: a code entered. A right one starts the sign-in (or, signed in
/// already, the consent page) for the device's request.
pub async fn enter_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else {
        return form_page(&state, "", vec!["The form was malformed.".into()], StatusCode::BAD_REQUEST).respond();
    };
    let cookie = session::read(&req, &state.oauth.settings, CSRF_COOKIE);
    let typed = form.get("user_code").unwrap_or_default().chars().take(64).collect::<String>();
    if !matches!((cookie.as_deref(), form.get("csrf")), (Some(c), Some(f)) if same(c, f)) {
        let again = "The form expired. Enter the code again.".to_owned();
        return form_page(&state, &typed, vec![again], StatusCode::BAD_REQUEST).respond();
    }
    let sso = session::sso_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let conn = &mut conn;
        let ip = origin.ip.clone().unwrap_or_default();
        let keys = throttle_keys(throttle::presented_key("device", "user_code", &ip), &origin);
        let reservation = match throttle::reserve(conn, &worker.db, &keys, db::now())? {
            Ok(reservation) => reservation,
            Err(retry_after) => return Ok(Next::Page(too_many(retry_after))),
        };
        let found = match user_code::normalize(&typed) {
            Some(code) => db::device_authorizations::by_user_code(conn, &user_code_hash(&worker.oauth.master, &code))?,
            None => None,
        };
        let usable = match found {
            Some(device) => usable(conn, device)?,
            None => Err("unknown code"),
        };
        let (device, client) = match usable {
            Ok(usable) => usable,
            Err(reason) => {
                record_lockouts(conn, &worker.db, &reservation, &Actor::anonymous(), &origin)?;
                let event = NewEvent::new(Actor::anonymous(), "oauth.device.verify")
                    .outcome(Outcome::Failure)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .changes(json!({ "reason": reason }));
                worker.db.write_blocking(conn, |conn| db::audit::append(conn, vec![event]))?;
                return Ok(Next::Page(form_page(&worker, &typed, vec![NOT_VALID.into()], StatusCode::OK)));
            }
        };
        throttle::succeeded(conn, &worker.db, &reservation)?;
        start(conn, &worker, &device, &client, sso.as_deref(), &origin)
    })
    .await;
    respond(outcome)
}

/// The device authorization and its client, if a code for it may be used now; else why not.
fn usable(
    conn: &mut Conn,
    device: DeviceAuthorization,
) -> Result<std::result::Result<(DeviceAuthorization, ClientView), &'static str>> {
    if device.expires_at <= db::now() {
        return Ok(Err("expired code"));
    }
    if device.status != Status::Pending {
        return Ok(Err("code already used"));
    }
    let client = db::clients::get(conn, ClientUuid(device.client))?;
    Ok(match client {
        Some(c) if c.signs_users_in() && c.client.allows_grant(GrantType::DeviceCode) => Ok((device, c)),
        _ => Err("the client may not use the device grant now"),
    })
}

/// Starts the authorization request of a device authorization whose code was entered.
fn start(
    conn: &mut Conn,
    state: &AppState,
    device: &DeviceAuthorization,
    client: &ClientView,
    sso: Option<&str>,
    origin: &Origin,
) -> Result<Next> {
    let oauth = &state.oauth;
    let expires_at = (db::now() + request_lifetime()).min(device.expires_at);
    let mut request = AuthRequest {
        id: random_token(16),
        csrf: random_token(24),
        client: client.client.id,
        redirect_uri: oauth.settings.url(VERIFICATION_PATH),
        scope: device.scope.clone(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: None,
        max_age: None,
        login_hint: None,
        account: None,
        expires_at,
        mfa_account: None,
        mfa_stage: None,
        enrol_secret: None,
        acr_values: None,
        claims: None,
        response_type: "code".into(),
        response_mode: "query".into(),
        device_authorization: Some(device.id.clone()),
        dpop_jkt: None,
    };
    let current = session::current(conn, sso)?;
    let signed_in = session_account(conn, state, current, client, &request)?;
    request.account = signed_in.as_ref().map(|(_, account)| account.id);
    let event = NewEvent::new(Actor::anonymous(), "oauth.device.verify")
        .target("client", client.client.id)
        .request(origin.request_id.clone(), origin.ip.clone())
        .changes(json!({ "client_id": client.client.client_id, "device_authorization": device.id }));
    state.db.write_blocking(conn, |conn| {
        db::oauth::insert_request(conn, &request)?;
        db::audit::append(conn, vec![event])
    })?;
    let page = match &signed_in {
        Some((_, account)) => consent::page(&request, client, account),
        None => sign_in_page(oauth, &request, client, "", Vec::new(), StatusCode::OK),
    };
    let lifetime = expires_at - db::now();
    Ok(Next::Page(page.cookie(session::authz_cookie(&oauth.settings, &request.id, lifetime))))
}

/// The user's decision on the device authorization of `request`, inside the decision's write
/// transaction; the page to show. Approving records the sign-in the tokens will carry.
pub fn decide(
    conn: &mut Conn,
    request: &AuthRequest,
    client: &ClientView,
    account: &Account,
    session: &SsoSession,
    origin: &Origin,
    approved: bool,
) -> Result<Rendered> {
    let Some(id) = &request.device_authorization else {
        return Ok(error_page(StatusCode::BAD_REQUEST, NOT_VALID));
    };
    let live = db::device_authorizations::get(conn, id)?.filter(|d| d.expires_at > db::now());
    let decided = live.is_some()
        && db::device_authorizations::decide(
            conn,
            id,
            approved,
            AccountId(account.id),
            &session.id,
            session.auth_time,
            &session.amr,
        )?;
    if !decided {
        return Ok(error_page(StatusCode::BAD_REQUEST, NOT_VALID));
    }
    if approved {
        // The device gets tokens of this session: it hears of its end (back-channel logout).
        db::session_clients::record(conn, &session.id, ClientUuid(client.client.id), db::now())?;
    }
    let action = if approved { "oauth.device.approve" } else { "oauth.device.deny" };
    let event = NewEvent::new(Actor::account(account.id.to_string()), action)
        .target("client", client.client.id)
        .namespace(&account.namespace)
        .request(origin.request_id.clone(), origin.ip.clone())
        .outcome(if approved { Outcome::Success } else { Outcome::Denied })
        .changes(json!({ "client_id": client.client.client_id, "scope": request.scope, "device_authorization": id }));
    db::audit::append(conn, vec![event])?;
    let text = if approved {
        format!("{} is now connected. You can return to your device.", client.client.name)
    } else {
        format!("You did not allow {}. You can close this page.", client.client.name)
    };
    Ok(Page::new(if approved { "Device connected" } else { "Request denied" }).render(pages::message(&text)))
}
