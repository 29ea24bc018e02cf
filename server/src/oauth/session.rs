//! The single-sign-on session cookie and the cookie that ties a browser to its authorization
//! request. Both HttpOnly; `Secure` and `__Host-` prefixed when served over https.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::db::oauth::SsoSession;
use crate::db::{self, Conn};
use crate::domain::crypto::{random_token, token_hash};
use crate::domain::factors::Amr;
use crate::error::Result;
use crate::shell::Settings;

const SSO: &str = "gatehouse_sso";
const AUTHZ: &str = "gatehouse_authz";

/// `__Host-<base>` over https, `<base>` otherwise.
pub fn name(settings: &Settings, base: &str) -> String {
    if settings.secure_cookies() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// An HttpOnly cookie for the whole site, `Secure` over https.
pub fn cookie_with(
    settings: &Settings,
    base: &str,
    value: String,
    max_age: chrono::Duration,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build(name(settings, base), value)
        .path("/")
        .http_only(true)
        .secure(settings.secure_cookies())
        .same_site(same_site)
        .max_age(CookieDuration::seconds(max_age.num_seconds().max(0)))
        .finish()
}

/// Lax: the browser must send these on the top-level navigation from an application.
fn cookie(settings: &Settings, base: &str, value: String, max_age: chrono::Duration) -> Cookie<'static> {
    cookie_with(settings, base, value, max_age, SameSite::Lax)
}

pub fn read(req: &HttpRequest, settings: &Settings, base: &str) -> Option<String> {
    req.cookie(&name(settings, base)).map(|c| c.value().to_owned())
}

/// The live SSO session of this browser, if any.
pub fn current(conn: &mut Conn, req_cookie: Option<&str>) -> Result<Option<SsoSession>> {
    match req_cookie {
        Some(token) if !token.is_empty() && token.len() <= 128 => {
            db::oauth::find_session(conn, &token_hash(token), db::now())
        }
        _ => Ok(None),
    }
}

pub fn sso_cookie_value(req: &HttpRequest, settings: &Settings) -> Option<String> {
    read(req, settings, SSO)
}

/// Starts a session for `account`, signed in as `amr` says (inside the caller's transaction);
/// returns it and its cookie.
pub fn start(
    conn: &mut Conn,
    settings: &Settings,
    account: uuid::Uuid,
    amr: &Amr,
) -> Result<(SsoSession, Cookie<'static>)> {
    let token = random_token(32);
    let now = db::now();
    let session = SsoSession {
        id: random_token(16),
        account,
        auth_time: now,
        expires_at: now + settings.session_ttl,
        amr: amr.to_string(),
    };
    db::oauth::insert_session(conn, &session, &token_hash(&token))?;
    Ok((session, cookie(settings, SSO, token, settings.session_ttl)))
}

pub fn clear_sso(settings: &Settings) -> Cookie<'static> {
    cookie(settings, SSO, String::new(), chrono::Duration::zero())
}

pub fn authz_cookie(settings: &Settings, request_id: &str, lifetime: chrono::Duration) -> Cookie<'static> {
    cookie(settings, AUTHZ, request_id.to_owned(), lifetime)
}

pub fn clear_authz(settings: &Settings) -> Cookie<'static> {
    cookie(settings, AUTHZ, String::new(), chrono::Duration::zero())
}

pub fn authz_cookie_value(req: &HttpRequest, settings: &Settings) -> Option<String> {
    read(req, settings, AUTHZ)
}
