//! UserInfo (GET and POST), revocation (RFC 7009), introspection (RFC 7662) and RP-initiated
//! logout.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::authorize::{redirect_with, respond, Next};
use super::bearer::{self, Standing};
use super::form::Form;
use super::pages::{self, Page};
use super::scope::{Scopes, OPENID};
use super::token_endpoint::{authenticate_client, TokenClient};
use super::tokens::{self, user_claims};
use super::{session, OAuthError};
use crate::db::ids::{AccountId, ClientId};
use crate::db::{self, Conn, Db};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::authn::shown_client_id;
use crate::domain::backchannel_logout;
use crate::domain::crypto::{random_token, same, token_hash};
use crate::domain::signing_keys::jwt_algorithm;
use crate::error::Result;
use crate::shell::{self, AppState, OAuth};

/// The access token presented to UserInfo, and whether it came with the `DPoP` scheme.
fn access_token(req: &HttpRequest, form: Option<&Form>) -> Option<(String, bool)> {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some((scheme, token)) = header.and_then(|h| h.trim().split_once(' ')) {
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") {
            return Some((token.trim().to_owned(), scheme.eq_ignore_ascii_case("dpop")));
        }
    }
    form.and_then(|f| f.get("access_token")).map(|t| (t.to_owned(), false))
}

fn json_no_store(value: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(value)
}

/// `GET|POST /oauth/userinfo` with a user's access token that carries `openid`.
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> std::result::Result<HttpResponse, OAuthError> {
    let form = if body.is_empty() { None } else { Some(Form::parse(&body)?) };
    let Some((token, dpop_scheme)) = access_token(&req, form.as_ref()) else {
        return Err(OAuthError::invalid_token("an access token is required"));
    };
    let proof = super::token_endpoint::proof_header(&req).map_err(|e| OAuthError::resource_refusal(e.description))?;
    let method = req.method().as_str().to_owned();
    let worker = state.clone();
    let claims = state
        .db
        .run(move |conn| {
            let (db, oauth) = (&worker.db, &worker.oauth);
            let probe = db.probe(conn)?;
            let claims = match tokens::verify_access(db, conn, &probe, &oauth.keys, &oauth.settings, &token, None)? {
                Ok(c) => c,
                Err(reason) => return Ok(Err(OAuthError::invalid_token(reason))),
            };
            let url = oauth.settings.url("/oauth/userinfo");
            let presentation = if dpop_scheme {
                bearer::Presentation::DPoP { proof: proof.as_deref(), method: &method, url: &url }
            } else {
                bearer::Presentation::Bearer
            };
            if let Err(reason) = bearer::sender_constrained(db, conn, oauth, &claims, &token, &presentation)? {
                return Ok(Err(OAuthError::resource_refusal(reason)));
            }
            let scope = Scopes::parse(&claims.scope).unwrap_or_default();
            if claims.is_client_token() || !scope.has(OPENID) {
                return Ok(Err(OAuthError {
                    status: StatusCode::FORBIDDEN,
                    ..OAuthError::new("insufficient_scope", "the token was not granted openid for a user")
                }));
            }
            let account = match bearer::standing(db, conn, &probe, &claims)? {
                Ok(Standing::Account { account, .. }) => account,
                Ok(Standing::Client(_)) => return Ok(Err(OAuthError::invalid_token("not a user's token"))),
                Err(reason) => return Ok(Err(OAuthError::invalid_token(reason))),
            };
            let Some(client) = db::clients::get_by_client_id(conn, ClientId(&claims.client_id))? else {
                return Ok(Err(OAuthError::invalid_token("the client no longer exists")));
            };
            let mut out = Map::new();
            out.insert("sub".into(), json!(account.id.to_string()));
            let requested: Vec<String> =
                claims.userinfo_claims.as_deref().unwrap_or_default().split(' ').map(str::to_owned).collect();
            out.extend(user_claims(&account, &scope, &client.client.attribute_claims, &requested));
            Ok(Ok(Value::Object(out)))
        })
        .await??;
    Ok(json_no_store(claims))
}

/// Authenticates the client of a revocation, introspection or pushed authorization request.
pub(super) async fn client_of(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    form: &Form,
) -> std::result::Result<TokenClient, OAuthError> {
    let origin = shell::origin(req);
    let presented = super::token_endpoint::presented(req, form)?;
    let worker = state.clone();
    let (outcome, event) = db::blocking(move || {
        Ok(match authenticate_client(&worker, &presented, &origin)? {
            Ok(client) => (Ok(client), None),
            Err((error, actor)) => {
                let client_id = shown_client_id(presented.client_id());
                let event = NewEvent::new(actor, "oauth.client.failure")
                    .outcome(crate::domain::audit::Outcome::Failure)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .changes(json!({ "error": error.error, "client_id": client_id }));
                (Err(error), Some(event))
            }
        })
    })
    .await?;
    if let Some(event) = event {
        state.audit.record(vec![event]).await?;
    }
    outcome
}

