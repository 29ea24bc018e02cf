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
use serde::Serialize;
use serde_json::Value;

use crate::json::FromJson;

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
        let problem = serde_json::from_str::<Value>(body).ok().and_then(|v| Problem::from_json(v).ok());
        match problem {
            Some(problem) => {
                let detail = if problem.detail.trim().is_empty() { problem.title } else { problem.detail };
                ApiError {
                    status,
                    detail,
                    field_errors: problem.errors.unwrap_or_default(),
                    missing_grant: problem.missing_grant,
                }
            }
            None => ApiError {
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
//
// Every request, of every page, runs through one non-generic path: [`send`] fetches and
// checks the status, [`Reply::value`] parses the body into a `serde_json::Value`, and only
// [`decode`] (`T` from that value, by the hand-written decoders of [`crate::json`]) and
// [`encode_body`] (a `Value` from a body) are per type.
// The WASM pays for the request plumbing and the JSON parser once instead of once per response
// type (docs/performance.md, "Console size").

/// A boxed future: the type-erased request futures (one `Future` impl for all of them).
pub type Fut<T> = Pin<Box<dyn Future<Output = T>>>;

/// A successful response: its status, body text and ETag.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
}

impl Reply {
    /// The body as JSON; an empty body is `null`.
    pub fn value(&self) -> Result<Value, ApiError> {
        if self.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&self.body).map_err(|e| unexpected(self.status, &e))
    }

    pub fn json<T: FromJson>(&self) -> Result<T, ApiError> {
        decode_as(self.status, self.value()?)
    }
}

fn unexpected(status: u16, e: &serde_json::Error) -> ApiError {
    ApiError {
        status,
        detail: format!("the server sent an unexpected answer ({e})"),
        field_errors: Vec::new(),
        missing_grant: None,
    }
}

/// A `T` from a JSON value of a successful answer.
pub fn decode<T: FromJson>(value: Value) -> Result<T, ApiError> {
    decode_as(200, value)
}

fn decode_as<T: FromJson>(status: u16, value: Value) -> Result<T, ApiError> {
    T::from_json(value).map_err(|e| ApiError { status, ..e })
}

/// A request body as JSON.
pub fn encode_body<B: Serialize>(body: &B) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(|e| ApiError {
        status: 0,
        detail: format!("could not encode the request ({e})"),
        field_errors: Vec::new(),
        missing_grant: None,
    })
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

/// A request to `/api/v1`: CSRF header on, 401 ends the session. The one path every page's
/// request takes; boxed and not generic.
pub fn call(
    method: &'static str,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Fut<Result<Reply, ApiError>> {
    let path = path.to_owned();
    let if_match = if_match.map(str::to_owned);
    Box::pin(async move {
        let body = body.map(|b| b.to_string());
        let result = send(method, &path, body, if_match.as_deref(), true).await;
        if let Err(e) = &result {
            if e.status == 401 {
                session_ended();
            }
        }
        result
    })
}

/// The JSON answer of a request to `/api/v1` and its ETag.
pub fn call_json(
    method: &'static str,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Fut<Result<(Value, Option<String>), ApiError>> {
    let reply = call(method, path, body, if_match);
    Box::pin(async move {
        let reply = reply.await?;
        Ok((reply.value()?, reply.etag))
    })
}

/// The JSON answer of a POST, for a page that reads only some of its members.
pub async fn post_value<B: Serialize>(path: &str, body: &B) -> Result<Value, ApiError> {
    let body = encode_body(body)?;
    Ok(call_json("POST", path, Some(body), None).await?.0)
}

pub async fn get<T: FromJson>(path: &str) -> Result<T, ApiError> {
    decode(call_json("GET", path, None, None).await?.0)
}

/// A GET that also returns the resource's ETag (for `If-Match` on a later change).
pub async fn get_tagged<T: FromJson>(path: &str) -> Result<(T, Option<String>), ApiError> {
    let (value, etag) = call_json("GET", path, None, None).await?;
    Ok((decode(value)?, etag))
}

