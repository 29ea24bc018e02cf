//! Who is calling. The `Api` extractor reads the credentials (HTTP Basic with a client's id and
//! secret, a Bearer token, or the console's session cookie with its CSRF header); the first
//! database call of the handler authenticates them and runs the handler's work in the same
//! blocking call, so a request crosses to a blocking thread once.

use std::cell::RefCell;
use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;

use crate::console;
use crate::db::{self, Conn};
use crate::domain::audit::Actor;
use crate::domain::authn::{self, Authentication, Origin};
use crate::domain::crypto::same;
use crate::domain::idempotency::{self, Claim, Outcome, Reply};
use crate::domain::{Caller, Context, Precondition};
use crate::error::{Error, Result};
use crate::oauth::bearer;
use crate::shell::{client_ip, request_id, AppState, AuthRecord, OAuth};

/// What an `Authorization` header (or the console's cookie) presents.
#[derive(Clone)]
pub enum Credentials {
    Basic {
        client_id: String,
        secret: String,
    },
    Bearer(String),
    /// `Authorization: DPoP <token>` with the request's `DPoP` proof header (RFC 9449 §7).
    DPoP {
        token: String,
        proof: Option<String>,
    },
    /// The console's session cookie and the `X-CSRF-Token` header that must come with it.
    Console {
        cookie: String,
    },
}

/// A Management API request with credentials; authenticated on first use.
pub struct Api {
    pub state: web::Data<AppState>,
    pub req: HttpRequest,
    credentials: Credentials,
    request_id: String,
    ip: Option<String>,
    ctx: RefCell<Option<Arc<Context>>>,
}

impl FromRequest for Api {
    type Error = Error;
    type Future = Ready<Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return ready(Err(Error::internal("no app state")));
        };
        ready(match credentials(req, &state.oauth) {
            Ok(credentials) => {
                req.extensions_mut().insert(Presented(credentials.clone()));
                Ok(Api::presenting(req, state, credentials))
            }
            Err((reason, bearer)) => {
                req.extensions_mut().insert(AuthRecord::Rejected { reason, actor: None, bearer, client_id: None });
                Err(Error::Unauthenticated { reason, bearer })
            }
        })
    }
}

impl Api {
    /// A caller presenting `credentials`, not yet checked.
    fn presenting(req: &HttpRequest, state: web::Data<AppState>, credentials: Credentials) -> Api {
        Api {
            ip: client_ip(req, state.trust_forwarded_for),
            request_id: request_id(req),
            state,
            req: req.clone(),
            credentials,
            ctx: RefCell::new(None),
        }
    }
}

/// The credentials an `Api` was extracted with, until the handler checks them. Extractors
/// that refuse the rest of the request (its body, its query) check them first: see
/// [`authenticate_first`].
#[derive(Clone)]
struct Presented(Credentials);

/// Decides authentication before a request's input is refused. With wrong, disabled or
/// locked-out credentials the answer is their 401 (or 429), whatever the body or query: a
/// caller who cannot authenticate learns nothing of the validation rules, and its attempt is
/// counted and audited like any other. With good credentials the refusal stands, now on record
/// with its actor. Requests without an `Api` (public routes) get `refusal` unchanged; requests
/// without credentials were already refused by the `Api` extractor.
pub async fn authenticate_first(req: &HttpRequest, refusal: Error) -> Error {
    let presented = req.extensions().get::<Presented>().cloned();
    let (Some(Presented(credentials)), Some(state)) = (presented, req.app_data::<web::Data<AppState>>().cloned())
    else {
        return refusal;
    };
    Api::presenting(req, state, credentials).refusal_once_authenticated(refusal).await
}

/// What a blocking call brings back: how authentication went, and the work's result.
struct Done<T> {
    record: AuthRecord,
    ctx: Option<Arc<Context>>,
    value: Result<T>,
}

impl<T> Done<T> {
    fn refused(record: AuthRecord, error: Error) -> Done<T> {
        Done { record, ctx: None, value: Err(error) }
    }
}