/// `POST /oauth/revoke`: always 200 for a well-formed request (RFC 7009 2.2).
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> std::result::Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let token = form.require("token")?.to_owned();
    let client = client_of(&req, &state, &form).await?;
    let origin = shell::origin(&req);
    let worker = state.clone();
    state
        .db
        .write(move |conn| {
            let now = db::now();
            let mut changes = None;
            if let Some(refresh) = db::oauth::find_refresh(conn, &token_hash(&token))? {
                if refresh.client == client.id {
                    let revoked = db::oauth::revoke_family(conn, &refresh.family_id, now)?;
                    changes = Some(json!({ "token_type": "refresh_token", "revoked": revoked }));
                }
            } else {
                let (db, oauth) = (&worker.db, &worker.oauth);
                let probe = db.probe(conn)?;
                let verified = tokens::verify_access(db, conn, &probe, &oauth.keys, &oauth.settings, &token, None);
                if let Ok(Ok(claims)) = verified {
                    if claims.client_id == client.client_id {
                        tokens::revoke_access(conn, &claims)?;
                        changes = Some(json!({ "token_type": "access_token", "jti": claims.jti }));
                    }
                }
            }
            if let Some(changes) = changes {
                db::audit::append(
                    conn,
                    vec![NewEvent::new(client.actor.clone(), "oauth.revoke")
                        .target("client", client.id)
                        .request(origin.request_id.clone(), origin.ip.clone())
                        .changes(changes)],
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(json_no_store(json!({})))
}

/// `POST /oauth/introspect` for confidential clients. Access tokens of any client (resource
/// servers need that); refresh tokens only of the asking client.
pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> std::result::Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let token = form.require("token")?.to_owned();
    let client = client_of(&req, &state, &form).await?;
    if client.caller.is_none() {
        return Err(OAuthError::unauthorized_client("only confidential clients may introspect"));
    }
    let worker = state.clone();
    let answer = state.db.run(move |conn| introspection(&worker.db, conn, &worker.oauth, &client, &token)).await?;
    Ok(json_no_store(answer))
}

fn introspection(db: &Db, conn: &mut Conn, oauth: &OAuth, client: &TokenClient, token: &str) -> Result<Value> {
    let inactive = json!({ "active": false });
    let now = db::now();
    if let Some(refresh) = db::oauth::find_refresh(conn, &token_hash(token))? {
        let live = refresh.client == client.id
            && refresh.used_at.is_none()
            && refresh.revoked_at.is_none()
            && refresh.expires_at > now;
        let account_ok = live && db::accounts::get(conn, AccountId(refresh.account))?.is_some_and(|a| !a.disabled);
        if !account_ok {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": client.client_id,
            "sub": refresh.account.to_string(),
            "scope": refresh.scope,
            "exp": refresh.expires_at.timestamp(),
            "iss": oauth.settings.issuer,
        }));
    }
    let probe = db.probe(conn)?;
    let claims = match tokens::verify_access(db, conn, &probe, &oauth.keys, &oauth.settings, token, None)? {
        Ok(c) => c,
        Err(_) => return Ok(inactive),
    };
    // Stopped at once when its client, the client's owner or its account is disabled, or its
    // tokens were ended since it was issued.
    if bearer::standing(db, conn, &probe, &claims)?.is_err() {
        return Ok(inactive);
    }
    let mut answer = json!({
        "active": true,
        "token_type": if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "exp": claims.exp,
        "iat": claims.iat,
        "jti": claims.jti,
    });
    // A DPoP-bound token's key (RFC 9449 §6.2): the resource server checks the proof against it.
    if let Some(cnf) = &claims.cnf {
        answer["cnf"] = json!({ "jkt": cnf.jkt });
    }
    Ok(answer)
}

/// What an ID token issued here (even an expired one) says of the sign-in it came from: the
/// client it was issued to and its session, if it had one.
struct Hint {
    client_id: String,
    session: Option<String>,
}

fn id_token_hint(conn: &mut Conn, oauth: &OAuth, id_token: &str) -> Result<Option<Hint>> {
    let Ok(header) = jsonwebtoken::decode_header(id_token) else { return Ok(None) };
    let Some(key) = header.kid.map(|kid| oauth.keys.verifying(conn, &kid)).transpose()?.flatten() else {
        return Ok(None);
    };
    let mut validation = jsonwebtoken::Validation::new(jwt_algorithm(key.alg));
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[&oauth.settings.issuer]);
    let Ok(data) = jsonwebtoken::decode::<Value>(id_token, &key.decoding, &validation) else { return Ok(None) };
    let Some(client_id) = data.claims["aud"].as_str().map(str::to_owned) else { return Ok(None) };
    Ok(Some(Hint { client_id, session: data.claims["sid"].as_str().map(str::to_owned) }))
}

