//! Hosted registration (with email and phone verification codes) and password reset. Both are
//! part of an authorization request and end by signing the user in. Neither says whether an
//! account exists: registering with an address that is taken sends that address a notice
//! instead of a code, and a reset always answers "if an account exists, we sent a code".

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_api_types::{checks, AccountCreate};
use serde_json::json;
use validator::ValidateEmail;

use super::authorize::{expired_page, pending_request, respond, too_many, Next};
use super::form::Form;
use super::pages::{self, Page};
use super::session;
use crate::db::ids::{AccountId, ClientUuid};
use crate::db::oauth::AuthRequest;
use crate::db::{self, Conn};
use crate::domain::accounts::{self, Account};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::authn::{record_lockouts, Origin};
use crate::domain::clients::ClientView;
use crate::domain::codes::{self, Purpose};
use crate::domain::throttle;
use crate::error::Result;

use crate::outbox::{self, Channel};
use crate::shell::AppState;

/// The pending request named by `?request=` for a GET, if this browser owns it.
fn pending_from_query(
    conn: &mut Conn,
    req_cookie: Option<&str>,
    query: &str,
) -> Result<Option<(AuthRequest, ClientView)>> {
    let form = Form::parse(query.as_bytes()).unwrap_or_default();
    let Some(id) = form.get("request") else { return Ok(None) };
    if req_cookie != Some(id) {
        return Ok(None);
    }
    let Some(request) = db::oauth::get_request(conn, id, db::now())? else { return Ok(None) };
    let Some(client) = db::clients::get(conn, ClientUuid(request.client))? else { return Ok(None) };
    Ok(Some((request, client)))
}

fn register_page(request: &AuthRequest, email: &str, phone: &str, name: &str, errors: Vec<String>) -> pages::Rendered {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Page::new("Create an account").status(status).render(pages::register(pages::RegisterForm {
        request_id: &request.id,
        csrf: &request.csrf,
        email,
        phone_number: phone,
        name,
        errors,
    }))
}

fn verify_page(
    request: &AuthRequest,
    email: Option<&str>,
    phone: Option<&str>,
    errors: Vec<String>,
) -> pages::Rendered {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Page::new("Check your messages").status(status).render(pages::verify(pages::VerifyForm {
        request_id: &request.id,
        csrf: &request.csrf,
        email,
        phone_number: phone,
        errors,
    }))
}

pub async fn register_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let query = req.query_string().to_owned();
    let outcome = state
        .db
        .run(move |conn| {
            Ok(match pending_from_query(conn, cookie.as_deref(), &query)? {
                Some((_, client)) if !client.client.registration_enabled => Next::Page(closed_page()),
                Some((request, _)) => Next::Page(register_page(&request, "", "", "", Vec::new())),
                None => Next::Page(expired_page()),
            })
        })
        .await;
    respond(outcome)
}

/// For an application that does not offer registration (an administrator's switch, never on
/// for `system`).
fn closed_page() -> pages::Rendered {
    Page::new("Registration is closed")
        .status(StatusCode::FORBIDDEN)
        .render(pages::error("This application does not offer registration. Ask its administrator for an account."))
}

fn code_message(code: &str) -> String {
    format!(
        "Your Gatehouse code is {code}. It expires in {} minutes. If you did not ask for it, ignore this message.",
        codes::LIFETIME_MINUTES
    )
}