pub async fn post<B: Serialize, T: FromJson>(path: &str, body: &B) -> Result<T, ApiError> {
    let body = encode_body(body)?;
    decode(call_json("POST", path, Some(body), None).await?.0)
}

/// A POST without a body (e.g. `keys:rotate`).
pub async fn post_empty<T: FromJson>(path: &str) -> Result<T, ApiError> {
    decode(call_json("POST", path, None, None).await?.0)
}

pub async fn put<B: Serialize, T: FromJson>(path: &str, body: &B) -> Result<T, ApiError> {
    let body = encode_body(body)?;
    decode(call_json("PUT", path, Some(body), None).await?.0)
}

/// A PUT without a body whose answer is not needed (e.g. adding a group member).
pub async fn put_empty(path: &str) -> Result<(), ApiError> {
    call("PUT", path, None, None).await.map(|_| ())
}

/// A PUT whose answer body is not needed (e.g. `204` of a password change).
pub async fn put_no_content<B: Serialize>(path: &str, body: &B) -> Result<(), ApiError> {
    let body = encode_body(body)?;
    call("PUT", path, Some(body), None).await.map(|_| ())
}

pub async fn patch<B: Serialize, T: FromJson>(
    path: &str,
    body: &B,
    if_match: Option<&str>,
) -> Result<(T, Option<String>), ApiError> {
    let body = encode_body(body)?;
    let (value, etag) = call_json("PATCH", path, Some(body), if_match).await?;
    Ok((decode(value)?, etag))
}

pub async fn delete(path: &str, if_match: Option<&str>) -> Result<(), ApiError> {
    call("DELETE", path, None, if_match).await.map(|_| ())
}

/// A page of a list: its items as JSON and the next page token.
pub type PageParts = (Vec<Value>, Option<String>);

/// The items and next page token of a page of a list.
fn page_parts(value: Value) -> Result<PageParts, ApiError> {
    let Value::Object(mut page) = value else { return Err(not_a_page()) };
    let Some(Value::Array(items)) = page.remove("items") else { return Err(not_a_page()) };
    let next = match page.remove("next_page_token") {
        Some(Value::String(token)) => Some(token),
        _ => None,
    };
    Ok((items, next))
}

fn not_a_page() -> ApiError {
    ApiError {
        status: 200,
        detail: "the server sent an unexpected answer (not a page of a list)".to_owned(),
        field_errors: Vec::new(),
        missing_grant: None,
    }
}

/// One page of a list: its items as JSON and the next page token.
pub fn get_page(path: &str) -> Fut<Result<PageParts, ApiError>> {
    let page = call_json("GET", path, None, None);
    Box::pin(async move { page_parts(page.await?.0) })
}

/// The items of one page of a list.
pub async fn get_items<T: FromJson>(path: &str) -> Result<Vec<T>, ApiError> {
    decode_all(get_page(path).await?.0)
}

pub fn decode_all<T: FromJson>(items: Vec<Value>) -> Result<Vec<T>, ApiError> {
    items.into_iter().map(decode).collect()
}

/// Every page of a list (up to `max_pages`) as JSON, following `next_page_token`.
fn get_all_values(path: &str, max_pages: usize) -> Fut<Result<Vec<Value>, ApiError>> {
    let path = path.to_owned();
    Box::pin(async move {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let separator = if path.contains('?') { '&' } else { '?' };
        for _ in 0..max_pages {
            let url = match &token {
                Some(t) => format!("{path}{separator}page_token={}", encode(t)),
                None => path.clone(),
            };
            let (page, next) = get_page(&url).await?;
            items.extend(page);
            token = next;
            if token.is_none() {
                break;
            }
        }
        Ok(items)
    })
}

/// Fetches every page of a list (up to `max_pages`), following `next_page_token`.
pub async fn get_all<T: FromJson>(path: &str, max_pages: usize) -> Result<Vec<T>, ApiError> {
    decode_all(get_all_values(path, max_pages).await?)
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
