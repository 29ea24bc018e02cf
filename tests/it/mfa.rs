//! Second factors on the hosted sign-in: TOTP codes made by pyotp (an implementation independent
//! of the server's), recovery codes, enrolment forced by policy before any code is issued, the
//! console rule, the password grant, and `amr`/`acr` in ID tokens checked with `openidconnect`.

use openidconnect::{AuthorizationCode, TokenResponse};
use serde_json::{json, Value};

use crate::oauth::{http, provider, rp, start, token_endpoint, Provider, Started, ALICE_PASSWORD, REDIRECT};
use crate::support::browser::{location, query_param, Browser};
use crate::support::totp::{self, code_at, is_code_page, is_enrolment, unix_now};
use crate::support::{creds_of, eventually, TestApp, ADMIN_PASSWORD};

const ACR_MFA: &str = "urn:gatehouse:acr:mfa";
const ACR_PASSWORD: &str = "urn:gatehouse:acr:pwd";

fn require_mfa(p: &Provider) {
    let patched = p.app.admin().patch("/api/v1/namespaces/customers", &json!({ "mfa": "required" }));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["mfa"], "required");
}

/// Exchanges the code in a redirect back to the application; returns the ID token's `amr` and
/// `acr`, as `openidconnect` reads them from a token it verified.
fn amr_and_acr(p: &Provider, started: Started, answer: &crate::support::Reply) -> (Vec<String>, Option<String>) {
    assert_eq!(answer.status, 303, "{}", answer.text);
    let back = location(answer);
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query_param(&back, "code").expect("a code");
    let client = rp(&p.app, &p.web);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(started.verifier)
        .request(&http())
        .expect("code exchange");
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &started.nonce)
        .expect("the ID token verifies")
        .clone();
    let amr = claims.auth_method_refs().map(|m| m.iter().map(|v| v.to_string()).collect()).unwrap_or_default();
    (amr, claims.auth_context_ref().map(|a| a.to_string()))
}

fn events(app: &TestApp, action: &str) -> Vec<Value> {
    let page = app.admin().get(&format!("/api/v1/audit-events?action={action}"));
    assert_eq!(page.status, 200, "{}", page.text);
    page.json["items"].as_array().unwrap().clone()
}

/// Alice signs in and enrols (the namespace requires a factor); returns her browser.
fn alice_enrolled(p: &Provider) -> Browser {
    require_mfa(p);
    let browser = Browser::new(&p.app.base);
    let started = start(&rp(&p.app, &p.web), &["profile"]);
    let answer = browser.sign_in(&started.url, "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
    browser
}

/// A fresh browser at alice's code page.
fn at_code_page(p: &Provider) -> (Browser, Started, crate::support::Reply) {
    let browser = Browser::new(&p.app.base);
    let started = start(&rp(&p.app, &p.web), &["profile"]);
    let page = browser.password_step(&started.url, "alice", ALICE_PASSWORD);
    assert!(is_code_page(&page), "{} {}", page.status, page.text);
    (browser, started, page)
}

#[test]
fn a_required_namespace_enrols_before_any_code_is_issued_and_the_id_token_says_mfa() {
    let p = provider(&[]);
    require_mfa(&p);
    let browser = Browser::new(&p.app.base);
    let started = start(&rp(&p.app, &p.web), &["profile"]);
    let page = browser.password_step(&started.url, "alice", ALICE_PASSWORD);
    // The right password alone sends nobody back to the application.
    assert!(is_enrolment(&page), "{} {}", page.status, page.text);
    assert!(page.header("location").is_none());
    assert!(page.text.contains("<svg") && page.text.contains("class=\"qr\""), "an inline QR code: {}", page.text);
    let secret = totp::secret_on(&page.text).expect("the secret in base32");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    // A wrong first code does not enrol.
    let wrong = browser.submit(&page, "/oauth/mfa/enrol", &[("code", &code_at(&secret, unix_now() - 3600))]);
    assert!(is_enrolment(&wrong) && wrong.text.contains("not right"), "{}", wrong.text);
    let listed = p.app.admin().get(&format!("/api/v1/namespaces/customers/users/{}/factors", p.alice));
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(0), "{}", listed.text);
    // The right one does; the recovery codes are shown once, then the application gets its code.
    let codes_page = totp::enrol(&browser, &wrong, "alice");
    assert!(codes_page.header("location").is_none());
    let answer = browser.submit(&codes_page, "/oauth/mfa/continue", &[]);
    let (amr, acr) = amr_and_acr(&p, started, &answer);
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(acr.as_deref(), Some(ACR_MFA));
    // Continuing again does not sign in twice.
    assert_eq!(browser.submit(&codes_page, "/oauth/mfa/continue", &[]).status, 400);

    let enrolled = events(&p.app, "user.factor.enrol");
    assert_eq!(enrolled.len(), 1, "{enrolled:?}");
    let text = enrolled[0].to_string();
    assert!(!text.contains(&secret) && !text.contains("secret\":\""), "no secret on record: {text}");
    let listed = p.app.admin().get(&format!("/api/v1/namespaces/customers/users/{}/factors", p.alice));
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "totp");
    assert!(items[0].get("secret").is_none() && !listed.text.contains(&secret));
}

