//! Who is calling: the `Api` extractor authenticates the request (HTTP Basic with a client's
//! id and secret) and carries the request's context into the domain.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;

use super::AppState;
use crate::db::Conn;
use crate::domain::audit::Actor;
use crate::domain::authn::{self, Authentication};
use crate::domain::idempotency::{self, Claim, Outcome, Reply};
use crate::domain::{Context, Precondition};
use crate::error::{Error, Result};

/// The id of the current request (also sent back as `X-Request-Id`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// How authentication went, for the audit middleware.
#[derive(Debug, Clone)]
pub enum AuthRecord {
    Accepted { actor: Actor, verified_now: bool },
    Rejected { reason: &'static str, actor: Option<Actor> },
}

/// An authenticated Management API request.
pub struct Api {
    pub ctx: Arc<Context>,
    pub state: web::Data<AppState>,
    pub req: HttpRequest,
}

impl FromRequest for Api {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| Error::internal("no app state"))?;
            let reject = |reason: &'static str, actor: Option<Actor>| {
                req.extensions_mut().insert(AuthRecord::Rejected { reason, actor });
                Error::Unauthenticated { reason }
            };
            let (client_id, secret) = match basic_credentials(&req) {
                Ok(credentials) => credentials,
                Err(reason) => return Err(reject(reason, None)),
            };
            match authn::client_secret(&state.db, &state.hasher, &state.verified, &client_id, &secret).await? {
                Authentication::Accepted { caller, verified_now } => {
                    req.extensions_mut().insert(AuthRecord::Accepted { actor: caller.actor(), verified_now });
                    state.audit.touch_client(caller.id());
                    let ctx = Context { caller, request_id: request_id(&req), ip: client_ip(&req, state.trust_forwarded_for) };
                    Ok(Api { ctx: Arc::new(ctx), state, req })
                }
                Authentication::Rejected { reason, actor } => Err(reject(reason, Some(actor))),
            }
        })
    }
}

impl Api {
    /// Runs a read on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn, &Context) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let ctx = self.ctx.clone();
        self.state.db.run(move |conn| f(conn, &ctx)).await
    }

    /// Runs a change, with its audit events, in one transaction on a blocking thread.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Conn, &Context) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let ctx = self.ctx.clone();
        self.state.db.write(move |conn| f(conn, &ctx)).await
    }

    pub fn if_match(&self) -> Result<Option<Precondition>> {
        super::extract::if_match(&self.req)
    }

    /// Runs a create once per `Idempotency-Key` (see [`idempotency`]) and answers with the
    /// stored or fresh reply.
    pub async fn create<F>(&self, digest: [u8; 32], f: F) -> Result<HttpResponse>
    where
        F: Fn(&mut Conn, &Context) -> Result<Reply> + Send + Sync + Clone + 'static,
    {
        let claim = self.claim(digest)?;
        let attempt = |claim: Option<Claim>, f: F| {
            self.write(move |conn, ctx| idempotency::once(conn, claim.as_ref(), |conn| f(conn, ctx)))
        };
        let outcome = match attempt(claim.clone(), f.clone()).await {
            Err(Error::Conflict(m)) if claim.is_some() && m == idempotency::IN_PROGRESS => attempt(claim, f).await?,
            other => other?,
        };
        Ok(reply_response(outcome))
    }

    /// The caller's Idempotency-Key for this request, if it sent one.
    pub fn claim(&self, digest: [u8; 32]) -> Result<Option<Claim>> {
        let key = super::extract::idempotency_key(&self.req)?;
        Ok(key.map(|key| Claim::new(&self.ctx.caller.id().to_string(), &key, digest)))
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
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(reply.body)
}

/// `Authorization: Basic base64(client_id:client_secret)`.
fn basic_credentials(req: &HttpRequest) -> std::result::Result<(String, String), &'static str> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or("no credentials")?;
    let text = value.to_str().map_err(|_| "malformed Authorization header")?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or("malformed Authorization header")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err("unsupported authentication scheme");
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| "malformed Basic credentials")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "malformed Basic credentials")?;
    let (id, secret) = decoded.split_once(':').ok_or("malformed Basic credentials")?;
    if id.is_empty() || id.len() > 128 || secret.is_empty() || secret.len() > 512 {
        return Err("malformed Basic credentials");
    }
    Ok((id.to_owned(), secret.to_owned()))
}

pub fn request_id(req: &HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

/// The caller's address: the peer, or the first `X-Forwarded-For` hop when the server sits
/// behind a trusted proxy (`--trust-forwarded-for`).
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
        if let Some(ip) = forwarded {
            return Some(ip.to_owned());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}
