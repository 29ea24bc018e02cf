//! `GET|POST /oauth/authorize` and the sign-in form (`POST /oauth/login`). The authorization
//! code flow and, for clients an administrator enabled, hybrid `code id_token`; responses by
//! query, fragment or form_post ([`super::response`]); exact redirect URI matching, PKCE S256
//! (required for public clients, on by default for all), `state`, `nonce`,
//! `prompt=none|login|consent`, `max_age`, `login_hint`, `acr_values`, the `claims` parameter
//! ([`super::claims`]) and pushed requests (`request_uri` from [`super::par`]). Errors that
//! cannot be trusted to the redirect URI are shown as a page.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_api_types::{GrantType, ResponseMode, ResponseType};

use super::claims::ClaimsRequest;
use super::consent;
use super::form::Form;
use super::pages::{self, Page, Rendered};
pub use super::response::{issue_code, redirect_with, Next, ReturnTo};
use super::scope::{Scopes, OPENID};
use super::second_factor;
use super::session;
use super::{par, request_object, OAuthError};
use crate::db::ids::{AccountId, ClientId, ClientUuid};
use crate::db::oauth::{AuthRequest, SsoSession};
use crate::db::{self, Conn};
use crate::domain::accounts::Account;
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::authn::Origin;
use crate::domain::clients::ClientView;
use crate::domain::crypto::{random_token, same};
use crate::domain::factors::{self, Amr};
use crate::domain::signin::{self, SignIn};
use crate::error::{Error, Refusable, Result};
use crate::shell::{self, AppState, OAuth};
use serde_json::json;

/// How long a browser has to sign in once it arrived.
pub fn request_lifetime() -> chrono::Duration {
    chrono::Duration::minutes(15)
}

pub fn error_page(status: StatusCode, message: &str) -> Rendered {
    Page::new("Something went wrong").status(status).render(pages::error(message))
}

/// An error response to the application for a pending request.
pub fn error_redirect(oauth: &OAuth, request: &AuthRequest, error: &str, description: &str) -> Next {
    ReturnTo::of(request).error(oauth, error, description)
}

/// Why an authorization request is refused.
pub enum Refusal {
    /// Shown as a page: the redirect URI cannot be trusted (or is unknown).
    Page(String),
    /// Sent back to the application.
    Back { to: ReturnTo, error: &'static str, description: String },
}

impl Refusal {
    pub fn next(self, oauth: &OAuth) -> Next {
        match self {
            Refusal::Page(message) => Next::Page(error_page(StatusCode::BAD_REQUEST, &message)),
            Refusal::Back { to, error, description } => to.error(oauth, error, &description),
        }
    }

