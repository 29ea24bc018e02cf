//! The token service driven by **openid-client 6** (npm), the OpenID-certified relying party
//! library that nobody here wrote: `tests/openid-client/rp.mjs` runs in `node` and checks every
//! answer with the library's own validation (issuer, audience, signature against the JWKS,
//! nonce, state, PKCE, the subject of UserInfo). These tests only drive it: they sign in on the
//! hosted form with a cookie-keeping HTTP client and hand the callback URL back to the library.
//!
//! `scripts/test.sh` installs the package (`npm ci` in tests/openid-client); by hand:
//! `npm ci --prefix tests/openid-client`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

use crate::oauth::{provider, ALICE_PASSWORD, REDIRECT};
use crate::support::browser::{location, query_param, Browser};
use crate::support::TestApp;

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/openid-client");

/// One relying party: a `node rp.mjs` process, spoken to a JSON line at a time.
struct Rp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Rp {
    fn start() -> Rp {
        assert!(
            std::path::Path::new(SUITE).join("node_modules/openid-client").exists(),
            "openid-client is not installed: run scripts/test.sh or `npm ci --prefix tests/openid-client`"
        );
        let mut child = Command::new("node")
            .arg(format!("{SUITE}/rp.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (Node.js 20 or later)");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Rp { child, stdin, stdout }
    }

    /// Sends one command; the answer, or what openid-client refused (`Err` holds its error).
    fn call(&mut self, command: Value) -> Result<Value, Value> {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("an answer from rp.mjs");
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("rp.mjs said {line:?}: {e}"));
        match answer.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(answer),
        }
    }

    fn ok(&mut self, command: Value) -> Value {
        let op = command["op"].clone();
        self.call(command).unwrap_or_else(|e| panic!("openid-client refused {op}: {e:#}"))
    }

    /// Discovery with a client's credentials (`auth`: how it authenticates at the token endpoint).
    fn discover(app: &TestApp, client_id: &str, secret: Option<&str>, auth: &str) -> Rp {
        let mut rp = Rp::start();
        let discovered = rp.ok(json!({
            "op": "discover", "issuer": app.base, "client_id": client_id, "client_secret": secret, "auth": auth
        }));
        assert_eq!(discovered["server"]["issuer"], json!(app.base));
        rp
    }

    /// An authorization request built by the library, signed in on the hosted form: the
    /// callback URL the browser was sent to.
    fn sign_in(&mut self, browser: &Browser, scope: &str, login: &str, password: &str) -> String {
        let url = self.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": scope }));
        let answer = browser.sign_in(url["url"].as_str().unwrap(), login, password);
        assert_eq!(answer.status, 303, "{}", answer.text);
        location(&answer)
    }
}

/// Whether openid-client's error (or its cause) says `what`.
fn refused_for(error: &Value, what: &str) -> bool {
    error.to_string().contains(what)
}

impl Drop for Rp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn code_flow_with_pkce_then_userinfo_refresh_introspection_and_revocation() {
    let p = provider(&[]);
    let mut rp = Rp::discover(&p.app, &p.web.client_id, Some(&p.web.secret), "client_secret_basic");
    let browser = Browser::new(&p.app.base);
    let callback = rp.sign_in(&browser, "openid profile email offline_access", "alice", ALICE_PASSWORD);

    // A callback whose state is not the request's is refused by the library (its check runs).
    let forged = callback.replace(&query_param(&callback, "state").unwrap(), "forged-state");
    let refused = rp.call(json!({ "op": "code_grant", "callback_url": forged })).unwrap_err();
    assert!(refused_for(&refused, "\\\"state\\\" response parameter"), "{refused}");

    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": callback }));
    assert_eq!(tokens["token_type"].as_str().map(str::to_ascii_lowercase), Some("bearer".into()));
    let claims = &tokens["claims"];
    assert_eq!(claims["sub"], json!(p.alice));
    assert_eq!(claims["iss"], json!(p.app.base));
    assert_eq!(claims["aud"], json!(p.web.client_id));
    assert_eq!(claims["email"], json!("alice@example.com"));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("offline_access gives a refresh token").to_owned();

