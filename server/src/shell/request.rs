//! Who sent a request and which it is: its id (set by [`super::observe`], sent back as
//! `X-Request-Id`), the caller's address, the [`Origin`] extractor that carries both into
//! throttling and the audit log, and how authentication went ([`AuthRecord`]).

use std::convert::Infallible;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::AppState;
use crate::domain::audit::Actor;
use crate::domain::authn::Origin;

/// A named route, as the route tables attach it to each of their resources (`app_data`): what
/// the request log, the metrics and the audit middleware name a request by, read without
/// matching the path against the whole route table again (`HttpRequest::match_name` and
/// `match_pattern` do, with regular expressions, on every call).
#[derive(Debug, Clone)]
pub struct Route {
    /// The resource name (`users`, `scim_user`, …).
    pub name: &'static str,
    /// The full path pattern (`/api/v1/namespaces/{ns}/users`), the metrics' label.
    pub pattern: String,
}

/// The route that matched `req`, when its table named it.
pub fn route(req: &HttpRequest) -> Option<&Route> {
    req.app_data::<Route>()
}

/// The id of the current request (also sent back as `X-Request-Id`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The id of the current request, or empty outside [`super::observe`].
pub fn request_id(req: &HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

/// The caller's address: the peer, or, behind a trusted proxy (`--trust-forwarded-for`), the
/// address that proxy saw: the last hop of `X-Forwarded-For`. Earlier hops are whatever the
/// caller chose to send (a proxy appends to them), so they decide nothing: not the throttle's
/// per-address counters, not the address in the audit log.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .last()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
        if let Some(ip) = forwarded {
            return Some(ip.to_owned());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

/// Where a request comes from: the caller's address (as [`client_ip`] decides it under the
/// server's `--trust-forwarded-for`) and the request id.
pub fn origin(req: &HttpRequest) -> Origin {
    let trust_forwarded_for = req.app_data::<web::Data<AppState>>().is_some_and(|state| state.trust_forwarded_for);
    Origin { ip: client_ip(req, trust_forwarded_for), request_id: Some(request_id(req)) }
}

/// A handler argument `origin: Origin` is the request's [`origin`]; it never refuses.
impl FromRequest for Origin {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(origin(req)))
    }
}

/// How authentication went, for the request's log line and the audit middleware.
#[derive(Debug, Clone)]
pub enum AuthRecord {
    Accepted {
        actor: Actor,
        verified_now: bool,
    },
    /// `client_id`: the id presented with HTTP Basic, whatever it names (or nothing).
    Rejected {
        reason: &'static str,
        actor: Option<Actor>,
        bearer: bool,
        client_id: Option<String>,
    },
}
