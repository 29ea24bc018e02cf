//! The second step of a hosted sign-in, between the password and [`authorize::complete`]: a
//! one-time code (or a recovery code) for an account with a factor (`POST /oauth/mfa`), and
//! enrolment for an account that must have one and has none (`POST /oauth/mfa/enrol`: QR code
//! and secret, confirmed by a first code; then the recovery codes, shown once, and
//! `POST /oauth/mfa/continue`). Where a sign-in stands lives on its authorization request, so it
//! is bound to the browser's authz cookie and expires with it.
//!
//! Codes are throttled on a counter of the account's own ([`throttle::factor_key`]) and the
//! address's; a wrong code is a failed `oauth.signin`, and it looks the same whatever made it
//! wrong.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use uuid::Uuid;

use super::authorize::{self, complete, expired_page, pending_request, too_many, Next};
use super::form::Form;
use super::pages::{self, Page, Rendered};
use super::session;
use crate::db::ids::AccountId;
use crate::db::oauth::AuthRequest;
use crate::db::{self, Conn};
use crate::domain::accounts::Account;
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::authn::{record_lockouts, throttle_keys, Origin};
use crate::domain::clients::ClientView;
use crate::domain::factors::{self, Amr, Factor};
use crate::domain::passkeys;
use crate::domain::throttle;
use crate::error::{Error, Result};
use crate::shell::AppState;

/// Where a sign-in stands after its password.
pub const VERIFY: &str = "verify";
pub const ENROL: &str = "enrol";
/// Enrolled, the recovery codes shown: with an authenticator app, a passkey bound to its
/// device, or a passkey that may be synced (what the ID token's `amr` will say).
const ENROLLED: &str = "enrolled";
pub const ENROLLED_PASSKEY: &str = "enrolled-passkey";
pub const ENROLLED_SYNCED_PASSKEY: &str = "enrolled-synced-passkey";

/// How the account signed in, by the stage its enrolment ended at.
fn enrolled_amr(stage: &str) -> Amr {
    match stage {
        ENROLLED_PASSKEY => Amr::passkey(false, true),
        ENROLLED_SYNCED_PASSKEY => Amr::passkey(true, true),
        _ => Amr::password_and_otp(),
    }
}

/// The name of a factor enrolled on the hosted pages.
const DEFAULT_NAME: &str = "Authenticator app";

