//! The soak's setup requests: Management API calls with Basic auth, and form encoding.

use reqwest::Client;
use serde_json::Value;

pub(crate) async fn api(
    http: &Client,
    base: &str,
    auth: &(String, String),
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: String,
) -> Value {
    let res = http
        .request(method, format!("{base}{path}"))
        .basic_auth(&auth.0, Some(&auth.1))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub(crate) fn pair(v: &Value) -> (String, String) {
    (v["client_id"].as_str().unwrap().to_owned(), v["client_secret"].as_str().unwrap().to_owned())
}

pub(crate) fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