#[test]
fn a_code_is_accepted_once_and_only_near_its_time() {
    let p = provider(&[]);
    alice_enrolled(&p);
    let secret = totp::enrolled(&p.app.base, "alice").unwrap().secret;
    let (browser, started, page) = at_code_page(&p);
    // The code of enrolment was used up; a code from ten minutes ago fits no step near now.
    let enrolment_step = totp::enrolled(&p.app.base, "alice").unwrap().last_step;
    let reused = browser.submit(&page, "/oauth/mfa", &[("code", &code_at(&secret, enrolment_step * 30))]);
    assert!(is_code_page(&reused) && reused.text.contains("not right"), "{}", reused.text);
    let stale = browser.submit(&reused, "/oauth/mfa", &[("code", &code_at(&secret, unix_now() - 600))]);
    assert!(is_code_page(&stale) && stale.text.contains("not right"), "{}", stale.text);
    let code = totp::next_code(&p.app.base, "alice");
    let answer = browser.submit(&stale, "/oauth/mfa", &[("code", &code)]);
    let (amr, acr) = amr_and_acr(&p, started, &answer);
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(acr.as_deref(), Some(ACR_MFA));
    // The same code in another browser, right away: refused.
    let (other, _, page) = at_code_page(&p);
    let replayed = other.submit(&page, "/oauth/mfa", &[("code", &code)]);
    assert!(is_code_page(&replayed), "{} {}", replayed.status, replayed.text);

    assert!(eventually(std::time::Duration::from_secs(5), || {
        events(&p.app, "oauth.signin")
            .iter()
            .filter(|e| e["outcome"] == "failure" && e["changes"]["reason"] == "second factor: wrong code")
            .count()
            == 3
    }));
    let failures = events(&p.app, "oauth.signin");
    assert!(!failures.iter().any(|e| e.to_string().contains(&code)), "no code on record");
}

#[test]
fn repeated_wrong_codes_lock_the_second_step_whatever_the_password_does() {
    let p = provider(&[]);
    alice_enrolled(&p);
    let (browser, _, mut page) = at_code_page(&p);
    let mut locked = None;
    for attempt in 0..12 {
        let wrong = if attempt % 2 == 0 { "000000" } else { "999999" };
        let answer = browser.submit(&page, "/oauth/mfa", &[("code", wrong)]);
        if answer.status == 429 {
            locked = Some(answer);
            break;
        }
        page = answer;
    }
    let locked = locked.expect("locked out within twelve wrong codes");
    assert!(locked.header("retry-after").is_some());
    // Entering the right password again buys no new guesses, and the right code waits too.
    let (again, _, page) = at_code_page(&p);
    let code = totp::next_code(&p.app.base, "alice");
    assert_eq!(again.submit(&page, "/oauth/mfa", &[("code", &code)]).status, 429);
    assert!(eventually(std::time::Duration::from_secs(5), || {
        events(&p.app, "oauth.signin").iter().any(|e| {
            e["changes"]["reason"] == "second factor: locked out after repeated failures" && e["outcome"] == "failure"
        })
    }));
}

