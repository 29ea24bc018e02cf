//! The console in a real browser (headless Chromium through chromedriver): an administrator
//! signs in through the hosted page and does the console's tasks. Screenshots of the main
//! screens (and of any failure) go to `target/screenshots/`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::support::webdriver::{find, scenario, screenshot, wait_for_text, Driver};
use crate::support::{ClientCreds, TestApp, ADMIN_PASSWORD};

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Runs blocking test-kit calls (the admin API) from inside the browser scenario.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

pub(crate) async fn fill(browser: &Client, css: &str, text: &str) {
    let input = find(browser, css).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

pub(crate) async fn click(browser: &Client, css: &str) {
    find(browser, css).await.click().await.unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

pub(crate) async fn js(browser: &Client, script: &str) -> Value {
    browser.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}"))
}

/// From the signed-out console through the hosted sign-in page, back to the overview.
pub(crate) async fn sign_in(browser: &Client, base: &str) {
    browser.goto(&format!("{base}/console/")).await.unwrap();
    click(browser, "#sign-in").await;
    fill(browser, "input[name=login]", "admin").await;
    fill(browser, "input[name=password]", ADMIN_PASSWORD).await;
    click(browser, "form[action='/oauth/login'] button[type=submit]").await;
    find(browser, "#me").await;
    wait_for_text(browser, "admin").await;
}

#[test]
fn an_administrator_does_the_console_tasks_in_a_real_browser() {
    // Not about second factors: the administrator (who holds write grants) signs in to the
    // console with the password alone, as `--console-mfa optional` allows for local development.
    // Enrolment through the pages is tested below and over HTTP in tests/it/mfa.rs.
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    let driver = Driver::start();
    runtime().block_on(async {
        let browser = driver.browser(1440, 900).await;
        scenario(&browser, "console-tasks", tasks(&browser, &app)).await;
        browser.close().await.unwrap();
    });
}

async fn tasks(b: &Client, app: &TestApp) {
    let base = app.base.as_str();
    sign_in(b, base).await;
    // Nothing readable by scripts holds a credential.
    let storage =
        js(b, "return [document.cookie, Object.keys(localStorage).length, Object.keys(sessionStorage).length]").await;
    assert_eq!(storage, json!(["", 0, 0]), "the console left something readable behind");
    screenshot(b, "console-overview").await;

    // A namespace and a user in it.
    click(b, "a[data-nav=namespaces]").await;
    fill(b, "#slug", "customers").await;
    fill(b, "#display_name", "Customers").await;
    click(b, "form:has(#slug) button[type=submit]").await;
    find(b, "tr[data-id=customers]").await;
    screenshot(b, "console-namespaces").await;

    b.goto(&format!("{base}/console/users?ns=customers")).await.unwrap();
    fill(b, "#username", "alice").await;
    fill(b, "#email", "alice@example.com").await;
    fill(b, "#password", "alice's long password").await;
    click(b, "form:has(#username) button[type=submit]").await;
    find(b, "a.user-link").await;
    fill(b, "#q", "ali").await;
    wait_for_text(b, "alice@example.com").await;
    screenshot(b, "console-users").await;
    let alice = off_runtime(|| app.admin().get("/api/v1/namespaces/customers/users?q=alice"));
    assert_eq!(alice.json["items"][0]["email"], "alice@example.com", "{}", alice.text);

    // A client whose secret is shown once.
    click(b, "a[data-nav=clients]").await;
    fill(b, "#name", "billing").await;
    fill(b, "#grant", "users:read@customers").await;
    click(b, "#add-grant").await;
    click(b, "form:has(#name) button[type=submit]").await;
    let shown = find(b, "#client-secret").await;
    let secret = shown.text().await.unwrap();
    b.execute("arguments[0].scrollIntoView({block: 'center'})", vec![serde_json::to_value(&shown).unwrap()])
        .await
        .unwrap();
    screenshot(b, "console-client-secret").await;
    let billing = off_runtime(|| app.admin().get("/api/v1/clients?owner=me"));
    let billing = billing.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "billing")
        .cloned()
        .expect("the client was created");
    assert_eq!(billing["permissions"], json!(["users:read@customers"]));
    let creds = ClientCreds {
        id: billing["id"].as_str().unwrap().into(),
        client_id: billing["client_id"].as_str().unwrap().into(),
        secret: secret.trim().into(),
    };
    assert_eq!(off_runtime(|| app.as_client(&creds).get("/api/v1/namespaces/customers/users").status), 200);
    b.refresh().await.unwrap();
    find(b, "a[data-nav=clients]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(b.find(Locator::Css("#client-secret")).await.is_err(), "a reload must not show the secret again");

    // Rotation: a new secret, once; the old one ends at once when asked to.
    b.goto(&format!("{base}/console/clients/{}", creds.id)).await.unwrap();
    find(b, "#rotate-secret").await;
    find(b, "#previous_secret_expires_in").await.select_by_value("0").await.unwrap();
    click(b, "#rotate-secret").await;
    click(b, "#confirm-yes").await;
    let rotated = find(b, "#client-secret").await.text().await.unwrap();
    assert_ne!(rotated.trim(), creds.secret);
    let new_creds = ClientCreds { secret: rotated.trim().into(), ..creds.clone() };
    assert_eq!(off_runtime(|| app.as_client(&new_creds).get("/api/v1/me").status), 200);
    assert_eq!(off_runtime(|| app.as_client(&creds).get("/api/v1/me").status), 401);

    // An owner loses a grant: the permission audit flags the client that held it.
    let flagged = off_runtime(|| {
        let (owner_id, owned) =
            app.owner_with_client("ops", &["users:read@customers", "clients:write@*"], &["users:read@customers"]);
        app.set_grants("system", &owner_id, &["clients:write@*"]);
        owned
    });
    click(b, "a[data-nav=permissions]").await;
    let row = find(b, &format!("tr[data-client-id='{}']", flagged.id)).await;
    let warning = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("tr[data-client-id='{}'] .warning", flagged.id)))
        .await;
    let warning = warning.unwrap_or_else(|e| panic!("no warning on the demoted owner's client: {e}"));
    assert!(warning.text().await.unwrap().contains("lost"));
    assert!(row.text().await.unwrap().contains("users:read@customers"));
    screenshot(b, "console-permission-audit").await;

    // The audit log finds the rotation, and the chain verifies.
    click(b, "a[data-nav=audit]").await;
    fill(b, "#action", "client.secret.rotate").await;
    click(b, "form:has(#action) button[type=submit]").await;
    wait_for_text(b, "client.secret.rotate").await;
    if b.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("#chain-status .ok")).await.is_err() {
        panic!("the chain is not shown intact: {}", find(b, "#chain-status").await.text().await.unwrap());
    }
    screenshot(b, "console-audit-log").await;

    // Signing out ends the session: the cookie no longer opens the API.
    click(b, "#sign-out").await;
    wait_for_text(b, "Signed out").await;
    find(b, "#sign-in").await;
    let refused = js(b, "return fetch('/console/session').then(r => r.status)").await;
    assert_eq!(refused, json!(401));
    let events = off_runtime(|| app.admin().get("/api/v1/audit-events?action=console.signout"));
    assert_eq!(events.json["items"].as_array().map(Vec::len), Some(1), "{}", events.text);
}

