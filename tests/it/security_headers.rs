//! Every HTML response Gatehouse serves — hosted sign-in, registration, reset and logout pages,
//! their error pages, and the console's page — carries the security headers, and every cookie
//! it sets is HttpOnly with a SameSite attribute; served over https, cookies are `__Host-`
//! prefixed and `Secure`, and every answer carries HSTS.

use crate::oauth::{provider, REDIRECT};
use crate::support::browser::{hidden, Browser};
use crate::support::{Reply, TestApp};

/// The hosted pages' HTML responses of one provider, each with a label.
fn html_responses(app: &TestApp, client_id: &str) -> Vec<(String, Reply)> {
    let browser = Browser::new(&app.base);
    let challenge = "A".repeat(43);
    let authorize = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&scope=openid\
         &state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
    );
    let mut seen = Vec::new();
    let sign_in = browser.get(&authorize);
    let fields = (hidden(&sign_in.text, "request"), hidden(&sign_in.text, "csrf"));
    seen.push(("sign-in page".to_owned(), sign_in));
    if let (Some(request), Some(csrf)) = fields {
        let wrong = browser.post_form(
            "/oauth/login",
            &[("request", &request), ("csrf", &csrf), ("login", "alice"), ("password", "wrong")],
        );
        seen.push(("wrong password".into(), wrong));
        let forged = browser.post_form(
            "/oauth/login",
            &[("request", &request), ("csrf", "forged"), ("login", "alice"), ("password", "x")],
        );
        seen.push(("forged CSRF token".into(), forged));
        let register = browser.get(&format!("/oauth/register?request={request}"));
        seen.push(("registration form".into(), register));
        let register_invalid = browser.post_form(
            "/oauth/register",
            &[("request", &request), ("csrf", &csrf), ("email", "not an address"), ("password", "short")],
        );
        seen.push(("invalid registration".into(), register_invalid));
        let reset = browser.get(&format!("/oauth/reset?request={request}"));
        seen.push(("reset form".into(), reset));
        let reset_sent = browser
            .post_form("/oauth/reset", &[("request", &request), ("csrf", &csrf), ("login", "nobody@example.com")]);
        seen.push(("reset requested".into(), reset_sent));
    }
    seen.push((
        "unknown client".into(),
        browser.get(&format!("/oauth/authorize?response_type=code&client_id=nobody&redirect_uri={REDIRECT}")),
    ));
    seen.push(("tampered request".into(), browser.get("/oauth/register?request=tampered")));
    seen.push(("logout".into(), browser.get("/oauth/logout")));
    seen.push(("console".into(), browser.get("/console/")));
    seen.push(("console deep link".into(), browser.get("/console/users")));
    seen
}

fn assert_secure_html(label: &str, reply: &Reply) {
    let header = |name: &str| reply.header(name).unwrap_or_else(|| panic!("{label}: no {name} ({})", reply.status));
    let csp = header("content-security-policy");
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action "] {
        assert!(csp.contains(directive), "{label}: CSP without {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{label}: {csp}");
    assert_eq!(header("x-frame-options"), "DENY", "{label}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{label}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{label}");
    assert!(
        matches!(header("cache-control"), "no-store" | "no-cache"),
        "{label}: cache-control {}",
        header("cache-control")
    );
}

fn set_cookies(reply: &Reply) -> Vec<String> {
    reply.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

fn check(app: &TestApp, client_id: &str, https: bool) -> usize {
    let mut html = 0;
    for (label, reply) in html_responses(app, client_id) {
        let content_type = reply.header("content-type").unwrap_or("");
        eprintln!("{label}: {} {content_type} {}", reply.status, reply.header("location").unwrap_or(""));
        if content_type.starts_with("text/html") {
            html += 1;
            assert_secure_html(&label, &reply);
        }
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{label}");
        if https {
            assert_eq!(reply.header("strict-transport-security"), Some("max-age=31536000"), "{label}");
        }
        for cookie in set_cookies(&reply) {
            assert!(cookie.contains("HttpOnly"), "{label}: {cookie}");
            assert!(cookie.contains("SameSite="), "{label}: {cookie}");
            assert!(cookie.contains("Path=/"), "{label}: {cookie}");
            assert!(!cookie.contains("Domain="), "{label}: {cookie}");
            if https {
                assert!(cookie.starts_with("__Host-"), "{label}: {cookie}");
                assert!(cookie.contains("Secure"), "{label}: {cookie}");
            }
        }
    }
    html
}

#[test]
fn every_html_response_has_the_security_headers_and_every_cookie_is_locked_down() {
    let p = provider(&[]);
    let pages = check(&p.app, &p.web.client_id, false);
    assert!(pages >= 12, "only {pages} HTML responses were seen");
    // The console's sign-in sets the state cookie of its backend for frontend.
    let login = Browser::new(&p.app.base).get("/console/login");
    assert!(!set_cookies(&login).is_empty(), "/console/login sets its state cookie ({})", login.status);
    for cookie in set_cookies(&login) {
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite="), "{cookie}");
    }
}

#[test]
fn served_over_https_cookies_are_host_prefixed_and_secure_and_hsts_is_sent() {
    let app = TestApp::start_with(&["--issuer", "https://id.example.test"]);
    app.create_namespace("customers");
    let web = app.admin().post(
        "/api/v1/clients",
        &serde_json::json!({
            "name": "Web shop", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT], "user_namespace": "customers"
        }),
    );
    assert_eq!(web.status, 201, "{}", web.text);
    let pages = check(&app, web.json["client_id"].as_str().unwrap(), true);
    assert!(pages >= 12, "only {pages} HTML responses were seen");
    let sign_in = Browser::new(&app.base).get("/console/login");
    let cookies = set_cookies(&sign_in);
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| c.starts_with("__Host-") && c.contains("Secure")),
        "{cookies:?}"
    );
    assert_eq!(app.admin().get("/api/v1/me").header("strict-transport-security"), Some("max-age=31536000"));
}