#[test]
fn a_recovery_code_signs_in_once() {
    let p = provider(&[]);
    alice_enrolled(&p);
    let code = totp::enrolled(&p.app.base, "alice").unwrap().recovery_codes[0].clone();
    let (browser, started, page) = at_code_page(&p);
    let answer = browser.submit(&page, "/oauth/mfa", &[("code", &code.to_uppercase())]);
    let (amr, _) = amr_and_acr(&p, started, &answer);
    assert!(amr.contains(&"mfa".to_owned()), "{amr:?}");
    let used = events(&p.app, "user.recovery_code.use");
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0]["changes"]["recovery_codes_left"], 9);
    assert!(!used[0].to_string().contains(&code));
    let (other, _, page) = at_code_page(&p);
    let again = other.submit(&page, "/oauth/mfa", &[("code", &code)]);
    assert!(is_code_page(&again) && again.text.contains("not right"), "{}", again.text);
}

#[test]
fn the_password_grant_is_refused_for_an_account_with_or_needing_a_factor() {
    let p = provider(&[]);
    let legacy = p.app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "Legacy", "grant_types": ["password"], "password_grant_enabled": true, "user_namespace": "customers" }),
    );
    assert_eq!(legacy.status, 201, "{}", legacy.text);
    let legacy = creds_of(&legacy.json);
    let grant = [("grant_type", "password"), ("username", "alice"), ("password", ALICE_PASSWORD)];
    let before = token_endpoint(&p.app, &legacy, &grant);
    assert_eq!(before.status, 200, "{}", before.text);
    require_mfa(&p);
    let refused = token_endpoint(&p.app, &legacy, &grant);
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json["error"], "invalid_grant");
    assert!(refused.json["error_description"].as_str().unwrap().contains("second factor"), "{}", refused.text);
    // Still refused once she has one, with the namespace back to optional.
    alice_enrolled_in_required(&p);
    p.app.admin().patch("/api/v1/namespaces/customers", &json!({ "mfa": "optional" }));
    assert_eq!(token_endpoint(&p.app, &legacy, &grant).json["error"], "invalid_grant");
}

fn alice_enrolled_in_required(p: &Provider) {
    let browser = Browser::new(&p.app.base);
    let started = start(&rp(&p.app, &p.web), &["profile"]);
    assert_eq!(browser.sign_in(&started.url, "alice", ALICE_PASSWORD).status, 303);
}

#[test]
fn acr_values_steps_a_password_session_up_and_a_password_sign_in_says_pwd() {
    let p = provider(&[]);
    let browser = Browser::new(&p.app.base);
    let started = start(&rp(&p.app, &p.web), &["profile"]);
    let answer = browser.sign_in(&started.url, "alice", ALICE_PASSWORD);
    let (amr, acr) = amr_and_acr(&p, started, &answer);
    assert_eq!(amr, ["pwd"]);
    assert_eq!(acr.as_deref(), Some(ACR_PASSWORD));
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["acr_values_supported"], json!([ACR_PASSWORD, ACR_MFA]));
    // Asking for MFA: the password session is not enough; she signs in again and enrols.
    let stepped = start(&rp(&p.app, &p.web), &["profile"]);
    let url = format!("{}&acr_values={}", stepped.url, ACR_MFA.replace(':', "%3A"));
    let page = browser.get(&url);
    assert_eq!(page.status, 200, "a sign-in page, not a code: {}", page.text);
    assert!(page.text.contains("name=\"password\""));
    let answer = totp::second_step(
        &browser,
        browser.submit(&page, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]),
        "alice",
    );
    let (amr, acr) = amr_and_acr(&p, stepped, &answer);
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(acr.as_deref(), Some(ACR_MFA));
    // Now her session carries the factor: the next request is answered without a page.
    let again = start(&rp(&p.app, &p.web), &["profile"]);
    let silent = browser.get(&format!("{}&acr_values={}", again.url, ACR_MFA.replace(':', "%3A")));
    assert_eq!(silent.status, 303, "{}", silent.text);
}

