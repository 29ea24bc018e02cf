//! The device authorization grant (RFC 8628): a device starts at `/oauth/device_authorization`,
//! the user enters the code on the hosted page `/oauth/device` (signing in there, second factor
//! included, and confirming), and the device polls the token endpoint. Driven end to end by
//! openid-client 6 (its `initiateDeviceAuthorization` and `pollDeviceAuthorizationGrant`), and
//! here by hand for what a library never sends: polls too fast, denied, expired, guessed,
//! reused codes, and clients that may not use the grant.

use serde_json::{json, Value};

use crate::oauth::{provider, Provider, ALICE_PASSWORD};
use crate::openid_client::Rp;
use crate::support::browser::{hidden, Browser};
use crate::support::{Reply, TestApp};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public client (a CLI) that may use the device grant and refresh its tokens.
fn device_client(app: &TestApp) -> String {
    let created = app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "Acme CLI",
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "user_namespace": "customers",
            "token_endpoint_auth_method": "none"
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["grant_types"], json!(["refresh_token", DEVICE_GRANT]), "{}", created.text);
    created.json["client_id"].as_str().unwrap().to_owned()
}

fn start(browser: &Browser, client_id: &str, scope: &str) -> Value {
    let started = browser.post_form("/oauth/device_authorization", &[("client_id", client_id), ("scope", scope)]);
    assert_eq!(started.status, 200, "{}", started.text);
    started.json
}

fn poll(base: &str, client_id: &str, device_code: &str) -> Reply {
    Browser::new(base).post_form(
        "/oauth/token",
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client_id)],
    )
}

fn error_of(reply: &Reply) -> &str {
    assert_eq!(reply.status, 400, "{}", reply.text);
    reply.json["error"].as_str().unwrap_or_else(|| panic!("an OAuth error: {}", reply.text))
}

/// Opens the device page (from `verification_uri_complete` when `complete`) and enters `code`.
fn enter_code(browser: &Browser, started: &Value, code: &str) -> Reply {
    let page = browser.get(started["verification_uri"].as_str().unwrap());
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf").expect("the code form has a csrf field");
    browser.post_form("/oauth/device", &[("csrf", &csrf), ("user_code", code)])
}

/// Enters the code, signs in as alice (with her second factor when she has one) and answers the
/// consent page; returns the last page.
fn approve(browser: &Browser, started: &Value, decision: &str) -> Reply {
    let code = started["user_code"].as_str().unwrap().to_ascii_lowercase().replace('-', "");
    let sign_in = enter_code(browser, started, &code);
    assert_eq!(sign_in.status, 200, "{}", sign_in.text);
    assert!(sign_in.text.contains("Acme CLI"), "the page says which client asks: {}", sign_in.text);
    let answer = browser.submit(&sign_in, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]);
    let consent = crate::support::totp::second_step(browser, answer, "alice");
    confirm(browser, &consent, decision)
}

fn confirm(browser: &Browser, consent: &Reply, decision: &str) -> Reply {
    assert_eq!(consent.status, 200, "{}", consent.text);
    assert!(consent.text.contains("A device where you entered a code"), "the consent page: {}", consent.text);
    assert!(consent.text.contains("Acme CLI"), "{}", consent.text);
    browser.submit(consent, "/oauth/consent", &[("decision", decision)])
}

fn audit(app: &TestApp, action: &str) -> Vec<Value> {
    let listed = app.admin().get(&format!("/api/v1/audit-events?action={action}"));
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json["items"].as_array().unwrap().clone()
}

