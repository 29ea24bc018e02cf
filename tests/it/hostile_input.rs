//! Bad input gets a clear 4xx problem+json and changes nothing; never a 5xx.

use reqwest::Method;
use serde_json::json;

use crate::support::{Api, TestApp};

fn raw(api: &Api, path: &str, content_type: Option<&str>, body: Vec<u8>) -> crate::support::Reply {
    let mut builder = api.request(Method::POST, path).body(body);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    api.send(builder)
}

fn user_count(app: &TestApp) -> usize {
    app.admin().get("/api/v1/namespaces/system/users?page_size=200").json["items"].as_array().unwrap().len()
}

#[test]
fn malformed_bodies_get_the_right_4xx_and_change_nothing() {
    let app = TestApp::start();
    let admin = app.admin();
    let path = "/api/v1/namespaces/system/users";
    let before = user_count(&app);

    let r = raw(&admin, path, Some("application/json"), b"{\"username\": \"x\"".to_vec());
    r.assert_problem(400);
    assert_eq!(r.error_fields(), vec!["body"]);

    raw(&admin, path, Some("application/json"), b"[1,2,3]".to_vec()).assert_problem(400);
    raw(&admin, path, Some("application/json"), b"{} trailing".to_vec()).assert_problem(400);
    raw(&admin, path, Some("application/json"), Vec::new()).assert_problem(400);

    let wrong_type = raw(&admin, path, Some("text/plain"), b"{\"username\":\"x\"}".to_vec());
    wrong_type.assert_problem(415);
    raw(&admin, path, None, b"{\"username\":\"x\"}".to_vec()).assert_problem(415);
    raw(&admin, path, Some("application/x-www-form-urlencoded"), b"username=x".to_vec()).assert_problem(415);

    let mut invalid_utf8 = b"{\"username\": \"".to_vec();
    invalid_utf8.extend([0xff, 0xfe, 0xfd]);
    invalid_utf8.extend(b"\"}");
    raw(&admin, path, Some("application/json"), invalid_utf8).assert_problem(400);

    let oversized = format!("{{\"username\":\"x\",\"name\":\"{}\"}}", "a".repeat(70 * 1024));
    raw(&admin, path, Some("application/json"), oversized.into_bytes()).assert_problem(413);

    let wrong_type_field = admin.post(path, &json!({ "username": 42 }));
    wrong_type_field.assert_problem(400);
    assert_eq!(wrong_type_field.error_fields(), vec!["username"]);

    let unknown_field = admin.post(path, &json!({ "username": "x", "is_admin": true }));
    unknown_field.assert_problem(400);

    assert_eq!(user_count(&app), before, "nothing was created");
}

#[test]
fn overlong_and_invalid_fields_are_named() {
    let app = TestApp::start();
    let admin = app.admin();
    let r = admin.post(
        "/api/v1/namespaces/system/users",
        &json!({
            "username": "x".repeat(65),
            "email": "not-an-email",
            "phone_number": "0800 123",
            "name": "n".repeat(201),
            "password": "short",
        }),
    );
    r.assert_problem(400);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["email", "name", "password", "phone_number", "username"]);
    for error in r.json["errors"].as_array().unwrap() {
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
    }

    let ns = admin.post("/api/v1/namespaces", &json!({ "slug": "Bad Slug", "display_name": "" }));
    ns.assert_problem(400);
    let mut fields = ns.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["display_name", "slug"]);

    let grants =
        admin.post("/api/v1/clients", &json!({ "name": "c", "permissions": ["users:read@customers", "root"] }));
    grants.assert_problem(400);
    assert_eq!(grants.error_fields(), vec!["permissions"]);

    let no_name = admin.post("/api/v1/namespaces/system/users", &json!({ "email_verified": true }));
    no_name.assert_problem(400);
}

#[test]
fn bad_credentials_are_401_with_www_authenticate_and_never_5xx() {
    let app = TestApp::start();
    let anonymous = app.anonymous();
    let headers = [
        None,
        Some("Basic"),
        Some("Basic !!!not-base64!!!"),
        Some("Basic bm9jb2xvbg=="), // "nocolon"
        Some("Basic Og=="),         // ":"
        Some("Bearer nonsense"),
        Some("Digest username=x"),
        Some("Basic //79/A=="), // not UTF-8 once decoded
    ];
    for header in headers {
        let mut builder = anonymous.request(Method::GET, "/api/v1/me");
        if let Some(h) = header {
            builder = builder.header("authorization", h);
        }
        let r = anonymous.send(builder);
        r.assert_problem(401);
        let expected = if header.is_some_and(|h| h.starts_with("Bearer")) { "Bearer" } else { "Basic" };
        assert!(
            r.header("www-authenticate").is_some_and(|h| h.starts_with(expected)),
            "{header:?}: {:?}",
            r.header("www-authenticate")
        );
    }
    let unknown = Api::new(&app.base, Some(("no-such-client".into(), "whatever".into()))).get("/api/v1/me");
    let wrong = Api::new(&app.base, Some((app.admin_client.client_id.clone(), "wrong".into()))).get("/api/v1/me");
    unknown.assert_problem(401);
    wrong.assert_problem(401);
    assert_eq!(unknown.text, wrong.text, "the same answer whether or not the client exists");

    let failures = app.admin().get("/api/v1/audit-events?action=auth.&outcome=failure&page_size=200");
    assert!(
        failures.json["items"].as_array().unwrap().len() >= headers.len() + 2,
        "every refusal is audited: {}",
        failures.text
    );
}

#[test]
fn bad_paths_and_queries_are_4xx_problems() {
    let app = TestApp::start();
    let admin = app.admin();
    admin.get("/api/v1/namespaces/system/users/not-a-uuid").assert_problem(400);
    admin.get("/api/v1/clients/12345").assert_problem(400);
    admin.get("/api/v1/no-such-thing").assert_problem(404);
    admin.get("/api/v1/audit-events?since=yesterday").assert_problem(400);
    admin.get("/api/v1/audit-events?outcome=maybe").assert_problem(400);
    admin.get("/api/v1/clients?owner=someone").assert_problem(400);
    admin.send(admin.request(Method::PUT, "/api/v1/namespaces")).assert_problem(405);
}
