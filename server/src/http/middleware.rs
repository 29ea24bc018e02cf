//! Around every request: a request id, one log line, metrics. Around every Management API
//! request: its audit event, unless the change it made recorded its own in its transaction.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use serde_json::json;

use super::auth::{client_ip, AuthRecord, RequestId};
use super::AppState;
use crate::domain::audit::{Actor, NewEvent, Outcome};
use crate::error::Error;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a caller's `X-Request-Id` when it is short and plain; otherwise makes one.
fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let request_id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let path = req.path().to_owned();

    let mut res = next.call(req).await?;

    let status = res.status();
    let elapsed = start.elapsed();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    // A Basic challenge makes a browser prompt for a password (and a fetch() of the console
    // wait on that prompt): scripts in a browser get the Bearer challenge alone.
    if status == StatusCode::UNAUTHORIZED && from_browser_script(res.request()) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"gatehouse\""));
    }
    // Every answer: no MIME sniffing; served over https (by the issuer), browsers stay on https.
    res.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if state.as_ref().is_some_and(|state| state.oauth.settings.secure_cookies()) {
        res.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = &state {
        state.metrics.observe_request(method.as_str(), &route, status.as_u16(), elapsed.as_secs_f64());
    }
    let who = match res.request().extensions().get::<AuthRecord>() {
        Some(AuthRecord::Accepted { actor, .. }) => format!(" {}={}", actor.kind, actor.id.as_deref().unwrap_or("")),
        _ => String::new(),
    };
    log::info!(
        target: "gatehouse::request",
        "{method} {path} {} {:.1}ms request_id={request_id}{who}",
        status.as_u16(),
        elapsed.as_secs_f64() * 1000.0
    );
    if status.is_server_error() {
        if let Some(error) = res.response().error() {
            log::error!("request_id={request_id} {method} {path}: {error}");
        }
    }
    Ok(res)
}

/// A fetch() or XMLHttpRequest of a browser (Fetch Metadata), as opposed to a navigation or a
/// program that sends no such header.
fn from_browser_script(req: &actix_web::HttpRequest) -> bool {
    req.headers().get("sec-fetch-dest").is_some_and(|v| v.as_bytes() == b"empty")
}

/// Records the request's audit event: handed to the group-committing writer before the response
/// goes out (ADR 0003). Successful changes are skipped: they append their own event in the
/// transaction that makes them.
pub async fn audit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(auth) = res.request().extensions().get::<AuthRecord>().cloned() else {
        // No authentication was attempted: a public or unknown route.
        return Ok(res);
    };
    let method = res.request().method().clone();
    let status = res.status();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let is_change = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if is_change && status.is_success() && !replayed {
        return Ok(res);
    }
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else { return Ok(res) };

    let (actor, verified_now, reason, bearer, presented) = match &auth {
        AuthRecord::Accepted { actor, verified_now } => (actor.clone(), *verified_now, None, false, None),
        AuthRecord::Rejected { reason, actor, bearer, client_id } => {
            (actor.clone().unwrap_or_else(Actor::anonymous), false, Some(*reason), *bearer, client_id.clone())
        }
    };
    let request_id = res.request().extensions().get::<RequestId>().map(|r| r.0.clone());
    let ip = client_ip(res.request(), state.trust_forwarded_for);
    let error = res.response().error().and_then(|e| e.as_error::<Error>());

    let mut events = Vec::new();
    if verified_now {
        events.push(NewEvent::new(actor.clone(), "auth.basic.success").request(request_id.clone(), ip.clone()));
    }
    let quiet_read = !state.audit_reads && !is_change && status.is_success() && reason.is_none();
    if quiet_read {
        state.audit.record(events).await?;
        return Ok(res);
    }
    let event = if let Some(reason) = reason {
        let outcome = if status == StatusCode::TOO_MANY_REQUESTS { Outcome::Denied } else { Outcome::Failure };
        let action = if bearer { "auth.bearer.failure" } else { "auth.basic.failure" };
        let changes = match presented {
            Some(client_id) => json!({ "reason": reason, "client_id": client_id }),
            None => json!({ "reason": reason }),
        };
        NewEvent::new(actor, action).outcome(outcome).changes(changes)
    } else {
        let route = res.request().match_name().unwrap_or("unknown");
        let mut event = NewEvent::new(actor, &action_of(route, &method));
        let info = res.request().match_info();
        if let Some(ns) = info.get("ns") {
            event = event.namespace(ns);
        }
        if let Some((kind, id)) = target_of(route, info.get("ns"), info.get("id")) {
            event = event.target(kind, id);
        }
        let outcome = match status {
            s if s.is_success() => Outcome::Success,
            StatusCode::FORBIDDEN => Outcome::Denied,
            _ => Outcome::Failure,
        };
        event = event.outcome(outcome);
        match (error, replayed) {
            (_, true) => event.changes(json!({ "idempotent_replay": true })),
            (Some(Error::Forbidden { detail, missing }), _) => {
                event.changes(json!({ "missing_grant": missing, "detail": detail }))
            }
            (Some(e), _) => event.changes(json!({ "status": status.as_u16(), "detail": e.to_problem().detail })),
            (None, _) => event,
        }
    };
    events.push(event.request(request_id, ip));

    match state.audit.record(events).await {
        Ok(()) => Ok(res),
        Err(e) => {
            log::error!("audit event lost, refusing the response: {e}");
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, e.error_response()))
        }
    }
}

