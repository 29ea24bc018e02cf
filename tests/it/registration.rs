//! Hosted registration with verification codes (through a real SMTP server and an SMS
//! webhook), password reset, and the outbox when the mail server is down.

use openidconnect::{AuthorizationCode, OAuth2TokenResponse, TokenResponse};
use serde_json::json;

use crate::oauth::{http, provider, rp, ALICE_PASSWORD, REDIRECT};
use crate::support::browser::{hidden, location, query_param, Browser};
use crate::support::mail::{code_in, SmtpSink, WebhookSink};

fn authorize_url(client: &crate::oauth::Client_) -> (String, openidconnect::PkceCodeVerifier, openidconnect::Nonce) {
    crate::oauth::start_url(client)
}

#[test]
fn registration_with_email_and_phone_codes_ends_signed_in() {
    let smtp = SmtpSink::start();
    let sms = WebhookSink::start();
    let p = provider(&["--smtp-url", &smtp.url(), "--sms-webhook-url", &sms.url()]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let (url, verifier, nonce) = authorize_url(&client);
    let sign_in = browser.get(&url);
    let request = hidden(&sign_in.text, "request").unwrap();
    assert!(sign_in.text.contains(&format!("/oauth/register?request={request}")));

    let form = browser.get(&format!("/oauth/register?request={request}"));
    assert_eq!(form.status, 200, "{}", form.text);
    let bad = browser.submit(&form, "/oauth/register", &[("email", "not-an-email"), ("password", "short")]);
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("The email address is not valid"));
    let verify = browser.submit(
        &form,
        "/oauth/register",
        &[
            ("email", "bob@example.com"),
            ("phone_number", "+14155550199"),
            ("name", "Bob"),
            ("password", "bob's long password"),
        ],
    );
    assert_eq!(verify.status, 200, "{}", verify.text);
    assert!(verify.text.contains("email_code") && verify.text.contains("phone_code"));

    let email_code = smtp.code_for("bob@example.com");
    let phone_code = sms.code_for("+14155550199");
    let wrong = browser.submit(&verify, "/oauth/verify", &[("email_code", "000000"), ("phone_code", &phone_code)]);
    assert_eq!(wrong.status, 400);
    let done = browser.submit(&verify, "/oauth/verify", &[("email_code", &email_code), ("phone_code", &phone_code)]);
    assert_eq!(done.status, 303, "{}", done.text);
    let back = location(&done);
    assert!(back.starts_with(REDIRECT));
    let tokens = client
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http())
        .expect("code exchange after registration");
    let claims = tokens.id_token().unwrap().claims(&client.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.email().map(|e| e.as_str()), Some("bob@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(claims.phone_number_verified(), Some(true));
    assert!(!tokens.access_token().secret().is_empty());

    let listed = p.app.admin().get("/api/v1/namespaces/customers/users?q=bob@");
    assert_eq!(listed.json["items"][0]["email_verified"], true);
    assert!(!smtp.messages().concat().contains("bob's long password"));
}

#[test]
fn registering_a_taken_address_reveals_nothing_and_tells_its_owner() {
    let smtp = SmtpSink::start();
    let p = provider(&["--smtp-url", &smtp.url()]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let (url, _, _) = authorize_url(&client);
    let request = hidden(&browser.get(&url).text, "request").unwrap();
    let form = browser.get(&format!("/oauth/register?request={request}"));
    let verify = browser.submit(
        &form,
        "/oauth/register",
        &[("email", "ALICE@example.com"), ("password", "another long password")],
    );
    assert_eq!(verify.status, 200, "the same page as for a new address: {}", verify.text);
    assert!(verify.text.contains("email_code"));
    assert!(crate::support::eventually(std::time::Duration::from_secs(30), || smtp
        .messages()
        .iter()
        .any(|m| m.contains("Someone tried to register"))));
    assert!(smtp.messages().iter().all(|m| code_in(m).is_none()), "no code is sent for a taken address");
    let attempt = browser.submit(&verify, "/oauth/verify", &[("email_code", "123456")]);
    assert_eq!(attempt.status, 400);
    let users = p.app.admin().get("/api/v1/namespaces/customers/users");
    assert_eq!(users.json["items"].as_array().unwrap().len(), 1, "no second account");
}

#[test]
fn password_reset_by_a_mailed_code() {
    let smtp = SmtpSink::start();
    let p = provider(&["--smtp-url", &smtp.url()]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let (url, _, _) = authorize_url(&client);
    let request = hidden(&browser.get(&url).text, "request").unwrap();
    let form = browser.get(&format!("/oauth/reset?request={request}"));
    assert_eq!(form.status, 200);
    let unknown = browser.submit(&form, "/oauth/reset", &[("login", "nobody@example.com")]);
    let known = browser.submit(&form, "/oauth/reset", &[("login", "alice@example.com")]);
    assert_eq!(unknown.status, known.status);
    assert_eq!(
        unknown.text.replace("nobody@example.com", "X"),
        known.text.replace("alice@example.com", "X"),
        "the same answer whether or not the account exists"
    );
    let code = smtp.code_for("alice@example.com");
    let done = browser.submit(
        &known,
        "/oauth/reset/confirm",
        &[("login", "alice@example.com"), ("code", &code), ("password", "a brand new password")],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    p.app.admin().patch(&format!("/api/v1/clients/{}", p.web.id), &json!({ "password_grant_enabled": true }));
    let api = p.app.anonymous();
    let grant = |password: &str| {
        api.send(
            api.request(reqwest::Method::POST, "/oauth/token")
                .basic_auth(&p.web.client_id, Some(&p.web.secret))
                .form(&[("grant_type", "password"), ("username", "alice"), ("password", password)]),
        )
        .status
    };
    assert_eq!(grant("a brand new password"), 200);
    assert_eq!(grant(ALICE_PASSWORD), 400, "the old password is gone");
}

#[test]
fn mail_queued_while_the_smtp_server_is_down_is_delivered_when_it_returns() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = provider(&["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let (url, _, _) = authorize_url(&client);
    let request = hidden(&browser.get(&url).text, "request").unwrap();
    let form = browser.get(&format!("/oauth/register?request={request}"));
    let verify = browser.submit(
        &form,
        "/oauth/register",
        &[("email", "carol@example.com"), ("password", "carol's long password")],
    );
    assert_eq!(verify.status, 200);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let smtp = SmtpSink::start_on(port);
    let code = smtp.code_for("carol@example.com");
    let done = browser.submit(&verify, "/oauth/verify", &[("email_code", &code)]);
    assert_eq!(done.status, 303, "{}", done.text);
}
