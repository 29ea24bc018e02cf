//! Second factors in the console, in real Chromium: an account adds an authenticator app on its
//! Security page (codes made by pyotp) and the next console sign-in asks for a code; an
//! administrator requires a factor in a namespace with the namespace page's select (the next
//! sign-in there is taken through enrolment) and resets an account's factor on its detail page
//! (the account is signed out everywhere). Passkeys in the console: `passkeys_browser.rs`.

use fantoccini::Client;
use serde_json::json;

use crate::console_browser::{click, fill, off_runtime, runtime, sign_in};
use crate::oauth::{provider, rp, start, ALICE_PASSWORD};
use crate::support::browser::Browser;
use crate::support::totp::{self, code_at, is_enrolment, unix_now};
use crate::support::webdriver::{find, scenario, screenshot, wait_for_text, Driver};
use crate::support::{TestApp, ADMIN_PASSWORD};

/// The administrator's factors, as the API lists them.
fn admin_factors(app: &TestApp) -> Vec<serde_json::Value> {
    let me = app.admin().get("/api/v1/namespaces/system/users?q=admin");
    let id = me.json["items"][0]["id"].as_str().expect("the administrator's account").to_owned();
    let listed = app.admin().get(&format!("/api/v1/namespaces/system/users/{id}/factors"));
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_authenticator_app_added_on_the_security_page_is_asked_for_at_the_next_sign_in() {
    // The console rule relaxed: the first sign-in is a password alone, the app is added after.
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 900).await;
        scenario(&b, "security-totp", security_totp(&b, &app)).await;
        b.close().await.unwrap();
    });
}

async fn security_totp(b: &Client, app: &TestApp) {
    sign_in(b, &app.base).await;
    click(b, "a[data-nav='security']").await;
    find(b, "#no-factors").await;
    click(b, "#begin-totp").await;
    find(b, "figure.qr svg").await;
    let secret = find(b, "#totp-secret").await.text().await.unwrap();
    fill(b, "#totp-name", "Phone").await;
    // A wrong code adds nothing.
    let stale = off_runtime(|| code_at(&secret, unix_now() - 3600));
    fill(b, "#totp-code", &stale).await;
    click(b, "#confirm-totp").await;
    find(b, ".error-banner").await;
    assert!(off_runtime(|| admin_factors(app)).is_empty());
    let step = unix_now() / 30;
    let code = off_runtime(|| code_at(&secret, step * 30));
    fill(b, "#totp-code", &code).await;
    click(b, "#confirm-totp").await;
    let name = find(b, "table#factors tr[data-kind='totp'] input.factor-name").await;
    assert_eq!(name.prop("value").await.unwrap().as_deref(), Some("Phone"));
    screenshot(b, "console-security-totp").await;
    let factors = off_runtime(|| admin_factors(app));
    assert_eq!(factors.len(), 1, "{factors:?}");
    assert_eq!((factors[0]["kind"].as_str(), factors[0]["name"].as_str()), (Some("totp"), Some("Phone")));

    // Signed out, the password alone no longer opens the console: the code page follows it,
    // and the next step's code (this one was taken by the enrolment) signs in.
    click(b, "#sign-out").await;
    wait_for_text(b, "Signed out").await;
    click(b, "#sign-in").await;
    fill(b, "input[name=login]", "admin").await;
    fill(b, "input[name=password]", ADMIN_PASSWORD).await;
    click(b, "form[action='/oauth/login'] button[type=submit]").await;
    find(b, "form[action='/oauth/mfa']").await;
    let next = off_runtime(|| code_at(&secret, (step + 1) * 30));
    fill(b, "input[name=code]", &next).await;
    click(b, "form[action='/oauth/mfa'] button[type=submit]").await;
    find(b, "#me").await;
    wait_for_text(b, "admin").await;
}

#[test]
fn an_administrator_requires_a_factor_in_a_namespace_and_resets_an_accounts_factor_in_the_console() {
    let p = provider(&["--console-mfa", "optional"]);
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 900).await;
        scenario(&b, "policy-and-reset", async {
            sign_in(&b, &p.app.base).await;
            // The policy, with the namespace page's select.
            click(&b, "a[data-nav='namespaces']").await;
            let select = find(&b, "tr[data-id='customers'] select.mfa-policy").await;
            select.select_by_value("required").await.unwrap();
            wait_for_text(&b, "customers: second factor required").await;
            screenshot(&b, "console-namespace-policy").await;
            let ns = off_runtime(|| p.app.admin().get("/api/v1/namespaces/customers"));
            assert_eq!(ns.json["mfa"], "required", "{}", ns.text);

            // Alice's next sign-in is taken through enrolment before any code is issued.
            off_runtime(|| {
                let browser = Browser::new(&p.app.base);
                let started = start(&rp(&p.app, &p.web), &["profile"]);
                let page = browser.password_step(&started.url, "alice", ALICE_PASSWORD);
                assert!(is_enrolment(&page), "{} {}", page.status, page.text);
                let codes = totp::enrol(&browser, &page, "alice");
                let back = browser.submit(&codes, "/oauth/mfa/continue", &[]);
                assert_eq!(back.status, 303, "{}", back.text);
            });

            // Her factor on her page, reset with the button after the confirmation.
            b.goto(&format!("{}/console/users/customers/{}", p.app.base, p.alice)).await.unwrap();
            find(&b, "table#factors tr[data-kind='totp']").await;
            screenshot(&b, "console-user-factors").await;
            click(&b, "table#factors tr[data-kind='totp'] button.remove").await;
            find(&b, ".modal").await;
            click(&b, "#confirm-yes").await;
            find(&b, "#no-factors").await;
            let listed =
                off_runtime(|| p.app.admin().get(&format!("/api/v1/namespaces/customers/users/{}/factors", p.alice)));
            assert_eq!(listed.json["items"], json!([]), "{}", listed.text);
        })
        .await;
        b.close().await.unwrap();
    });
}
