//! Around every request: a request id (the caller's `X-Request-Id` when it is short and plain),
//! one log line, metrics, and the headers every answer carries.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use super::{AppState, AuthRecord, RequestId};

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
    if let Some(state) = &state {
        let pattern = match super::route(res.request()) {
            Some(route) => std::borrow::Cow::Borrowed(route.pattern.as_str()),
            None => std::borrow::Cow::Owned(res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned())),
        };
        state.metrics.observe_request(method.as_str(), &pattern, status.as_u16(), elapsed.as_secs_f64());
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
