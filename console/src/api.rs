//! A small typed client for the Management API and the console's session endpoints.
//!
//! Every request goes to the same origin (the session cookie travels by itself). Requests to
//! `/api/v1` carry the CSRF token kept in memory by [`set_csrf_token`]; a `401` from them means
//! the session ended and calls the hook installed with [`on_unauthorized`]. Failures decode the
//! RFC 9457 problem document into an [`ApiError`]. A read (`GET`) is aborted when whatever
//! asked for it is cleaned up (a page left, a resource refetched): its answer would go nowhere.
//! Changes always run to their end. The URLs themselves are in [`crate::paths`].

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use gatehouse_api_types::{FieldError, Problem};
use serde::de::DeserializeOwned;
use serde::Serialize;

thread_local! {
    /// The CSRF token of the current session: memory only, gone on reload.
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Called when an `/api/v1` request answers 401.
    static ON_UNAUTHORIZED: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

pub fn set_csrf_token(token: Option<String>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = token);
}

fn csrf_token() -> Option<String> {
    CSRF_TOKEN.with(|t| t.borrow().clone())
}

pub fn on_unauthorized(hook: impl Fn() + 'static) {
    ON_UNAUTHORIZED.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
}

fn session_ended() {
    ON_UNAUTHORIZED.with(|h| {
        if let Some(hook) = h.borrow().as_ref() {
            hook();
        }
    });
}

// ---------------------------------------------------------------- errors

/// A failed request: the HTTP status (0 when the server was not reached, or the form was
/// rejected before sending), the problem's detail, its field errors and missing grant.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub detail: String,
    pub field_errors: Vec<FieldError>,
    pub missing_grant: Option<String>,
}

impl ApiError {
    /// Decodes the body of a failed response; anything but a problem document gives a generic
    /// message.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<Problem>(body) {
            Ok(problem) => {
                let detail = if problem.detail.trim().is_empty() { problem.title } else { problem.detail };
                ApiError {
                    status,
                    detail,
                    field_errors: problem.errors.unwrap_or_default(),
                    missing_grant: problem.missing_grant,
                }
            }
            Err(_) => ApiError {
                status,
                detail: format!("the server answered HTTP {status}"),
                field_errors: Vec::new(),
                missing_grant: None,
            },
        }
    }

    pub fn network(what: impl fmt::Display) -> Self {
        ApiError {
            status: 0,
            detail: format!("could not reach the server ({what})"),
            field_errors: Vec::new(),
            missing_grant: None,
        }
    }

    /// A form that failed the console's own checks; it was not sent.
    pub fn invalid(field_errors: Vec<FieldError>) -> Self {
        let detail = match field_errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        ApiError { status: 400, detail, field_errors, missing_grant: None }
    }

    /// A single-field error raised before sending.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    /// The text for the error banner. A 403 names the grant the caller lacks.
    pub fn message(&self) -> String {
        if self.status == 403 {
            if let Some(grant) = &self.missing_grant {
                return format!("You lack {grant}");
            }
            if self.detail.is_empty() {
                return "You are not allowed to do that".to_owned();
            }
        }
        if self.status == 412 {
            return "Someone changed this in the meantime; reload it and try again".to_owned();
        }
        capitalize(&self.detail)
    }

    /// The messages for one form field (`permissions` also matches `permissions[2]`).
    pub fn errors_for(&self, field: &str) -> Vec<String> {
        errors_for(&self.field_errors, field)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApiError {}

pub fn errors_for(errors: &[FieldError], field: &str) -> Vec<String> {
    errors
        .iter()
        .filter(|e| {
            e.field == field
                || e.field.strip_prefix(field).is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
        })
        .map(|e| e.message.clone())
        .collect()
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------- URLs

/// Percent-encodes a query value or path segment (everything but RFC 3986 unreserved).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=2` from the pairs whose value is present and not blank; empty when none is.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

// ---------------------------------------------------------------- requests

/// A successful response: its status, body text and ETag.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_str(&self.body).map_err(|e| ApiError {
            status: self.status,
            detail: format!("the server sent an unexpected answer ({e})"),
            field_errors: Vec::new(),
            missing_grant: None,
        })
    }
}

