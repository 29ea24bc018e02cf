//! A small HTTP client for the tests: JSON in, status + headers + JSON out.

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

#[derive(Clone)]
pub struct Api {
    base: String,
    http: Client,
    auth: Option<(String, String)>,
    bearer: Option<String>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts this is an RFC 9457 problem with `status`.
    pub fn assert_problem(&self, status: u16) -> &Reply {
        assert_eq!(self.status, status, "expected {status}, got {}: {}", self.status, self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert!(
            self.json["type"].is_string() && self.json["title"].is_string() && self.json["detail"].is_string(),
            "{}",
            self.text
        );
        self
    }

    /// The `field` names of a 400's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

impl Api {
    pub fn new(base: &str, auth: Option<(String, String)>) -> Api {
        let http = Client::builder().timeout(std::time::Duration::from_secs(120)).build().unwrap();
        Api { base: base.to_owned(), http, auth, bearer: None }
    }

    /// The same caller, with `Authorization: Bearer <token>` instead.
    pub fn with_bearer(mut self, token: &str) -> Api {
        self.auth = None;
        self.bearer = Some(token.to_owned());
        self
    }

    /// A request builder with this caller's credentials, for anything unusual.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{}", self.base, path));
        match (&self.auth, &self.bearer) {
            (Some((user, password)), _) => builder.basic_auth(user, Some(password)),
            (None, Some(token)) => builder.bearer_auth(token),
            (None, None) => builder,
        }
    }

    pub fn send(&self, builder: RequestBuilder) -> Reply {
        let response = builder.send().expect("request failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path))
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path).json(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PATCH, path).json(body))
    }
}
