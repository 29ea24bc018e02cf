//! The other findings of issue 11 (docs/security.md lists each with its fix): bounded form
//! parsing, nothing hashed for a caller who may not, throttling that parallel attempts cannot
//! pass and that tells nothing of which accounts exist, no forged actors in the audit log,
//! logout, registration, what a password change ends, and the settled questions (unknown key
//! ids, forwarded addresses, idempotent replays, rotations).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::oauth::{provider, ALICE_PASSWORD};
use crate::support::browser::{location, query_param, Browser};
use crate::support::{creds_of, Api, ClientCreds, Reply, TestApp};

fn token(app: &TestApp, creds: &ClientCreds, form: &[(&str, &str)]) -> Reply {
    let api = app.anonymous();
    api.send(api.request(Method::POST, "/oauth/token").basic_auth(&creds.client_id, Some(&creds.secret)).form(form))
}

/// A Prometheus sample of `/metrics` (its first line starting with `prefix`).
fn metric(app: &TestApp, prefix: &str) -> f64 {
    let text = app.anonymous().get("/metrics").text;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Finding 4: a form is parsed in linear time and stops at 64 parameters.
#[test]
fn oversized_forms_are_refused_without_parsing_them_all() {
    let app = TestApp::start();
    let many: String = (0..20_000).map(|i| format!("p{i}=x")).collect::<Vec<_>>().join("&");
    assert!(many.len() > 150_000);
    let api = app.anonymous();
    let r = api.send(
        api.request(Method::POST, "/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(many.clone()),
    );
    assert!(r.status == 400 || r.status == 413, "{} {}", r.status, r.text);
    let login = api.send(
        api.request(Method::POST, "/oauth/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(many),
    );
    assert!(login.status == 400 || login.status == 413, "{} {}", login.status, login.text);
    let just_over: String = (0..65).map(|i| format!("p{i}=x")).collect::<Vec<_>>().join("&");
    let r = api.send(
        api.request(Method::POST, "/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(just_over),
    );
    assert_eq!(r.status, 400);
    assert!(r.json["error_description"].as_str().unwrap().contains("more than 64 parameters"), "{}", r.text);
    assert_eq!(app.anonymous().get("/healthz").status, 200);
}

/// Finding 5: nothing is hashed for a caller who cannot authenticate or may not rotate.
#[test]
fn a_secret_is_hashed_only_for_a_caller_who_may_have_it() {
    let app = TestApp::start();
    let (_, viewer) = app.owner_with_client("viewer", &["clients:read@*"], &["clients:read@*"]);
    let hashes = |app: &TestApp| metric(app, "gatehouse_password_hash_duration_seconds_count{op=\"hash\"}");
    let before = hashes(&app);
    let rotate = format!("/api/v1/clients/{}/secrets", app.admin_client.id);
    let wrong = Api::new(&app.base, Some((app.admin_client.client_id.clone(), "not the secret at all".into())));
    wrong.post(&rotate, &json!({})).assert_problem(401);
    app.as_client(&viewer).post(&rotate, &json!({})).assert_problem(403);
    app.as_client(&viewer).post("/api/v1/clients", &json!({ "name": "x" })).assert_problem(403);
    app.as_client(&viewer)
        .put(
            &format!("/api/v1/namespaces/system/users/{}/password", app.admin_account_id),
            &json!({ "password": "a long new password" }),
        )
        .assert_problem(403);
    assert_eq!(hashes(&app), before, "no argon2 hash for refused callers");
}

/// The most attempts that a burst lasting `seconds` may have verified against one subject:
/// five, then one more each time a lock (1 s, 2 s, 4 s, …) ran out during the burst.
fn allowed_attempts(seconds: f64) -> usize {
    let mut allowed = 5;
    let mut lock = 1.0;
    let mut at = 0.0;
    while at + lock <= seconds {
        at += lock;
        lock *= 2.0;
        allowed += 1;
    }
    allowed
}

/// Finding 6: parallel attempts do not pass the per-account limit together (the attempt is
/// reserved before the password is verified), on either backend.
#[test]
fn parallel_wrong_passwords_are_throttled_like_sequential_ones() {
    let p = provider(&["--hash-threads", "2"]);
    let sign_in = p.app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "password app", "password_grant_enabled": true, "user_namespace": "customers" }),
    );
    let app_creds = creds_of(&sign_in.json);
    let started = Instant::now();
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..60)
            .map(|_| {
                scope.spawn(|| {
                    token(
                        &p.app,
                        &app_creds,
                        &[("grant_type", "password"), ("username", "alice"), ("password", "wrong guess 123")],
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let verified = answers.iter().filter(|s| **s == 400).count();
    let throttled = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(verified + throttled, 60, "{answers:?}");
    assert!(
        verified <= allowed_attempts(seconds),
        "{verified} wrong passwords were verified in {seconds:.2} s (limit 5 + lock expiries): {answers:?}"
    );
    assert!(verified >= 5, "the first five are verified: {answers:?}");
    // And the account signs in once the lock has passed.
    std::thread::sleep(Duration::from_secs(2));
    let ok = crate::support::eventually(Duration::from_secs(70), || {
        token(&p.app, &app_creds, &[("grant_type", "password"), ("username", "alice"), ("password", ALICE_PASSWORD)])
            .status
            == 200
    });
    assert!(ok, "alice can sign in after the lock");
}

/// Finding 7: an unknown sign-in name locks like a known one (the lock tells nothing); and an
/// unknown client id like a known one.
#[test]
fn a_lockout_does_not_tell_which_accounts_exist() {
    let p = provider(&[]);
    let sign_in = p.app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "password app", "password_grant_enabled": true, "user_namespace": "customers" }),
    );
    let app_creds = creds_of(&sign_in.json);
    for name in ["alice", "nobody-at-all"] {
        let statuses: Vec<u16> = (0..6)
            .map(|_| {
                token(
                    &p.app,
                    &app_creds,
                    &[("grant_type", "password"), ("username", name), ("password", "wrong guess 123")],
                )
                .status
            })
            .collect();
        assert_eq!(statuses, [400, 400, 400, 400, 400, 429], "{name}");
    }
    for client_id in [p.web.client_id.clone(), "no-such-client-id".to_owned()] {
        let statuses: Vec<u16> = (0..6)
            .map(|_| {
                Api::new(&p.app.base, Some((client_id.clone(), "wrong secret 123".into()))).get("/api/v1/me").status
            })
            .collect();
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{client_id}");
    }
}

/// Finding 8: a client id that names no client is not an actor of the audit log, even when it
/// is another client's internal id.
#[test]
fn an_unknown_client_id_is_on_record_as_an_anonymous_attempt() {
    let app = TestApp::start();
    let victim = app.create_client(&app.admin_account_id, &[]);
    // The victim's internal id, presented as if it were a client_id.
    Api::new(&app.base, Some((victim.id.clone(), "wrong secret 123".into()))).get("/api/v1/me").assert_problem(401);
    token(
        &app,
        &ClientCreds { id: String::new(), client_id: victim.id.clone(), secret: "wrong secret 123".into() },
        &[("grant_type", "client_credentials")],
    );
    let by_victim = app.admin().get(&format!("/api/v1/audit-events?actor={}", victim.id));
    assert_eq!(by_victim.json["items"], json!([]), "nothing is attributed to the victim: {}", by_victim.text);
    let failures = app.admin().get("/api/v1/audit-events?action=auth.basic.failure");
    let event = &failures.json["items"].as_array().unwrap()[0];
    assert_eq!(event["actor"]["type"], "anonymous", "{event}");
    assert_eq!(event["actor"]["id"], Value::Null);
    assert_eq!(event["changes"]["client_id"], victim.id.as_str());
    let grants = app.admin().get("/api/v1/audit-events?action=oauth.token&outcome=failure");
    let event = &grants.json["items"].as_array().unwrap()[0];
    assert_eq!(
        (event["actor"]["type"].as_str(), event["changes"]["client_id"].as_str()),
        (Some("anonymous"), Some(victim.id.as_str()))
    );
}

/// Signs alice in to the shop through the hosted form; returns the browser and the tokens.
fn alice_signed_in(p: &crate::oauth::Provider, scope: &str) -> (Browser, Value) {
    let browser = Browser::new(&p.app.base);
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&code_challenge={}&code_challenge_method=S256",
        p.web.client_id,
        crate::oauth::REDIRECT,
        scope.replace(' ', "%20"),
        challenge.as_str()
    );
    let answer = browser.sign_in(&url, "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
    let code = query_param(&location(&answer), "code").unwrap();
    let tokens = token(
        &p.app,
        &p.web,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::oauth::REDIRECT),
            ("code_verifier", verifier.secret()),
        ],
    );
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    (browser, tokens.json)
}

