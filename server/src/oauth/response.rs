//! The authorization response: a code (and, hybrid, an ID token) or an error, sent back to the
//! application in the redirect URI's query, its fragment, or a form the browser posts to it
//! (`response_mode=form_post`: a server-rendered page whose script, served by Gatehouse under the
//! pages' CSP, submits it at once; without JavaScript the user presses the button).
//!
//! Hybrid's ID token travels through the browser: it says who signed in and how (`sub`,
//! `auth_time`, `acr`, `amr`, `nonce`, `sid`, `c_hash`, `s_hash`) and nothing about the account:
//! its claims come with the token endpoint's ID token, to the client that authenticated.

use actix_web::http::header;
use actix_web::HttpResponse;
use gatehouse_api_types::{ResponseMode, ResponseType};
use maud::html;
use serde_json::json;

use super::pages::{self, Page, Rendered};
use super::scope::Scopes;
use super::tokens::{self, IdTokenSpec};
use crate::db::ids::ClientUuid;
use crate::db::oauth::{AuthRequest, Code, SsoSession};
use crate::db::{self, Conn};
use crate::domain::accounts::Account;
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::authn::Origin;
use crate::domain::clients::ClientView;
use crate::domain::crypto::{random_token, token_hash};
use crate::error::Result;
use crate::shell::OAuth;

/// Where the form_post page's script is served.
pub const FORM_POST_SCRIPT: &str = "/oauth/assets/form_post.js";

/// What the browser is sent next.
pub enum Next {
    /// A page (sign-in form, error, a form_post response).
    Page(Rendered),
    /// Back to the application, with a code or an error.
    Redirect { location: String, set_cookies: Vec<actix_web::cookie::Cookie<'static>> },
}

impl Next {
    pub fn respond(self) -> HttpResponse {
        match self {
            Next::Page(page) => page.respond(),
            Next::Redirect { location, set_cookies } => {
                let mut response = HttpResponse::SeeOther();
                response.insert_header((header::LOCATION, location)).insert_header((header::CACHE_CONTROL, "no-store"));
                for cookie in set_cookies {
                    response.cookie(cookie);
                }
                response.finish()
            }
        }
    }

    pub fn with_cookie(self, cookie: actix_web::cookie::Cookie<'static>) -> Next {
        match self {
            Next::Page(page) => Next::Page(page.cookie(cookie)),
            Next::Redirect { location, mut set_cookies } => {
                set_cookies.push(cookie);
                Next::Redirect { location, set_cookies }
            }
        }
    }
}

/// Where and how an authorization response goes.
#[derive(Debug, Clone)]
pub struct ReturnTo {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

impl ReturnTo {
    pub fn of(request: &AuthRequest) -> ReturnTo {
        ReturnTo {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.response_mode.parse().unwrap_or(ResponseMode::Query),
            state: request.state.clone(),
        }
    }

    /// Sends `params` (with `state` and `iss`, RFC 9207) back in the response mode.
    fn send(&self, oauth: &OAuth, params: &[(&str, Option<&str>)]) -> Next {
        let mut all: Vec<(&str, Option<&str>)> = params.to_vec();
        all.push(("state", self.state.as_deref()));
        all.push(("iss", Some(&oauth.settings.issuer)));
        match self.mode {
            ResponseMode::Query => {
                Next::Redirect { location: redirect_with(&self.redirect_uri, &all), set_cookies: Vec::new() }
            }
            ResponseMode::Fragment => {
                Next::Redirect { location: with_fragment(&self.redirect_uri, &all), set_cookies: Vec::new() }
            }
            ResponseMode::FormPost => Next::Page(form_post(&self.redirect_uri, &all)),
        }
    }

    /// An error response (`error`, `error_description`).
    pub fn error(&self, oauth: &OAuth, error: &str, description: &str) -> Next {
        self.send(oauth, &[("error", Some(error)), ("error_description", Some(description))])
    }
}

/// The redirect URI with `params` added to its query.
pub fn redirect_with(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    if let Some(value) = value {
                        query.append_pair(name, value);
                    }
                }
            }
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// The redirect URI with `params` as its fragment (a registered redirect URI has none).
fn with_fragment(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut fragment = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            fragment.append_pair(name, value);
        }
    }
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.set_fragment(Some(&fragment.finish()));
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// The page that posts `params` to `action` (`response_mode=form_post`).
fn form_post(action: &str, params: &[(&str, Option<&str>)]) -> Rendered {
    Page::new("Returning to the application").redirecting_to(pages::origin_of(action)).script(FORM_POST_SCRIPT).render(
        html! {
            form id="response" method="post" action=(action) {
                @for (name, value) in params {
                    @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
                }
                p class="lead" { "Taking you back to the application…" }
                button type="submit" { "Continue" }
            }
        },
    )
}

