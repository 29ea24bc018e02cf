//! Passkeys in real Chromium, with chromedriver's virtual authenticator (the WebDriver WebAuthn
//! extension: a CTAP2 authenticator with resident keys and user verification). The server runs
//! with the issuer `http://localhost:<port>`, so the relying-party id is `localhost`.
//!
//! The administrator registers a passkey on the console's Security page, signs out and signs
//! in with it alone; then with its password and the passkey as the second step; an assertion
//! made on this origin for a server of another origin (the same relying-party id `localhost`,
//! another port) is refused by that server's origin check; removed, the passkey no longer signs
//! in.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::console_browser::{click, fill, js, off_runtime, runtime};
use crate::support::browser::{hidden, location, Browser};
use crate::support::webdriver::{find, scenario, screenshot, wait_for_text, Driver};
use crate::support::{TestApp, ADMIN_PASSWORD};

/// Adds a virtual authenticator to the browser's session: a platform passkey provider whose
/// user verification succeeds.
async fn add_virtual_authenticator(driver: &Driver, browser: &Client) -> String {
    let session = browser.session_id().await.unwrap().expect("a WebDriver session");
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/session/{session}/webauthn/authenticator", driver.url))
        .json(&json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true
        }))
        .send()
        .await
        .expect("chromedriver answers")
        .json()
        .await
        .expect("JSON from chromedriver");
    answer["value"].as_str().unwrap_or_else(|| panic!("no authenticator id: {answer}")).to_owned()
}

/// The credentials the virtual authenticator holds.
async fn credentials(driver: &Driver, browser: &Client, authenticator: &str) -> Vec<Value> {
    let session = browser.session_id().await.unwrap().unwrap();
    let answer: Value = reqwest::Client::new()
        .get(format!("{}/session/{session}/webauthn/authenticator/{authenticator}/credentials", driver.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["value"].as_array().cloned().unwrap_or_default()
}

/// Sends a WebDriver WebAuthn command of the session (`path` after `/session/{id}`).
async fn webauthn(driver: &Driver, browser: &Client, method: reqwest::Method, path: &str, body: Value) -> Value {
    let session = browser.session_id().await.unwrap().unwrap();
    let answer = reqwest::Client::new()
        .request(method, format!("{}/session/{session}{path}", driver.url))
        .json(&body)
        .send()
        .await
        .expect("chromedriver answers");
    let status = answer.status();
    let json: Value = answer.json().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status} {json}");
    json
}

/// On the sign-in page, signs in with the passkey: the browser's conditional UI may do it by
/// itself (Chromium's virtual authenticator answers a conditional request at once); otherwise
/// the button does. Waits until the page shows `expected` (a CSS selector or a text).
async fn passkey_on_sign_in_page(b: &Client, expected: Expected<'_>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut clicked = false;
    let started = std::time::Instant::now();
    loop {
        let reached = match expected {
            Expected::Element(css) => b.find(Locator::Css(css)).await.is_ok(),
            Expected::Text(text) => b.source().await.unwrap_or_default().contains(text),
        };
        if reached {
            return;
        }
        if !clicked && started.elapsed() > std::time::Duration::from_secs(3) {
            if let Ok(button) = b.find(Locator::Css("#passkey-button")).await {
                clicked = button.click().await.is_ok();
            }
        }
        assert!(std::time::Instant::now() < deadline, "the page never showed {expected:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Expected<'a> {
    Element(&'a str),
    Text(&'a str),
}

/// The `oauth.signin` events of the administrator, newest first.
fn sign_ins(app: &TestApp) -> Vec<Value> {
    let events = app.admin().get("/api/v1/audit-events?action=oauth.signin");
    assert_eq!(events.status, 200, "{}", events.text);
    events.json["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_passkey_from_the_security_page_signs_in_without_a_password() {
    // The console rule relaxed so that the first sign-in is a password alone (enrolment through
    // the hosted pages is tested in console_browser.rs); the passkey is added afterwards.
    let (app, issuer) = TestApp::start_on_localhost(&["--console-mfa", "optional"]);
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 900).await;
        scenario(&b, "passkeys", passkeys(&driver, &b, &app, &issuer)).await;
        b.close().await.unwrap();
    });
}

#[test]
fn an_administrator_sets_up_a_passkey_instead_of_an_app_at_the_first_console_sign_in() {
    // The default console rule: the administrator holds write grants and has no factor, so the
    // first sign-in goes through enrolment, whose page offers a passkey beside the app.
    let (app, base) = TestApp::start_on_localhost(&[]);
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 900).await;
        scenario(&b, "passkey-enrolment", async {
            let authenticator = add_virtual_authenticator(&driver, &b).await;
            b.goto(&format!("{base}/console/")).await.unwrap();
            click(&b, "#sign-in").await;
            fill(&b, "input[name=login]", "admin").await;
            fill(&b, "input[name=password]", ADMIN_PASSWORD).await;
            click(&b, "form[action='/oauth/login'] button[type=submit]").await;
            find(&b, "#totp-secret").await;
            fill(&b, "#passkey-name", "Security key").await;
            screenshot(&b, "hosted-enrolment-passkey").await;
            click(&b, "#passkey-button").await;
            find(&b, ".recovery-codes").await;
            assert_eq!(js(&b, "return document.querySelectorAll('.recovery-codes li').length").await, json!(10));
            click(&b, "form[action='/oauth/mfa/continue'] button[type=submit]").await;
            find(&b, "#me").await;
            wait_for_text(&b, "admin").await;
            assert_eq!(credentials(&driver, &b, &authenticator).await.len(), 1);
            let path = format!("/api/v1/namespaces/system/users/{}/factors", app.admin_account_id);
            let listed = off_runtime(|| app.admin().get(&path));
            let items = listed.json["items"].as_array().cloned().unwrap_or_default();
            assert_eq!(items.len(), 1, "{}", listed.text);
            assert_eq!(
                (items[0]["kind"].as_str(), items[0]["name"].as_str()),
                (Some("webauthn"), Some("Security key"))
            );
            let events = off_runtime(|| sign_ins(&app));
            assert_eq!(events[0]["outcome"], "success", "{:?}", events[0]);
            assert_eq!(events[0]["changes"]["amr"], json!(["pwd", "hwk", "mfa"]), "{:?}", events[0]);
        })
        .await;
        b.close().await.unwrap();
    });
}

