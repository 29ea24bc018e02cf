//! Passkeys on the hosted pages (ADR 0013). The sign-in page and the second step load
//! `/oauth/assets/passkey.js`, which asks `POST /oauth/passkey/options` for a challenge (the
//! form's request and CSRF token bind it to this browser's authorization request), calls
//! WebAuthn, and submits the answer to `POST /oauth/passkey` as a form. On the sign-in page the
//! passkey signs in alone (passwordless, a discoverable credential); at the second step it
//! follows the password, with the account's own passkeys.
//!
//! A refused passkey is a failed `oauth.signin`, throttled on the account's second-factor
//! counter (or, for a credential nobody has, on the credential as presented) and the address's;
//! the page says the same thing whatever made it fail.
//!
//! At enrolment (an account that must have a second factor and has none), the same script
//! creates a passkey instead: `POST /oauth/passkey/registration-options`, WebAuthn's `create`,
//! then `POST /oauth/passkey/enrol`; the recovery codes follow as after an authenticator app.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::authorize::{complete, expired_page, pending_request, sign_in_page, too_many, Next};
use super::form::Form;
use super::second_factor::{self, respond_with_failure, ENROL, ENROLLED_PASSKEY, ENROLLED_SYNCED_PASSKEY, VERIFY};
use super::session;
use crate::db::ids::AccountId;
use crate::db::oauth::AuthRequest;
use crate::db::{self, Conn};
use crate::domain::audit::Actor;
use crate::domain::authn::{record_lockouts, throttle_keys, Origin};
use crate::domain::clients::ClientView;
use crate::domain::factors::{self, Amr};
use crate::domain::passkeys;
use crate::domain::throttle;
use crate::error::Result;
use crate::shell::AppState;

/// The script of the hosted pages and the console.
pub const SCRIPT: &str = include_str!("passkey.js");

/// What the browser is told about any refused passkey.
const REFUSED: &str = "That passkey was not accepted.";

/// `GET /oauth/assets/passkey.js`.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT)
}

/// Which sign-in a passkey answers on this request: the second step of `Some(account)`, or a
/// passwordless sign-in (`None`); `Err` when the request is at another step.
fn mode(request: &AuthRequest) -> std::result::Result<Option<Uuid>, ()> {
    match (request.mfa_account, request.mfa_stage.as_deref()) {
        (Some(account), Some(VERIFY)) => Ok(Some(account)),
        (None, None) => Ok(None),
        _ => Err(()),
    }
}

/// `POST /oauth/passkey/options` (`request`, `csrf`): a challenge for this sign-in, as JSON
/// `{ceremony, options}` (400 when the form is not this browser's, 404 when passkeys are off).
pub async fn options(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return json_error(StatusCode::BAD_REQUEST, "malformed form") };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let Some(rp) = worker.oauth.passkeys.as_ref() else { return Ok(Err(StatusCode::NOT_FOUND)) };
            let Some((request, _client)) = pending_request(conn, cookie.as_deref(), &form)? else {
                return Ok(Err(StatusCode::BAD_REQUEST));
            };
            let Ok(account) = mode(&request) else { return Ok(Err(StatusCode::BAD_REQUEST)) };
            if account.is_some_and(|a| !passkeys::has_passkey(conn, a).unwrap_or(false)) {
                return Ok(Err(StatusCode::BAD_REQUEST));
            }
            worker.db.write_blocking(conn, |conn| passkeys::begin_sign_in(conn, rp, &request.id, account)).map(Ok)
        })
        .await;
    challenge_answer(outcome)
}

/// A challenge for the browser as JSON `{ceremony, options}`, or why there is none.
fn challenge_answer(outcome: Result<std::result::Result<passkeys::Challenge, StatusCode>>) -> HttpResponse {
    match outcome {
        Ok(Ok(challenge)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "ceremony": challenge.ceremony, "options": challenge.options })),
        Ok(Err(status)) => json_error(status, "this sign-in form has expired, or passkeys are not available"),
        Err(e) => {
            log::error!("passkey options: {e}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side")
        }
    }
}

/// `POST /oauth/passkey/registration-options` (`request`, `csrf`): at enrolment, the options to
/// create a passkey for the account being enrolled, as JSON `{ceremony, options}`.
pub async fn registration_options(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return json_error(StatusCode::BAD_REQUEST, "malformed form") };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let Some(rp) = worker.oauth.passkeys.as_ref() else { return Ok(Err(StatusCode::NOT_FOUND)) };
            let Some((request, _client, account)) = second_factor::pending(conn, cookie.as_deref(), &form, &[ENROL])?
            else {
                return Ok(Err(StatusCode::BAD_REQUEST));
            };
            worker.db.write_blocking(conn, |conn| passkeys::begin_enrolment(conn, rp, &request.id, &account)).map(Ok)
        })
        .await;
    challenge_answer(outcome)
}

