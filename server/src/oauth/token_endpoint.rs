//! `POST /oauth/token`: client authentication (`client_secret_basic`, `client_secret_post`,
//! `private_key_jwt`, `none` for public clients) and the grants. Every answer is audited.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use gatehouse_api_types::{GrantType, TokenEndpointAuthMethod};
use serde_json::json;

use super::form::Form;
use super::issuance::{self, TokenOutcome, TokenResponse, UnsignedTokens, UserTokens};
use super::scope::Scopes;
use super::tokens::{self, AccessTokenSpec};
use super::OAuthError;
use crate::db::ids::{AccountId, ClientId, ClientUuid};
use crate::db::{self, Conn, Grouped};
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::domain::authn::{self, Authentication, Origin};
use crate::domain::clients::{ClientView, OAuthProfile};
use crate::domain::signin::{self, SignIn};
use crate::domain::{client_assertion, dpop};
use crate::domain::{factors, grant, Caller};
use crate::error::{Refusable, Result};
use crate::shell::{AppState, OAuth};

/// How the client presented itself.
#[derive(Clone)]
pub enum Presented {
    Secret {
        client_id: String,
        secret: String,
        basic: bool,
    },
    Public {
        client_id: String,
    },
    /// A JWT client assertion (`private_key_jwt`).
    Assertion {
        client_id: String,
        assertion: String,
    },
}

impl Presented {
    /// The client id as presented (not yet authenticated).
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Secret { client_id, .. }
            | Presented::Public { client_id }
            | Presented::Assertion { client_id, .. } => client_id,
        }
    }
}

/// An authenticated client at the token endpoint.
pub struct TokenClient {
    pub id: uuid::Uuid,
    pub client_id: String,
    /// The client's own powers (confidential clients only).
    pub caller: Option<Caller>,
    pub profile: OAuthProfile,
    pub actor: Actor,
    /// The key of the request's DPoP proof, once checked (RFC 9449): every grant binds what it
    /// issues to it ([`issuance::UserTokens::dpop_jkt`], [`AccessTokenSpec::dpop_jkt`]).
    pub dpop_jkt: Option<String>,
}

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    payload: web::Payload,
) -> HttpResponse {
    // Every answer carries the current DPoP nonce, so that a client never needs a round for it
    // but its first (RFC 9449 §8).
    let nonce = dpop::Nonces::new(&state.oauth.master).current(db::now().timestamp());
    let mut response = match answer(req, state, origin, payload).await {
        Ok(response) => response,
        Err(error) => error.error_response(),
    };
    if let Ok(value) = header::HeaderValue::from_str(&nonce) {
        response.headers_mut().insert(header::HeaderName::from_static("dpop-nonce"), value);
    }
    response
}

async fn answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    origin: Origin,
    payload: web::Payload,
) -> std::result::Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let presented = presented(&req, &form)?;
    let proof = proof_header(&req)?;
    let grant_type = form.require("grant_type")?.to_owned();
    let refusals = Refusals {
        grant_type: grant_type.clone(),
        presented_id: authn::shown_client_id(presented.client_id()),
        origin: origin.clone(),
    };
    let _permit = state.db.admit().await?;
    let (worker, refused) = (state.clone(), refusals.clone());
    let (outcome, events) = db::blocking(move || Ok(run(&worker, presented, proof, &form, &origin, &refused))).await?;
    // An issued token is on record before it is handed out (a crash loses no grant decision).
    state.audit.record(events).await?;
    let response = match outcome? {
        Issued::Signed(response) => response,
        Issued::AfterCommit { written, actor } => match written.committed().await? {
            Ok(tokens) => {
                let worker = state.clone();
                db::blocking(move || tokens.sign(&mut *worker.db.get()?, &worker.oauth)).await?
            }
            Err(error) => {
                state.audit.record(vec![refusals.event(actor, &error)]).await?;
                return Err(error);
            }
        },
    };
    log::debug!("issued tokens by {grant_type}");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// The request's `DPoP` header: none, or exactly one (RFC 9449 §4.3).