#[test]
fn openid_client_receives_and_validates_the_tokens_of_a_device_flow() {
    let p = provider(&[]);
    let client_id = device_client(&p.app);
    let mut rp = Rp::start();
    let discovered = rp.configure(&p.app, &client_id, json!({ "auth": "none" }));
    assert_eq!(
        discovered["device_authorization_endpoint"],
        json!(format!("{}/oauth/device_authorization", p.app.base))
    );
    assert!(discovered["grant_types_supported"].as_array().unwrap().contains(&json!(DEVICE_GRANT)), "{discovered}");

    let started = rp.ok(json!({ "op": "device_start", "scope": "openid profile offline_access" }));
    let user_code = started["user_code"].as_str().unwrap();
    assert!(
        user_code.len() == 9
            && user_code.as_bytes()[4] == b'-'
            && user_code.bytes().filter(|b| *b != b'-').all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)),
        "{user_code}"
    );
    assert_eq!(started["verification_uri"], json!(format!("{}/oauth/device", p.app.base)));
    assert_eq!(started["expires_in"], json!(600));
    // The library polls (it waits the interval, and keeps waiting while the user decides).
    rp.ok(json!({ "op": "device_poll_start" }));

    // The user opens verification_uri_complete: the code is filled in.
    let browser = Browser::new(&p.app.base);
    let page = browser.get(started["verification_uri_complete"].as_str().unwrap());
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&format!("value=\"{user_code}\"")), "{}", page.text);
    let csrf = hidden(&page.text, "csrf").unwrap();
    let sign_in = browser.post_form("/oauth/device", &[("csrf", &csrf), ("user_code", user_code)]);
    let answer = browser.submit(&sign_in, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]);
    let done = confirm(&browser, &answer, "allow");
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("You can return to your device"), "{}", done.text);

    let tokens = rp.ok(json!({ "op": "device_poll_result" }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice), "{tokens}");
    assert_eq!(tokens["claims"]["aud"], json!(client_id));
    assert_eq!(tokens["claims"]["iss"], json!(p.app.base));
    assert!(tokens["claims"]["sid"].is_string(), "the ID token names the session: {tokens}");
    assert_eq!(tokens["claims"]["name"], json!("Alice Liddell"));
    let refresh = tokens["refresh_token"].as_str().expect("offline_access and refresh_token give a refresh token");
    let info = rp.ok(json!({ "op": "userinfo", "access_token": tokens["access_token"], "subject": p.alice }));
    assert_eq!(info["userinfo"]["sub"], json!(p.alice));
    let renewed = rp.ok(json!({ "op": "refresh", "refresh_token": refresh }));
    assert!(renewed["access_token"].is_string(), "{renewed}");

    let issued = audit(&p.app, "oauth.token");
    assert!(
        issued.iter().any(|e| e["changes"]["grant_type"] == json!(DEVICE_GRANT) && e["outcome"] == json!("success")),
        "the grant is on record: {issued:#?}"
    );
    assert!(!audit(&p.app, "oauth.device.approve").is_empty());
}

#[test]
fn polling_too_fast_slows_the_device_down_on_every_replica() {
    let p = provider(&[]);
    let client_id = device_client(&p.app);
    let browser = Browser::new(&p.app.base);
    let started = start(&browser, &client_id, "openid");
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(started["interval"], json!(5));

    assert_eq!(error_of(&poll(&p.app.base, &client_id, device_code)), "authorization_pending");
    // At once again, through another replica: the last poll is in the database.
    let replica = p.app.replica();
    assert_eq!(error_of(&poll(&replica.base, &client_id, device_code)), "slow_down");
    assert_eq!(error_of(&poll(&p.app.base, &client_id, device_code)), "slow_down");
    // Each slow_down adds 5 seconds, for good.
    assert_eq!(p.app.db.number("SELECT CAST(interval_seconds AS BIGINT) AS n FROM device_authorizations"), 15);
    let refused = audit(&p.app, "oauth.token");
    assert!(
        refused.iter().any(|e| e["changes"]["error"] == json!("slow_down") && e["outcome"] == json!("failure")),
        "each poll is on record: {refused:#?}"
    );
}

#[test]
fn a_second_factor_and_a_denial() {
    let p = provider(&[]);
    let client_id = device_client(&p.app);
    // Every account of the namespace must use a second factor: alice enrols on the way.
    let required = p.app.admin().patch("/api/v1/namespaces/customers", &json!({ "mfa": "required" }));
    assert_eq!(required.status, 200, "{}", required.text);
    let browser = Browser::new(&p.app.base);
    let started = start(&browser, &client_id, "openid");
    let device_code = started["device_code"].as_str().unwrap();
    let done = approve(&browser, &started, "allow");
    assert!(done.text.contains("You can return to your device"), "{}", done.text);
    let tokens = poll(&p.app.base, &client_id, device_code);
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert!(tokens.json["id_token"].is_string());
    let factors = p.app.admin().get(&format!("/api/v1/namespaces/customers/users/{}/factors", p.alice));
    assert_eq!(factors.json["items"].as_array().map(Vec::len), Some(1), "alice enrolled: {}", factors.text);

    // The same browser is signed in (with its second factor): the code goes straight to the
    // confirmation, which the user denies.
    let second = start(&browser, &client_id, "openid");
    let consent = enter_code(&browser, &second, second["user_code"].as_str().unwrap());
    let denied = confirm(&browser, &consent, "deny");
    assert_eq!(denied.status, 200, "{}", denied.text);
    assert!(denied.text.contains("You did not allow Acme CLI"), "{}", denied.text);
    assert_eq!(error_of(&poll(&p.app.base, &client_id, second["device_code"].as_str().unwrap())), "access_denied");
    assert!(!audit(&p.app, "oauth.device.deny").is_empty());
}