/// `POST /oauth/passkey/enrol` (`request`, `csrf`, `ceremony`, `credential`, `name`): a passkey
/// set up at enrolment instead of an authenticator app. Like the app's first code, it is
/// counted on the account's second-factor throttle; then the recovery codes are shown once and
/// the sign-in continues with `amr` `pwd hwk|swk mfa`.
pub async fn enrol(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let audit_origin = origin.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some(rp) = worker.oauth.passkeys.as_ref() else { return Ok((Next::Page(expired_page()), None)) };
        let Some((request, _client, account)) = second_factor::pending(&mut conn, cookie.as_deref(), &form, &[ENROL])?
        else {
            return Ok((Next::Page(expired_page()), None));
        };
        let actor = Actor::account(account.id.to_string());
        let reservation = match second_factor::reserve_attempt(&mut conn, &worker, &account, &origin)? {
            Ok(reservation) => reservation,
            Err(page) => return Ok((page, Some((actor, "passkey enrolment: locked out after repeated failures")))),
        };
        let name = second_factor::factor_name(form.get("name"), "Passkey");
        let (ceremony, credential) =
            (form.get("ceremony").unwrap_or_default(), form.get("credential").unwrap_or_default());
        let enrolled = worker.db.write_blocking(&mut conn, |conn| {
            match passkeys::finish_enrolment(conn, rp, &request.id, &account, ceremony, &name, credential)? {
                Ok((factor, synced)) => {
                    let stage = if synced { ENROLLED_SYNCED_PASSKEY } else { ENROLLED_PASSKEY };
                    second_factor::record_enrolment(conn, &worker, &request, &account, &factor, stage, &origin).map(Ok)
                }
                Err(reason) => Ok(Err(reason)),
            }
        })?;
        match enrolled {
            Ok(codes) => {
                throttle::succeeded(&mut conn, &worker.db, &reservation)?;
                Ok((Next::Page(second_factor::recovery_codes_page(&request, &codes)), None))
            }
            Err(reason) => {
                record_lockouts(&mut conn, &worker.db, &reservation, &actor, &origin)?;
                let Some(sealed) = &request.enrol_secret else { return Ok((Next::Page(expired_page()), None)) };
                let secret = worker.oauth.master.open(&factors::enrol_seal_context(&request.id), sealed)?;
                let errors = vec![REFUSED.to_owned()];
                let page = second_factor::enrol_page(&worker, &request, &account, &secret, Some(""), errors)?;
                Ok((Next::Page(page), Some((actor, reason))))
            }
        }
    })
    .await;
    respond_with_failure(&state, outcome, &audit_origin).await
}

fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": message }))
}

/// `POST /oauth/passkey` (`request`, `csrf`, `ceremony`, `credential`): the browser's answer.
pub async fn sign_in(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let audit_origin = origin.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some(rp) = worker.oauth.passkeys.as_ref() else { return Ok((Next::Page(expired_page()), None)) };
        let Some((request, client)) = pending_request(&mut conn, cookie.as_deref(), &form)? else {
            return Ok((Next::Page(expired_page()), None));
        };
        let Ok(second_factor_of) = mode(&request) else { return Ok((Next::Page(expired_page()), None)) };
        let credential = form.get("credential").unwrap_or_default();
        let ceremony = form.get("ceremony").unwrap_or_default();
        let namespace = client.client.user_namespace.clone().unwrap_or_default();
        // Whose passkey it claims to be, before anything is verified: that account's counter,
        // or the credential's as presented.
        let claimed = match second_factor_of {
            Some(account) => Some(account),
            None => passkeys::claimed_account(&mut conn, credential)?,
        };
        let (subject, actor) = match claimed {
            Some(account) => (throttle::factor_key(account), Actor::account(account.to_string())),
            None => (throttle::presented_key("passkey", &namespace, &presented_id(credential)), Actor::anonymous()),
        };
        let reservation = match throttle::reserve(&mut conn, &worker.db, &throttle_keys(subject, &origin), db::now())? {
            Ok(reservation) => reservation,
            Err(retry_after) => {
                return Ok((
                    Next::Page(too_many(retry_after)),
                    Some((actor, "passkey: locked out after repeated failures")),
                ))
            }
        };
        let verified = worker.db.write_blocking(&mut conn, |conn| {
            passkeys::finish_sign_in(conn, rp, &request.id, ceremony, second_factor_of, credential)
        })?;
        let account = match verified {
            Ok(verified) => db::accounts::get(&mut conn, AccountId(verified.account))?
                .filter(|a| !a.disabled && Some(&a.namespace) == client.client.user_namespace.as_ref())
                .map(|a| (a, verified.synced))
                .ok_or("passkey: the account is disabled or signs in elsewhere"),
            Err(reason) => Err(reason),
        };
        let (account, synced) = match account {
            Ok(found) => found,
            Err(reason) => {
                record_lockouts(&mut conn, &worker.db, &reservation, &actor, &origin)?;
                let page = refused_page(&mut conn, &worker, &request, &client, second_factor_of)?;
                return Ok((page, Some((actor, reason))));
            }
        };
        throttle::succeeded(&mut conn, &worker.db, &reservation)?;
        let amr = Amr::passkey(synced, second_factor_of.is_some());
        Ok((complete(&mut conn, &worker, &request, &client, &account, &amr, &origin)?, None))
    })
    .await;
    respond_with_failure(&state, outcome, &audit_origin).await
}

/// The credential id an answer presents (for the throttle of a credential nobody has).
fn presented_id(credential: &str) -> String {
    let parsed: serde_json::Value = serde_json::from_str(credential).unwrap_or_default();
    parsed["id"].as_str().unwrap_or_default().chars().take(256).collect()
}

/// The page after a refused passkey: the same page again, saying only that it was refused.
fn refused_page(
    conn: &mut Conn,
    state: &AppState,
    request: &AuthRequest,
    client: &ClientView,
    second_factor_of: Option<Uuid>,
) -> Result<Next> {
    let errors = vec![REFUSED.to_owned()];
    Ok(Next::Page(match second_factor_of {
        Some(account) => second_factor::code_page(conn, state, request, account, errors)?,
        None => sign_in_page(&state.oauth, request, client, "", errors, StatusCode::OK),
    }))
}
