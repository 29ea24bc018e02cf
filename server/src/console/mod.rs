//! The admin console: its files, and the backend-for-frontend routes that sign it in. The
//! console calls `/api/v1` with its session cookie and an `X-CSRF-Token` header (see
//! `http::auth`); it never sees a token.
//!
//! | route | what |
//! |---|---|
//! | `GET /console/login` | starts the authorization-code + PKCE flow with the `console` client |
//! | `GET /console/callback` | redeems the code on the server, starts the session, sets the cookie |
//! | `GET /console/session` | the signed-in account and the CSRF token (401 when signed out) |
//! | `POST /console/logout` | ends the session, its tokens and the SSO session |
//! | `GET /console/assets/{version}/{file}` | the app, cached for a year |
//! | `GET /console/…` | the app's page, for every client-side route |

pub mod assets;
pub mod session;

use actix_web::cookie::SameSite;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_api_types::ConsoleSession;

use crate::db;
use crate::domain::authn::Origin;
use crate::error::{Error, Result};
use crate::oauth::authorize::error_page;
use crate::oauth::{pages, session as sso};
use crate::shell::{AppState, Settings};

const SESSION_COOKIE: &str = "gatehouse_console";
const LOGIN_COOKIE: &str = "gatehouse_console_login";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console",
        web::get()
            .to(|| async { HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish() }),
    )
    .route("/console/login", web::get().to(login))
    .route("/console/callback", web::get().to(callback))
    .route("/console/session", web::get().to(current))
    .route("/console/logout", web::post().to(logout))
    .route("/console/assets/{version}/{name}", web::get().to(asset))
    .route("/console/{tail:.*}", web::get().to(index));
}

/// The console session cookie of a request, if any.
pub fn session_cookie(req: &HttpRequest, settings: &Settings) -> Option<String> {
    sso::read(req, settings, SESSION_COOKIE)
}

async fn login(state: web::Data<AppState>) -> Result<HttpResponse> {
    let worker = state.clone();
    state.db.run_on(move || session::prepare_client(&worker)).await?;
    let (location, pending) = session::begin_login(&state.oauth)?;
    // Lax: the cookie must come back on the redirect from the sign-in page.
    let pending = sso::cookie_with(
        &state.oauth.settings,
        LOGIN_COOKIE,
        pending,
        crate::oauth::authorize::request_lifetime(),
        SameSite::Lax,
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(pending)
        .finish())
}

#[derive(serde::Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn try_again(status: StatusCode, message: &str) -> HttpResponse {
    error_page(status, &format!("{message} Start again at /console/login.")).respond()
}

async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    query: web::Query<Callback>,
) -> Result<HttpResponse> {
    let settings = &state.oauth.settings;
    let clear = sso::cookie_with(settings, LOGIN_COOKIE, String::new(), chrono::Duration::zero(), SameSite::Lax);
    let q = query.into_inner();
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or(error);
        let mut response = try_again(
            StatusCode::BAD_REQUEST,
            &format!("Sign-in was not completed: {}.", detail.chars().take(200).collect::<String>()),
        );
        response.add_cookie(&clear).map_err(Error::internal)?;
        return Ok(response);
    }
    let pending = sso::read(&req, settings, LOGIN_COOKIE)
        .zip(q.state.as_deref())
        .and_then(|(c, s)| session::pending_login(&state.oauth, &c, s));
    let (Some(pending), Some(code)) = (pending, q.code) else {
        return Ok(try_again(StatusCode::BAD_REQUEST, "This sign-in expired or was started in another browser."));
    };
    if code.len() > 256 {
        return Ok(try_again(StatusCode::BAD_REQUEST, "The authorization code is malformed."));
    }
    let worker = state.clone();
    let started = state.db.run_on(move || session::finish_login(&worker, &code, &pending.verifier, &origin)).await?;
    match started {
        Ok(started) => {
            let lifetime = started.expires_at - db::now();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .cookie(sso::cookie_with(settings, SESSION_COOKIE, started.cookie, lifetime, SameSite::Strict))
                .cookie(clear)
                .finish())
        }
        Err(why) => Ok(try_again(StatusCode::BAD_REQUEST, &format!("The sign-in could not be completed: {why}."))),
    }
}

/// `GET /console/session`: readable only by the console's own origin (the cookie is
/// SameSite=Strict and no CORS is offered), so handing out the CSRF token here is safe.
async fn current(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let settings = &state.oauth.settings;
    let Some(cookie_value) = session_cookie(&req, settings) else {
        return Err(Error::Unauthenticated { reason: "not signed in to the console", bearer: false });
    };
    let worker = state.clone();
    let value = cookie_value.clone();
    let resolved = state.db.run_on(move || session::authenticate(&worker, &value)).await?;
    let (caller, session_row) = resolved.map_err(|reason| Error::Unauthenticated { reason, bearer: false })?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(ConsoleSession {
        csrf_token: session::csrf_token(&state.oauth, &cookie_value),
        me: caller.to_me(),
        expires_at: session_row.expires_at,
    }))
}

/// `POST /console/logout` with the CSRF header: ends the session and the SSO session.
async fn logout(req: HttpRequest, state: web::Data<AppState>, origin: Origin) -> Result<HttpResponse> {
    let settings = &state.oauth.settings;
    let cookie_value = session_cookie(&req, settings).unwrap_or_default();
    let csrf = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if cookie_value.is_empty() || !crate::domain::crypto::same(csrf, &session::csrf_token(&state.oauth, &cookie_value))
    {
        return Err(Error::Unauthenticated {
            reason: "a console session and its X-CSRF-Token are required",
            bearer: false,
        });
    }
    let worker = state.clone();
    state.db.run_on(move || session::sign_out(&worker, &cookie_value, &origin)).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso::cookie_with(settings, SESSION_COOKIE, String::new(), chrono::Duration::zero(), SameSite::Strict))
        .cookie(sso::clear_sso(settings))
        .finish())
}

async fn asset(req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let (version, name) = path.into_inner();
    assets::file(&req, &version, &name)
}

async fn index() -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header((
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ));
    pages::secure_html_headers_except_csp(&mut response);
    response
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("text/html; charset=utf-8")
        .body(assets::index_html())
}