pub fn proof_header(req: &HttpRequest) -> std::result::Result<Option<String>, OAuthError> {
    let mut proofs = req.headers().get_all(dpop::HEADER);
    let Some(first) = proofs.next() else { return Ok(None) };
    if proofs.next().is_some() {
        return Err(OAuthError::invalid_dpop_proof("DPoP proof: exactly one DPoP header is allowed"));
    }
    match first.to_str() {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_owned())),
        _ => Err(OAuthError::invalid_dpop_proof("DPoP proof: the header is empty or not text")),
    }
}

/// Checks a token request's proof, all but its replay: the server nonce is required here.
fn checked_proof(state: &AppState, proof: &str) -> std::result::Result<dpop::Proof, OAuthError> {
    let parsed = dpop::parse(proof).map_err(OAuthError::invalid_dpop_proof)?;
    let url = state.oauth.settings.url("/oauth/token");
    let request = dpop::Request { method: "POST", url: &url, access_token: None, nonce_required: true };
    let nonces = dpop::Nonces::new(&state.oauth.master);
    dpop::check(&parsed, &request, &nonces, db::now()).map_err(OAuthError::from_dpop)?;
    Ok(parsed)
}

/// What a refused token request puts on record.
#[derive(Clone)]
struct Refusals {
    grant_type: String,
    /// The client id as presented, shortened and stripped of control characters.
    presented_id: String,
    origin: Origin,
}

impl Refusals {
    /// The event of a refusal, by `actor` (anonymous until the client is known).
    fn event(&self, actor: Actor, error: &OAuthError) -> NewEvent {
        let outcome = if error.status.as_u16() == 429 || error.error == "unauthorized_client" {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
        NewEvent::new(actor, "oauth.token")
            .outcome(outcome)
            .request(self.origin.request_id.clone(), self.origin.ip.clone())
            .changes(json!({
                "grant_type": self.grant_type, "client_id": self.presented_id,
                "error": error.error, "error_description": error.description,
            }))
    }
}

/// What a grant hands out: its tokens signed, or tokens decided in a grouped write (SQLite,
/// `Db::write_grouped`) still to commit, signed once it has, off the writer's thread. The grant's
/// own event is committed with them; a refusal is put on record by `actor`.
enum Issued {
    Signed(TokenResponse),
    AfterCommit { written: Box<Grouped<std::result::Result<UnsignedTokens, OAuthError>>>, actor: Actor },
}

/// Runs the grant on a blocking thread. Returns the answer and the audit events that are not
/// already committed with a change.
fn run(
    state: &web::Data<AppState>,
    presented: Presented,
    proof: Option<String>,
    form: &Form,
    origin: &Origin,
    refusals: &Refusals,
) -> (std::result::Result<Issued, OAuthError>, Vec<NewEvent>) {
    let failed = |actor: Actor, error: &OAuthError| refusals.event(actor, error);
    // The proof is checked before the client authenticates (a nonce round costs no secret
    // hashing and spends no client assertion); its jti is recorded only once the client has.
    let proof = match proof.as_deref().map(|p| checked_proof(state, p)).transpose() {
        Ok(proof) => proof,
        Err(error) => {
            let event = failed(Actor::anonymous(), &error);
            return (Err(error), vec![event]);
        }
    };
    let mut client = match authenticate_client(state, &presented, origin) {
        Ok(Ok(client)) => client,
        Ok(Err((error, actor))) => {
            let event = failed(actor, &error);
            return (Err(error), vec![event]);
        }
        Err(e) => return (Err(e.into()), Vec::new()),
    };
    match bind(state, &mut client, proof) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let event = failed(client.actor.clone(), &error);
            return (Err(error), vec![event]);
        }
        Err(e) => return (Err(e.into()), Vec::new()),
    }
    match grant(state, &client, form, origin) {
        Ok(Ok((response, Some(event)))) => {
            (Ok(response), vec![event.request(origin.request_id.clone(), origin.ip.clone())])
        }
        Ok(Ok((response, None))) => (Ok(response), Vec::new()),
        Ok(Err(error)) => {
            let event = failed(client.actor.clone(), &error);
            (Err(error), vec![event])
        }
        Err(e) => (Err(e.into()), Vec::new()),
    }
}