    /// The refusal as the pushed authorization request endpoint answers it.
    pub fn oauth_error(self) -> OAuthError {
        match self {
            Refusal::Page(message) => OAuthError::invalid_request(message),
            Refusal::Back { error, description, .. } => OAuthError::new(error, description),
        }
    }
}

/// How an authorization request's parameters arrived.
#[derive(Debug, Clone, Copy, Default)]
pub struct Via {
    /// Through `/oauth/par` (being pushed, or redeemed).
    pub pushed: bool,
    /// In a request object the client signed (RFC 9101), verified.
    pub signed: bool,
}

/// Where the refusals of a request whose `redirect_uri` is registered go: in the response mode
/// it asked for (hybrid's default is the fragment; an unknown mode answers in the default one).
pub fn return_to(form: &Form, redirect_uri: &str) -> ReturnTo {
    let hybrid = form.get("response_type").map(ResponseType::parse_parameter) == Some(Some(ResponseType::CodeIdToken));
    let default_mode = if hybrid { ResponseMode::Fragment } else { ResponseMode::Query };
    ReturnTo {
        redirect_uri: redirect_uri.to_owned(),
        mode: form.get("response_mode").and_then(|m| m.parse().ok()).unwrap_or(default_mode),
        state: form.get("state").map(str::to_owned),
    }
}

/// The request, checked; `via` says how its parameters arrived. `Err` says why it is refused.
pub fn validate(
    conn: &mut Conn,
    oauth: &OAuth,
    form: &Form,
    via: Via,
) -> Refusable<(AuthRequest, ClientView), Refusal> {
    let page = |message: &str| Ok(Err(Refusal::Page(message.to_owned())));
    let Some(client_id) = form.get("client_id") else {
        return page("The request names no application (client_id is missing).");
    };
    let Some(view) = db::clients::get_by_client_id(conn, ClientId(client_id))? else {
        return page("The application is not known here.");
    };
    if !view.signs_users_in() {
        return page("The application is disabled.");
    }
    let Some(redirect_uri) = form.get("redirect_uri") else { return page("The request has no redirect_uri.") };
    if !view.client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return page("The redirect_uri is not registered for this application.");
    }
    // From here on, errors go back to the application.
    let to = return_to(form, redirect_uri);
    let response_type = form.get("response_type").map(ResponseType::parse_parameter);
    let mode = form.get("response_mode").map(str::parse::<ResponseMode>);
    let refuse = |error: &'static str, description: &str| {
        Ok(Err(Refusal::Back { to: to.clone(), error, description: description.to_owned() }))
    };
    if let Some(Err(_)) = mode {
        return refuse("invalid_request", "response_mode must be query, fragment or form_post");
    }
    let response_type = match (response_type, form.get("response_type")) {
        (Some(Some(t)), _) => t,
        (_, Some(asked)) if asked.split(' ').any(|v| v == "token") => return refuse(
            "unsupported_response_type",
            "access tokens are never sent through the browser (RFC 9700): use response_type=code (or code id_token)",
        ),
        (_, Some(_)) => return refuse("unsupported_response_type", "response_type must be code or code id_token"),
        (_, None) => return refuse("invalid_request", "response_type is required"),
    };
    if form.get("request").is_some() || form.get("request_uri").is_some() {
        // Unpacked before validation: what remains was nested in a pushed or signed request.
        return refuse("invalid_request", "a pushed or signed request cannot name a request or request_uri");
    }
    if view.client.require_signed_request_object && !via.signed {
        return refuse(
            "invalid_request",
            "this application must send its authorization requests as signed request objects (RFC 9101: request)",
        );
    }
    let par_required =
        view.client.require_pushed_authorization_requests || (oauth.settings.require_par && !view.client.is_console());
    if par_required && !via.pushed {
        return refuse(
            "invalid_request",
            "this application must push its authorization requests to /oauth/par first (RFC 9126)",
        );
    }
    if !view.client.allows_grant(GrantType::AuthorizationCode) {
        return refuse("unauthorized_client", "this application may not use the authorization code flow");
    }
    if view.client.user_namespace.is_none() {
        return refuse("unauthorized_client", "this application has no user namespace to sign users into");
    }
    let hybrid = response_type == ResponseType::CodeIdToken;
    if hybrid && !view.client.hybrid_enabled {
        return refuse(
            "unauthorized_client",
            "this application may not use response_type=code id_token (an administrator enables hybrid responses)",
        );
    }
    if hybrid && to.mode == ResponseMode::Query {
        return refuse(
            "invalid_request",
            "an ID token is never put in the query: use response_mode=fragment or form_post",
        );
    }
    let mut request = AuthRequest {
        id: random_token(16),
        csrf: random_token(24),
        client: view.client.id,
        redirect_uri: redirect_uri.to_owned(),
        scope: String::new(),
        state: to.state.clone(),
        nonce: form.get("nonce").map(str::to_owned),
        code_challenge: None,
        prompt: None,
        max_age: None,
        login_hint: form.get("login_hint").map(|h| h.chars().take(254).collect()),
        account: None,
        expires_at: db::now() + request_lifetime(),
        mfa_account: None,
        mfa_stage: None,
        enrol_secret: None,
        acr_values: form.get("acr_values").map(|v| v.chars().take(512).collect()),
        claims: None,
        response_type: response_type.as_str().to_owned(),
        response_mode: to.mode.as_str().to_owned(),
        dpop_jkt: None,
        device_authorization: None,
    };
    if let Some(jkt) = form.get("dpop_jkt") {
        // RFC 9449 §10: the code is redeemed only with a proof by the key of this thumbprint.
        let valid = jkt.len() == 43 && jkt.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return refuse("invalid_request", "dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)");
        }
        request.dpop_jkt = Some(jkt.to_owned());
    }
    let scope = match Scopes::parse(form.get("scope").unwrap_or_default()) {
        Ok(s) => s,
        Err(why) => return refuse("invalid_scope", &why),
    };
    if hybrid && (request.nonce.is_none() || !scope.has(OPENID)) {
        return refuse("invalid_request", "response_type=code id_token needs the openid scope and a nonce");
    }
    // Management scopes: no more than the application itself may do (its controller receives
    // the tokens); what the account holds bounds them again at every request.
    request.scope = scope.bounded_by(view.user_token_bound().as_deref()).to_string();
    if let Some(text) = form.get("claims") {
        let claims = match ClaimsRequest::parse(text) {
            Ok(c) => c,
            Err(why) => return refuse("invalid_request", &why),
        };
        // An `acr` asked for with the second factor's value steps the sign-in up like acr_values.
        if claims.asks_for_mfa() && !request.acr_values.as_deref().is_some_and(factors::asks_for_mfa) {
            let acr = [request.acr_values.as_deref(), Some(factors::ACR_MFA)];
            request.acr_values = Some(acr.into_iter().flatten().collect::<Vec<_>>().join(" "));
        }
        request.claims = claims.stored();
    }
    match (form.get("code_challenge"), form.get("code_challenge_method")) {
        (Some(_), Some(method)) if method != "S256" => {
            return refuse("invalid_request", "code_challenge_method must be S256")
        }
        (Some(_), None) => {
            return refuse("invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
        }
        (Some(challenge), Some(_)) => {
            let valid =
                challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return refuse("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)");
            }
            request.code_challenge = Some(challenge.to_owned());
        }
        (None, Some(_)) => return refuse("invalid_request", "code_challenge_method without code_challenge"),
        (None, None) if view.client.require_pkce || view.client.is_public() => {
            return refuse("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256")
        }
        (None, None) => {}
    }
    let prompts: Vec<&str> =
        form.get("prompt").map(|p| p.split(' ').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return refuse("invalid_request", "prompt=none cannot be combined with other values");
    }
    if prompts.iter().any(|p| !matches!(*p, "none" | "login" | "consent" | "select_account")) {
        return refuse("invalid_request", "prompt must be none, login or consent");
    }
    let kept: Vec<&str> = prompts.iter().copied().filter(|p| matches!(*p, "none" | "login" | "consent")).collect();
    request.prompt = (!kept.is_empty()).then(|| kept.join(" "));
    if let Some(max_age) = form.get("max_age") {
        match max_age.parse::<i64>() {
            Ok(n) if n >= 0 => request.max_age = Some(n),
            _ => return refuse("invalid_request", "max_age must be a non-negative integer"),
        }
    }
    Ok(Ok((request, view)))
}