#[test]
fn expired_reused_and_guessed_codes_do_nothing() {
    let p = provider(&[]);
    let client_id = device_client(&p.app);
    let browser = Browser::new(&p.app.base);

    // Used once: tokens; a second time: refused, and the page no longer takes its code.
    let used = start(&browser, &client_id, "openid");
    approve(&browser, &used, "allow");
    let code = used["device_code"].as_str().unwrap();
    assert_eq!(poll(&p.app.base, &client_id, code).status, 200);
    p.app.db.execute("UPDATE device_authorizations SET last_polled_at = NULL");
    let again = poll(&p.app.base, &client_id, code);
    assert_eq!(error_of(&again), "invalid_grant");
    assert!(again.text.contains("already used"), "{}", again.text);
    let page = enter_code(&browser, &used, used["user_code"].as_str().unwrap());
    assert!(page.text.contains("That code is not valid"), "{}", page.text);
    // Another client cannot redeem a device code.
    let other = device_client(&p.app);
    assert_eq!(error_of(&poll(&p.app.base, &other, code)), "invalid_grant");

    // Expired: the device hears expired_token, the page does not take the code.
    let late = start(&browser, &client_id, "openid");
    p.app.db.execute("UPDATE device_authorizations SET expires_at = created_at");
    assert_eq!(error_of(&poll(&p.app.base, &client_id, late["device_code"].as_str().unwrap())), "expired_token");
    let page = enter_code(&browser, &late, late["user_code"].as_str().unwrap());
    assert!(page.text.contains("That code is not valid"), "{}", page.text);

    // Guessing: each wrong code is audited, and the address is slowed down.
    let guesser = Browser::new(&p.app.base);
    let mut throttled = false;
    for guess in ["BCDF-GHJK", "bcdfghjm", "not a code", "ZZZZ-ZZZZ", "BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD"] {
        let page = enter_code(&guesser, &late, guess);
        if page.status == 429 {
            throttled = true;
            break;
        }
        assert!(page.text.contains("That code is not valid"), "{}", page.text);
    }
    assert!(throttled, "repeated guesses are throttled");
    let failures = audit(&p.app, "oauth.device.verify");
    assert!(
        failures.iter().filter(|e| e["outcome"] == json!("failure")).count() >= 5,
        "wrong codes are on record: {failures:#?}"
    );
    assert!(!audit(&p.app, "auth.lockout").is_empty(), "the lock-out is on record");
}

#[test]
fn clients_without_the_grant_or_disabled_get_nothing() {
    let Provider { app, web, .. } = provider(&[]);
    // The web app (authorization_code) may not start a device flow, nor poll with one.
    let anyone = Browser::new(&app.base);
    let refused = app.as_client(&web).send(
        app.as_client(&web).request(reqwest::Method::POST, "/oauth/device_authorization").form(&[("scope", "openid")]),
    );
    assert_eq!(error_of(&refused), "unauthorized_client");
    let polled = app.as_client(&web).send(
        app.as_client(&web)
            .request(reqwest::Method::POST, "/oauth/token")
            .form(&[("grant_type", DEVICE_GRANT), ("device_code", "whatever")]),
    );
    assert_eq!(error_of(&polled), "unauthorized_client");
    assert!(
        audit(&app, "oauth.device_authorization").iter().any(|e| e["outcome"] == json!("denied")),
        "the refusal is on record"
    );

    // A code of a client disabled since does nothing on the page.
    let client_id = device_client(&app);
    let started = start(&anyone, &client_id, "openid");
    let listed = app.admin().get("/api/v1/clients");
    let id = listed.json["items"].as_array().unwrap().iter().find(|c| c["client_id"] == json!(client_id)).unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disabled = app.admin().patch(&format!("/api/v1/clients/{id}"), &json!({ "disabled": true }));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let page = enter_code(&anyone, &started, started["user_code"].as_str().unwrap());
    assert!(page.text.contains("That code is not valid"), "{}", page.text);
    // And the disabled client cannot poll.
    let polled = poll(&app.base, &client_id, started["device_code"].as_str().unwrap());
    assert_eq!(polled.status, 401, "{}", polled.text);
}
