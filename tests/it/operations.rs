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
            let concrete = path.replace("{ns}", "system").replace("{id}", "00000000-0000-7000-8000-000000000000");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.anonymous().send(app.anonymous().request(method.clone(), &concrete));
            assert_eq!(r.status, 401, "{method} {path} must be routed and need credentials, got {}", r.status);
            operations += 1;
        }
    }
    assert!(operations >= 22, "{operations} operations");
    for expected in [
        "/api/v1/me",
        "/api/v1/namespaces/{ns}/users:import",
        "/api/v1/clients/{id}/effective-permissions",
        "/api/v1/audit-events",
    ] {
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
    let r = app.admin().post(
        "/api/v1/namespaces/system/users",
        &serde_json::json!({ "username": "logged", "password": "my very secret password" }),
    );
    assert_eq!(r.status, 201);
    let request_id = r.header("x-request-id").unwrap();
    // The server logs before it answers; the test copies its stderr to a file a moment later.
    crate::support::eventually(std::time::Duration::from_secs(10), || app.log().contains(request_id));
    let log = app.log();
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

#[test]
fn no_secret_password_token_or_hash_reaches_the_log_or_the_audit_log() {
    use serde_json::json;
    let app = TestApp::start();
    let admin = app.admin();
    app.create_namespace("customers");
    let mut secrets: Vec<String> = vec![app.admin_client.secret.clone(), crate::support::ADMIN_PASSWORD.to_owned()];

    // Client secrets: created, rotated, and a wrong one presented.
    let web = admin.post(
        "/api/v1/clients",
        &json!({"name": "web", "grant_types": ["password", "refresh_token"], "password_grant_enabled": true, "user_namespace": "customers"}),
    );
    assert_eq!(web.status, 201, "{}", web.text);
    let mut web_creds = crate::support::creds_of(&web.json);
    secrets.push(web_creds.secret.clone());
    let rotated =
        admin.post(&format!("/api/v1/clients/{}/secrets", web_creds.id), &json!({"previous_secret_expires_in": 0}));
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    web_creds.secret = rotated.json["client_secret"].as_str().unwrap().to_owned();
    secrets.push(web_creds.secret.clone());
    let wrong = "wrong-secret-4f1a9c";
    secrets.push(wrong.to_owned());
    assert_eq!(
        app.as_client(&crate::support::ClientCreds { secret: wrong.into(), ..web_creds.clone() })
            .get("/api/v1/me")
            .status,
        401
    );

    // Passwords, access and refresh tokens.
    let password = "alice's very long password";
    secrets.push(password.to_owned());
    assert_eq!(
        admin.post("/api/v1/namespaces/customers/users", &json!({"username": "alice", "password": password})).status,
        201
    );
    let token = |form: &[(&str, &str)]| {
        let api = app.anonymous();
        api.send(
            api.request(Method::POST, "/oauth/token")
                .basic_auth(&web_creds.client_id, Some(&web_creds.secret))
                .form(form),
        )
    };
    assert_eq!(
        token(&[("grant_type", "password"), ("username", "alice"), ("password", "a wrong password 123")]).status,
        400
    );
    secrets.push("a wrong password 123".to_owned());
    let first =
        token(&[("grant_type", "password"), ("username", "alice"), ("password", password), ("scope", "account")]);
    assert_eq!(first.status, 200, "{}", first.text);
    let refresh = first.json["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([first.json["access_token"].as_str().unwrap().to_owned(), refresh.clone()]);
    let second = token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(second.status, 200, "{}", second.text);
    secrets.extend([
        second.json["access_token"].as_str().unwrap().to_owned(),
        second.json["refresh_token"].as_str().unwrap().to_owned(),
    ]);
    assert_eq!(
        app.anonymous().with_bearer(second.json["access_token"].as_str().unwrap()).get("/api/v1/me").status,
        200
    );

    // The console's session and CSRF token.
    let (browser, csrf) = crate::console::console_sign_in(&app, "admin", crate::support::ADMIN_PASSWORD);
    assert_eq!(browser.request("GET", "/api/v1/me", &[("X-CSRF-Token", &csrf)], None).status, 200);
    secrets.push(csrf);

    // Everything the audit log holds, page by page.
    let mut audit = String::new();
    let mut page_token: Option<String> = None;
    loop {
        let path = match &page_token {
            Some(t) => format!("/api/v1/audit-events?page_size=200&page_token={t}"),
            None => "/api/v1/audit-events?page_size=200".to_owned(),
        };
        let page = admin.get(&path);
        assert_eq!(page.status, 200, "{}", page.text);
        audit.push_str(&page.text);
        match page.json["next_page_token"].as_str() {
            Some(t) => page_token = Some(t.to_owned()),
            None => break,
        }
    }
    assert!(audit.contains("client.secret.rotate") && audit.contains("oauth.token"), "the audit log holds the flows");
    let log = app.log();
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the server log holds a secret ({} chars)", secret.len());
        assert!(!audit.contains(secret.as_str()), "the audit log holds a secret ({} chars)", secret.len());
    }
    for hash_marker in ["$argon2", "$2b$", "$2y$"] {
        assert!(!log.contains(hash_marker) && !audit.contains(hash_marker), "a password hash ({hash_marker}) leaked");
    }
}

/// Sends a keep-alive request on `stream` and reads the whole answer (`/healthz`: no body).
fn healthz_on(stream: &mut std::net::TcpStream) -> std::io::Result<String> {
    use std::io::{Read, Write};
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nConnection: keep-alive\r\n\r\n")?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf)? {
            0 => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed by the server")),
            n => answer.extend_from_slice(&buf[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// An idle connection outlives actix's 5 s default (a load balancer's upstream pool keeps
/// connections for 60 s), and `--keep-alive` shortens it.
#[test]
fn idle_connections_stay_open_for_the_keep_alive() {
    use std::io::Read;
    use std::time::Duration;
    let default = TestApp::start();
    let short = TestApp::start_with(&["--keep-alive", "1"]);
    let connect = |app: &TestApp| {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream
    };
    let (mut long_lived, mut short_lived) = (connect(&default), connect(&short));
    assert!(healthz_on(&mut long_lived).unwrap().starts_with("HTTP/1.1 200"));
    assert!(healthz_on(&mut short_lived).unwrap().starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_secs(7));
    let again = healthz_on(&mut long_lived).expect("the default keep-alive closed an idle connection within 7 s");
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    short_lived.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut rest = Vec::new();
    let closed = match short_lived.read_to_end(&mut rest) {
        Ok(n) => n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "--keep-alive 1 left an idle connection open for 7 s");
}