pub async fn register(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = db::blocking(move || {
        let Some((request, client)) = pending_request(&mut *worker.db.get()?, cookie.as_deref(), &form)? else {
            return Ok(Next::Page(expired_page()));
        };
        if !client.client.registration_enabled {
            return Ok(Next::Page(closed_page()));
        }
        let email = form.get("email").unwrap_or_default().trim().to_owned();
        let phone = form.get("phone_number").unwrap_or_default().trim().replace([' ', '-'], "");
        let name = form.get("name").unwrap_or_default().trim().to_owned();
        let password = form.get("password").unwrap_or_default().to_owned();
        let mut errors = Vec::new();
        if email.is_empty() && phone.is_empty() {
            errors.push("Give an email address or a phone number.".to_owned());
        }
        if !email.is_empty() && (!email.validate_email() || email.len() > 254) {
            errors.push("The email address is not valid.".to_owned());
        }
        if !phone.is_empty() && checks::phone_number(&phone).is_err() {
            errors.push("The phone number must be in international format, like +14155550123.".to_owned());
        }
        if name.chars().count() > 200 || checks::plain_text(&name).is_err() {
            errors.push("The name is too long.".to_owned());
        }
        if let Err(e) = checks::password(&password) {
            errors.push(format!("The password {}.", e.message.map(|m| m.to_string()).unwrap_or_default()));
        }
        if !errors.is_empty() {
            return Ok(Next::Page(register_page(&request, &email, &phone, &name, errors)));
        }
        let namespace = client.client.user_namespace.clone().unwrap_or_default();
        let hash = worker.hasher.hash_blocking(password)?;
        let (email, phone) = ((!email.is_empty()).then_some(email), (!phone.is_empty()).then_some(phone));
        let master = &worker.oauth.master;
        let mut conn = worker.db.get()?;
        worker.db.write_blocking(&mut conn, |conn| {
            // An address is taken by an account, unless that is a registration never verified
            // in time: such a one gives it up now.
            let now = db::now();
            let mut taken = |contact: Option<&str>| -> Result<bool> {
                let Some(contact) = contact else { return Ok(false) };
                let Some(holder) = db::accounts::find_by_contact(conn, &namespace, contact)? else { return Ok(false) };
                Ok(!accounts::expire_registration(conn, &holder, now)?)
            };
            let email_taken = taken(email.as_deref())?;
            let phone_taken = taken(phone.as_deref())?;
            if email_taken || phone_taken {
                // Do not reveal it: the owner of the address is told instead, and the codes the
                // browser will be asked for do not exist.
                for (taken, channel, recipient) in
                    [(email_taken, Channel::Email, &email), (phone_taken, Channel::Sms, &phone)]
                {
                    if let (true, Some(to)) = (taken, recipient) {
                        let text = "Someone tried to create a Gatehouse account with this address, which already \
                                    has one. If it was you, sign in or reset your password.";
                        outbox::enqueue(
                            conn,
                            master,
                            channel,
                            to,
                            "Someone tried to register with your address",
                            text,
                        )?;
                    }
                }
                return Ok(());
            }
            let input = AccountCreate {
                email: email.clone(),
                phone_number: phone.clone(),
                name: (!name.is_empty()).then(|| name.clone()),
                ..Default::default()
            };
            let mut account = Account::new(&namespace, input, Some(hash))?;
            account.registration_expires_at = Some(now + chrono::Duration::minutes(codes::LIFETIME_MINUTES));
            db::accounts::insert(conn, &account)?;
            if let Some(to) = &email {
                let code = codes::issue(conn, master, account.id, Purpose::Email, to)?;
                outbox::enqueue(conn, master, Channel::Email, to, "Your Gatehouse code", &code_message(&code))?;
            }
            if let Some(to) = &phone {
                let code = codes::issue(conn, master, account.id, Purpose::Phone, to)?;
                outbox::enqueue(conn, master, Channel::Sms, to, "Your Gatehouse code", &code_message(&code))?;
            }
            db::oauth::set_request_account(conn, &request.id, AccountId(account.id))?;
            db::audit::append(
                conn,
                vec![NewEvent::new(Actor::account(account.id.to_string()), "user.register")
                    .target("account", account.id)
                    .namespace(&namespace)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .changes(json!({ "before": null, "after": account.audit_view(), "via": client.client.client_id }))],
            )
        })?;
        worker.outbox.notify_one();
        Ok(Next::Page(verify_page(&request, email.as_deref(), phone.as_deref(), Vec::new())))
    })
    .await;
    respond(outcome)
}