/// Over HTTP, no browser: at enrolment, a passkey answer that is not one (or comes for another
/// sign-in's challenge) enrols nothing, is a failed sign-in on record, and leaves the same
/// enrolment page; options are only given to a sign-in at enrolment.
#[test]
fn a_passkey_enrolment_answer_that_is_not_a_passkey_enrols_nothing() {
    let (app, base) = TestApp::start_on_localhost(&[]);
    let browser = Browser::new(&base);
    let start = browser.get("/console/login");
    let page = browser.password_step(&location(&start), "admin", ADMIN_PASSWORD);
    assert!(page.text.contains("action=\"/oauth/passkey/enrol\""), "a passkey is offered: {}", page.text);
    let fields =
        |page: &crate::support::Reply| (hidden(&page.text, "request").unwrap(), hidden(&page.text, "csrf").unwrap());
    let (request, csrf) = fields(&page);
    let options = browser.post_form("/oauth/passkey/registration-options", &[("request", &request), ("csrf", &csrf)]);
    assert_eq!(options.status, 200, "{}", options.text);
    assert_eq!(options.json["options"]["publicKey"]["authenticatorSelection"]["residentKey"], "required");
    let ceremony = options.json["ceremony"].as_str().unwrap().to_owned();
    // Another browser (no authz cookie of this sign-in) gets no options.
    let stranger =
        Browser::new(&base).post_form("/oauth/passkey/registration-options", &[("request", &request), ("csrf", &csrf)]);
    assert_eq!(stranger.status, 400, "{}", stranger.text);
    let forged = r#"{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"attestationObject":"AAAA","clientDataJSON":"AAAA"},"extensions":{}}"#;
    let answer = browser.submit(&page, "/oauth/passkey/enrol", &[("ceremony", &ceremony), ("credential", forged)]);
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.text.contains("That passkey was not accepted.") && answer.text.contains("id=\"totp-secret\""));
    // The challenge was used up: the same ceremony again is refused the same way.
    let again = browser.submit(&answer, "/oauth/passkey/enrol", &[("ceremony", &ceremony), ("credential", forged)]);
    assert!(again.text.contains("That passkey was not accepted."), "{}", again.text);
    let listed = app.admin().get(&format!("/api/v1/namespaces/system/users/{}/factors", app.admin_account_id));
    assert_eq!(listed.json["items"], json!([]), "{}", listed.text);
    let events = sign_ins(&app);
    assert_eq!(events[0]["outcome"], "failure", "{:?}", events[0]);
    assert!(events[0]["changes"]["reason"].as_str().unwrap().starts_with("passkey enrolment"), "{:?}", events[0]);
}

