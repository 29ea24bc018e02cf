//! Housekeeping: a sweep removes the rows no flow can use any more and keeps every live one,
//! which still works over HTTP afterwards. Rows are made by the real flows and then aged by
//! moving their times into the past, as the clock would; a replica started on the database
//! sweeps as it starts, and says so in its log.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::console::console_sign_in;
use crate::oauth::{provider, rp, start_url, Client_, ALICE_PASSWORD};
use crate::support::browser::{hidden, location, query_param, Browser};
use crate::support::mail::{code_in, WebhookSink};
use crate::support::{eventually, Api, ClientCreds, Replica, Reply, TestApp, ADMIN_PASSWORD};

/// Long past every lifetime and grace period.
const LONG_AGO: &str = "2020-01-01 00:00:00";
const FAR_AHEAD: &str = "2100-01-01 00:00:00";

/// A time `minutes` ago, as the database stores times (UTC).
fn minutes_ago(minutes: i64) -> String {
    let then = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    then.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Starts a replica on the app's database and waits until its first sweep removed something;
/// returns the replica (its log says what was removed).
fn sweep(app: &TestApp) -> Replica {
    let replica = app.replica();
    let swept = eventually(Duration::from_secs(60), || replica.log().contains("housekeeping: removed"));
    assert!(swept, "no sweep removed anything: {}", replica.log());
    replica
}

/// The replica's sweep line names each of `removed` ("2 authorization codes", …).
fn assert_removed(replica: &Replica, removed: &[&str]) {
    let log = replica.log();
    let line = log.lines().find(|l| l.contains("housekeeping: removed")).unwrap();
    for removed in removed {
        assert!(line.contains(&format!(" {removed}")), "{removed} in {line}");
    }
}

fn rows(app: &TestApp, table: &str, condition: &str) -> i64 {
    app.db.number(&format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"))
}

/// How the server stores a code or refresh token.
fn hashed(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn token_endpoint(app: &TestApp, creds: &ClientCreds, form: &[(&str, &str)]) -> Reply {
    let api = app.anonymous();
    let request =
        api.request(Method::POST, "/oauth/token").basic_auth(&creds.client_id, Some(&creds.secret)).form(form);
    api.send(request)
}

fn redeem(app: &TestApp, creds: &ClientCreds, code: &str, verifier: &str) -> Reply {
    token_endpoint(
        app,
        creds,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", crate::oauth::REDIRECT),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh(app: &TestApp, creds: &ClientCreds, token: &str) -> Reply {
    token_endpoint(app, creds, &[("grant_type", "refresh_token"), ("refresh_token", token)])
}

fn refresh_token_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["refresh_token"].as_str().unwrap().to_owned()
}

/// The code of an answer that redirects back to the application.
fn code_of(answer: &Reply) -> String {
    assert_eq!(answer.status, 303, "{}", answer.text);
    query_param(&location(answer), "code").expect("a code")
}

/// An authorization by a browser already signed in: a code at once, and its PKCE verifier.
fn authorize(browser: &Browser, client: &Client_) -> (String, String) {
    let (url, verifier, _) = start_url(client);
    (code_of(&browser.get(&url)), verifier.secret().to_owned())
}

fn jti_of(jwt: &str) -> String {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

#[test]
fn a_sweep_removes_ended_sign_ins_codes_and_tokens_and_live_ones_keep_working() {
    let p = provider(&[]);
    let (app, web) = (&p.app, &p.web);
    let client = rp(app, web);

    // Sessions: one that stays signed in, one whose browser left long ago.
    let signed_in = Browser::new(&app.base);
    let (url, _, _) = start_url(&client);
    let first_code = code_of(&signed_in.sign_in(&url, "alice", ALICE_PASSWORD));
    let left = Browser::new(&app.base);
    let (url, _, _) = start_url(&client);
    let left_code = code_of(&left.sign_in(&url, "alice", ALICE_PASSWORD));
    let session_of = |code: &str| {
        let sql = format!("SELECT session_id AS t FROM authorization_codes WHERE code_hash = '{}'", hashed(code));
        app.db.texts(&sql).pop().expect("the code names its session")
    };
    let (live_session, left_session) = (session_of(&first_code), session_of(&left_code));

    // Authorization requests: one abandoned long ago, one still waiting for its sign-in.
    let abandoned = Browser::new(&app.base);
    let abandoned_request = hidden(&abandoned.get(&start_url(&client).0).text, "request").unwrap();
    let pending = Browser::new(&app.base);
    let (pending_url, pending_verifier, _) = start_url(&client);
    let pending_page = pending.get(&pending_url);
    let pending_request = hidden(&pending_page.text, "request").unwrap();

    // Codes and refresh tokens. `first_code` is never redeemed.
    let (dead_code, verifier) = authorize(&signed_in, &client);
    let dead_refresh = refresh_token_of(&redeem(app, web, &dead_code, &verifier));
    let (live_family_code, live_family_verifier) = authorize(&signed_in, &client);
    let live_family_refresh = refresh_token_of(&redeem(app, web, &live_family_code, &live_family_verifier));
    let (unused_code, unused_verifier) = authorize(&signed_in, &client);
    let (code, verifier) = authorize(&signed_in, &client);
    let rotated = refresh_token_of(&redeem(app, web, &code, &verifier));
    let newest = refresh_token_of(&refresh(app, web, &rotated));
    // A used code whose refresh token is revoked but whose access token may still be live.
    let (recent_code, recent_verifier) = authorize(&signed_in, &client);
    let recent = redeem(app, web, &recent_code, &recent_verifier);
    let recent_access = recent.json["access_token"].as_str().unwrap().to_owned();
    let api = app.anonymous();
    let revoke = api
        .request(Method::POST, "/oauth/revoke")
        .basic_auth(&web.client_id, Some(&web.secret))
        .form(&[("token", refresh_token_of(&recent).as_str())]);
    assert_eq!(api.send(revoke).status, 200);
    // A request that expired a minute ago: within the allowance for clock skew.
    let skewed = Browser::new(&app.base);
    let skewed_request = hidden(&skewed.get(&start_url(&client).0).text, "request").unwrap();

    // Revoked access tokens: one revoked long ago, one just now.
    let admin = &app.admin_client;
    let issue = || {
        let r = token_endpoint(app, admin, &[("grant_type", "client_credentials")]);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["access_token"].as_str().unwrap().to_owned()
    };
    let (old_revoked, live_revoked) = (issue(), issue());
    for token in [&old_revoked, &live_revoked] {
        let api = app.anonymous();
        let revoke = api
            .request(Method::POST, "/oauth/revoke")
            .basic_auth(&admin.client_id, Some(&admin.secret))
            .form(&[("token", token.as_str())]);
        assert_eq!(api.send(revoke).status, 200);
    }

    app.db.execute(&format!(
        "UPDATE authorization_requests SET expires_at = '{LONG_AGO}' WHERE id = '{abandoned_request}';
         UPDATE sso_sessions SET expires_at = '{LONG_AGO}' WHERE id = '{left_session}';
         UPDATE authorization_codes SET expires_at = '{LONG_AGO}'
             WHERE code_hash IN ('{}', '{}', '{}');
         UPDATE refresh_tokens SET expires_at = '{LONG_AGO}' WHERE token_hash = '{}';
         UPDATE revoked_access_tokens SET expires_at = '{LONG_AGO}' WHERE jti = '{}';
         UPDATE authorization_codes SET expires_at = '{}' WHERE code_hash = '{}';
         UPDATE authorization_requests SET expires_at = '{}' WHERE id = '{skewed_request}';",
        hashed(&first_code),
        hashed(&dead_code),
        hashed(&live_family_code),
        hashed(&dead_refresh),
        jti_of(&old_revoked),
        minutes_ago(30),
        hashed(&recent_code),
        minutes_ago(1),
    ));
    let replica = sweep(app);

    // Gone: what ended.
    let request_rows = |id: &str| rows(app, "authorization_requests", &format!("id = '{id}'"));
    let session_rows = |id: &str| rows(app, "sso_sessions", &format!("id = '{id}'"));
    let code_rows = |code: &str| rows(app, "authorization_codes", &format!("code_hash = '{}'", hashed(code)));
    let refresh_rows = |token: &str| rows(app, "refresh_tokens", &format!("token_hash = '{}'", hashed(token)));
    let revoked_rows = |token: &str| rows(app, "revoked_access_tokens", &format!("jti = '{}'", jti_of(token)));
    assert_eq!(request_rows(&abandoned_request), 0, "an expired request");
    assert_eq!(session_rows(&left_session), 0, "an expired session");
    assert_eq!(code_rows(&first_code), 0, "an expired code never redeemed");
    assert_eq!(code_rows(&dead_code), 0, "a used code whose tokens all ended");
    assert_eq!(refresh_rows(&dead_refresh), 0, "an expired refresh token");
    assert_eq!(revoked_rows(&old_revoked), 0, "the revocation of an expired token");
    // Kept: what is live, and a used code whose refresh token is live (a replay revokes it).
    assert_eq!(request_rows(&pending_request), 1);
    assert_eq!(session_rows(&live_session), 1);
    assert_eq!(code_rows(&live_family_code), 1, "a used code whose family is live");
    assert_eq!(code_rows(&unused_code), 1);
    assert_eq!(refresh_rows(&rotated), 1, "a rotated token until its own expiry");
    assert_eq!(revoked_rows(&live_revoked), 1);
    assert_eq!(code_rows(&recent_code), 1, "a used code whose access token may be live");
    assert_eq!(request_rows(&skewed_request), 1, "expired, but within the clock skew");
    assert_removed(
        &replica,
        &[
            "1 authorization requests",
            "2 authorization codes",
            "1 refresh tokens",
            "1 revoked access tokens",
            "1 sign-in sessions",
        ],
    );

    // And the live ones still work, on the replica as on the first server.
    let bearer = Api::new(&replica.base, None).with_bearer(&live_revoked);
    bearer.get("/api/v1/me").assert_problem(401);
    let code =
        code_of(&pending.submit(&pending_page, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]));
    assert_eq!(redeem(app, web, &code, pending_verifier.secret()).status, 200, "the pending request completes");
    let (code, verifier) = authorize(&signed_in, &client);
    assert_eq!(redeem(app, web, &code, &verifier).status, 200, "the live session signs in without a form");
    assert_eq!(redeem(app, web, &unused_code, &unused_verifier).status, 200, "the live code redeems");
    let newer = refresh_token_of(&refresh(app, web, &newest));
    // Reuse detection still has what it needs: the rotated token and the used code.
    assert_eq!(refresh(app, web, &rotated).json["error"], "invalid_grant");
    assert_eq!(refresh(app, web, &newer).json["error"], "invalid_grant", "the family is revoked");
    let replay = redeem(app, web, &live_family_code, &live_family_verifier);
    assert_eq!(replay.json["error"], "invalid_grant", "{}", replay.text);
    let revoked = refresh(app, web, &live_family_refresh);
    assert_eq!(revoked.json["error"], "invalid_grant", "the replayed code revoked what it issued");
    let bearer = |token: &str| Api::new(&app.base, None).with_bearer(token);
    assert_eq!(bearer(&recent_access).get("/api/v1/me").status, 200);
    let replay = redeem(app, web, &recent_code, &recent_verifier);
    assert_eq!(replay.json["error"], "invalid_grant", "{}", replay.text);
    bearer(&recent_access).get("/api/v1/me").assert_problem(401);
}

#[test]
fn a_sweep_forgets_stale_throttle_counters_in_batches_and_keeps_locks_and_recent_failures() {
    let app = TestApp::start();
    let locked = app.create_client(&app.admin_account_id, &["namespaces:read@*"]);
    let failing = app.create_client(&app.admin_account_id, &["namespaces:read@*"]);
    let wrong = |c: &ClientCreds| ClientCreds { secret: "not the secret".into(), ..c.clone() };
    for _ in 0..5 {
        app.as_client(&wrong(&locked)).get("/api/v1/me").assert_problem(401);
    }
    app.as_client(&wrong(&failing)).get("/api/v1/me").assert_problem(401);
    let locked_key = format!("client:{}", locked.id);
    let failing_key = format!("client:{}", failing.id);
    assert_eq!(rows(&app, "auth_throttle", &format!("key = '{locked_key}' AND locked_until IS NOT NULL")), 1);

    // An attacker sprayed from 3,000 addresses long ago; this address failed long ago too. The
    // locked client's last failure is as old, but its lock lasts.
    app.db.execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
         INSERT INTO auth_throttle (key, failures, last_failure_at, locked_until)
             SELECT 'ip:10.0.' || (i / 250) || '.' || (i % 250), 3, '{LONG_AGO}', NULL FROM n;
         UPDATE auth_throttle SET last_failure_at = '{LONG_AGO}' WHERE key = 'ip:127.0.0.1';
         UPDATE auth_throttle SET last_failure_at = '{LONG_AGO}', locked_until = '{FAR_AHEAD}'
             WHERE key = '{locked_key}';"
    ));
    assert_eq!(rows(&app, "auth_throttle", "key LIKE 'ip:10.0.%'"), 3000);
    let replica = sweep(&app);

    assert_eq!(rows(&app, "auth_throttle", "key LIKE 'ip:%'"), 0, "stale counters");
    let log = replica.log();
    assert!(log.contains("removed 3001 throttle counters"), "more than a batch, all of them: {log}");
    assert_eq!(rows(&app, "auth_throttle", &format!("key = '{locked_key}'")), 1);
    assert_eq!(rows(&app, "auth_throttle", &format!("key = '{failing_key}' AND failures = 1")), 1);
    // The lock still holds, even with the right secret.
    app.as_client(&locked).get("/api/v1/me").assert_problem(429);
    // The recent failure still counts: four more make five, which locks.
    for _ in 0..4 {
        app.as_client(&wrong(&failing)).get("/api/v1/me").assert_problem(401);
    }
    let counted = format!("key = '{failing_key}' AND failures = 5 AND locked_until IS NOT NULL");
    assert_eq!(rows(&app, "auth_throttle", &counted), 1);
}

/// Asks for a password reset of `login` on the hosted page; returns the page that takes the code.
fn reset(browser: &Browser, client: &Client_, login: &str) -> Reply {
    let page = browser.get(&start_url(client).0);
    let request = hidden(&page.text, "request").unwrap();
    let form = browser.get(&format!("/oauth/reset?request={request}"));
    assert_eq!(form.status, 200, "{}", form.text);
    let asked = browser.submit(&form, "/oauth/reset", &[("login", login)]);
    assert_eq!(asked.status, 200, "{}", asked.text);
    asked
}

fn create_user(app: &TestApp, body: Value) -> String {
    let created = app.admin().post("/api/v1/namespaces/customers/users", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    created.json["id"].as_str().unwrap().to_owned()
}

fn post_with_key(api: &Api, key: &str, body: &Value) -> Reply {
    let request =
        api.request(Method::POST, "/api/v1/namespaces/customers/users").header("idempotency-key", key).json(body);
    api.send(request)
}

#[test]
fn a_sweep_removes_expired_codes_old_deliveries_keys_and_console_sessions_and_keeps_the_rest() {
    let sms = WebhookSink::start();
    // No SMTP server: mail waits in the outbox, undelivered.
    let p = provider(&["--sms-webhook-url", &sms.url()]);
    let app = &p.app;
    let client = rp(app, &p.web);
    let phone = "+14155550177";
    let dora = create_user(
        app,
        json!({ "username": "dora", "phone_number": phone, "phone_number_verified": true, "password": "dora's long password" }),
    );
    let erin = create_user(app, json!({ "username": "erin", "email": "erin@example.com", "email_verified": true }));

    // Two codes for dora by SMS (the second replaces the first), one for erin by mail.
    let browser = Browser::new(&app.base);
    reset(&browser, &client, phone);
    let texts_to_dora = || sms.bodies.lock().unwrap().iter().filter(|b| b["to"] == phone).count();
    assert!(eventually(Duration::from_secs(30), || texts_to_dora() == 1), "the first SMS");
    let confirm_page = reset(&browser, &client, phone);
    assert!(eventually(Duration::from_secs(30), || texts_to_dora() == 2), "the second SMS");
    let delivered = format!("recipient = '{phone}' AND sent_at IS NOT NULL");
    assert!(eventually(Duration::from_secs(30), || rows(app, "outbox", &delivered) == 2), "both SMS marked sent");
    let live_code = {
        let bodies = sms.bodies.lock().unwrap();
        bodies
            .iter()
            .rev()
            .filter(|b| b["to"] == phone)
            .find_map(|b| code_in(b["body"].as_str().unwrap_or_default()))
            .unwrap()
    };
    reset(&Browser::new(&app.base), &client, "erin@example.com");
    assert_eq!(rows(app, "verification_codes", &format!("account_id = '{erin}'")), 1);

    // Idempotency keys: one used long ago, one just now.
    let admin = app.admin();
    let old_key = post_with_key(&admin, "old-key", &json!({ "username": "frank" }));
    assert_eq!(old_key.status, 201, "{}", old_key.text);
    let live_body = json!({ "username": "gina" });
    assert_eq!(post_with_key(&admin, "live-key", &live_body).status, 201);
    let keys = app.db.texts("SELECT key_hash AS t FROM idempotency_keys ORDER BY created_at");
    assert_eq!(keys.len(), 2);

    // Console sessions: one that ended long ago, one live.
    let _ended = console_sign_in(app, "admin", ADMIN_PASSWORD);
    let (console, csrf) = console_sign_in(app, "admin", ADMIN_PASSWORD);
    let consoles = app.db.texts("SELECT id AS t FROM console_sessions ORDER BY created_at");
    assert_eq!(consoles.len(), 2);

    let first_text =
        app.db.texts(&format!("SELECT id AS t FROM outbox WHERE recipient = '{phone}' ORDER BY created_at")).remove(0);
    app.db.execute(&format!(
        "UPDATE verification_codes SET expires_at = '{LONG_AGO}'
             WHERE account_id = '{erin}' OR (account_id = '{dora}' AND consumed_at IS NOT NULL);
         UPDATE outbox SET sent_at = '{LONG_AGO}' WHERE id = '{first_text}';
         UPDATE outbox SET created_at = '{LONG_AGO}', next_attempt_at = '{LONG_AGO}' WHERE recipient = 'erin@example.com';
         UPDATE idempotency_keys SET created_at = '{LONG_AGO}' WHERE key_hash = '{}';
         UPDATE console_sessions SET expires_at = '{LONG_AGO}' WHERE id = '{}';",
        keys[0], consoles[0],
    ));
    let replica = sweep(app);

    assert_eq!(rows(app, "verification_codes", &format!("account_id = '{erin}'")), 0, "an expired code");
    assert_eq!(
        rows(app, "verification_codes", &format!("account_id = '{dora}' AND consumed_at IS NOT NULL")),
        0,
        "a replaced code, once expired"
    );
    assert_eq!(
        rows(app, "verification_codes", &format!("account_id = '{dora}' AND consumed_at IS NULL")),
        1,
        "the live code"
    );
    assert_eq!(rows(app, "outbox", &format!("id = '{first_text}'")), 0, "a message delivered long ago");
    assert_eq!(rows(app, "outbox", &format!("recipient = '{phone}'")), 1, "a message delivered just now");
    assert_eq!(
        rows(app, "outbox", "recipient = 'erin@example.com' AND sent_at IS NULL"),
        1,
        "an undelivered message, however old"
    );
    assert_eq!(rows(app, "idempotency_keys", &format!("key_hash = '{}'", keys[0])), 0);
    assert_eq!(rows(app, "idempotency_keys", &format!("key_hash = '{}'", keys[1])), 1);
    assert_eq!(rows(app, "console_sessions", &format!("id = '{}'", consoles[0])), 0);
    assert_eq!(rows(app, "console_sessions", &format!("id = '{}'", consoles[1])), 1);
    assert_removed(&replica, &["2 one-time codes", "1 delivered messages", "1 idempotency keys", "1 console sessions"]);

    // The live ones still work: the code resets the password, the key replays, the console
    // session answers.
    let done = browser.submit(
        &confirm_page,
        "/oauth/reset/confirm",
        &[("login", phone), ("code", &live_code), ("password", "dora's new password")],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    let replayed = post_with_key(&admin, "live-key", &live_body);
    assert_eq!(replayed.status, 201, "{}", replayed.text);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let me = console.request("GET", "/api/v1/me", &[("X-CSRF-Token", &csrf)], None);
    assert_eq!(me.status, 200, "{}", me.text);
}

#[test]
fn a_sweep_removes_registrations_never_verified_and_keeps_pending_and_verified_ones() {
    let p = provider(&[]);
    let app = &p.app;
    let register = |email: &str| {
        let browser = Browser::new(&app.base);
        let client = rp(app, &p.web);
        let page = browser.get(&start_url(&client).0);
        let request = hidden(&page.text, "request").unwrap();
        let form = browser.get(&format!("/oauth/register?request={request}"));
        let answer = browser.submit(&form, "/oauth/register", &[("email", email), ("password", "a long password 1")]);
        assert_eq!(answer.status, 200, "{}", answer.text);
        app.db.texts(&format!("SELECT id AS t FROM accounts WHERE email = '{email}'")).pop().unwrap()
    };
    let stale = register("stale@example.com");
    let pending = register("pending@example.com");
    app.db.execute(&format!("UPDATE accounts SET registration_expires_at = '{}' WHERE id = '{stale}'", minutes_ago(1)));
    let replica = sweep(app);
    assert_removed(&replica, &["1 unverified registrations"]);
    assert_eq!(rows(app, "accounts", &format!("id = '{stale}'")), 0);
    assert_eq!(rows(app, "accounts", &format!("id = '{pending}'")), 1, "still within its ten minutes");
    assert_eq!(
        rows(app, "accounts", &format!("id = '{}'", p.alice)),
        1,
        "an account an administrator made never expires"
    );
    let events = app.admin().get(&format!("/api/v1/audit-events?action=user.registration.expire&target={stale}"));
    assert_eq!(events.json["items"][0]["actor"]["type"], "system", "{}", events.text);
    assert_eq!(app.admin().get("/api/v1/audit-events:verify").json["intact"], true);
}