/// An authorization request of the shop with `prompt=none` (the PKCE challenge of RFC 7636).
fn silent_authorize(p: &crate::oauth::Provider) -> String {
    format!("{}&prompt=none", shop_authorize(p))
}

/// An authorization request of the shop.
fn shop_authorize(p: &crate::oauth::Provider) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        p.web.client_id,
        crate::oauth::REDIRECT
    )
}

/// Finding 9: a validly signed ID token of another sign-in does not sign a browser out, and
/// the browser is sent back only to the application of the session that ended.
#[test]
fn logout_needs_the_sessions_own_id_token_or_a_confirmation() {
    let p = provider(&[]);
    let (victim, _) = alice_signed_in(&p, "openid");
    // The attacker's own ID token (from its own sign-in), and a redirect registered anywhere.
    let (_, attackers) = alice_signed_in(&p, "openid");
    let hint = attackers["id_token"].as_str().unwrap();
    let page =
        victim.get(&format!("/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri=http://127.0.0.1:9/bye"));
    assert_eq!(page.status, 200, "a confirmation page, not a redirect: {}", page.text);
    assert!(page.text.contains("Sign out of Gatehouse"));
    assert!(!page.text.contains("127.0.0.1:9/bye"), "the target is not carried into the form");
    // The victim is still signed in.
    let still = victim.get(&silent_authorize(&p));
    assert!(query_param(&location(&still), "code").is_some(), "{}", still.text);
    // Confirmed by the user: signed out, and shown a page (no hint of this session, no redirect).
    let csrf = crate::support::browser::hidden(&page.text, "csrf").unwrap();
    let out =
        victim.post_form("/oauth/logout", &[("csrf", &csrf), ("post_logout_redirect_uri", "http://127.0.0.1:9/bye")]);
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(out.text.contains("You are signed out"));
}