/// A refused attempt, for the audit log: who, and why (never the code).
pub type Failure = Option<(Actor, &'static str)>;

/// The password was right: a code page for an account with a factor, enrolment for one that
/// must have a factor, else the sign-in completes with the password alone.
pub fn after_password(
    conn: &mut Conn,
    state: &AppState,
    request: &AuthRequest,
    client: &ClientView,
    account: &Account,
    origin: &Origin,
) -> Result<Next> {
    if db::factors::any(conn, AccountId(account.id))? {
        state.db.write_blocking(conn, |conn| {
            db::oauth::set_request_mfa(conn, &request.id, AccountId(account.id), VERIFY, None)
        })?;
        return Ok(Next::Page(code_page(conn, state, request, account.id, Vec::new())?));
    }
    let required = factors::required_by(
        conn,
        account,
        client.client.client_id == crate::domain::clients::CONSOLE_CLIENT_ID,
        state.oauth.settings.console_mfa_required,
        request.acr_values.as_deref(),
    )?;
    if required.is_none() {
        return complete(conn, state, request, client, account, &Amr::password(), origin);
    }
    let secret = factors::new_totp_secret();
    let sealed = state.oauth.master.seal(&factors::enrol_seal_context(&request.id), &secret)?;
    state.db.write_blocking(conn, |conn| {
        db::oauth::set_request_mfa(conn, &request.id, AccountId(account.id), ENROL, Some(&sealed))
    })?;
    Ok(Next::Page(enrol_page(state, request, account, &secret, required, Vec::new())?))
}

/// Whether an SSO session is good enough for `account` at `client`: a session made with a
/// second factor always is; one made with a password alone only while the account has no
/// factor and needs none.
pub fn session_suffices(
    conn: &mut Conn,
    state: &AppState,
    amr: &str,
    client: &ClientView,
    account: &Account,
    acr_values: Option<&str>,
) -> Result<bool> {
    if Amr::parse(amr).is_mfa() {
        return Ok(true);
    }
    if db::factors::any(conn, AccountId(account.id))? {
        return Ok(false);
    }
    let to_console = client.client.client_id == crate::domain::clients::CONSOLE_CLIENT_ID;
    Ok(factors::required_by(conn, account, to_console, state.oauth.settings.console_mfa_required, acr_values)?
        .is_none())
}

/// `POST /oauth/mfa`: a one-time code or a recovery code.
pub async fn verify(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let audit_origin = origin.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some((request, client, account)) = pending(&mut conn, cookie.as_deref(), &form, &[VERIFY])? else {
            return Ok((Next::Page(expired_page()), None));
        };
        let code = form.get("code").unwrap_or_default().chars().take(64).collect::<String>();
        let actor = Actor::account(account.id.to_string());
        let reservation = match reserve_attempt(&mut conn, &worker, &account, &origin)? {
            Ok(reservation) => reservation,
            Err(page) => return Ok((page, Some((actor, "second factor: locked out after repeated failures")))),
        };
        let accepted =
            worker.db.write_blocking(&mut conn, |conn| check_code(conn, &worker, &account, &code, &origin))?;
        if !accepted {
            record_lockouts(&mut conn, &worker.db, &reservation, &actor, &origin)?;
            let page = code_page(&mut conn, &worker, &request, account.id, vec!["That code is not right.".into()])?;
            return Ok((Next::Page(page), Some((actor, "second factor: wrong code"))));
        }
        throttle::succeeded(&mut conn, &worker.db, &reservation)?;
        Ok((complete(&mut conn, &worker, &request, &client, &account, &Amr::password_and_otp(), &origin)?, None))
    })
    .await;
    respond_with_failure(&state, outcome, &audit_origin).await
}

/// Counts a code attempt against the account's second-factor throttle (and the address's); the
/// lock-out page when it is spent.
pub fn reserve_attempt(
    conn: &mut Conn,
    state: &AppState,
    account: &Account,
    origin: &Origin,
) -> Result<std::result::Result<throttle::Reservation, Next>> {
    let keys = throttle_keys(throttle::factor_key(account.id), origin);
    Ok(throttle::reserve(conn, &state.db, &keys, db::now())?.map_err(|retry_after| Next::Page(too_many(retry_after))))
}

/// Checks `code` against the account's TOTP factors, or else its recovery codes (inside a write
/// transaction: accepting one uses it up).
fn check_code(conn: &mut Conn, state: &AppState, account: &Account, code: &str, origin: &Origin) -> Result<bool> {
    let now = db::now();
    if factors::is_recovery_code(code) {
        let hash = factors::recovery_code_hash(&state.oauth.master, account.id, code);
        if !db::factors::use_recovery_code(conn, AccountId(account.id), &hash, now)? {
            return Ok(false);
        }
        let left = db::factors::unused_recovery_codes(conn, AccountId(account.id))?;
        db::audit::append(
            conn,
            vec![
                factor_event(account, "user.recovery_code.use", origin).changes(json!({ "recovery_codes_left": left }))
            ],
        )?;
        return Ok(true);
    }
    for factor in db::factors::list(conn, AccountId(account.id))? {
        if factor.kind != factors::TOTP {
            continue;
        }
        let Some(sealed) = &factor.secret else { continue };
        let secret = state.oauth.master.open(&factors::seal_context(factor.id), sealed)?;
        if let Some(step) = factors::totp_match(&secret, code, now.timestamp(), factor.last_step) {
            return db::factors::accept_totp_step(conn, factor.id, step, now);
        }
    }
    Ok(false)
}