/// The script of the form_post page: it submits the form.
pub async fn form_post_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type("text/javascript; charset=utf-8")
        .body("document.getElementById('response').submit();\n")
}

/// A code issued (and, hybrid, the ID token to sign with it), to send once its transaction
/// has committed ([`Granted::send`]): no signature under SQLite's write lock. Or, for a
/// request of the device page, the device's request approved: a page to show.
pub enum Granted {
    Code { code: String, return_to: ReturnTo, id_token: Option<serde_json::Map<String, serde_json::Value>> },
    Device(Rendered),
}

impl Granted {
    /// Signs the hybrid ID token (with `c_hash` and `s_hash`) and sends the response.
    pub fn send(self, conn: &mut Conn, oauth: &OAuth) -> Result<Next> {
        let (code, return_to, id_token) = match self {
            Granted::Code { code, return_to, id_token } => (code, return_to, id_token),
            Granted::Device(page) => return Ok(Next::Page(page)),
        };
        let id_token = match id_token {
            Some(mut claims) => {
                claims.insert("c_hash".into(), json!(tokens::half_hash(&code)));
                if let Some(state) = &return_to.state {
                    claims.insert("s_hash".into(), json!(tokens::half_hash(state)));
                }
                Some(tokens::sign_id_token(conn, &oauth.keys, claims, None)?)
            }
            None => None,
        };
        Ok(return_to.send(oauth, &[("code", Some(&code)), ("id_token", id_token.as_deref())]))
    }
}

/// Issues a code for a signed-in account (inside the caller's write transaction); the response
/// is sent after the commit ([`Granted::send`]). A request of the device page approves the
/// device's request instead. Either way the client is one the session gave tokens to (it hears
/// of the session's end: back-channel logout).
pub fn issue_code(
    conn: &mut Conn,
    oauth: &OAuth,
    request: &AuthRequest,
    client: &ClientView,
    account: &Account,
    session: &SsoSession,
    origin: &Origin,
) -> Result<Granted> {
    if request.device_authorization.is_some() {
        let page = super::device_page::decide(conn, request, client, account, session, origin, true)?;
        return Ok(Granted::Device(page));
    }
    db::session_clients::record(conn, &session.id, ClientUuid(client.client.id), db::now())?;
    let code = random_token(32);
    db::oauth::insert_code(
        conn,
        &Code {
            code_hash: token_hash(&code),
            client: client.client.id,
            account: account.id,
            session_id: Some(session.id.clone()),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            expires_at: db::now() + oauth.settings.code_ttl,
            used_at: None,
            family_id: None,
            access_token_jti: None,
            amr: session.amr.clone(),
            claims: request.claims.clone(),
            dpop_jkt: request.dpop_jkt.clone(),
        },
    )?;
    db::audit::append(
        conn,
        vec![NewEvent::new(Actor::account(account.id.to_string()), "oauth.authorize")
            .target("client", client.client.id)
            .namespace(&account.namespace)
            .request(origin.request_id.clone(), origin.ip.clone())
            .changes(json!({
                "client_id": client.client.client_id,
                "scope": request.scope,
                "response_type": request.response_type,
                "claims": request.claims,
            }))],
    )?;
    let hybrid = request.response_type.parse() == Ok(ResponseType::CodeIdToken);
    let id_token = hybrid.then(|| {
        tokens::id_token_claims(
            &oauth.settings,
            IdTokenSpec {
                client_id: &client.client.client_id,
                account,
                // Nothing about the account in the front channel.
                scope: &Scopes::default(),
                nonce: request.nonce.as_deref(),
                auth_time: session.auth_time.timestamp(),
                amr: &session.amr,
                session_id: Some(&session.id),
                access_token: None,
                attribute_claims: &Default::default(),
                requested: &[],
            },
        )
    });
    Ok(Granted::Code { code, return_to: ReturnTo::of(request), id_token })
}