pub async fn verify(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some((request, client)) = pending_request(&mut conn, cookie.as_deref(), &form)? else {
            return Ok(Next::Page(expired_page()));
        };
        if !client.client.registration_enabled {
            return Ok(Next::Page(closed_page()));
        }
        let account = request.account.map(|id| db::accounts::get(&mut conn, AccountId(id))).transpose()?.flatten();
        let wrong = |email: Option<&str>, phone: Option<&str>| {
            Next::Page(verify_page(&request, email, phone, vec!["A code is wrong or has expired.".into()]))
        };
        let Some(mut account) = account else {
            return Ok(wrong(
                form.get("email_code").map(|_| "your email"),
                form.get("phone_code").map(|_| "your phone"),
            ));
        };
        let master = &worker.oauth.master;
        let verified = worker.db.write_blocking(&mut conn, |conn| {
            // Check every code the account still needs, each attempt counted; use them up only
            // when all are right.
            let mut needed = Vec::new();
            if account.email.is_some() && !account.email_verified {
                needed.push((Purpose::Email, form.get("email_code").unwrap_or_default()));
            }
            if account.phone_number.is_some() && !account.phone_number_verified {
                needed.push((Purpose::Phone, form.get("phone_code").unwrap_or_default()));
            }
            let mut all_right = true;
            for (purpose, code) in &needed {
                all_right &= codes::check(conn, master, account.id, *purpose, code)?;
            }
            if !all_right {
                return Ok(false);
            }
            for (purpose, _) in &needed {
                codes::consume(conn, account.id, *purpose)?;
            }
            let before = account.audit_view();
            account.email_verified = account.email.is_some();
            account.phone_number_verified = account.phone_number.is_some();
            account.registration_expires_at = None;
            account.version += 1;
            account.updated_at = db::now();
            db::accounts::update(conn, &account, account.version - 1)?;
            db::audit::append(
                conn,
                vec![NewEvent::new(Actor::account(account.id.to_string()), "user.verify")
                    .target("account", account.id)
                    .namespace(&account.namespace)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .diff(Some(before), Some(account.audit_view()))],
            )?;
            Ok(true)
        })?;
        if !verified {
            return Ok(wrong(account.email.as_deref(), account.phone_number.as_deref()));
        }
        super::second_factor::after_password(&mut conn, &worker, &request, &client, &account, &origin)
    })
    .await;
    respond(outcome)
}

fn reset_page(request: &AuthRequest, login: &str, code_sent: bool, errors: Vec<String>) -> pages::Rendered {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Page::new("Reset your password").status(status).render(pages::reset(pages::ResetForm {
        request_id: &request.id,
        csrf: &request.csrf,
        login,
        code_sent,
        errors,
    }))
}

pub async fn reset_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let query = req.query_string().to_owned();
    let outcome = state
        .db
        .run(move |conn| {
            Ok(match pending_from_query(conn, cookie.as_deref(), &query)? {
                Some((request, _)) => Next::Page(reset_page(&request, "", false, Vec::new())),
                None => Next::Page(expired_page()),
            })
        })
        .await;
    respond(outcome)
}

/// Where a reset code for `account` goes: its verified email, else its verified phone.
fn reset_channel(account: &Account) -> Option<(Channel, String)> {
    match (&account.email, account.email_verified, &account.phone_number, account.phone_number_verified) {
        (Some(email), true, _, _) => Some((Channel::Email, email.clone())),
        (_, _, Some(phone), true) => Some((Channel::Sms, phone.clone())),
        _ => None,
    }
}