/// `POST /oauth/mfa/enrol`: the first code from the authenticator app just set up.
pub async fn enrol(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let audit_origin = origin.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some((request, _client, account)) = pending(&mut conn, cookie.as_deref(), &form, &[ENROL])? else {
            return Ok((Next::Page(expired_page()), None));
        };
        let Some(sealed) = &request.enrol_secret else { return Ok((Next::Page(expired_page()), None)) };
        let secret = worker.oauth.master.open(&factors::enrol_seal_context(&request.id), sealed)?;
        let code = form.get("code").unwrap_or_default().chars().take(64).collect::<String>();
        let name = factor_name(form.get("name"), DEFAULT_NAME);
        let actor = Actor::account(account.id.to_string());
        let reservation = match reserve_attempt(&mut conn, &worker, &account, &origin)? {
            Ok(reservation) => reservation,
            Err(page) => return Ok((page, Some((actor, "second factor: locked out after repeated failures")))),
        };
        let now = db::now();
        let Some(step) = factors::totp_match(&secret, &code, now.timestamp(), None) else {
            record_lockouts(&mut conn, &worker.db, &reservation, &actor, &origin)?;
            let page =
                enrol_page(&worker, &request, &account, &secret, Some(""), vec!["That code is not right.".into()])?;
            return Ok((Next::Page(page), Some((actor, "second factor: wrong code at enrolment"))));
        };
        throttle::succeeded(&mut conn, &worker.db, &reservation)?;
        let id = Uuid::now_v7();
        let factor = Factor {
            id,
            account: account.id,
            kind: factors::TOTP.into(),
            name,
            secret: Some(worker.oauth.master.seal(&factors::seal_context(id), &secret)?),
            public_data: None,
            created_at: now,
            last_used_at: Some(now),
            last_step: Some(step),
        };
        let codes = worker.db.write_blocking(&mut conn, |conn| {
            db::factors::insert(conn, &factor)?;
            record_enrolment(conn, &worker, &request, &account, &factor, ENROLLED, &origin)
        })?;
        Ok((Next::Page(recovery_codes_page(&request, &codes)), None))
    })
    .await;
    respond_with_failure(&state, outcome, &audit_origin).await
}

/// After a factor was stored at enrolment (inside its write transaction): ten new recovery
/// codes, the sign-in at `stage`, the event. Returns the codes, to be shown once.
pub fn record_enrolment(
    conn: &mut Conn,
    state: &AppState,
    request: &AuthRequest,
    account: &Account,
    factor: &Factor,
    stage: &str,
    origin: &Origin,
) -> Result<Vec<String>> {
    let codes = factors::replace_recovery_codes(conn, &state.oauth.master, account.id)?;
    db::oauth::set_request_mfa(conn, &request.id, AccountId(account.id), stage, None)?;
    db::audit::append(
        conn,
        vec![factor_event(account, "user.factor.enrol", origin)
            .changes(json!({ "factor": factor.to_api(), "recovery_codes": codes.len(), "via": "sign-in" }))],
    )?;
    Ok(codes)
}

/// The recovery codes, shown once, before the sign-in continues.
pub fn recovery_codes_page(request: &AuthRequest, codes: &[String]) -> Rendered {
    Page::new("Save your recovery codes")
        .redirecting_to(pages::origin_of(&request.redirect_uri))
        .render(pages::recovery_codes(&request.id, &request.csrf, codes))
}

/// `POST /oauth/mfa/continue`: the recovery codes were shown; the sign-in completes.
pub async fn finish_enrolment(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let audit_origin = origin.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let enrolled = [ENROLLED, ENROLLED_PASSKEY, ENROLLED_SYNCED_PASSKEY];
        let Some((request, client, account)) = pending(&mut conn, cookie.as_deref(), &form, &enrolled)? else {
            return Ok((Next::Page(expired_page()), None));
        };
        let amr = enrolled_amr(request.mfa_stage.as_deref().unwrap_or_default());
        Ok((complete(&mut conn, &worker, &request, &client, &account, &amr, &origin)?, None))
    })
    .await;
    respond_with_failure(&state, outcome, &audit_origin).await
}