#[test]
fn the_console_fits_a_phone_screen() {
    // Not about second factors: the administrator (who holds write grants) signs in to the
    // console with the password alone, as `--console-mfa optional` allows for local development.
    // Enrolment through the pages is tested below and over HTTP in tests/it/mfa.rs.
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    let driver = Driver::start();
    runtime().block_on(async {
        let browser = driver.browser(375, 812).await;
        scenario(&browser, "console-phone", async {
            sign_in(&browser, &app.base).await;
            screenshot(&browser, "console-overview-375px").await;
            let overflow = js(&browser, "return document.documentElement.scrollWidth - window.innerWidth").await;
            assert!(overflow.as_i64().unwrap_or(1) <= 0, "the page scrolls sideways at 375 px: {overflow}");
            click(&browser, "a[data-nav=users]").await;
            find(&browser, "#q").await;
            screenshot(&browser, "console-users-375px").await;
        })
        .await;
        browser.close().await.unwrap();
    });
}

#[test]
fn an_account_withdraws_an_applications_consent_in_the_console() {
    // Not about second factors: the administrator (who holds write grants) signs in to the
    // console with the password alone, as `--console-mfa optional` allows for local development.
    // Enrolment through the pages is tested below and over HTTP in tests/it/mfa.rs.
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    // The administrator allowed a third-party application (on the hosted pages).
    let partner = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "Partner dashboard", "grant_types": ["authorization_code"], "redirect_uris": ["http://127.0.0.1:9/cb"], "user_namespace": "system" }),
    );
    assert_eq!(partner.status, 201, "{}", partner.text);
    let client_id = partner.json["client_id"].as_str().unwrap().to_owned();
    let hosted = crate::support::browser::Browser::new(&app.base);
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=http://127.0.0.1:9/cb&scope=openid%20email&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let consent = hosted.sign_in(&url, "admin", ADMIN_PASSWORD);
    assert!(consent.text.contains("Partner dashboard"), "{}", consent.text);
    assert_eq!(hosted.submit(&consent, "/oauth/consent", &[("decision", "allow")]).status, 303);

    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 800).await;
        scenario(&b, "console-applications", async {
            sign_in(&b, &app.base).await;
            click(&b, "a[data-nav=applications]").await;
            let row = find(&b, &format!("tr[data-id='{client_id}']")).await;
            assert!(row.text().await.unwrap().contains("Partner dashboard"));
            assert!(row.text().await.unwrap().contains("email"));
            screenshot(&b, "console-applications").await;
            click(&b, &format!("tr[data-id='{client_id}'] button.withdraw")).await;
            click(&b, "#confirm-yes").await;
            find(&b, "#no-consents").await;
            wait_for_text(&b, "no longer has your consent").await;
        })
        .await;
        b.close().await.unwrap();
    });
    // The application must ask again.
    let again = hosted.get(&format!("{url}&prompt=none"));
    let back = crate::support::browser::location(&again);
    assert_eq!(crate::support::browser::query_param(&back, "error").as_deref(), Some("consent_required"), "{back}");
}

