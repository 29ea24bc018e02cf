//! Health, readiness, metrics, the OpenAPI document, request logs.

use reqwest::Method;
use serde_json::Value;

use crate::support::TestApp;

#[test]
fn health_readiness_and_metrics_answer() {
    let app = TestApp::start();
    let anon = app.anonymous();
    assert_eq!(anon.get("/healthz").status, 200);
    let ready = anon.get("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json["status"], "ready");
    app.admin().get("/api/v1/me");
    let metrics = anon.get("/metrics");
    assert_eq!(metrics.status, 200);
    for needle in [
        "gatehouse_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"}",
        "gatehouse_http_request_duration_seconds_bucket",
        "gatehouse_db_pool_connections{state=\"in_use\"}",
        "gatehouse_password_hash_duration_seconds_count{op=\"verify\"}",
    ] {
        assert!(metrics.text.contains(needle), "missing {needle}");
    }
}

#[test]
fn the_openapi_document_is_3_1_and_every_operation_is_routed() {
    let app = TestApp::start();
    let doc = app.anonymous().get("/api/v1/openapi.json");
    assert_eq!(doc.status, 200);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc.json["openapi"]);
    let paths = doc.json["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, _) in item.as_object().unwrap() {
            let concrete = path
                .replace("{ns}", "system")
                .replace("{id}", "00000000-0000-7000-8000-000000000000");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.anonymous().send(app.anonymous().request(method.clone(), &concrete));
            assert_eq!(r.status, 401, "{method} {path} must be routed and need credentials, got {}", r.status);
            operations += 1;
        }
    }
    assert!(operations >= 22, "{operations} operations");
    for expected in ["/api/v1/me", "/api/v1/namespaces/{ns}/users:import", "/api/v1/clients/{id}/effective-permissions", "/api/v1/audit-events"] {
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    let problem = &doc.json["components"]["schemas"]["Problem"];
    assert_ne!(problem, &Value::Null);
}

#[test]
fn one_log_line_per_request_without_secrets() {
    let app = TestApp::start();
    let creds = &app.admin_client;
    app.admin().get("/api/v1/me?page_size=1");
    let r = app.admin().post("/api/v1/namespaces/system/users", &serde_json::json!({ "username": "logged", "password": "my very secret password" }));
    assert_eq!(r.status, 201);
    let log = app.log();
    let request_id = r.header("x-request-id").unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(request_id)).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("POST /api/v1/namespaces/system/users 201"), "{}", lines[0]);
    assert!(!log.contains(&creds.secret));
    assert!(!log.contains("my very secret password"));
    assert!(!log.contains("argon2"));
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut app = TestApp::start();
    assert_eq!(app.anonymous().get("/healthz").status, 200);
    let code = app.terminate();
    assert_eq!(code, Some(0), "{}", app.log());
    assert!(app.log().contains("gatehouse stopped"));
}