/// The request a second-factor form belongs to, at one of `stages`, with its account (still
/// able to sign in).
pub fn pending(
    conn: &mut Conn,
    cookie: Option<&str>,
    form: &Form,
    stages: &[&str],
) -> Result<Option<(AuthRequest, ClientView, Account)>> {
    let Some((request, client)) = pending_request(conn, cookie, form)? else { return Ok(None) };
    let (Some(account_id), Some(at)) = (request.mfa_account, request.mfa_stage.as_deref()) else { return Ok(None) };
    if !stages.contains(&at) {
        return Ok(None);
    }
    let account = db::accounts::get(conn, AccountId(account_id))?
        .filter(|a| !a.disabled && Some(&a.namespace) == client.client.user_namespace.as_ref());
    Ok(account.map(|a| (request, client, a)))
}

/// Puts a refused attempt on record, then answers.
pub async fn respond_with_failure(state: &AppState, outcome: Result<(Next, Failure)>, origin: &Origin) -> HttpResponse {
    let outcome = match outcome {
        Ok((next, Some((actor, reason)))) => {
            let event = NewEvent::new(actor, "oauth.signin")
                .outcome(Outcome::Failure)
                .request(origin.request_id.clone(), origin.ip.clone())
                .changes(json!({ "reason": reason }));
            state.audit.record(vec![event]).await.map(|()| next)
        }
        Ok((next, None)) => Ok(next),
        Err(e) => Err(e),
    };
    authorize::respond(outcome)
}

fn factor_event(account: &Account, action: &str, origin: &Origin) -> NewEvent {
    NewEvent::new(Actor::account(account.id.to_string()), action)
        .target("account", account.id)
        .namespace(&account.namespace)
        .request(origin.request_id.clone(), origin.ip.clone())
}

/// The name given to a factor on a hosted form (plain text, at most 100 characters), or
/// `default`.
pub fn factor_name(given: Option<&str>, default: &str) -> String {
    let name: String = given.unwrap_or_default().trim().chars().filter(|c| !c.is_control()).take(100).collect();
    if name.is_empty() {
        default.to_owned()
    } else {
        name
    }
}

/// The second step's page: what the account has (a passkey, when passkeys are on; a code).
pub fn code_page(
    conn: &mut Conn,
    state: &AppState,
    request: &AuthRequest,
    account: Uuid,
    errors: Vec<String>,
) -> Result<Rendered> {
    let passkey = state.oauth.passkeys.is_some() && passkeys::has_passkey(conn, account)?;
    let totp = passkeys::has_totp(conn, account)?;
    Ok(Page::new("Two-step verification")
        .redirecting_to(pages::origin_of(&request.redirect_uri))
        .with_passkey_script(passkey)
        .render(pages::second_factor(&request.id, &request.csrf, errors, totp, passkey)))
}

/// The enrolment page: an authenticator app's QR code and secret, and, when passkeys are on, a
/// passkey instead.
pub fn enrol_page(
    state: &AppState,
    request: &AuthRequest,
    account: &Account,
    secret: &[u8],
    why: Option<&str>,
    errors: Vec<String>,
) -> Result<Rendered> {
    let label = account.username.as_deref().or(account.email.as_deref()).map(str::to_owned);
    let label = label.unwrap_or_else(|| account.id.to_string());
    let uri = factors::otpauth_uri(&state.oauth.settings.issuer, &label, secret);
    let qr = factors::qr_svg(&uri).map_err(|_| Error::internal("the QR code could not be drawn"))?;
    let passkey = state.oauth.passkeys.is_some();
    Ok(Page::new("Set up two-step verification")
        .redirecting_to(pages::origin_of(&request.redirect_uri))
        .with_passkey_script(passkey)
        .render(pages::enrol(pages::EnrolForm {
            request_id: &request.id,
            csrf: &request.csrf,
            why: why.filter(|w| !w.is_empty()),
            qr_svg: &qr,
            secret: &factors::base32(secret),
            errors,
            passkey,
        })))
}