pub async fn reset_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some((request, client)) = pending_request(&mut conn, cookie.as_deref(), &form)? else {
            return Ok(Next::Page(expired_page()));
        };
        let login = form.get("login").unwrap_or_default().trim().chars().take(254).collect::<String>();
        // Each request sends a message: it counts against the address like a failed attempt,
        // and is never given back.
        if let Some(ip) = &origin.ip {
            let keys = [(throttle::address_key(ip), throttle::PER_ADDRESS)];
            let reservation = match throttle::reserve(&mut conn, &worker.db, &keys, db::now())? {
                Ok(reservation) => reservation,
                Err(retry_after) => return Ok(Next::Page(too_many(retry_after))),
            };
            record_lockouts(&mut conn, &worker.db, &reservation, &Actor::anonymous(), &origin)?;
        }
        let namespace = client.client.user_namespace.clone().unwrap_or_default();
        let account = db::accounts::find_by_sign_in(&mut conn, &namespace, &login)?.filter(|a| !a.disabled);
        if let Some((account, (channel, to))) = account.as_ref().and_then(|a| reset_channel(a).map(|c| (a, c))) {
            let master = &worker.oauth.master;
            worker.db.write_blocking(&mut conn, |conn| {
                let code = codes::issue(conn, master, account.id, Purpose::Reset, &to)?;
                outbox::enqueue(conn, master, channel, &to, "Reset your Gatehouse password", &code_message(&code))?;
                db::audit::append(
                    conn,
                    vec![NewEvent::new(Actor::account(account.id.to_string()), "user.password.reset.request")
                        .target("account", account.id)
                        .namespace(&account.namespace)
                        .request(origin.request_id.clone(), origin.ip.clone())],
                )
            })?;
            worker.outbox.notify_one();
        }
        Ok(Next::Page(reset_page(&request, &login, true, Vec::new())))
    })
    .await;
    respond(outcome)
}

pub async fn reset_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some((request, client)) = pending_request(&mut conn, cookie.as_deref(), &form)? else {
            return Ok(Next::Page(expired_page()));
        };
        let login = form.get("login").unwrap_or_default().to_owned();
        let password = form.get("password").unwrap_or_default().to_owned();
        if let Err(e) = checks::password(&password) {
            let message = format!("The password {}.", e.message.map(|m| m.to_string()).unwrap_or_default());
            return Ok(Next::Page(reset_page(&request, &login, true, vec![message])));
        }
        let namespace = client.client.user_namespace.clone().unwrap_or_default();
        let account = db::accounts::find_by_sign_in(&mut conn, &namespace, &login)?.filter(|a| !a.disabled);
        let code = form.get("code").unwrap_or_default().to_owned();
        let master = &worker.oauth.master;
        let matched = match &account {
            Some(a) => worker.db.write_blocking(&mut conn, |conn| {
                let right = codes::check(conn, master, a.id, Purpose::Reset, &code)?;
                if right {
                    codes::consume(conn, a.id, Purpose::Reset)?;
                }
                Ok(right)
            })?,
            None => false,
        };
        let Some(mut account) = account.filter(|_| matched) else {
            return Ok(Next::Page(reset_page(
                &request,
                &login,
                true,
                vec!["The code is wrong or has expired.".into()],
            )));
        };
        let hash = worker.hasher.hash_blocking(password)?;
        worker.db.write_blocking(&mut conn, |conn| {
            let now = db::now();
            let signed_out = accounts::end_sign_ins(conn, &mut account, now)?;
            account.password_hash = Some(hash);
            account.version += 1;
            account.updated_at = now;
            db::accounts::update(conn, &account, account.version - 1)?;
            throttle::clear(conn, &throttle::account_key(account.id))?;
            db::audit::append(
                conn,
                vec![NewEvent::new(Actor::account(account.id.to_string()), "user.password.reset")
                    .target("account", account.id)
                    .namespace(&account.namespace)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .changes(json!({ "password": crate::domain::audit::REDACTED, "signed_out": signed_out }))],
            )
        })?;
        super::second_factor::after_password(&mut conn, &worker, &request, &client, &account, &origin)
    })
    .await;
    respond(outcome)
}
