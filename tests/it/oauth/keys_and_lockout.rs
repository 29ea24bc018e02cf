//! Signing keys and their rotation, the algorithms per client, and the throttling of
//! passwords and client secrets at the token service.

use super::*;

#[test]
fn tokens_of_a_rotated_key_keep_verifying_until_the_key_retires() {
    let p = provider(&[]);
    let creds = &p.app.admin_client;
    let old = token_endpoint(&p.app, creds, &[("grant_type", "client_credentials")]).json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = header_kid(&old);
    let rotated = p.app.admin().post("/api/v1/keys:rotate", &json!({}));
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let jwks = p.app.anonymous().get("/oauth/jwks");
    assert!(jwks.text.contains(&old_kid), "the previous key is still published");
    assert_eq!(bearer(&p.app, &old).get("/api/v1/me").status, 200, "a token of the previous key still verifies");
    let new = token_endpoint(&p.app, creds, &[("grant_type", "client_credentials")]).json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(header_kid(&new), old_kid, "new tokens are signed by the new current key");
    assert_eq!(bearer(&p.app, &new).get("/api/v1/me").status, 200);
    // A second rotation soon after keeps it: a key verifies until every token it can have
    // signed has expired (a day after it stopped signing).
    p.app.admin().post("/api/v1/keys:rotate", &json!({}));
    assert!(p.app.anonymous().get("/oauth/jwks").text.contains(&old_kid));
    assert_eq!(bearer(&p.app, &old).get("/api/v1/me").status, 200);
    let keys = p.app.admin().get("/api/v1/keys");
    assert_eq!(keys.json.as_array().unwrap().len(), 12, "current, next and two previous for three algorithms");
    // Once it stopped signing over a day ago, the next rotation retires it and its tokens stop.
    p.app.db.execute(&format!("UPDATE signing_keys SET retired_at = '2000-01-01 00:00:00' WHERE kid = '{old_kid}'"));
    p.app.admin().post("/api/v1/keys:rotate", &json!({}));
    assert!(!p.app.anonymous().get("/oauth/jwks").text.contains(&old_kid));
    // Within the replica's key cache (5 s) the retired key may still be known: wait it out.
    assert!(eventually(Duration::from_secs(8), || bearer(&p.app, &old).get("/api/v1/me").status == 401));
}

fn header_kid(jwt: &str) -> String {
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[test]
fn es256_and_eddsa_access_tokens_are_available_per_client() {
    let p = provider(&[]);
    for alg in ["ES256", "EdDSA"] {
        let created = p.app.admin().post(
            "/api/v1/clients",
            &json!({ "name": alg, "access_token_alg": alg, "permissions": ["namespaces:read@*"] }),
        );
        let creds = creds_of(&created.json);
        let token = token_endpoint(&p.app, &creds, &[("grant_type", "client_credentials")]).json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        use base64::Engine;
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(bearer(&p.app, &token).get("/api/v1/namespaces").status, 200);
    }
}

#[test]
fn lock_out_after_failed_passwords_and_its_release() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let started = start(&client, &[]);
    let mut page = browser.get(&started.url);
    for _ in 0..5 {
        page = browser.submit(&page, "/oauth/login", &[("login", "alice"), ("password", "wrong password!")]);
        assert_eq!(page.status, 200);
        assert!(page.text.contains("Wrong sign-in name or password"));
    }
    let locked = browser.submit(&page, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]);
    assert_eq!(locked.status, 429, "locked even with the right password: {}", locked.text);
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let audit = p.app.admin().get("/api/v1/audit-events?action=auth.lockout");
    assert!(!audit.json["items"].as_array().unwrap().is_empty(), "the lock-out is audited");
    std::thread::sleep(Duration::from_secs(retry));
    let page = browser.get(&start(&client, &[]).url);
    let released = browser.submit(&page, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]);
    assert_eq!(released.status, 303, "released after the lock: {}", released.text);
}

#[test]
fn client_secrets_are_throttled_at_the_token_endpoint_and_on_basic_auth() {
    let p = provider(&[]);
    let target = p.app.create_client(&p.app.admin_account_id, &["namespaces:read@*"]);
    let wrong = ClientCreds { secret: "wrong".into(), ..target.clone() };
    for _ in 0..5 {
        assert_eq!(token_endpoint(&p.app, &wrong, &[("grant_type", "client_credentials")]).status, 401);
    }
    let locked = token_endpoint(&p.app, &target, &[("grant_type", "client_credentials")]);
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.header("retry-after").is_some());
    let basic = p.app.as_client(&target).get("/api/v1/me");
    basic.assert_problem(429);
    assert!(
        eventually(Duration::from_secs(10), || p.app.as_client(&target).get("/api/v1/me").status == 200),
        "released"
    );
}

#[test]
fn sign_in_does_not_tell_whether_an_account_exists() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let attempt = |login: &str| {
        let browser = Browser::new(&p.app.base);
        let page = browser.get(&start(&client, &[]).url);
        let started = Instant::now();
        let answer = browser.submit(&page, "/oauth/login", &[("login", login), ("password", "not the password")]);
        (answer, started.elapsed())
    };
    let mut known_times = Vec::new();
    let mut unknown_times = Vec::new();
    for i in 0..3 {
        let (known, t1) = attempt("alice");
        let (unknown, t2) = attempt(&format!("nobody-{i}"));
        assert_eq!(known.status, unknown.status);
        let strip = |html: &str| {
            html.replace(&crate::support::browser::hidden(html, "request").unwrap(), "")
                .replace(&crate::support::browser::hidden(html, "csrf").unwrap(), "")
        };
        assert_eq!(
            strip(&known.text).replace("alice", "X"),
            strip(&unknown.text).replace(&format!("nobody-{i}"), "X"),
            "same page"
        );
        known_times.push(t1);
        unknown_times.push(t2);
    }
    known_times.sort();
    unknown_times.sort();
    let (known, unknown) = (known_times[1].as_secs_f64(), unknown_times[1].as_secs_f64());
    assert!(
        unknown > known / 3.0 && unknown < known * 3.0,
        "same timing class: known {known:.3}s, unknown {unknown:.3}s"
    );
    // The token endpoint's password grant, too.
    p.app.admin().patch(&format!("/api/v1/clients/{}", p.web.id), &json!({ "password_grant_enabled": true }));
    let known =
        token_endpoint(&p.app, &p.web, &[("grant_type", "password"), ("username", "alice"), ("password", "nope nope")]);
    let unknown = token_endpoint(
        &p.app,
        &p.web,
        &[("grant_type", "password"), ("username", "nobody"), ("password", "nope nope")],
    );
    assert_eq!((known.status, known.text.clone()), (unknown.status, unknown.text.clone()));
}