/// The signed-in account of `session`, if it may sign in to `client` now: a session older than
/// `max_age`, or made without a second factor the account has or must use, signs in again.
pub(super) fn session_account(
    conn: &mut Conn,
    state: &AppState,
    session: Option<SsoSession>,
    client: &ClientView,
    request: &AuthRequest,
) -> Result<Option<(SsoSession, Account)>> {
    let Some(session) = session else { return Ok(None) };
    if let Some(max_age) = request.max_age {
        if (db::now() - session.auth_time).num_seconds() > max_age {
            return Ok(None);
        }
    }
    let account = db::accounts::get(conn, AccountId(session.account))?
        .filter(|a| !a.disabled && Some(&a.namespace) == client.client.user_namespace.as_ref());
    let Some(account) = account else { return Ok(None) };
    if !second_factor::session_suffices(conn, state, &session.amr, client, &account, request.acr_values.as_deref())? {
        return Ok(None);
    }
    Ok(Some((session, account)))
}

pub async fn authorize_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match Form::parse(req.query_string().as_bytes()) {
        Ok(form) => authorize(req, state, form).await,
        Err(e) => error_page(StatusCode::BAD_REQUEST, &e.description).respond(),
    }
}

pub async fn authorize_post(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    match Form::parse(&body) {
        Ok(form) => authorize(req, state, form).await,
        Err(e) => error_page(StatusCode::BAD_REQUEST, &e.description).respond(),
    }
}