    let info = rp.ok(json!({ "op": "userinfo", "access_token": access, "subject": p.alice }));
    assert_eq!(info["userinfo"]["sub"], json!(p.alice));
    assert_eq!(info["userinfo"]["name"], json!("Alice Liddell"));
    // The library compares UserInfo's subject with the one it expects.
    let other = rp.call(json!({ "op": "userinfo", "access_token": access, "subject": "somebody-else" })).unwrap_err();
    assert!(refused_for(&other, "\\\"response\\\" body \\\"sub\\\""), "{other}");

    let renewed = rp.ok(json!({ "op": "refresh", "refresh_token": refresh }));
    let renewed_access = renewed["access_token"].as_str().unwrap().to_owned();
    assert_ne!(renewed_access, access);
    if !renewed["claims"].is_null() {
        assert_eq!(renewed["claims"]["sub"], json!(p.alice), "a refreshed ID token names the same subject");
    }
    let new_refresh = renewed["refresh_token"].as_str().unwrap_or(&refresh).to_owned();

    let active = rp.ok(json!({ "op": "introspect", "token": renewed_access }));
    assert_eq!(active["introspection"]["active"], json!(true), "{active}");
    assert_eq!(active["introspection"]["sub"], json!(p.alice));
    rp.ok(json!({ "op": "revoke", "token": new_refresh }));
    let gone = rp.ok(json!({ "op": "introspect", "token": new_refresh }));
    assert_eq!(gone["introspection"]["active"], json!(false), "{gone}");
    let refused = rp.call(json!({ "op": "refresh", "refresh_token": new_refresh })).unwrap_err();
    assert_eq!(refused["error"], json!("invalid_grant"), "{refused}");
}

#[test]
fn public_client_with_pkce_and_rp_initiated_logout() {
    let p = provider(&[]);
    let public = p.app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "Single-page app",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT],
            "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"],
            "user_namespace": "customers",
            "token_endpoint_auth_method": "none",
            "skip_consent": true
        }),
    );
    assert_eq!(public.status, 201, "{}", public.text);
    let client_id = public.json["client_id"].as_str().unwrap();
    let mut rp = Rp::discover(&p.app, client_id, None, "none");
    let browser = Browser::new(&p.app.base);
    let callback = rp.sign_in(&browser, "openid profile", "alice", ALICE_PASSWORD);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": callback }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    assert_eq!(tokens["claims"]["aud"], json!(client_id));

    let logout = rp.ok(json!({
        "op": "end_session_url", "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9/bye",
        "state": "bye-state"
    }));
    let answer = browser.get(logout["url"].as_str().unwrap());
    assert!(matches!(answer.status, 302 | 303), "{} {}", answer.status, answer.text);
    let back = location(&answer);
    assert!(back.starts_with("http://127.0.0.1:9/bye"), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("bye-state"));
    // Signed out: the next authorization request shows the form again.
    let again = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid" }));
    let page = browser.get(again["url"].as_str().unwrap());
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("name=\"password\""), "the sign-in form, not a code");
}

#[test]
fn client_credentials_and_a_wrong_secret() {
    let p = provider(&[]);
    let (_, api) = p.app.owner_with_client("api-owner", &["users:read@customers"], &["users:read@customers"]);
    let mut rp = Rp::discover(&p.app, &api.client_id, Some(&api.secret), "client_secret_basic");
    let tokens = rp.ok(json!({ "op": "client_credentials", "scope": "users:read@customers" }));
    assert_eq!(tokens["scope"], json!("users:read@customers"));
    let access = tokens["access_token"].as_str().unwrap();
    // The token works on the Management API.
    let users = p.app.anonymous().with_bearer(access).get("/api/v1/namespaces/customers/users");
    assert_eq!(users.status, 200, "{}", users.text);
    // More than the client holds: refused, and the library says why.
    let refused = rp.call(json!({ "op": "client_credentials", "scope": "users:write@customers" })).unwrap_err();
    assert_eq!(refused["error"], json!("invalid_scope"), "{refused}");

    // client_secret_post with the wrong secret.
    let mut wrong = Rp::discover(&p.app, &api.client_id, Some("not the secret"), "client_secret_post");
    let refused = wrong.call(json!({ "op": "client_credentials" })).unwrap_err();
    assert_eq!(refused["error"], json!("invalid_client"), "{refused}");
}