/// Finding 10: registration is a per-application switch, off by default and never into
/// `system`; an unverified registration gives its address up when its time is over.
#[test]
fn registration_is_a_switch_and_unverified_addresses_are_released() {
    let p = provider(&[]);
    let closed = p.app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "closed", "grant_types": ["authorization_code"], "redirect_uris": [crate::oauth::REDIRECT], "user_namespace": "customers" }),
    );
    assert_eq!(closed.json["registration_enabled"], false);
    let closed = creds_of(&closed.json);
    let browser = Browser::new(&p.app.base);
    let url = format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", closed.client_id, crate::oauth::REDIRECT);
    let page = browser.get(&url);
    assert!(!page.text.contains("/oauth/register"), "no link to register");
    let request = crate::support::browser::hidden(&page.text, "request").unwrap();
    assert_eq!(browser.get(&format!("/oauth/register?request={request}")).status, 403);
    let csrf = crate::support::browser::hidden(&page.text, "csrf").unwrap();
    let refused = browser.post_form(
        "/oauth/register",
        &[("request", &request), ("csrf", &csrf), ("email", "x@example.com"), ("password", "a long password 1")],
    );
    assert_eq!(refused.status, 403, "{}", refused.text);

    // Never into system; and opening one needs users:write over its namespace.
    let console = p.app.admin().get("/api/v1/clients?owner=me").json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "console")
        .cloned()
        .unwrap();
    assert_eq!(console["registration_enabled"], false);
    let system_app = p.app.admin().post("/api/v1/clients", &json!({ "name": "s", "grant_types": ["authorization_code"], "redirect_uris": [crate::oauth::REDIRECT], "user_namespace": "system", "registration_enabled": true }));
    system_app.assert_problem(400);
    let (_, helper) = p.app.owner_with_client("helper", &["clients:*@*"], &["clients:*@*"]);
    p.app
        .as_client(&helper)
        .patch(&format!("/api/v1/clients/{}", closed.id), &json!({ "registration_enabled": true }))
        .assert_problem(403);

    // An unverified registration (of the shop, which is open) holds its address only for a while.
    let shop = Browser::new(&p.app.base);
    let start = shop.get(&shop_authorize(&p));
    let request = crate::support::browser::hidden(&start.text, "request").unwrap();
    let form = shop.get(&format!("/oauth/register?request={request}"));
    let first =
        shop.submit(&form, "/oauth/register", &[("email", "squatted@example.com"), ("password", "a long password 1")]);
    assert_eq!(first.status, 200, "{}", first.text);
    let squatter = p.app.db.texts("SELECT id AS t FROM accounts WHERE email = 'squatted@example.com'");
    assert_eq!(squatter.len(), 1);
    // Its time runs out (as ten minutes would).
    p.app.db.execute(
        "UPDATE accounts SET registration_expires_at = '2000-01-01 00:00:00' WHERE email = 'squatted@example.com'",
    );
    let owner = Browser::new(&p.app.base);
    let start = owner.get(&shop_authorize(&p));
    let request = crate::support::browser::hidden(&start.text, "request").unwrap();
    let form = owner.get(&format!("/oauth/register?request={request}"));
    let second = owner.submit(
        &form,
        "/oauth/register",
        &[("email", "squatted@example.com"), ("password", "the owner's password")],
    );
    assert_eq!(second.status, 200, "{}", second.text);
    let now = p.app.db.texts("SELECT id AS t FROM accounts WHERE email = 'squatted@example.com'");
    assert_eq!(now.len(), 1);
    assert_ne!(now, squatter, "the stale registration gave the address up");
    let expired =
        p.app.admin().get(&format!("/api/v1/audit-events?action=user.registration.expire&target={}", squatter[0]));
    assert_eq!(expired.json["items"].as_array().unwrap().len(), 1, "{}", expired.text);
}

