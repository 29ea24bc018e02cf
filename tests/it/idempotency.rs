//! Idempotency-Key: a retry returns the first response; another body with the same key is 422.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Api, Reply, TestApp};

fn post_with_key(api: &Api, path: &str, key: &str, body: &Value) -> Reply {
    api.send(api.request(Method::POST, path).header("idempotency-key", key).json(body))
}

#[test]
fn a_retried_create_returns_the_first_response_and_creates_once() {
    let app = TestApp::start();
    let admin = app.admin();
    let body = json!({ "username": "once", "password": "a long password!" });
    let first = post_with_key(&admin, "/api/v1/namespaces/system/users", "key-123", &body);
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = post_with_key(&admin, "/api/v1/namespaces/system/users", "key-123", &body);
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.json, first.json);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));

    let found = admin.get("/api/v1/namespaces/system/users?q=once");
    assert_eq!(found.json["items"].as_array().unwrap().len(), 1, "created exactly once");

    let other = post_with_key(&admin, "/api/v1/namespaces/system/users", "key-123", &json!({ "username": "twice" }));
    other.assert_problem(422);
    assert_eq!(admin.get("/api/v1/namespaces/system/users?q=twice").json["items"].as_array().unwrap().len(), 0);
}

#[test]
fn a_retried_client_creation_returns_the_same_secret_without_storing_it_in_clear() {
    let app = TestApp::start();
    let admin = app.admin();
    let body = json!({ "name": "idempotent", "permissions": [] });
    let first = post_with_key(&admin, "/api/v1/clients", "client-key-1", &body);
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = post_with_key(&admin, "/api/v1/clients", "client-key-1", &body);
    assert_eq!(retry.json["client_secret"], first.json["client_secret"]);
    assert_eq!(retry.json["id"], first.json["id"]);
    assert_eq!(
        admin.get("/api/v1/clients").json["items"].as_array().unwrap().len(),
        3,
        "the bootstrap and console clients + one"
    );
}

#[test]
fn keys_are_scoped_to_the_caller() {
    let app = TestApp::start();
    let other = app.create_client(&app.admin_account_id, &["namespaces:*@*"]);
    let first = post_with_key(
        &app.admin(),
        "/api/v1/namespaces",
        "shared-key",
        &json!({ "slug": "ns-one", "display_name": "1" }),
    );
    assert_eq!(first.status, 201);
    let second = post_with_key(
        &app.as_client(&other),
        "/api/v1/namespaces",
        "shared-key",
        &json!({ "slug": "ns-two", "display_name": "2" }),
    );
    assert_eq!(second.status, 201, "another caller's key does not collide: {}", second.text);
    assert_eq!(second.json["slug"], "ns-two");
}

#[test]
fn concurrent_retries_create_once() {
    let app = TestApp::start();
    let body = json!({ "slug": "raced", "display_name": "Raced" });
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let api = app.admin();
                let body = body.clone();
                s.spawn(move || post_with_key(&api, "/api/v1/namespaces", "race-key", &body))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["slug"], "raced");
    }
    assert_eq!(replies.iter().filter(|r| r.header("idempotent-replayed").is_none()).count(), 1);
}

#[test]
fn a_malformed_key_is_a_400() {
    let app = TestApp::start();
    let r = post_with_key(
        &app.admin(),
        "/api/v1/namespaces",
        &"k".repeat(300),
        &json!({ "slug": "abc", "display_name": "x" }),
    );
    r.assert_problem(400);
}