#[test]
fn console_administrators_enrol_at_their_first_sign_in_unless_relaxed() {
    let app = TestApp::start();
    let browser = Browser::new(&app.base);
    let start = browser.get("/console/login");
    let page = browser.password_step(&location(&start), "admin", ADMIN_PASSWORD);
    assert!(is_enrolment(&page), "{} {}", page.status, page.text);
    assert!(page.text.contains("console"), "says why: {}", page.text);
    // An account without write grants signs in to the console with its password.
    let reader = app
        .admin()
        .post("/api/v1/namespaces/system/users", &json!({ "username": "reader", "password": "reader password 1" }));
    assert_eq!(reader.status, 201, "{}", reader.text);
    app.set_grants("system", reader.json["id"].as_str().unwrap(), &["users:read@*"]);
    let reader = Browser::new(&app.base);
    let start = reader.get("/console/login");
    let answer = reader.password_step(&location(&start), "reader", "reader password 1");
    assert_eq!(answer.status, 303, "{}", answer.text);

    let relaxed = TestApp::start_with(&["--console-mfa", "optional"]);
    let browser = Browser::new(&relaxed.base);
    let start = browser.get("/console/login");
    let answer = browser.password_step(&location(&start), "admin", ADMIN_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
}

/// Alice's tokens from a sign-in in `browser` (her SSO session answers without a page).
fn alice_tokens(p: &Provider, browser: &Browser, scopes: &[&str]) -> Value {
    let started = start(&rp(&p.app, &p.web), scopes);
    let answer = browser.get(&started.url);
    assert_eq!(answer.status, 303, "{}", answer.text);
    let code = query_param(&location(&answer), "code").expect("a code");
    let verifier = started.verifier.secret().to_owned();
    let tokens = token_endpoint(
        &p.app,
        &p.web,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    tokens.json
}

#[test]
fn an_account_lists_renames_and_removes_its_own_factors_and_regenerates_its_codes() {
    let p = provider(&[]);
    let browser = alice_enrolled(&p);
    let tokens = alice_tokens(&p, &browser, &["account"]);
    let me = crate::support::Api::new(&p.app.base, None).with_bearer(tokens["access_token"].as_str().unwrap());
    let listed = me.get("/api/v1/me/factors");
    assert_eq!(listed.status, 200, "{}", listed.text);
    let factor = listed.json["items"][0].clone();
    assert_eq!(factor["name"], "Authenticator app");
    assert!(factor["last_used_at"].is_string());
    let id = factor["id"].as_str().unwrap();
    let renamed = me.patch(&format!("/api/v1/me/factors/{id}"), &json!({ "name": "Work phone" }));
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["name"], "Work phone");
    me.patch(&format!("/api/v1/me/factors/{id}"), &json!({ "name": "" })).assert_problem(400);

    // Fresh sign-in: new codes; the old ones stop working.
    let old = totp::enrolled(&p.app.base, "alice").unwrap().recovery_codes;
    let fresh = me.post("/api/v1/me/recovery-codes", &json!({}));
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    let codes: Vec<String> =
        fresh.json["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| !old.contains(c)));
    let (other, _, page) = at_code_page(&p);
    let refused = other.submit(&page, "/oauth/mfa", &[("code", &old[0])]);
    assert!(is_code_page(&refused), "an old code no longer signs in: {}", refused.text);
    let accepted = other.submit(&refused, "/oauth/mfa", &[("code", &codes[0])]);
    assert_eq!(accepted.status, 303, "{}", accepted.text);
    let regenerated = events(&p.app, "user.recovery_codes.regenerate");
    assert_eq!(regenerated.len(), 1);
    assert!(!codes.iter().any(|c| regenerated[0].to_string().contains(c.as_str())));

    assert_eq!(me.delete(&format!("/api/v1/me/factors/{id}")).status, 204);
    assert_eq!(me.get("/api/v1/me/factors").json["items"], json!([]));
    me.post("/api/v1/me/recovery-codes", &json!({})).assert_problem(409);
    // A client is not an account: no factors of its own.
    p.app.admin().get("/api/v1/me/factors").assert_problem(403);
}

#[test]
fn an_administrator_removes_a_factor_and_the_account_is_signed_out_everywhere() {
    let p = provider(&[]);
    let browser = alice_enrolled(&p);
    let tokens = alice_tokens(&p, &browser, &["openid"]);
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let path = format!("/api/v1/namespaces/customers/users/{}/factors", p.alice);
    let factor = p.app.admin().get(&path).json["items"][0]["id"].as_str().unwrap().to_owned();
    // Without users:write the factor stays.
    let reader =
        p.app.admin().post("/api/v1/clients", &json!({ "name": "reader", "permissions": ["users:read@customers"] }));
    let reader = creds_of(&reader.json);
    assert_eq!(p.app.as_client(&reader).get(&path).status, 200);
    p.app.as_client(&reader).delete(&format!("{path}/{factor}")).assert_problem(403);
    p.app.admin().delete(&format!("{path}/{}", uuid_like())).assert_problem(404);

    assert_eq!(p.app.admin().delete(&format!("{path}/{factor}")).status, 204);
    assert_eq!(p.app.admin().get(&path).json["items"], json!([]));
    let refreshed = token_endpoint(&p.app, &p.web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(refreshed.json["error"], "invalid_grant", "{}", refreshed.text);
    let again = start(&rp(&p.app, &p.web), &["profile"]);
    let page = browser.get(&again.url);
    assert_eq!(page.status, 200, "the SSO session ended: {}", page.text);
    let deleted = events(&p.app, "user.factor.delete");
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0]["changes"]["signed_out"].is_object(), "{}", deleted[0]);
    // The namespace still requires a factor: her next sign-in enrols again.
    let answer = browser.password_step(&again.url, "alice", ALICE_PASSWORD);
    assert!(is_enrolment(&answer), "{}", answer.text);
}

#[test]
fn a_weaker_administrator_cannot_strip_the_factor_of_a_stronger_account() {
    // Removing a factor weakens how an account signs in: like setting its password, it needs
    // every grant the account holds (ADR 0006). A helpdesk client with users:write@customers
    // may not strip alice's factor once she holds more than it does, nor set her password.
    let p = provider(&[]);
    let browser = alice_enrolled(&p);
    p.app.set_grants("customers", &p.alice, &["audit:read@*"]);
    let helpdesk = p.app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "helpdesk", "permissions": ["users:read@customers", "users:write@customers"] }),
    );
    assert_eq!(helpdesk.status, 201, "{}", helpdesk.text);
    let helpdesk = creds_of(&helpdesk.json);
    let path = format!("/api/v1/namespaces/customers/users/{}/factors", p.alice);
    let factor = p.app.admin().get(&path).json["items"][0]["id"].as_str().unwrap().to_owned();
    let refused = p.app.as_client(&helpdesk).delete(&format!("{path}/{factor}"));
    refused.assert_problem(403);
    assert!(refused.text.contains("audit:read@*"), "the refusal names the missing grant: {}", refused.text);
    let password = format!("/api/v1/namespaces/customers/users/{}/password", p.alice);
    p.app.as_client(&helpdesk).put(&password, &json!({ "password": "the helpdesk's choice 1" })).assert_problem(403);
    assert_eq!(p.app.admin().get(&path).json["items"].as_array().map(Vec::len), Some(1), "the factor stays");
    // Her sign-in still asks for her factor.
    let again = start(&rp(&p.app, &p.web), &["profile"]);
    let fresh = Browser::new(&p.app.base);
    assert!(is_code_page(&fresh.password_step(&again.url, "alice", ALICE_PASSWORD)));
    drop(browser);
    // Once she holds no more than the helpdesk, it may reset her factor.
    p.app.set_grants("customers", &p.alice, &[]);
    assert_eq!(p.app.as_client(&helpdesk).delete(&format!("{path}/{factor}")).status, 204);
}

