//! HTTP as the agents speak it: one keep-alive client per world, a cookie-keeping browser per
//! agent, each request from the agent's own address (X-Forwarded-For), and what a hosted page
//! is. A server error is a bug whatever the request, so any 5xx but a 503 fails the case.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::browser::hidden;
use crate::support::Reply;

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    Anonymous,
    Basic(String, String),
    Bearer(String),
}

/// A request body.
pub enum Body<'a> {
    Empty,
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// A keep-alive HTTP client (one per world) that sends each agent's own X-Forwarded-For.
pub struct Http {
    pub base: String,
    client: reqwest::blocking::Client,
}

impl Http {
    pub fn new(base: &str) -> Http {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        Http { base: base.to_owned(), client }
    }

    pub fn send(&self, method: Method, path: &str, auth: &Auth, xff: &str, body: Body<'_>) -> Reply {
        let mut request = self.client.request(method, format!("{}{}", self.base, path)).header("x-forwarded-for", xff);
        request = match auth {
            Auth::Anonymous => request,
            Auth::Basic(id, secret) => request.basic_auth(id, Some(secret)),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        request = match body {
            Body::Empty => request,
            Body::Json(v) => request.json(v),
            Body::Form(f) => request.form(f),
        };
        reply(request.send().expect("request to the server under test"))
    }
}

pub fn reply(response: reqwest::blocking::Response) -> Reply {
    let status = response.status().as_u16();
    let path = response.url().path().to_owned();
    let headers = response.headers().clone();
    let text = response.text().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(status < 500 || status == 503, "the server answered {status} to {path}: {text}");
    Reply { status, headers, text, json }
}

/// A browser: cookies kept, redirects not followed, the agent's address on every request.
pub struct Browser {
    base: String,
    client: reqwest::blocking::Client,
}

impl Browser {
    pub fn new(base: &str, addr: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", addr.parse().unwrap());
        let client = reqwest::blocking::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        Browser { base: base.to_owned(), client }
    }

    pub fn get(&self, url: &str) -> Reply {
        let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", self.base) };
        reply(self.client.get(url).send().expect("browser GET"))
    }

    /// Submits the hosted form on `page` (its hidden `request` and `csrf`) plus `fields`.
    pub fn submit(&self, page: &Reply, action: &str, fields: &[(&str, &str)]) -> Option<Reply> {
        let request = hidden(&page.text, "request")?;
        let csrf = hidden(&page.text, "csrf")?;
        let mut all: Vec<(&str, &str)> = vec![("request", &request), ("csrf", &csrf)];
        all.extend_from_slice(fields);
        Some(reply(self.client.post(format!("{}{action}", self.base)).form(&all).send().expect("browser POST")))
    }
}

/// What a hosted page is.
#[derive(Debug, Clone, PartialEq)]
pub enum PageKind {
    SignIn,
    /// The second step of a sign-in: a code (or a passkey) is asked.
    SecondFactor,
    Consent,
    /// A redirect to `location`.
    Redirect(String),
    Other(u16),
}

pub fn page_kind(page: &Reply) -> PageKind {
    if (300..400).contains(&page.status) {
        return PageKind::Redirect(page.header("location").unwrap_or_default().to_owned());
    }
    if page.status == 200 && page.text.contains("action=\"/oauth/consent\"") {
        PageKind::Consent
    } else if page.status == 200 && page.text.contains("action=\"/oauth/mfa\"") {
        PageKind::SecondFactor
    } else if page.status == 200 && page.text.contains("name=\"password\"") {
        PageKind::SignIn
    } else {
        PageKind::Other(page.status)
    }
}

/// The address of agent `agent` in case `case` (a range of its own per case).
pub fn address(case: usize, agent: usize) -> String {
    format!("10.{}.{}.{}", 100 + (case / 256) % 100, case % 256, agent + 1)
}

pub fn random_text(n: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = random_text(48);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(super) fn body_again<'b>(body: &Body<'b>) -> Body<'b> {
    match body {
        Body::Empty => Body::Empty,
        Body::Json(v) => Body::Json(v),
        Body::Form(f) => Body::Form(f),
    }
}

pub fn retry_after(r: &Reply) -> Duration {
    let secs: u64 = r.header("retry-after").and_then(|s| s.parse().ok()).unwrap_or(1);
    Duration::from_millis(secs.clamp(1, 5) * 1000 + 100)
}
