//! The console's backend for frontend, over HTTP: signing in through the hosted page, the
//! session cookie and its CSRF header on the Management API, signing out, and the files.

use serde_json::{json, Value};

use crate::support::browser::{location, Browser};
use crate::support::{TestApp, ADMIN_PASSWORD};

/// Signs `login` in to the console of `app` through the hosted sign-in page; returns the
/// browser (holding the session cookie) and the CSRF token.
pub(crate) fn console_sign_in(app: &TestApp, login: &str, password: &str) -> (Browser, String) {
    let browser = Browser::new(&app.base);
    let start = browser.get("/console/login");
    assert_eq!(start.status, 303, "{}", start.text);
    let authorize = location(&start);
    assert!(authorize.contains("client_id=console") && authorize.contains("code_challenge_method=S256"), "{authorize}");
    let signed_in = browser.sign_in(&authorize, login, password);
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let callback = location(&signed_in);
    assert!(callback.starts_with(&format!("{}/console/callback?", app.base)), "{callback}");
    let done = browser.get(&callback);
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(location(&done), "/console/");
    let cookie = done.header("set-cookie").unwrap_or_default().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = browser.get("/console/session");
    assert_eq!(session.status, 200, "{}", session.text);
    let csrf = session.json["csrf_token"].as_str().expect("a CSRF token").to_owned();
    (browser, csrf)
}

#[test]
fn console_signs_in_through_the_hosted_page_and_acts_as_the_account() {
    let app = TestApp::start();
    let (browser, csrf) = console_sign_in(&app, "admin", ADMIN_PASSWORD);
    let session = browser.get("/console/session");
    assert_eq!(session.json["me"]["kind"], "account");
    assert_eq!(session.json["me"]["username"], "admin");
    assert_eq!(session.json["me"]["effective_permissions"], json!(["*:*@*"]));
    // No token reaches the browser: not in the session answer, not in a cookie it can read.
    assert!(!session.text.contains("eyJ"), "{}", session.text);

    let me = browser.request("GET", "/api/v1/me", &[("X-CSRF-Token", &csrf)], None);
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["id"], app.admin_account_id.as_str());
    let created = browser.request(
        "POST",
        "/api/v1/namespaces",
        &[("X-CSRF-Token", &csrf)],
        Some(&json!({"slug": "from-console", "display_name": "From the console"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);

    // The audit log names the account as the actor of the change.
    let events = app.admin().get("/api/v1/audit-events?action=namespace.create&target=from-console");
    assert_eq!(events.json["items"][0]["actor"]["id"], app.admin_account_id.as_str(), "{}", events.text);
}

#[test]
fn the_session_cookie_is_refused_without_its_csrf_header() {
    let app = TestApp::start();
    let (browser, csrf) = console_sign_in(&app, "admin", ADMIN_PASSWORD);
    browser.request("GET", "/api/v1/me", &[], None).assert_problem(401);
    browser
        .request(
            "POST",
            "/api/v1/namespaces",
            &[("X-CSRF-Token", "forged")],
            Some(&json!({"slug": "forged", "display_name": "Forged"})),
        )
        .assert_problem(401);
    assert_eq!(app.admin().get("/api/v1/namespaces/forged").status, 404);
    // Another session's token does not fit this session.
    let (_, other_csrf) = console_sign_in(&app, "admin", ADMIN_PASSWORD);
    assert_ne!(other_csrf, csrf);
    browser.request("GET", "/api/v1/me", &[("X-CSRF-Token", &other_csrf)], None).assert_problem(401);
    browser.request("POST", "/console/logout", &[], None).assert_problem(401);
}

#[test]
fn a_console_session_has_the_accounts_grants_and_no_more() {
    let app = TestApp::start();
    app.create_namespace("customers");
    let id = app.create_account("system", "support", &["users:read@customers"]);
    let set = app
        .admin()
        .put(&format!("/api/v1/namespaces/system/users/{id}/password"), &json!({"password": "support password 1"}));
    assert_eq!(set.status, 204, "{}", set.text);
    let (browser, csrf) = console_sign_in(&app, "support", "support password 1");
    let h = [("X-CSRF-Token", csrf.as_str())];
    assert_eq!(browser.request("GET", "/api/v1/namespaces/customers/users", &h, None).status, 200);
    let refused = browser.request("POST", "/api/v1/namespaces/customers/users", &h, Some(&json!({"username": "x"})));
    refused.assert_problem(403);
    assert!(refused.json["detail"].as_str().unwrap().contains("users:write@customers"), "{}", refused.text);

    // Demoted while signed in: the next request has the new grants; disabled: refused.
    app.set_grants("system", &id, &[]);
    browser.request("GET", "/api/v1/namespaces/customers/users", &h, None).assert_problem(403);
    let disabled = app.admin().patch(&format!("/api/v1/namespaces/system/users/{id}"), &json!({"disabled": true}));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    browser.request("GET", "/api/v1/me", &h, None).assert_problem(401);
    assert_eq!(browser.get("/console/session").status, 401);
}

#[test]
fn signing_out_ends_the_console_and_the_sso_session() {
    let app = TestApp::start();
    let (browser, csrf) = console_sign_in(&app, "admin", ADMIN_PASSWORD);
    let out = browser.request("POST", "/console/logout", &[("X-CSRF-Token", &csrf)], None);
    assert_eq!(out.status, 204, "{}", out.text);
    browser.request("GET", "/api/v1/me", &[("X-CSRF-Token", &csrf)], None).assert_problem(401);
    browser.get("/console/session").assert_problem(401);
    // The SSO session is over too: signing in again shows the form instead of a redirect.
    let start = browser.get("/console/login");
    let page = browser.get(&location(&start));
    assert_eq!(page.status, 200);
    assert!(page.text.contains("name=\"password\""), "{}", page.text);
    let events = app.admin().get("/api/v1/audit-events?action=console.");
    let actions: Vec<&str> =
        events.json["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"console.signin") && actions.contains(&"console.signout"), "{actions:?}");
}

#[test]
fn a_callback_without_the_browsers_pending_sign_in_is_refused() {
    let app = TestApp::start();
    let browser = Browser::new(&app.base);
    let start = browser.get("/console/login");
    let signed_in = browser.sign_in(&location(&start), "admin", ADMIN_PASSWORD);
    let callback = location(&signed_in);
    // Another browser (an attacker's page replaying the redirect) has no pending sign-in.
    let other = Browser::new(&app.base);
    let refused = other.get(&callback);
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.header("set-cookie").is_none_or(|c| !c.contains("gatehouse_console=") || c.contains("Max-Age=0")));
    assert_eq!(other.get("/console/session").status, 401);
    // A forged state is refused as well.
    let forged = callback.replace("state=", "state=x");
    assert_eq!(browser.get(&forged).status, 400);
}

#[test]
fn the_console_page_has_a_strict_policy_and_hashed_assets_are_cached() {
    let app = TestApp::start();
    let browser = Browser::new(&app.base);
    for path in ["/console/", "/console/users/system/123"] {
        let page = browser.get(path);
        assert_eq!(page.status, 200);
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("cache-control"), Some("no-cache"));
    }
    let page = browser.get("/console/").text;
    let boot = page.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("a module script");
    assert!(boot.starts_with("/console/assets/"), "{page}");
    let script = browser.get(boot);
    assert_eq!(script.status, 200);
    assert_eq!(script.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let wasm = browser.get(&boot.replace("boot.js", "gatehouse_console_bg.wasm"));
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(browser.get("/console/assets/0000/boot.js").status, 404);
    let value: Value = browser.get("/console/session").json;
    assert_eq!(value["status"], 401);
}