async fn authorize(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let sso = session::sso_cookie_value(&req, &state.oauth.settings);
    let origin = shell::origin(&req);
    let worker = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let oauth = &worker.oauth;
            let (form, via) = match (form.get("request_uri"), form.get("request")) {
                (Some(_), Some(_)) => {
                    return Ok((
                        Refusal::Page("A request names request and request_uri: one of them.".into()).next(oauth),
                        None,
                    ))
                }
                // A pushed request: its parameters, and only those, once (RFC 9126).
                (Some(uri), None) => match par::redeem(conn, &worker, form.get("client_id"), uri)? {
                    Some((pushed, signed)) => (pushed, Via { pushed: true, signed }),
                    None => return Ok((Refusal::Page(par::UNKNOWN.to_owned()).next(oauth), None)),
                },
                // A request object: its parameters, and only those (RFC 9101).
                (None, Some(_)) => match request_object::unpack(conn, &worker, &form, &origin)? {
                    Ok(unpacked) => (unpacked, Via { pushed: false, signed: true }),
                    Err(refused) => return Ok((refused.refusal.next(oauth), Some(refused.event))),
                },
                (None, None) => (form, Via::default()),
            };
            let (request, client) = match validate(conn, oauth, &form, via)? {
                Ok(valid) => valid,
                Err(refusal) => return Ok((refusal.next(oauth), None)),
            };
            Ok((proceed(conn, &worker, request, client, sso.as_deref(), &origin)?, None))
        })
        .await;
    let outcome = match outcome {
        Ok((next, Some(failure))) => state.audit.record(vec![failure]).await.map(|()| next),
        Ok((next, None)) => Ok(next),
        Err(e) => Err(e),
    };
    respond(outcome)
}

/// A valid request: signed in already (a code, or the consent page), or the sign-in page.
fn proceed(
    conn: &mut Conn,
    worker: &AppState,
    request: AuthRequest,
    client: ClientView,
    sso: Option<&str>,
    origin: &Origin,
) -> Result<Next> {
    let oauth = &worker.oauth;
    let current = session::current(conn, sso)?;
    let signed_in = session_account(conn, worker, current, &client, &request)?;
    let (prompt_none, prompt_login) = (consent::prompts(&request, "none"), consent::prompts(&request, "login"));
    match signed_in {
        Some((session, account)) if !prompt_login => {
            if !consent::needed(conn, &client, &account, &request)? {
                let granted = worker.db.write_blocking(conn, |conn| {
                    issue_code(conn, oauth, &request, &client, &account, &session, origin)
                })?;
                return granted.send(conn, oauth);
            }
            if prompt_none {
                return Ok(error_redirect(
                    oauth,
                    &request,
                    "consent_required",
                    "the user has not allowed this application",
                ));
            }
            let request = AuthRequest { account: Some(account.id), ..request };
            db::oauth::insert_request(conn, &request)?;
            let page = consent::page(&request, &client, &account);
            Ok(Next::Page(page.cookie(session::authz_cookie(&oauth.settings, &request.id, request_lifetime()))))
        }
        None if prompt_none => Ok(error_redirect(oauth, &request, "login_required", "the user is not signed in")),
        _ => {
            db::oauth::insert_request(conn, &request)?;
            let page = sign_in_page(
                oauth,
                &request,
                &client,
                request.login_hint.as_deref().unwrap_or_default(),
                Vec::new(),
                StatusCode::OK,
            );
            Ok(Next::Page(page.cookie(session::authz_cookie(&oauth.settings, &request.id, request_lifetime()))))
        }
    }
}