/// Finding 11: setting, resetting or changing a password ends the account's sessions, refresh
/// tokens and access tokens; UserInfo refuses a token whose client's owner is disabled.
#[test]
fn a_password_change_ends_every_session_and_token() {
    let p = provider(&[]);
    let (browser, tokens) = alice_signed_in(&p, "openid account offline_access");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let as_alice = Api::new(&p.app.base, None).with_bearer(&access);
    assert_eq!(as_alice.get("/api/v1/me").status, 200);
    // A second passes, so that the change is later than the token's iat (seconds).
    std::thread::sleep(Duration::from_millis(1100));
    let set = p.app.admin().put(
        &format!("/api/v1/namespaces/customers/users/{}/password", p.alice),
        &json!({ "password": "set by the administrator" }),
    );
    assert_eq!(set.status, 204, "{}", set.text);
    as_alice.get("/api/v1/me").assert_problem(401);
    assert_eq!(Api::new(&p.app.base, None).with_bearer(&access).get("/oauth/userinfo").status, 401);
    let refreshed = token(&p.app, &p.web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(refreshed.status, 400, "{}", refreshed.text);
    assert_eq!(refreshed.json["error"], "invalid_grant");
    let silent = browser.get(&silent_authorize(&p));
    assert_eq!(query_param(&location(&silent), "error").as_deref(), Some("login_required"), "the SSO session ended");
}

/// UserInfo checks the token's client and its owner, like the Management API.
#[test]
fn userinfo_refuses_a_token_whose_clients_owner_is_disabled() {
    let p = provider(&[]);
    let (_, tokens) = alice_signed_in(&p, "openid");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(Api::new(&p.app.base, None).with_bearer(&access).get("/oauth/userinfo").status, 200);
    let owner = p.app.create_account("system", "shop-owner", &[]);
    let moved = p.app.admin().patch(&format!("/api/v1/clients/{}", p.web.id), &json!({ "owner_account_id": owner }));
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(Api::new(&p.app.base, None).with_bearer(&access).get("/oauth/userinfo").status, 200);
    assert_eq!(
        p.app.admin().patch(&format!("/api/v1/namespaces/system/users/{owner}"), &json!({ "disabled": true })).status,
        200
    );
    assert_eq!(Api::new(&p.app.base, None).with_bearer(&access).get("/oauth/userinfo").status, 401);
}

/// Settled (12): a token with a made-up key id does not make every request read the keys.
#[test]
fn made_up_key_ids_do_not_reload_the_keys_per_request() {
    use base64::Engine;
    let app = TestApp::start();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let loads_before = metric(&app, "gatehouse_signing_key_loads");
    let started = Instant::now();
    for i in 0..200 {
        let header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": format!("made-up-{i}") });
        let forged = format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(&header),
            b64(&json!({ "sub": "x", "iss": app.base, "aud": "x", "exp": 4_000_000_000u64 }))
        );
        Api::new(&app.base, None).with_bearer(&forged).get("/api/v1/me").assert_problem(401);
    }
    let seconds = started.elapsed().as_secs_f64();
    let loads = metric(&app, "gatehouse_signing_key_loads") - loads_before;
    // At most one forced reload a second, and the cache's own refresh every five seconds.
    assert!(
        loads <= seconds.ceil() + 1.0 + seconds / 5.0 + 1.0,
        "{loads} key loads for 200 made-up kids in {seconds:.1} s"
    );
}