async fn passkeys(driver: &Driver, b: &Client, app: &TestApp, base: &str) {
    let authenticator = add_virtual_authenticator(driver, b).await;
    // The sign-in page offers a passkey (the browser has none yet); the password signs in.
    b.goto(&format!("{base}/console/")).await.unwrap();
    click(b, "#sign-in").await;
    find(b, "#passkey-button").await;
    let autocomplete = find(b, "input[name=login]").await.attr("autocomplete").await.unwrap();
    assert_eq!(autocomplete.as_deref(), Some("username webauthn"), "conditional UI is offered");
    screenshot(b, "hosted-sign-in-with-passkey").await;
    fill(b, "input[name=login]", "admin").await;
    fill(b, "input[name=password]", ADMIN_PASSWORD).await;
    click(b, "form[action='/oauth/login'] button[type=submit]").await;
    find(b, "#me").await;

    // Register a passkey on the Security page.
    click(b, "a[data-nav=security]").await;
    find(b, "#no-factors").await;
    fill(b, "#passkey-name", "Laptop").await;
    click(b, "#add-passkey").await;
    wait_for_text(b, "Passkey added").await;
    let row = find(b, "#factors tr[data-kind=webauthn]").await;
    let factor_id = row.attr("data-id").await.unwrap().expect("the row names its factor");
    screenshot(b, "console-security").await;
    let held = credentials(driver, b, &authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], json!(true), "a discoverable credential: {held:?}");
    let listed =
        off_runtime(|| app.admin().get(&format!("/api/v1/namespaces/system/users/{}/factors", app.admin_account_id)));
    assert_eq!(listed.json["items"][0]["kind"], "webauthn", "{}", listed.text);
    assert_eq!(listed.json["items"][0]["name"], "Laptop", "{}", listed.text);
    assert!(listed.json["items"][0]["last_used_at"].is_null(), "{}", listed.text);
    assert!(!listed.text.contains("public_data") && !listed.text.contains("credential"), "{}", listed.text);

    // Sign out, and in again with the passkey alone: no password typed.
    click(b, "#sign-out").await;
    wait_for_text(b, "Signed out").await;
    click(b, "#sign-in").await;
    passkey_on_sign_in_page(b, Expected::Element("#me")).await;
    wait_for_text(b, "admin").await;
    let events = off_runtime(|| sign_ins(app));
    assert_eq!(events[0]["outcome"], "success", "{:?}", events[0]);
    assert_eq!(events[0]["changes"]["amr"], json!(["hwk"]), "{:?}", events[0]);
    let used =
        off_runtime(|| app.admin().get(&format!("/api/v1/namespaces/system/users/{}/factors", app.admin_account_id)));
    assert!(used.json["items"][0]["last_used_at"].is_string(), "last use recorded: {}", used.text);

    // With the password, the passkey is the second step (a TOTP code is not asked for). The
    // sign-in page's conditional UI would use the passkey by itself, so the authenticator is
    // away until the second step, then comes back with the same credential.
    let saved = credentials(driver, b, &authenticator).await.remove(0);
    let path = format!("/webauthn/authenticator/{authenticator}");
    webauthn(driver, b, reqwest::Method::DELETE, &path, json!({})).await;
    click(b, "#sign-out").await;
    wait_for_text(b, "Signed out").await;
    click(b, "#sign-in").await;
    fill(b, "input[name=login]", "admin").await;
    fill(b, "input[name=password]", ADMIN_PASSWORD).await;
    click(b, "form[action='/oauth/login'] button[type=submit]").await;
    find(b, "#passkey-button").await;
    let authenticator = add_virtual_authenticator(driver, b).await;
    let path = format!("/webauthn/authenticator/{authenticator}/credential");
    webauthn(driver, b, reqwest::Method::POST, &path, saved).await;
    wait_for_text(b, "Use your passkey").await;
    screenshot(b, "hosted-second-factor-passkey").await;
    click(b, "#passkey-button").await;
    find(b, "#me").await;
    let events = off_runtime(|| sign_ins(app));
    assert_eq!(events[0]["changes"]["amr"], json!(["pwd", "hwk", "mfa"]), "{:?}", events[0]);

    // An assertion for another origin. A second server on the same database has the issuer
    // http://localhost:<other port>: the same relying-party id, another origin. The browser, on
    // this server's origin, answers that server's challenge (a right signature, by a known
    // credential, for its own request): its origin check refuses it.
    let other_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (other_bind, other_issuer) = (format!("127.0.0.1:{other_port}"), format!("http://localhost:{other_port}"));
    let (mut other, other_base, other_log) = crate::support::spawn_server(
        &app.db,
        &["--bind", &other_bind, "--issuer", &other_issuer, "--console-mfa", "optional"],
    );
    // (The blocking HTTP client lives and dies off the browser's async runtime.)
    let (hosted, page, challenge) = off_runtime(|| {
        let hosted = Browser::new(&other_base);
        let login = hosted.get("/console/login");
        let authorize = location(&login).replacen(&other_issuer, &other_base, 1);
        let page = hosted.get(&authorize);
        assert_eq!(page.status, 200, "{}", page.text);
        let (request, csrf) = (hidden(&page.text, "request").unwrap(), hidden(&page.text, "csrf").unwrap());
        let challenge = hosted.post_form("/oauth/passkey/options", &[("request", &request), ("csrf", &csrf)]);
        assert_eq!(challenge.status, 200, "{}", challenge.text);
        (hosted, page, challenge)
    });
    let options = challenge.json["options"].to_string();
    let answer = b
        .execute_async(
            "gatehousePasskey.get(arguments[0]).then(arguments[1], e => arguments[1]('failed: ' + e))",
            vec![json!(options)],
        )
        .await
        .unwrap();
    let credential = answer.as_str().unwrap().to_owned();
    assert!(credential.starts_with('{'), "the browser answered: {credential}");
    let ceremony = challenge.json["ceremony"].as_str().unwrap().to_owned();
    let refused = off_runtime(move || {
        let refused = hosted.submit(&page, "/oauth/passkey", &[("ceremony", &ceremony), ("credential", &credential)]);
        drop(hosted);
        refused
    });
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(refused.status, 200, "{}", refused.text);
    assert!(refused.text.contains("That passkey was not accepted."), "{}", refused.text);
    assert!(refused.header("location").is_none(), "no code for another origin");
    let log = std::fs::read_to_string(&other_log).unwrap();
    assert!(log.contains("passkey assertion refused: InvalidRPOrigin"), "refused for its origin: {log}");
    let events = off_runtime(|| sign_ins(app));
    assert_eq!(events[0]["outcome"], "failure", "{:?}", events[0]);
    assert!(
        events[0]["changes"]["reason"].as_str().unwrap_or_default().contains("assertion refused"),
        "{:?}",
        events[0]
    );
    screenshot(b, "console-after-wrong-origin").await;

    // Removed on the Security page, the passkey no longer signs in (the browser still has it).
    b.goto(&format!("{base}/console/security")).await.unwrap();
    click(b, &format!("tr[data-id='{factor_id}'] button.remove")).await;
    click(b, "#confirm-yes").await;
    find(b, "#no-factors").await;
    click(b, "#sign-out").await;
    wait_for_text(b, "Signed out").await;
    click(b, "#sign-in").await;
    passkey_on_sign_in_page(b, Expected::Text("That passkey was not accepted.")).await;
    assert!(b.find(Locator::Css("#me")).await.is_err(), "a removed passkey signed in");
    let events = off_runtime(|| app.admin().get("/api/v1/audit-events?action=oauth.signin&outcome=failure"));
    let reasons: Vec<&str> =
        events.json["items"].as_array().unwrap().iter().filter_map(|e| e["changes"]["reason"].as_str()).collect();
    assert!(reasons.contains(&"passkey: unknown credential"), "{reasons:?}");
    assert_eq!(credentials(driver, b, &authenticator).await.len(), 1, "the browser kept its credential");
}