pub fn respond(outcome: Result<Next>) -> HttpResponse {
    match outcome {
        Ok(next) => next.respond(),
        Err(Error::TooManyRequests { retry_after }) => too_many(retry_after).respond(),
        Err(Error::Unavailable(_)) => {
            error_page(StatusCode::SERVICE_UNAVAILABLE, "The service is temporarily unavailable. Try again shortly.")
                .respond()
        }
        Err(e) => {
            log::error!("hosted page: {e}");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.").respond()
        }
    }
}

pub fn too_many(retry_after: u64) -> Rendered {
    let mut page = Page::new("Too many attempts").status(StatusCode::TOO_MANY_REQUESTS);
    page.retry_after = Some(retry_after);
    page.render(pages::message(&format!("Too many attempts. Try again in {retry_after} seconds.")))
}

/// The sign-in form, with a passkey button (and its script) when passkeys are on.
pub fn sign_in_page(
    oauth: &OAuth,
    request: &AuthRequest,
    client: &ClientView,
    login: &str,
    errors: Vec<String>,
    status: StatusCode,
) -> Rendered {
    let passkeys = oauth.passkeys.is_some();
    Page::new("Sign in")
        .status(status)
        .redirecting_to(pages::origin_of(&request.redirect_uri))
        .with_passkey_script(passkeys)
        .render(pages::sign_in(pages::SignInForm {
            request_id: &request.id,
            csrf: &request.csrf,
            login,
            client_name: &client.client.name,
            errors,
            registration: client.client.registration_enabled,
            passkeys,
        }))
}

/// The authorization request a hosted form belongs to: it must exist, be this browser's (its
/// cookie), and carry its CSRF token.
pub fn pending_request(
    conn: &mut Conn,
    req_cookie: Option<&str>,
    form: &Form,
) -> Result<Option<(AuthRequest, ClientView)>> {
    let (Some(id), Some(csrf)) = (form.get("request"), form.get("csrf")) else { return Ok(None) };
    if req_cookie != Some(id) {
        return Ok(None);
    }
    let Some(request) = db::oauth::get_request(conn, id, db::now())? else { return Ok(None) };
    if !same(&request.csrf, csrf) {
        return Ok(None);
    }
    let Some(client) = db::clients::get(conn, ClientUuid(request.client))? else { return Ok(None) };
    Ok(Some((request, client)))
}

pub fn expired_page() -> Rendered {
    error_page(StatusCode::BAD_REQUEST, "This form has expired or was opened in another browser.")
}

/// Completes a sign-in made as `amr` says: a session, then the consent page when the
/// application needs one, else a code and back to the application.
pub fn complete(
    conn: &mut Conn,
    state: &AppState,
    request: &AuthRequest,
    client: &ClientView,
    account: &Account,
    amr: &Amr,
    origin: &Origin,
) -> Result<Next> {
    let oauth = &state.oauth;
    let decided = state.db.write_blocking(conn, |conn| {
        let (session, cookie) = session::start(conn, &oauth.settings, account.id, amr)?;
        db::audit::append(
            conn,
            vec![NewEvent::new(Actor::account(account.id.to_string()), "oauth.signin")
                .target("account", account.id)
                .namespace(&account.namespace)
                .request(origin.request_id.clone(), origin.ip.clone())
                .changes(json!({ "client_id": client.client.client_id, "session": session.id, "amr": amr.values() }))],
        )?;
        if consent::needed(conn, client, account, request)? {
            db::oauth::set_request_account(conn, &request.id, AccountId(account.id))?;
            db::oauth::clear_request_mfa(conn, &request.id)?;
            let request = AuthRequest { account: Some(account.id), ..request.clone() };
            return Ok(Err(Next::Page(consent::page(&request, client, account).cookie(cookie))));
        }
        let granted = issue_code(conn, oauth, request, client, account, &session, origin)?;
        db::oauth::delete_request(conn, &request.id)?;
        Ok(Ok((granted, cookie)))
    })?;
    match decided {
        Ok((granted, cookie)) => {
            Ok(granted.send(conn, oauth)?.with_cookie(cookie).with_cookie(session::clear_authz(&oauth.settings)))
        }
        Err(next) => Ok(next),
    }
}