/// `GET|POST /oauth/logout` (OpenID Connect RP-Initiated Logout). The session ends at once
/// only when `id_token_hint` was issued for this very session (any other token, or none,
/// and the user confirms with a form first: a site cannot sign a browser out with a token of
/// its own). The browser goes back to `post_logout_redirect_uri` only when it is registered for
/// the hint's client and the hint's session is the one that ended; otherwise it sees a page.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let form = if req.method() == actix_web::http::Method::POST {
        Form::parse(&body)
    } else {
        Form::parse(req.query_string().as_bytes())
    };
    let Ok(form) = form else {
        return super::authorize::error_page(StatusCode::BAD_REQUEST, "The logout request is malformed.").respond();
    };
    let settings = state.oauth.settings.clone();
    let sso = session::sso_cookie_value(&req, &settings);
    let confirm_cookie = session::read(&req, &settings, "gatehouse_logout");
    let posted = req.method() == actix_web::http::Method::POST;
    let origin = shell::origin(&req);
    let worker = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let oauth = &worker.oauth;
            let hint = form.get("id_token_hint").map(|t| id_token_hint(conn, oauth, t)).transpose()?.flatten();
            if let (Some(hint), Some(named)) = (&hint, form.get("client_id")) {
                if hint.client_id != named {
                    return Ok(Next::Page(super::authorize::error_page(
                        StatusCode::BAD_REQUEST,
                        "The client_id does not match the id_token_hint.",
                    )));
                }
            }
            let current = session::current(conn, sso.as_deref())?;
            let hint_is_this_session =
                matches!((&hint, &current), (Some(Hint { session: Some(sid), .. }), Some(c)) if *sid == c.id);
            let confirmed = posted && matches!((&confirm_cookie, form.get("csrf")), (Some(c), Some(f)) if same(c, f));
            if current.is_some() && !hint_is_this_session && !confirmed {
                let csrf = random_token(24);
                let client_id = hint.as_ref().map(|h| h.client_id.as_str()).or(form.get("client_id"));
                let page = Page::new("Sign out").render(pages::logout_confirm(&csrf, client_id));
                let name = if settings.secure_cookies() { "__Host-gatehouse_logout" } else { "gatehouse_logout" };
                let cookie = actix_web::cookie::Cookie::build(name, csrf)
                    .path("/")
                    .http_only(true)
                    .secure(settings.secure_cookies())
                    .same_site(actix_web::cookie::SameSite::Strict)
                    .max_age(actix_web::cookie::time::Duration::minutes(10))
                    .finish();
                return Ok(Next::Page(page.cookie(cookie)));
            }
            // Where to go afterwards: only back to the application this session signed in to,
            // at a URI registered for it.
            let target = match (form.get("post_logout_redirect_uri"), &hint) {
                (Some(uri), Some(hint)) if hint_is_this_session => {
                    db::clients::get_by_client_id(conn, ClientId(&hint.client_id))?
                        .filter(|c| c.client.post_logout_redirect_uris.iter().any(|u| u == uri))
                        .map(|_| redirect_with(uri, &[("state", form.get("state"))]))
                }
                _ => None,
            };
            if let Some(current) = current {
                let client_id = hint.as_ref().map(|h| h.client_id.clone());
                worker.db.write_blocking(conn, |conn| {
                    let now = db::now();
                    backchannel_logout::end_session(conn, AccountId(current.account), &current.id, now)?;
                    let revoked = db::oauth::revoke_session_tokens(conn, &current.id, now)?;
                    db::audit::append(
                        conn,
                        vec![NewEvent::new(Actor::account(current.account.to_string()), "oauth.logout")
                            .target("account", current.account)
                            .request(origin.request_id.clone(), origin.ip.clone())
                            .changes(json!({
                                "session": current.id,
                                "revoked_refresh_tokens": revoked,
                                "client_id": client_id,
                                "confirmed": confirmed,
                            }))],
                    )
                })?;
                // Logout tokens may be queued: the outbox worker looks at once.
                worker.outbox.notify_one();
            }
            let clear = vec![session::clear_sso(&settings)];
            Ok(match target {
                Some(location) => Next::Redirect { location, set_cookies: clear },
                None => {
                    let mut page = Page::new("Signed out").render(pages::message("You are signed out."));
                    for c in clear {
                        page = page.cookie(c);
                    }
                    Next::Page(page)
                }
            })
        })
        .await;
    respond(outcome)
}