/// The audit action of a request to a named route.
fn action_of(route: &str, method: &Method) -> String {
    let verb = match *method {
        Method::GET | Method::HEAD => "read",
        Method::POST => "create",
        Method::PUT => "set",
        Method::PATCH => "update",
        Method::DELETE => "delete",
        _ => "request",
    };
    let action = match (route, verb) {
        ("namespaces", "read") => "namespace.list",
        ("users", "read") => "user.list",
        ("clients", "read") => "client.list",
        ("audit_events", _) => "audit.list",
        ("me", "read") => "me.read",
        ("me", _) => "user.profile.update",
        ("me_password", _) => "user.password.change",
        ("me_consents", _) => "user.consent.list",
        ("me_consent", _) => "user.consent.withdraw",
        ("keys", _) => "keys.list",
        ("keys_rotate", _) => "keys.rotate",
        ("users_import", _) => "user.import",
        ("client_secrets", _) => "client.secret.rotate",
        ("client_effective_permissions", _) => "client.permissions.read",
        ("user_password", _) => "user.password.set",
        ("user_permissions", "read") => "user.permissions.read",
        ("user_permissions", _) => "user.permissions.set",
        ("namespaces" | "namespace", verb) => return format!("namespace.{verb}"),
        ("users" | "user", verb) => return format!("user.{verb}"),
        ("clients" | "client", verb) => return format!("client.{verb}"),
        (other, verb) => return format!("{other}.{verb}"),
    };
    action.to_owned()
}

fn target_of<'a>(route: &str, ns: Option<&'a str>, id: Option<&'a str>) -> Option<(&'static str, &'a str)> {
    match (route, ns, id) {
        (r, _, Some(id)) if r.starts_with("client") => Some(("client", id)),
        (_, _, Some(id)) => Some(("account", id)),
        ("namespace", Some(ns), None) => Some(("namespace", ns)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_audit_actions() {
        assert_eq!(action_of("user", &Method::GET), "user.read");
        assert_eq!(action_of("users", &Method::GET), "user.list");
        assert_eq!(action_of("users", &Method::POST), "user.create");
        assert_eq!(action_of("client_secrets", &Method::POST), "client.secret.rotate");
        assert_eq!(action_of("namespace", &Method::DELETE), "namespace.delete");
    }
}