pub async fn login(req: HttpRequest, state: web::Data<AppState>, origin: Origin, body: web::Bytes) -> HttpResponse {
    let Ok(form) = Form::parse(&body) else { return expired_page().respond() };
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let worker = state.clone();
    let failure_origin = origin.clone();
    let outcome = db::blocking(move || {
        let mut conn = worker.db.get()?;
        let Some((request, client)) = pending_request(&mut conn, cookie.as_deref(), &form)? else {
            return Ok((Next::Page(expired_page()), None));
        };
        drop(conn);
        let login = form.get("login").unwrap_or_default().chars().take(254).collect::<String>();
        let password = form.get("password").unwrap_or_default().chars().take(1024).collect::<String>();
        let namespace = client.client.user_namespace.clone().unwrap_or_default();
        match signin::password(&worker.db, &worker.hasher, &namespace, &login, &password, &origin)? {
            SignIn::Accepted(account) => {
                let mut conn = worker.db.get()?;
                Ok((second_factor::after_password(&mut conn, &worker, &request, &client, &account, &origin)?, None))
            }
            SignIn::Refused { actor, reason } => {
                let page = sign_in_page(
                    &worker.oauth,
                    &request,
                    &client,
                    &login,
                    vec!["Wrong sign-in name or password.".into()],
                    StatusCode::OK,
                );
                Ok((Next::Page(page), Some((actor, reason))))
            }
            SignIn::Throttled { retry_after, actor } => {
                Ok((Next::Page(too_many(retry_after)), Some((actor, "locked out after repeated failures"))))
            }
        }
    })
    .await;
    let outcome = match outcome {
        Ok((next, failure)) => {
            if let Some((actor, reason)) = failure {
                let event = NewEvent::new(actor, "oauth.signin")
                    .outcome(Outcome::Failure)
                    .request(failure_origin.request_id.clone(), failure_origin.ip.clone())
                    .changes(json!({ "reason": reason }));
                if let Err(e) = state.audit.record(vec![event]).await {
                    return respond(Err(e));
                }
            }
            Ok(next)
        }
        Err(e) => Err(e),
    };
    respond(outcome)
}

/// Back to the sign-in form of a pending request (from the registration or reset pages).
pub async fn resume(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let cookie = session::authz_cookie_value(&req, &state.oauth.settings);
    let id = Form::parse(req.query_string().as_bytes()).ok().and_then(|f| f.get("request").map(str::to_owned));
    let worker = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let (Some(id), Some(cookie)) = (id, cookie) else { return Ok(Next::Page(expired_page())) };
            if id != cookie {
                return Ok(Next::Page(expired_page()));
            }
            let Some(request) = db::oauth::get_request(conn, &id, db::now())? else {
                return Ok(Next::Page(expired_page()));
            };
            let Some(client) = db::clients::get(conn, ClientUuid(request.client))? else {
                return Ok(Next::Page(expired_page()));
            };
            Ok(Next::Page(sign_in_page(&worker.oauth, &request, &client, "", Vec::new(), StatusCode::OK)))
        })
        .await;
    respond(outcome)
}

/// Serves the hosted pages' stylesheet.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type("text/css; charset=utf-8")
        .body(pages::STYLESHEET)
}