/// How presented credentials went.
enum Checked {
    /// `verified_now`: a secret was hashed for this request.
    Accepted { caller: Caller, verified_now: bool },
    /// The refusal's reason, the actor it names and the error to answer.
    Refused { reason: &'static str, actor: Option<Actor>, error: Error },
}

/// The outcome of a client's id and secret (HTTP Basic).
fn basic(state: &AppState, authentication: Authentication) -> Checked {
    match authentication {
        Authentication::Accepted { caller, verified_now, .. } => {
            state.audit.touch_client(caller.id());
            Checked::Accepted { caller, verified_now }
        }
        Authentication::Rejected { reason, actor } => {
            Checked::Refused { reason, actor: Some(actor), error: Error::Unauthenticated { reason, bearer: false } }
        }
        Authentication::Throttled { retry_after, actor } => Checked::Refused {
            reason: "locked out after repeated failures",
            actor: Some(actor),
            error: Error::TooManyRequests { retry_after },
        },
    }
}

/// Authentication and a read in one snapshot of the database, one read transaction on SQLite
/// (ADR 0024): for a read presented with HTTP Basic whose secret was verified before, or with a
/// Bearer token (neither writes). `check` answers None when the credential must take the usual
/// path (a secret to verify, with its throttle and hashing).
fn read_in_snapshot<T>(
    state: &AppState,
    credentials: &Credentials,
    (request_id, ip): (&str, &Option<String>),
    check: impl FnOnce(&mut Conn) -> Result<Option<Checked>>,
    read: impl FnOnce(&mut Conn, &Context) -> Result<T>,
) -> Result<Option<Done<T>>> {
    let mut conn = state.db.get()?;
    db::read_snapshot(&mut conn, |conn| {
        let Some(checked) = check(conn)? else { return Ok(None) };
        Ok(Some(match authenticated(credentials, checked, request_id.to_owned(), ip.clone()) {
            Authenticated::Caller(ctx, record) => {
                let value = read(conn, &ctx);
                Done { record, ctx: Some(ctx), value }
            }
            Authenticated::Refused(record, error) => Done::refused(record, error),
        }))
    })
}

/// The outcome of an access token (`bearer`) or a console session: the caller, or why not.
fn presented<Claims>(outcome: std::result::Result<(Caller, Claims), &'static str>, bearer: bool) -> Checked {
    match outcome {
        Ok((caller, _)) => Checked::Accepted { caller, verified_now: false },
        Err(reason) => Checked::Refused { reason, actor: None, error: Error::Unauthenticated { reason, bearer } },
    }
}

/// An access token, checked on `conn`.
fn token_checked(
    state: &AppState,
    conn: &mut Conn,
    token: &str,
    presentation: &bearer::Presentation,
) -> Result<Checked> {
    Ok(presented(bearer::authenticate(&state.db, conn, &state.oauth, token, presentation)?, true))
}

/// The caller's context, or the refusal's error; either way the record of how it went.
enum Authenticated {
    Caller(Arc<Context>, AuthRecord),
    Refused(AuthRecord, Error),
}

fn authenticated(credentials: &Credentials, checked: Checked, request_id: String, ip: Option<String>) -> Authenticated {
    match checked {
        Checked::Accepted { caller, verified_now } => {
            let record = AuthRecord::Accepted { actor: caller.actor(), verified_now };
            Authenticated::Caller(Arc::new(Context { caller, request_id, ip }), record)
        }
        Checked::Refused { reason, actor, error } => {
            let bearer = matches!(credentials, Credentials::Bearer(_) | Credentials::DPoP { .. });
            let client_id = match credentials {
                Credentials::Basic { client_id, .. } => Some(authn::shown_client_id(client_id)),
                _ => None,
            };
            Authenticated::Refused(AuthRecord::Rejected { reason, actor, bearer, client_id }, error)
        }
    }
}

impl Api {
    /// Authenticates (once per request) and returns the caller's context.
    pub async fn context(&self) -> Result<Arc<Context>> {
        self.run(false, |_, ctx| Ok(Arc::new(ctx.clone()))).await
    }

    /// Runs a read on a blocking thread, authenticating first if that has not happened yet.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn, &Context) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(false, f).await
    }