/// Binds what the grant will issue to the proof's key, once its `jti` is recorded (a replay
/// is refused); a client registered with `dpop_bound_access_tokens` must send a proof. Every
/// grant type goes through here.
fn bind(state: &AppState, client: &mut TokenClient, proof: Option<dpop::Proof>) -> Refusable<(), OAuthError> {
    let Some(proof) = proof else {
        if client.profile.dpop_bound_access_tokens {
            return Ok(Err(OAuthError::invalid_dpop_proof(
                "DPoP proof: this client's tokens are DPoP-bound (dpop_bound_access_tokens); send a DPoP header",
            )));
        }
        return Ok(Ok(()));
    };
    if !dpop::accept_once(&state.db, &mut *state.db.get()?, &proof)? {
        return Ok(Err(OAuthError::invalid_dpop_proof("DPoP proof: replayed (its jti was used before)")));
    }
    client.dpop_jkt = Some(proof.jkt);
    Ok(Ok(()))
}

/// The answer of a grant and, when nothing was written, the success event still to record.
type GrantOutcome = Refusable<(Issued, Option<NewEvent>), OAuthError>;

fn grant(state: &web::Data<AppState>, client: &TokenClient, form: &Form, origin: &Origin) -> GrantOutcome {
    let grant_type = form.require("grant_type").map_err(|e| e.description.clone());
    let grant_type = match grant_type {
        Ok(g) => g,
        Err(description) => return Ok(Err(OAuthError::invalid_request(description))),
    };
    let Ok(grant_type) = grant_type.parse::<GrantType>() else {
        return Ok(Err(OAuthError::new(
            "unsupported_grant_type",
            format!("grant_type '{}' is not supported", grant_type.chars().take(40).collect::<String>()),
        )));
    };
    if !client.profile.allows_grant(grant_type) {
        return Ok(Err(OAuthError::unauthorized_client(format!("this client may not use the {grant_type} grant"))));
    }
    match grant_type {
        GrantType::ClientCredentials => client_credentials(state, client, form),
        GrantType::AuthorizationCode => {
            let (code, redirect_uri, verifier) =
                (form.require("code"), form.get("redirect_uri"), form.get("code_verifier"));
            let code = match code {
                Ok(c) => c.to_owned(),
                Err(e) => return Ok(Err(e)),
            };
            let (redirect_uri, verifier) = (redirect_uri.map(str::to_owned), verifier.map(str::to_owned));
            in_transaction(state, client, move |conn, grant| {
                let redemption = issuance::Redemption {
                    code: &code,
                    redirect_uri: redirect_uri.as_deref(),
                    verifier: verifier.as_deref(),
                    dpop_jkt: grant.dpop_jkt,
                };
                issuance::redeem_code(conn, grant.oauth, grant.client, grant.actor, redemption)
            })
        }
        GrantType::RefreshToken => {
            let token = match form.require("refresh_token") {
                Ok(t) => t.to_owned(),
                Err(e) => return Ok(Err(e)),
            };
            let scope = form.get("scope").map(str::to_owned);
            in_transaction(state, client, move |conn, grant| {
                let (oauth, view, actor, jkt) = (grant.oauth, grant.client, grant.actor, grant.dpop_jkt);
                issuance::refresh(conn, oauth, view, actor, &token, scope.as_deref(), jkt)
            })
        }
        GrantType::Password => password(state, client, form, origin),
        GrantType::DeviceCode => {
            let code = match form.require("device_code") {
                Ok(c) => c.to_owned(),
                Err(e) => return Ok(Err(e)),
            };
            in_transaction(state, client, move |conn, grant| {
                super::device::poll(conn, grant.oauth, grant.client, grant.actor, &code, grant.dpop_jkt)
            })
        }
    }
}