#[test]
fn an_administrator_enrols_a_second_factor_at_the_first_console_sign_in() {
    // The default console rule: the administrator holds write grants, so the first sign-in
    // enrols a TOTP factor on the hosted pages (code from pyotp) before the console opens.
    let app = TestApp::start();
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 900).await;
        scenario(&b, "console-enrolment", async {
            b.goto(&format!("{}/console/", app.base)).await.unwrap();
            click(&b, "#sign-in").await;
            fill(&b, "input[name=login]", "admin").await;
            fill(&b, "input[name=password]", ADMIN_PASSWORD).await;
            click(&b, "form[action='/oauth/login'] button[type=submit]").await;
            let secret = find(&b, "#totp-secret").await.text().await.unwrap();
            find(&b, "figure.qr svg").await;
            screenshot(&b, "hosted-enrolment").await;
            let code = off_runtime(|| crate::support::totp::code_at(&secret, crate::support::totp::unix_now()));
            fill(&b, "input[name=code]", &code).await;
            click(&b, "form[action='/oauth/mfa/enrol'] button[type=submit]").await;
            find(&b, ".recovery-codes").await;
            assert_eq!(js(&b, "return document.querySelectorAll('.recovery-codes li').length").await, json!(10));
            screenshot(&b, "hosted-recovery-codes").await;
            click(&b, "form[action='/oauth/mfa/continue'] button[type=submit]").await;
            find(&b, "#me").await;
            wait_for_text(&b, "admin").await;
        })
        .await;
        b.close().await.unwrap();
    });
}