    /// Runs a change, with its audit events, in one transaction on a blocking thread.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn, &Context) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(true, f).await
    }

    async fn run<T, F>(&self, write: bool, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn, &Context) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let known = self.ctx.borrow().clone();
        let state = self.state.clone();
        let credentials = self.credentials.clone();
        let (request_id, ip) = (self.request_id.clone(), self.ip.clone());
        // What a DPoP proof must name: this request's method and URL, as the issuer names it.
        let (method, url) = (self.req.method().as_str().to_owned(), self.state.oauth.settings.url(self.req.path()));
        let _permit = self.state.db.admit().await?;
        let done = db::blocking(move || {
            let mut work = Some(f);
            let mut run_work = |conn: &mut Conn, ctx: &Context| {
                let f = work.take().expect("the work runs once");
                if write {
                    state.db.write_blocking(conn, |conn| f(conn, ctx))
                } else {
                    f(conn, ctx)
                }
            };
            let (ctx, record) = match known {
                Some(ctx) => (ctx, None),
                None => {
                    let at = (request_id.as_str(), &ip);
                    let in_snapshot = match (write, &credentials) {
                        (false, Credentials::Basic { client_id, secret }) => {
                            let verified_before = |conn: &mut Conn| {
                                let answer = authn::client_secret_verified_before(
                                    &state.db,
                                    conn,
                                    &state.verified,
                                    client_id,
                                    secret,
                                )?;
                                Ok(answer.map(|answer| basic(&state, answer)))
                            };
                            read_in_snapshot(&state, &credentials, at, verified_before, &mut run_work)?
                        }
                        (false, Credentials::Bearer(token)) => {
                            let check = |conn: &mut Conn| {
                                Ok(Some(token_checked(&state, conn, token, &bearer::Presentation::Bearer)?))
                            };
                            read_in_snapshot(&state, &credentials, at, check, &mut run_work)?
                        }
                        _ => None,
                    };
                    if let Some(done) = in_snapshot {
                        return Ok(done);
                    }
                    let origin = Origin { ip: ip.clone(), request_id: Some(request_id.clone()) };
                    let checked = match &credentials {
                        Credentials::Basic { client_id, secret } => basic(
                            &state,
                            authn::client_secret(
                                &state.db,
                                &state.hasher,
                                &state.verified,
                                client_id,
                                secret,
                                &origin,
                            )?,
                        ),
                        Credentials::Bearer(token) | Credentials::DPoP { token, .. } => {
                            let presentation = match &credentials {
                                Credentials::DPoP { proof, .. } => {
                                    bearer::Presentation::DPoP { proof: proof.as_deref(), method: &method, url: &url }
                                }
                                _ => bearer::Presentation::Bearer,
                            };
                            token_checked(&state, &mut *state.db.get()?, token, &presentation)?
                        }
                        // Its CSRF header was checked when the request arrived.
                        Credentials::Console { cookie } => {
                            presented(console::session::authenticate(&state, cookie)?, false)
                        }
                    };
                    match authenticated(&credentials, checked, request_id, ip) {
                        Authenticated::Caller(ctx, record) => (ctx, Some(record)),
                        Authenticated::Refused(record, error) => return Ok(Done::refused(record, error)),
                    }
                }
            };
            let value = run_work(&mut *state.db.get()?, &ctx);
            Ok(Done {
                record: record.unwrap_or(AuthRecord::Accepted { actor: ctx.caller.actor(), verified_now: false }),
                ctx: Some(ctx),
                value,
            })
        })
        .await?;
        if self.ctx.borrow().is_none() {
            self.req.extensions_mut().insert(done.record);
            *self.ctx.borrow_mut() = done.ctx;
        }
        done.value
    }

    /// The `If-Match` header; a malformed one is refused only to an authenticated caller.
    pub async fn if_match(&self) -> Result<Option<Precondition>> {
        match super::extract::if_match(&self.req) {
            Ok(condition) => Ok(condition),
            Err(refusal) => Err(self.refusal_once_authenticated(refusal).await),
        }
    }

    /// `refusal` of the request's input, or the caller's 401 (or 429) when its credentials are
    /// not good: credentials are decided first.
    async fn refusal_once_authenticated(&self, refusal: Error) -> Error {
        match self.context().await {
            Ok(_) => refusal,
            Err(error) => error,
        }
    }

    /// Runs a create once per `Idempotency-Key` (see [`idempotency`]) and answers with the
    /// stored or fresh reply. `authorize` runs first every time, so a retry is replayed only
    /// while the caller may still do what it asked (a stored reply may carry a secret).
    pub async fn create<A, F>(&self, digest: [u8; 32], authorize: A, f: F) -> Result<HttpResponse>
    where
        A: Fn(&mut Conn, &Context) -> Result<()> + Send + Sync + Clone + 'static,
        F: Fn(&mut Conn, &Context) -> Result<Reply> + Send + Sync + Clone + 'static,
    {
        let key = match super::extract::idempotency_key(&self.req) {
            Ok(key) => key,
            // Credentials first: a malformed key is refused only to an authenticated caller.
            Err(refusal) => return Err(self.refusal_once_authenticated(refusal).await),
        };
        let attempt = |authorize: A, f: F, key: Option<String>| {
            self.write(move |conn, ctx| {
                authorize(conn, ctx)?;
                let claim = key.map(|key| Claim::new(&ctx.caller.id().to_string(), &key, digest));
                idempotency::once(conn, claim.as_ref(), |conn| f(conn, ctx))
            })
        };
        let outcome = match attempt(authorize.clone(), f.clone(), key.clone()).await {
            Err(Error::Conflict(m)) if key.is_some() && m == idempotency::IN_PROGRESS => {
                attempt(authorize, f, key).await?
            }
            other => other?,
        };
        Ok(reply_response(outcome))
    }

    /// The caller's Idempotency-Key for this request, if it sent one.
    pub fn claim(&self, ctx: &Context, digest: [u8; 32]) -> Result<Option<Claim>> {
        let key = super::extract::idempotency_key(&self.req)?;
        Ok(key.map(|key| Claim::new(&ctx.caller.id().to_string(), &key, digest)))
    }
}