/// Sends one same-origin request; any non-2xx status is an error. `csrf` adds the token.
pub async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
    if_match: Option<&str>,
    csrf: bool,
) -> Result<Reply, ApiError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let headers = web_sys::Headers::new().map_err(js_error)?;
    headers.set("Accept", "application/json").map_err(js_error)?;
    if csrf {
        if let Some(token) = csrf_token() {
            headers.set("X-CSRF-Token", &token).map_err(js_error)?;
        }
    }
    if let Some(etag) = if_match {
        headers.set("If-Match", etag).map_err(js_error)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").map_err(js_error)?;
        init.set_body(&wasm_bindgen::JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    if method == "GET" {
        abort_on_cleanup(&init);
    }
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(js_error)?;
    let response: web_sys::Response = response.dyn_into().map_err(js_error)?;
    let status = response.status();
    let etag = response.headers().get("ETag").ok().flatten();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    if (200..300).contains(&status) {
        Ok(Reply { status, body: text, etag })
    } else {
        Err(ApiError::from_response(status, &text))
    }
}

/// Gives the request an abort signal, raised when the reactive owner that sent it (a resource,
/// a page) is cleaned up. Outside any owner, the request simply runs to its end.
fn abort_on_cleanup(init: &web_sys::RequestInit) {
    let Ok(controller) = web_sys::AbortController::new() else { return };
    init.set_signal(Some(&controller.signal()));
    // The console runs on one thread; the wrapper only satisfies `on_cleanup`'s bounds.
    let controller = send_wrapper::SendWrapper::new(controller);
    leptos::prelude::on_cleanup(move || controller.abort());
}

fn js_error(value: wasm_bindgen::JsValue) -> ApiError {
    let text = value
        .as_string()
        .or_else(|| js_sys::Reflect::get(&value, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "network error".to_owned());
    ApiError::network(text)
}

/// A request to `/api/v1`: CSRF header on, 401 ends the session. Boxed, so that the typed
/// helpers below stay small in the wasm: each only decodes its own type.
fn call(
    method: &'static str,
    path: &str,
    body: Option<String>,
    if_match: Option<&str>,
) -> Pin<Box<dyn Future<Output = Result<Reply, ApiError>>>> {
    let path = path.to_owned();
    let if_match = if_match.map(str::to_owned);
    Box::pin(async move {
        let result = send(method, &path, body, if_match.as_deref(), true).await;
        if let Err(e) = &result {
            if e.status == 401 {
                session_ended();
            }
        }
        result
    })
}

fn to_body<B: Serialize>(body: &B) -> Result<Option<String>, ApiError> {
    serde_json::to_string(body).map(Some).map_err(|e| ApiError {
        status: 0,
        detail: format!("could not encode the request ({e})"),
        field_errors: Vec::new(),
        missing_grant: None,
    })
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call("GET", path, None, None).await?.json()
}

/// A GET that also returns the resource's ETag (for `If-Match` on a later change).
pub async fn get_tagged<T: DeserializeOwned>(path: &str) -> Result<(T, Option<String>), ApiError> {
    let reply = call("GET", path, None, None).await?;
    Ok((reply.json()?, reply.etag))
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    call("POST", path, to_body(body)?, None).await?.json()
}

/// A POST without a body (e.g. `keys:rotate`).
pub async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call("POST", path, None, None).await?.json()
}

pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    call("PUT", path, to_body(body)?, None).await?.json()
}

/// A PUT without a body whose answer is not needed (e.g. adding a group member).
pub async fn put_empty(path: &str) -> Result<(), ApiError> {
    call("PUT", path, None, None).await.map(|_| ())
}

/// A PUT whose answer body is not needed (e.g. `204` of a password change).
pub async fn put_no_content<B: Serialize>(path: &str, body: &B) -> Result<(), ApiError> {
    call("PUT", path, to_body(body)?, None).await.map(|_| ())
}

pub async fn patch<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
    if_match: Option<&str>,
) -> Result<(T, Option<String>), ApiError> {
    let reply = call("PATCH", path, to_body(body)?, if_match).await?;
    Ok((reply.json()?, reply.etag))
}

pub async fn delete(path: &str, if_match: Option<&str>) -> Result<(), ApiError> {
    call("DELETE", path, None, if_match).await.map(|_| ())
}

/// Fetches every page of a list (up to `max_pages`), following `next_page_token`.
pub async fn get_all<T: DeserializeOwned>(path: &str, max_pages: usize) -> Result<Vec<T>, ApiError> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let separator = if path.contains('?') { '&' } else { '?' };
    for _ in 0..max_pages {
        let url = match &token {
            Some(t) => format!("{path}{separator}page_token={}", encode(t)),
            None => path.to_owned(),
        };
        let page: gatehouse_api_types::Page<T> = get(&url).await?;
        items.extend(page.items);
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_problem_with_field_errors() {
        let body = r#"{"type":"https://gatehouse.dev/problems/invalid","title":"Bad Request","status":400,
            "detail":"2 fields are invalid","errors":[{"field":"slug","message":"must match"},{"field":"permissions[1]","message":"bad grant"}]}"#;
        let e = ApiError::from_response(400, body);
        assert_eq!(e.status, 400);
        assert_eq!(e.message(), "2 fields are invalid");
        assert_eq!(e.errors_for("slug"), vec!["must match"]);
        assert_eq!(e.errors_for("permissions"), vec!["bad grant"]);
        assert!(e.errors_for("perm").is_empty());
    }

    #[test]
    fn forbidden_names_the_missing_grant() {
        let body = r#"{"type":"t","title":"Forbidden","status":403,"detail":"you lack users:write@customers","missing_grant":"users:write@customers"}"#;
        assert_eq!(ApiError::from_response(403, body).message(), "You lack users:write@customers");
        let body = r#"{"type":"t","title":"Forbidden","status":403,"detail":"you lack keys:write@*"}"#;
        assert_eq!(ApiError::from_response(403, body).message(), "You lack keys:write@*");
    }

    #[test]
    fn non_problem_bodies_get_a_generic_message() {
        let e = ApiError::from_response(502, "<html>bad gateway</html>");
        assert_eq!(e.message(), "The server answered HTTP 502");
        assert!(e.field_errors.is_empty());
    }

    #[test]
    fn client_side_errors_read_like_server_ones() {
        let e = ApiError::field("slug", "must match ^[a-z][a-z0-9-]{1,62}$");
        assert_eq!(e.status, 400);
        assert_eq!(e.message(), "Slug: must match ^[a-z][a-z0-9-]{1,62}$");
        assert_eq!(e.errors_for("slug").len(), 1);
    }

    #[test]
    fn query_skips_blank_values_and_encodes() {
        assert_eq!(query(&[("q", None), ("x", Some("  ".into()))]), "");
        assert_eq!(
            query(&[("q", Some("a b&c".into())), ("since", Some("2025-01-01T00:00:00+01:00".into()))]),
            "?q=a%20b%26c&since=2025-01-01T00%3A00%3A00%2B01%3A00"
        );
        assert_eq!(encode("ü"), "%C3%BC");
    }
}
