//! Consent: before a third-party application (one an administrator did not mark
//! `skip_consent`) receives a code, the signed-in account is shown what it asks for and allows
//! or denies it. What was allowed is remembered per account and application (widened by each
//! new consent) and can be withdrawn on `/api/v1/me/consents`. `prompt=consent` asks again;
//! `prompt=none` without consent answers `consent_required`. Claims asked for by name (the
//! `claims` parameter) need the consent of the scope that releases them, like that scope.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::authorize::{error_redirect, expired_page, issue_code, pending_request, respond, Next};
use super::claims::ClaimsRequest;
use super::form::Form;
use super::pages::{self, Page, Rendered};
use super::scope::Scopes;
use super::session;
use crate::db::ids::{AccountId, ClientUuid};
use crate::db::oauth::AuthRequest;
use crate::db::{self, Conn};
use crate::domain::accounts::Account;
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::authn::Origin;
use crate::domain::clients::ClientView;
use crate::error::{Error, Result};
use crate::shell::AppState;

/// Whether `account` must be asked before `client` receives what `request` asks for.
pub fn needed(conn: &mut Conn, client: &ClientView, account: &Account, request: &AuthRequest) -> Result<bool> {
    // A device's request is always confirmed: the user sees which application asks (RFC 8628
    // §5.4: a code may have been handed to them by someone else).
    if request.device_authorization.is_some() {
        return Ok(true);
    }
    if client.client.skip_consent {
        return Ok(false);
    }
    if prompts(request, "consent") {
        return Ok(true);
    }
    let asked = asked_scopes(request, client)?;
    let given = match db::consents::scope(conn, AccountId(account.id), ClientUuid(client.client.id))? {
        Some(text) => Scopes::parse(&text).unwrap_or_default(),
        None => return Ok(true),
    };
    Ok(!asked.within(&given))
}

/// What a request asks the account to allow: its scopes, and the scopes of the claims it asks
/// for by name.
fn asked_scopes(request: &AuthRequest, client: &ClientView) -> Result<Scopes> {
    let mut asked = Scopes::parse(&request.scope).map_err(Error::internal)?;
    let claims = ClaimsRequest::from_stored(request.claims.as_deref());
    for scope in claims.consent_scopes(&client.client.attribute_claims) {
        if !asked.has(scope) {
            asked.oidc.push(scope.to_owned());
        }
    }
    Ok(asked)
}

/// Whether the request carries `prompt=<value>` (among others).
pub fn prompts(request: &AuthRequest, value: &str) -> bool {
    request.prompt.as_deref().is_some_and(|p| p.split(' ').any(|v| v == value))
}

/// The consent page of a pending request.
pub fn page(request: &AuthRequest, client: &ClientView, account: &Account) -> Rendered {
    let scope = asked_scopes(request, client).unwrap_or_default();
    let signed_in_as = account
        .username
        .as_deref()
        .or(account.email.as_deref())
        .or(account.phone_number.as_deref())
        .unwrap_or("your account");
    Page::new("Allow access").redirecting_to(pages::origin_of(&request.redirect_uri)).render(pages::consent(
        pages::ConsentForm {
            request_id: &request.id,
            csrf: &request.csrf,
            client_name: &client.client.name,
            signed_in_as,
            asks: describe(&scope),
            device: request.device_authorization.is_some(),
        },
    ))
}

/// What each scope lets the application do, in words.
fn describe(scope: &Scopes) -> Vec<String> {
    let mut asks: Vec<String> = scope
        .oidc
        .iter()
        .map(|s| {
            match s.as_str() {
                "openid" => "know who you are (your account's id)",
                "profile" => "see your name and profile",
                "email" => "see your email address",
                "phone" => "see your phone number",
                "offline_access" => "keep access while you are away",
                "account" => "manage your account: your profile, your password and the applications you allowed",
                other => other,
            }
            .to_owned()
        })
        .collect();
    asks.extend(
        scope.grants.iter().map(|g| format!("act for you on Gatehouse's Management API, as far as you may: {g}")),
    );
    asks
}

/// `POST /oauth/consent`: the account allows or denies; the browser goes back to the
/// application with a code or `access_denied`.
pub async fn decide(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let authz = session::authz_cookie_value(&req, &state.oauth.settings);
    let sso = session::sso_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let oauth = &worker.oauth;
            let Some((request, client)) = pending_request(conn, authz.as_deref(), &form)? else {
                return Ok(Next::Page(expired_page()));
            };
            // The account that was asked is the one signed in in this browser, still.
            let current = session::current(conn, sso.as_deref())?;
            let (Some(session), Some(asked)) = (current, request.account) else {
                return Ok(Next::Page(expired_page()));
            };
            let account = db::accounts::get(conn, AccountId(asked))?.filter(|a| !a.disabled && a.id == session.account);
            let Some(account) = account.filter(|_| client.signs_users_in()) else {
                return Ok(Next::Page(expired_page()));
            };
            let allowed = match form.get("decision") {
                Some("allow") => true,
                Some("deny") => false,
                _ => return Ok(Next::Page(page(&request, &client, &account))),
            };
            let event = NewEvent::new(Actor::account(account.id.to_string()), "oauth.consent")
                .target("client", client.client.id)
                .namespace(&account.namespace)
                .request(origin.request_id.clone(), origin.ip.clone());
            let decided = worker.db.write_blocking(conn, |conn| {
                db::oauth::delete_request(conn, &request.id)?;
                if !allowed {
                    let event = event
                        .outcome(Outcome::Denied)
                        .changes(json!({ "client_id": client.client.client_id, "scope": request.scope }));
                    db::audit::append(conn, vec![event])?;
                    let denied = match request.device_authorization {
                        Some(_) => Next::Page(super::device_page::decide(
                            conn, &request, &client, &account, &session, &origin, false,
                        )?),
                        None => error_redirect(oauth, &request, "access_denied", "the user did not allow it"),
                    };
                    return Ok(Err(denied.with_cookie(session::clear_authz(&oauth.settings))));
                }
                let given = widen(conn, &account, &client, asked_scopes(&request, &client)?)?;
                db::consents::put(conn, AccountId(account.id), ClientUuid(client.client.id), &given, db::now())?;
                db::audit::append(
                    conn,
                    vec![event.changes(
                        json!({ "client_id": client.client.client_id, "scope": request.scope, "consented": given }),
                    )],
                )?;
                Ok(Ok(issue_code(conn, oauth, &request, &client, &account, &session, &origin)?))
            })?;
            match decided {
                Ok(granted) => Ok(granted.send(conn, oauth)?.with_cookie(session::clear_authz(&oauth.settings))),
                Err(denied) => Ok(denied),
            }
        })
        .await;
    respond(outcome)
}

/// Everything consented so far, with `asked` added.
fn widen(conn: &mut Conn, account: &Account, client: &ClientView, asked: Scopes) -> Result<String> {
    let mut given = db::consents::scope(conn, AccountId(account.id), ClientUuid(client.client.id))?
        .and_then(|t| Scopes::parse(&t).ok())
        .unwrap_or_default();
    for s in asked.oidc {
        if !given.has(&s) {
            given.oidc.push(s);
        }
    }
    for g in asked.grants {
        if !given.grants.contains(&g) {
            given.grants.push(g);
        }
    }
    Ok(given.to_string())
}