/// What a grant's transaction knows of its request: the token service, the client as the
/// database holds it, the actor of its events and the request's DPoP key.
struct GrantInput<'a> {
    oauth: &'a OAuth,
    client: &'a ClientView,
    actor: &'a Actor,
    dpop_jkt: Option<&'a str>,
}

/// Runs a grant that writes, with its audit event, in one write transaction (on SQLite shared
/// with the grants that queue meanwhile: `Db::write_grouped`), and signs its tokens once it has
/// committed (no signing under SQLite's write lock: see [`Issued::AfterCommit`]); a refusal
/// that revoked something still commits.
fn in_transaction(
    state: &web::Data<AppState>,
    client: &TokenClient,
    f: impl FnOnce(&mut Conn, GrantInput<'_>) -> Result<TokenOutcome> + Send + 'static,
) -> GrantOutcome {
    let mut conn = state.db.get()?;
    let Some(view) = db::clients::get(&mut conn, ClientUuid(client.id))? else {
        return Ok(Err(OAuthError::invalid_client(false)));
    };
    let (worker, actor, dpop_jkt) = (state.clone(), client.actor.clone(), client.dpop_jkt.clone());
    let refused_by = client.actor.clone();
    let written = state.db.write_grouped(&mut conn, move |conn| {
        let grant = GrantInput { oauth: &worker.oauth, client: &view, actor: &actor, dpop_jkt: dpop_jkt.as_deref() };
        Ok(match f(conn, grant)? {
            Ok((tokens, event)) => (Ok(tokens), vec![event]),
            Err((error, event)) => (Err(error), event.into_iter().collect()),
        })
    });
    match written {
        Grouped::Done(decided) => match decided? {
            Ok(tokens) => Ok(Ok((Issued::Signed(tokens.sign(&mut conn, &state.oauth)?), None))),
            Err(error) => Ok(Err(error)),
        },
        queued => Ok(Ok((Issued::AfterCommit { written: Box::new(queued), actor: refused_by }, None))),
    }
}

fn client_credentials(state: &AppState, client: &TokenClient, form: &Form) -> GrantOutcome {
    let Some(caller) = &client.caller else {
        return Ok(Err(OAuthError::unauthorized_client("a public client cannot use client_credentials")));
    };
    let scope = match Scopes::parse(form.get("scope").unwrap_or_default()) {
        Ok(s) => s,
        Err(why) => return Ok(Err(OAuthError::invalid_scope(why))),
    };
    if !scope.oidc.is_empty() {
        return Ok(Err(OAuthError::invalid_scope("OpenID Connect scopes need a user; client_credentials has none")));
    }
    if let Some(lacking) = scope.grants.iter().find_map(|g| grant::missing(&caller.effective, g)) {
        return Ok(Err(OAuthError::invalid_scope(format!("the client may not do {lacking}"))));
    }
    let resource = form.get("resource");
    if resource.is_some_and(|r| url::Url::parse(r).map(|u| u.fragment().is_some()).unwrap_or(true)) {
        return Ok(Err(OAuthError::new("invalid_target", "resource must be an absolute URI without a fragment")));
    }
    let mut conn = state.db.get()?;
    let access = tokens::issue_access(
        &mut conn,
        &state.oauth.keys,
        &state.oauth.settings,
        AccessTokenSpec {
            client_id: &client.client_id,
            subject: &client.client_id,
            scope: &scope,
            ttl_seconds: client.profile.access_token_ttl.unwrap_or(state.oauth.settings.default_access_ttl),
            alg: client.profile.access_token_alg,
            auth_time: None,
            session_id: None,
            audience: resource,
            userinfo_claims: &[],
            dpop_jkt: client.dpop_jkt.as_deref(),
        },
    )?;
    let event = NewEvent::new(client.actor.clone(), "oauth.token")
        .target("client", client.id)
        .changes(json!({ "grant_type": GrantType::ClientCredentials, "scope": scope.to_string(), "jti": access.jti }));
    let response = TokenResponse {
        access_token: access.token,
        token_type: access.token_type,
        expires_in: access.expires_in,
        scope: scope.to_string(),
        refresh_token: None,
        id_token: None,
    };
    Ok(Ok((Issued::Signed(response), Some(event))))
}

fn password(state: &AppState, client: &TokenClient, form: &Form, origin: &Origin) -> GrantOutcome {
    if client.caller.is_none() {
        return Ok(Err(OAuthError::unauthorized_client("a public client cannot use the password grant")));
    }
    let (username, password) = match (form.require("username"), form.require("password")) {
        (Ok(u), Ok(p)) => (u.to_owned(), p.to_owned()),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
    };
    let scope = match Scopes::parse(form.get("scope").unwrap_or_default()) {
        Ok(s) => s,
        Err(why) => return Ok(Err(OAuthError::invalid_scope(why))),
    };
    let Some(view) = db::clients::get(&mut *state.db.get()?, ClientUuid(client.id))? else {
        return Ok(Err(OAuthError::invalid_client(false)));
    };
    let Some(namespace) = view.client.user_namespace.clone() else {
        return Ok(Err(OAuthError::unauthorized_client("the client has no user_namespace to sign users into")));
    };
    let account = match signin::password(&state.db, &state.hasher, &namespace, &username, &password, origin)? {
        SignIn::Accepted(account) => account,
        SignIn::Refused { .. } => return Ok(Err(OAuthError::invalid_grant("wrong sign-in name or password"))),
        SignIn::Throttled { retry_after, .. } => {
            return Ok(Err(crate::error::Error::TooManyRequests { retry_after }.into()))
        }
    };
    let held = account.power();
    if let Some(lacking) = scope.grants.iter().find_map(|g| grant::missing(&held, g)) {
        return Ok(Err(OAuthError::invalid_scope(format!("the account may not do {lacking}"))));
    }
    let mut conn = state.db.get()?;
    // The password grant has no second step: an account that has or must use a second factor
    // signs in through the authorization endpoint.
    let to_console = view.client.client_id == crate::domain::clients::CONSOLE_CLIENT_ID;
    let needs_factor = db::factors::any(&mut conn, AccountId(account.id))?
        || factors::required_by(&mut conn, &account, to_console, state.oauth.settings.console_mfa_required, None)?
            .is_some();
    if needs_factor {
        return Ok(Err(OAuthError::invalid_grant(
            "this account signs in with a second factor, which the password grant cannot ask for: use the authorization code flow",
        )));
    }
    let issued = state.db.write_blocking(&mut conn, |conn| {
        let issued = issuance::issue_for_user(
            conn,
            &state.oauth,
            UserTokens {
                client: &view,
                account: &account,
                scope: &scope,
                nonce: None,
                auth_time: db::now(),
                amr: "pwd",
                session_id: None,
                family_id: None,
                // The password grant ignores the `claims` parameter (as documented).
                claims: &Default::default(),
                dpop_jkt: client.dpop_jkt.as_deref(),
            },
        )?;
        let event = issuance::token_event(&client.actor, GrantType::Password, Some(&account))
            .request(origin.request_id.clone(), origin.ip.clone())
            .changes(json!({ "grant_type": GrantType::Password, "scope": issued.scope(), "jti": issued.jti() }));
        db::audit::append(conn, vec![event])?;
        Ok(issued)
    })?;
    Ok(Ok((Issued::Signed(issued.sign(&mut conn, &state.oauth)?), None)))
}

/// The token endpoint's client after an authentication answer; `refused` words a rejection.
fn token_client(
    state: &AppState,
    client_id: &str,
    answer: Authentication,
    refused: impl FnOnce(&str) -> OAuthError,
) -> Refusable<TokenClient, (OAuthError, Actor)> {
    Ok(match answer {
        Authentication::Accepted { caller, profile, .. } => {
            state.audit.touch_client(caller.id());
            Ok(TokenClient {
                id: caller.id(),
                client_id: client_id.to_owned(),
                actor: caller.actor(),
                caller: Some(caller),
                profile,
                dpop_jkt: None,
            })
        }
        Authentication::Rejected { actor, reason } => Err((refused(reason), actor)),
        Authentication::Throttled { retry_after, actor } => {
            Err((crate::error::Error::TooManyRequests { retry_after }.into(), actor))
        }
    })
}

/// Authenticates the client; a refusal carries the actor to audit.
pub fn authenticate_client(
    state: &AppState,
    presented: &Presented,
    origin: &Origin,
) -> Refusable<TokenClient, (OAuthError, Actor)> {
    match presented {
        Presented::Secret { client_id, secret, basic } => {
            let answer = authn::client_secret(&state.db, &state.hasher, &state.verified, client_id, secret, origin)?;
            token_client(state, client_id, answer, |_| OAuthError::invalid_client(*basic))
        }
        Presented::Assertion { client_id, assertion } => {
            let settings = &state.oauth.settings;
            let audiences: Vec<String> = std::iter::once(settings.issuer.clone())
                .chain(
                    ["/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/par", "/oauth/device_authorization"]
                        .map(|p| settings.url(p)),
                )
                .collect();
            let answer =
                client_assertion::authenticate(&state.db, &state.client_keys, client_id, assertion, &audiences)?;
            // The reason goes to the client too: an integrator debugging its assertions needs it,
            // and it tells nothing a key holder does not know.
            token_client(state, client_id, answer, |reason| OAuthError {
                description: reason.to_owned(),
                ..OAuthError::invalid_client(false)
            })
        }
        Presented::Public { client_id } => {
            let credential = state.db.credential(&mut *state.db.get()?, ClientId(client_id), db::now())?;
            match credential {
                Some(c)
                    if c.profile.token_endpoint_auth_method == TokenEndpointAuthMethod::None
                        && !c.disabled
                        && c.owner.as_ref().is_some_and(|o| !o.disabled) =>
                {
                    let actor = c.actor();
                    Ok(Ok(TokenClient {
                        id: c.id,
                        client_id: c.client_id,
                        caller: None,
                        profile: c.profile,
                        actor,
                        dpop_jkt: None,
                    }))
                }
                Some(c) => Ok(Err((OAuthError::invalid_client(false), Actor::client(c.id.to_string(), None)))),
                None => Ok(Err((OAuthError::invalid_client(false), Actor::anonymous()))),
            }
        }
    }
}

/// Client credentials from `Authorization: Basic` (form-urlencoded id and secret, RFC 6749
/// 2.3.1) or from the body; using both is an error.
pub fn presented(req: &HttpRequest, form: &Form) -> std::result::Result<Presented, OAuthError> {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(kind) = form.get("client_assertion_type") {
        if header.is_some() || form.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"));
        }
        if kind != client_assertion::ASSERTION_TYPE {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {}",
                client_assertion::ASSERTION_TYPE
            )));
        }
        let assertion = form.require("client_assertion")?.to_owned();
        let claimed = client_assertion::claimed_client_id(&assertion);
        let client_id = match (form.get("client_id"), claimed) {
            (Some(id), Some(claimed)) if id != claimed => return Err(OAuthError::invalid_client(false)),
            (Some(id), _) => id.to_owned(),
            (None, Some(claimed)) => claimed,
            (None, None) => return Err(OAuthError::invalid_client(false)),
        };
        return Ok(Presented::Assertion { client_id, assertion });
    }
    if let Some(value) = header {
        let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(|| OAuthError::invalid_client(true))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::invalid_client(true));
        }
        if form.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| OAuthError::invalid_client(true))?;
        let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client(true))?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| OAuthError::invalid_client(true))?;
        let decode = |s: &str| {
            form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
        };
        let (client_id, secret) = (decode(id), decode(secret));
        if client_id.is_empty() || form.get("client_id").is_some_and(|c| c != client_id) {
            return Err(OAuthError::invalid_client(true));
        }
        return Ok(Presented::Secret { client_id, secret, basic: true });
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => {
            Ok(Presented::Secret { client_id: id.to_owned(), secret: secret.to_owned(), basic: false })
        }
        (Some(id), None) => Ok(Presented::Public { client_id: id.to_owned() }),
        _ => Err(OAuthError::invalid_client(false)),
    }
}