#[test]
fn an_administrator_edits_a_clients_oauth_settings_in_the_console() {
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    app.create_namespace("customers");
    let created = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "Web shop", "grant_types": ["authorization_code"], "redirect_uris": ["http://127.0.0.1:9/cb"], "user_namespace": "customers" }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1280, 1000).await;
        scenario(&b, "console-client-settings", async {
            sign_in(&b, &app.base).await;
            b.goto(&format!("{}/console/clients/{id}", app.base)).await.unwrap();
            find(&b, "#oauth-settings-form").await;
            click(&b, "#settings_hybrid").await;
            click(&b, "#settings_par").await;
            click(&b, "#settings_jar").await;
            find(&b, "#settings_auth_method option[value=private_key_jwt]").await.click().await.unwrap();
            fill(&b, "#settings_jwks_uri", "https://rp.example/jwks.json").await;
            click(&b, "#settings_dpop").await;
            fill(&b, "#settings_backchannel_logout_uri", "https://rp.example/backchannel-logout").await;
            click(&b, "#settings_backchannel_logout_session_required").await;
            click(&b, "#save-oauth-settings").await;
            // Switching to keys ends the secrets: the console asks first.
            click(&b, "#confirm-yes").await;
            wait_for_text(&b, "OAuth settings saved.").await;
            screenshot(&b, "console-client-settings").await;
        })
        .await;
        b.close().await.unwrap();
    });
    let after = app.admin().get(&format!("/api/v1/clients/{id}"));
    assert_eq!(after.json["token_endpoint_auth_method"], json!("private_key_jwt"), "{}", after.text);
    assert_eq!(after.json["jwks_uri"], json!("https://rp.example/jwks.json"));
    assert_eq!(after.json["hybrid_enabled"], json!(true));
    assert_eq!(after.json["require_pushed_authorization_requests"], json!(true));
    assert_eq!(after.json["require_signed_request_object"], json!(true));
    assert_eq!(after.json["dpop_bound_access_tokens"], json!(true));
    assert_eq!(after.json["backchannel_logout_uri"], json!("https://rp.example/backchannel-logout"));
    assert_eq!(after.json["backchannel_logout_session_required"], json!(true));
}