/// Settled (12): behind a proxy, the caller's address is the hop the proxy appended, not one
/// the caller wrote into `X-Forwarded-For`.
#[test]
fn the_forwarded_address_is_the_one_the_proxy_saw() {
    let app = TestApp::start_with(&["--trust-forwarded-for"]);
    let api = app.anonymous();
    let r = api.send(
        api.request(Method::GET, "/api/v1/me")
            .basic_auth(&app.admin_client.client_id, Some("wrong secret 123"))
            .header("x-forwarded-for", "203.0.113.66, 198.51.100.7"),
    );
    assert_eq!(r.status, 401);
    let events = app.admin().get("/api/v1/audit-events?action=auth.basic.failure");
    assert_eq!(events.json["items"][0]["ip"], "198.51.100.7", "{}", events.text);
}

/// Settled (12): an idempotent retry is replayed only while the caller may still do what it
/// asked (the stored reply carries a secret).
#[test]
fn an_idempotent_replay_is_authorized_again() {
    let app = TestApp::start();
    let (owner, creator) = app.owner_with_client("creator", &["clients:write@*"], &["clients:write@*"]);
    let body = json!({ "name": "made once" });
    let api = app.as_client(&creator);
    let first = api.send(api.request(Method::POST, "/api/v1/clients").header("idempotency-key", "key-1").json(&body));
    assert_eq!(first.status, 201, "{}", first.text);
    let again = api.send(api.request(Method::POST, "/api/v1/clients").header("idempotency-key", "key-1").json(&body));
    assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")));
    app.set_grants("system", &owner, &[]);
    let after = api.send(api.request(Method::POST, "/api/v1/clients").header("idempotency-key", "key-1").json(&body));
    after.assert_problem(403);
    assert!(!after.text.contains("client_secret"), "{}", after.text);
}

/// Settled (12): rotating a secret without overlap ends the access tokens the old one obtained;
/// with an overlap they live on, like the old secret.
#[test]
fn a_rotation_without_overlap_ends_the_clients_tokens() {
    let app = TestApp::start();
    let client = app.create_client(&app.admin_account_id, &["namespaces:read@*"]);
    let issue = |creds: &ClientCreds| {
        token(&app, creds, &[("grant_type", "client_credentials")]).json["access_token"].as_str().unwrap().to_owned()
    };
    let first = issue(&client);
    std::thread::sleep(Duration::from_millis(1100));
    let rotated = app
        .admin()
        .post(&format!("/api/v1/clients/{}/secrets", client.id), &json!({ "previous_secret_expires_in": 3600 }));
    assert_eq!(rotated.status, 201);
    assert_eq!(Api::new(&app.base, None).with_bearer(&first).get("/api/v1/me").status, 200, "an overlap keeps them");
    let rotated = app
        .admin()
        .post(&format!("/api/v1/clients/{}/secrets", client.id), &json!({ "previous_secret_expires_in": 0 }));
    assert_eq!(rotated.status, 201);
    Api::new(&app.base, None).with_bearer(&first).get("/api/v1/me").assert_problem(401);
    let fresh = ClientCreds { secret: rotated.json["client_secret"].as_str().unwrap().to_owned(), ..client };
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(Api::new(&app.base, None).with_bearer(&issue(&fresh)).get("/api/v1/me").status, 200);
}

/// Settled (12): keys rotated twice within a token's lifetime still verify the tokens they signed.
#[test]
fn two_rotations_within_a_tokens_life_keep_it_valid() {
    let app = TestApp::start();
    let minted = token(&app, &app.admin_client, &[("grant_type", "client_credentials")]);
    let access = minted.json["access_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(app.admin().post("/api/v1/keys:rotate", &json!({})).status, 200);
    }
    assert_eq!(Api::new(&app.base, None).with_bearer(&access).get("/api/v1/me").status, 200);
    let jwks = app.anonymous().get("/oauth/jwks");
    assert_eq!(
        jwks.json["keys"].as_array().unwrap().len(),
        3 * 5,
        "next, current and three previous keys of each algorithm"
    );
}