/// The HTTP response for a (possibly replayed) reply.
pub fn reply_response(outcome: Outcome) -> HttpResponse {
    let (reply, replayed) = match outcome {
        Outcome::Fresh(reply) => (reply, false),
        Outcome::Replayed(reply) => (reply, true),
    };
    let status = actix_web::http::StatusCode::from_u16(reply.status).unwrap_or(actix_web::http::StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if let Some(location) = reply.location {
        response.insert_header((header::LOCATION, location));
    }
    if let Some(etag) = reply.etag {
        response.insert_header((header::ETAG, etag));
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(reply.body)
}

/// `Authorization: Basic base64(client_id:client_secret)`, `Authorization: Bearer <token>`, or
/// (without an Authorization header) the console's session cookie; a refusal says whether it
/// concerned a Bearer token.
fn credentials(req: &HttpRequest, oauth: &OAuth) -> std::result::Result<Credentials, (&'static str, bool)> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        let cookie = console::session_cookie(req, &oauth.settings).ok_or(("no credentials", false))?;
        // Checked before anything else of the request is read: a cross-site form or script
        // cannot send this header, and without it the cookie counts for nothing.
        let csrf = req.headers().get(console::CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !same(csrf, &console::session::csrf_token(oauth, &cookie)) {
            return Err(("the console session needs its X-CSRF-Token header", false));
        }
        return Ok(Credentials::Console { cookie });
    };
    let text = value.to_str().map_err(|_| ("malformed Authorization header", false))?;
    match authorization(text)? {
        Credentials::DPoP { token, .. } => {
            let mut proofs = req.headers().get_all(crate::domain::dpop::HEADER);
            let proof = proofs.next().map(|p| p.to_str().map(str::to_owned));
            if proofs.next().is_some() {
                return Err(("DPoP proof: exactly one DPoP header is allowed", true));
            }
            let proof = proof.transpose().map_err(|_| ("DPoP proof: the header is not text", true))?;
            Ok(Credentials::DPoP { token, proof })
        }
        other => Ok(other),
    }
}

/// Parses an `Authorization` header value: `Basic`, `Bearer` or `DPoP` (its proof not yet
/// read).
pub fn authorization(text: &str) -> std::result::Result<Credentials, (&'static str, bool)> {
    let (scheme, rest) = text.trim().split_once(' ').ok_or(("malformed Authorization header", false))?;
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if scheme.eq_ignore_ascii_case("bearer") || dpop {
        let token = rest.trim();
        if token.is_empty() || token.len() > 8192 {
            return Err(("malformed Bearer token", true));
        }
        if dpop {
            return Ok(Credentials::DPoP { token: token.to_owned(), proof: None });
        }
        return Ok(Credentials::Bearer(token.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(("unsupported authentication scheme", false));
    }
    basic_credentials(rest).map(|(client_id, secret)| Credentials::Basic { client_id, secret }).map_err(|r| (r, false))
}

fn basic_credentials(encoded: &str) -> std::result::Result<(String, String), &'static str> {
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| "malformed Basic credentials")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "malformed Basic credentials")?;
    let (id, secret) = decoded.split_once(':').ok_or("malformed Basic credentials")?;
    if id.is_empty() || id.len() > 128 || secret.is_empty() || secret.len() > 512 {
        return Err("malformed Basic credentials");
    }
    Ok((id.to_owned(), secret.to_owned()))
}