fn uuid_like() -> &'static str {
    "01939a7e-0000-7000-8000-000000000001"
}

#[test]
fn the_namespace_policy_is_part_of_the_namespace() {
    let p = provider(&[]);
    let ns = p.app.admin().get("/api/v1/namespaces/customers");
    assert_eq!(ns.json["mfa"], "optional");
    p.app.admin().patch("/api/v1/namespaces/customers", &json!({ "mfa": "always" })).assert_problem(400);
    require_mfa(&p);
    assert_eq!(p.app.admin().get("/api/v1/namespaces/customers").json["mfa"], "required");
    let updates = events(&p.app, "namespace.update");
    assert!(updates.iter().any(|e| e["changes"]["after"]["mfa"] == "required"), "{updates:?}");
}

#[test]
fn an_account_adds_an_authenticator_app_itself_and_a_stale_sign_in_adds_nothing() {
    let p = provider(&[]);
    let browser = alice_enrolled(&p);
    let tokens = alice_tokens(&p, &browser, &["account"]);
    let me = crate::support::Api::new(&p.app.base, None).with_bearer(tokens["access_token"].as_str().unwrap());
    let started = me.post("/api/v1/me/totp-enrolments", &json!({}));
    assert_eq!(started.status, 201, "{}", started.text);
    let secret = started.json["secret"].as_str().unwrap().to_owned();
    assert!(started.json["qr_svg"].as_str().unwrap().starts_with("<svg"), "{}", started.text);
    assert!(started.json["otpauth_uri"].as_str().unwrap().contains(&format!("secret={secret}")));
    let id = started.json["id"].as_str().unwrap().to_owned();
    let answer = |code: String| json!({ "enrolment_id": id, "name": "Tablet", "code": code });
    // A wrong code is a 400 and may be corrected; pyotp's code for now enrols, once.
    me.post("/api/v1/me/totp", &answer(code_at(&secret, unix_now() - 3600))).assert_problem(400);
    let added = me.post("/api/v1/me/totp", &answer(code_at(&secret, unix_now())));
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!((added.json["kind"].as_str(), added.json["name"].as_str()), (Some("totp"), Some("Tablet")));
    me.post("/api/v1/me/totp", &answer(code_at(&secret, unix_now()))).assert_problem(400);
    assert_eq!(me.get("/api/v1/me/factors").json["items"].as_array().map(Vec::len), Some(2));
    let enrolled = events(&p.app, "user.factor.enrol");
    assert!(enrolled.iter().any(|e| e["changes"]["via"] == "self-service"), "{enrolled:?}");
    assert!(!enrolled.iter().any(|e| e.to_string().contains(&secret)), "no secret on record");
    // This server's issuer is an IP address: no passkeys (the browser test has them).
    me.post("/api/v1/me/passkey-registrations", &json!({})).assert_problem(409);

    // A sign-in more than 5 minutes old (its session aged in the database) adds nothing.
    let aged = if p.app.db.is_postgres() {
        "UPDATE sso_sessions SET auth_time = auth_time - INTERVAL '10 minutes'"
    } else {
        "UPDATE sso_sessions SET auth_time = datetime(auth_time, '-10 minutes')"
    };
    p.app.db.execute(aged);
    let stale = alice_tokens(&p, &browser, &["account"]);
    let stale = crate::support::Api::new(&p.app.base, None).with_bearer(stale["access_token"].as_str().unwrap());
    assert_eq!(stale.get("/api/v1/me/factors").status, 200, "the stale token still reads");
    for path in ["/api/v1/me/recovery-codes", "/api/v1/me/totp-enrolments", "/api/v1/me/passkey-registrations"] {
        let refused = stale.post(path, &json!({}));
        refused.assert_problem(403);
        assert!(refused.text.contains("5 minutes"), "{path}: {}", refused.text);
    }
    assert_eq!(me.get("/api/v1/me/factors").json["items"].as_array().map(Vec::len), Some(2));
}