#[test]
fn an_administrator_manages_a_group_and_its_members_in_the_console() {
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    app.create_namespace("shop");
    let bob = app.create_account("shop", "bob", &[]);
    let (owner, owned) = app.owner_with_client("ops", &[], &["users:read@shop"]);
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1440, 900).await;
        scenario(&b, "console-groups", async {
            sign_in(&b, &app.base).await;
            click(&b, "a[data-nav=groups]").await;
            find(&b, "#namespace").await;
            b.goto(&format!("{}/console/groups?ns=shop", app.base)).await.unwrap();
            fill(&b, "#name", "support").await;
            fill(&b, "#description", "Tier 1").await;
            click(&b, "form#create-form button[type=submit]").await;
            click(&b, "a.group-link").await;
            find(&b, "#grants-form").await;
            let group = off_runtime(|| app.admin().get("/api/v1/namespaces/shop/groups"));
            let group = group.json["items"][0]["id"].as_str().expect("the group was created").to_owned();

            // Renamed on its page.
            fill(&b, "#name", "helpdesk").await;
            click(&b, "form#group-form button[type=submit]").await;
            wait_for_text(&b, "Saved.").await;
            let renamed = off_runtime(|| app.admin().get(&format!("/api/v1/namespaces/shop/groups/{group}")));
            assert_eq!(
                (renamed.json["name"].as_str(), renamed.json["description"].as_str()),
                (Some("helpdesk"), Some("Tier 1"))
            );

            // Its grants, with the grant picker.
            fill(&b, "#grant", "users:read@shop").await;
            click(&b, "#add-grant").await;
            click(&b, "#save-grants").await;
            wait_for_text(&b, "Grants saved").await;
            let grants =
                off_runtime(|| app.admin().get(&format!("/api/v1/namespaces/shop/groups/{group}/permissions")));
            assert_eq!(grants.json["permissions"], json!(["users:read@shop"]), "{}", grants.text);

            // Members, found by search: bob, then the owner of a client (in `system`).
            fill(&b, "#member-q", "bo").await;
            click(&b, &format!("button.add-member[data-id='{bob}']")).await;
            find(&b, &format!("table#members tr[data-id='{bob}']")).await;
            fill(&b, "#member-ns", "system").await;
            fill(&b, "#member-q", "op").await;
            click(&b, &format!("button.add-member[data-id='{owner}']")).await;
            find(&b, &format!("table#members tr[data-id='{owner}']")).await;
            screenshot(&b, "console-group").await;
            assert_eq!(off_runtime(|| app.as_client(&owned).get("/api/v1/namespaces/shop/users").status), 200);

            // The permission audit says where the owner's grant comes from.
            click(&b, "a[data-nav=permissions]").await;
            let sources = find(&b, &format!("tr[data-client-id='{}'] .sources li", owned.id)).await;
            assert_eq!(sources.text().await.unwrap(), "users:read@shop via group helpdesk");
            screenshot(&b, "console-group-permission-audit").await;

            // Bob's page lists the group.
            b.goto(&format!("{}/console/users/shop/{bob}", app.base)).await.unwrap();
            let membership = find(&b, &format!("#user-groups tr[data-id='{group}']")).await;
            assert!(membership.text().await.unwrap().contains("helpdesk"));
            b.execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&membership).unwrap()],
            )
            .await
            .unwrap();
            screenshot(&b, "console-user-groups").await;

            // Removing the owner takes the grant from its client at once.
            b.goto(&format!("{}/console/groups/shop/{group}", app.base)).await.unwrap();
            click(&b, &format!("table#members tr[data-id='{owner}'] button.remove-member")).await;
            wait_for_text(&b, "Member removed").await;
            assert_eq!(off_runtime(|| app.as_client(&owned).get("/api/v1/namespaces/shop/users").status), 403);
            click(&b, "#delete-group").await;
            click(&b, "#confirm-yes").await;
            find(&b, "form#create-form").await;
            let gone = off_runtime(|| app.admin().get(&format!("/api/v1/namespaces/shop/groups/{group}")));
            assert_eq!(gone.status, 404);
        })
        .await;
        b.close().await.unwrap();
    });
}

/// Waits up to 20 s until `css` matches exactly `n` elements.
async fn wait_for_count(browser: &Client, css: &str, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let script = format!("return document.querySelectorAll({}).length", json!(css));
    loop {
        let count = js(browser, &script).await;
        if count == json!(n) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{css} matched {count} elements, not {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn the_groups_list_pages_on_with_load_more() {
    let app = TestApp::start_with(&["--console-mfa", "optional"]);
    app.create_namespace("shop");
    // One more than a page (50).
    for i in 0..51 {
        let created = app.admin().post("/api/v1/namespaces/shop/groups", &json!({ "name": format!("team-{i:02}") }));
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let driver = Driver::start();
    runtime().block_on(async {
        let b = driver.browser(1440, 900).await;
        scenario(&b, "console-groups-paging", async {
            sign_in(&b, &app.base).await;
            b.goto(&format!("{}/console/groups?ns=shop", app.base)).await.unwrap();
            wait_for_count(&b, "a.group-link", 50).await;
            click(&b, "#load-more").await;
            wait_for_count(&b, "a.group-link", 51).await;
            wait_for_count(&b, "#load-more", 0).await;
            // A new group reloads the list from its first page.
            fill(&b, "#name", "zz-last").await;
            click(&b, "form#create-form button[type=submit]").await;
            wait_for_text(&b, "Created zz-last").await;
            wait_for_count(&b, "a.group-link", 50).await;
            find(&b, "#load-more").await;
        })
        .await;
        b.close().await.unwrap();
    });
}
