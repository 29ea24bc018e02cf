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
pub(crate) struct Rp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Rp {
    pub(crate) fn start() -> Rp {
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
    pub(crate) fn call(&mut self, command: Value) -> Result<Value, Value> {
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

    pub(crate) fn ok(&mut self, command: Value) -> Value {
        let op = command["op"].clone();
        self.call(command).unwrap_or_else(|e| panic!("openid-client refused {op}: {e:#}"))
    }

    /// Discovery with a client's credentials (`auth`: how it authenticates at the token endpoint).
    pub(crate) fn discover(app: &TestApp, client_id: &str, secret: Option<&str>, auth: &str) -> Rp {
        let mut rp = Rp::start();
        rp.configure(app, client_id, json!({ "client_secret": secret, "auth": auth }));
        rp
    }

    /// (Re)configures this relying party by discovery; `auth` holds `auth` and its credential.
    pub(crate) fn configure(&mut self, app: &TestApp, client_id: &str, auth: Value) -> Value {
        let mut command = json!({ "op": "discover", "issuer": app.base, "client_id": client_id });
        command.as_object_mut().unwrap().extend(auth.as_object().unwrap().clone());
        let discovered = self.ok(command);
        assert_eq!(discovered["server"]["issuer"], json!(app.base));
        discovered["server"].clone()
    }

    /// An authorization request built by the library, signed in on the hosted form: the
    /// callback URL the browser was sent to.
    pub(crate) fn sign_in(&mut self, browser: &Browser, scope: &str, login: &str, password: &str) -> String {
        let url = self.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": scope }));
        let answer = browser.sign_in(url["url"].as_str().unwrap(), login, password);
        assert_eq!(answer.status, 303, "{}", answer.text);
        location(&answer)
    }
}

/// Whether openid-client's error (or its cause) says `what`.
pub(crate) fn refused_for(error: &Value, what: &str) -> bool {
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

/// Posts a client_credentials grant with a hand-made client assertion.
fn grant_with_assertion(app: &TestApp, assertion: &str) -> crate::support::Reply {
    let browser = Browser::new(&app.base);
    browser.post_form(
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ],
    )
}

/// A JWK Set served over HTTP on 127.0.0.1 (a client's `jwks_uri`); `set` replaces what it serves.
struct JwksServer {
    url: String,
    document: std::sync::Arc<std::sync::Mutex<String>>,
}

impl JwksServer {
    fn start() -> JwksServer {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let document = std::sync::Arc::new(std::sync::Mutex::new(String::from("{\"keys\":[]}")));
        let served = document.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = served.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        JwksServer { url, document }
    }

    fn set(&self, keys: &[&Value]) {
        *self.document.lock().unwrap() = json!({ "keys": keys }).to_string();
    }
}

#[test]
fn private_key_jwt_with_registered_keys_and_a_jwks_uri() {
    let p = provider(&[]);
    let owner = p.app.create_account("system", "key-owner", &["users:read@customers"]);
    let mut rp = Rp::start();
    let key = rp.ok(json!({ "op": "generate_key", "alg": "ES256" }))["jwk"].clone();
    let kid = key["kid"].as_str().unwrap().to_owned();
    let created = p.app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "signs its assertions", "permissions": ["users:read@customers"], "owner_account_id": owner,
            "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [key] }
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.json["client_secret"].is_null(), "a private_key_jwt client has no secret");
    assert_eq!(created.json["jwks"]["keys"][0]["kid"], json!(kid));
    let client_id = created.json["client_id"].as_str().unwrap().to_owned();
    let client_uuid = created.json["id"].as_str().unwrap().to_owned();

    // openid-client signs its own assertions (fresh jti, its choice of aud and exp).
    let server = rp.configure(&p.app, &client_id, json!({ "auth": "private_key_jwt", "kid": kid }));
    assert!(server["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("private_key_jwt")));
    assert!(server["token_endpoint_auth_signing_alg_values_supported"].as_array().unwrap().contains(&json!("ES256")));
    let tokens = rp.ok(json!({ "op": "client_credentials", "scope": "users:read@customers" }));
    let access = tokens["access_token"].as_str().unwrap();
    let users = p.app.anonymous().with_bearer(access).get("/api/v1/namespaces/customers/users");
    assert_eq!(users.status, 200, "{}", users.text);
    // Introspection authenticates the same way.
    let seen = rp.ok(json!({ "op": "introspect", "token": access }));
    assert_eq!(seen["introspection"]["active"], json!(true), "{seen}");

    // Hand-made assertions: once each, addressed to this server, short-lived, with a registered key.
    let token_endpoint = format!("{}/oauth/token", p.app.base);
    let assertion = |rp: &mut Rp, aud: &str, exp_in: i64, kid: &str| {
        rp.ok(json!({ "op": "assertion", "kid": kid, "client_id": client_id, "aud": aud, "exp_in": exp_in }))
            ["assertion"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let once = assertion(&mut rp, &token_endpoint, 60, &kid);
    assert_eq!(grant_with_assertion(&p.app, &once).status, 200);
    let replayed = grant_with_assertion(&p.app, &once);
    assert_eq!((replayed.status, replayed.json["error"].as_str()), (401, Some("invalid_client")), "{}", replayed.text);
    assert!(replayed.text.contains("replayed"), "{}", replayed.text);
    let elsewhere = grant_with_assertion(&p.app, &assertion(&mut rp, "https://other.example/token", 60, &kid));
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text);
    assert!(elsewhere.text.contains("not addressed to this server"), "{}", elsewhere.text);
    let expired = grant_with_assertion(&p.app, &assertion(&mut rp, &p.app.base, -120, &kid));
    assert!(expired.status == 401 && expired.text.contains("expired"), "{}", expired.text);
    let lasting = grant_with_assertion(&p.app, &assertion(&mut rp, &p.app.base, 3600, &kid));
    assert!(lasting.status == 401 && lasting.text.contains("longer than 10 minutes"), "{}", lasting.text);
    let stranger = rp.ok(json!({ "op": "generate_key", "alg": "ES256" }))["jwk"]["kid"].as_str().unwrap().to_owned();
    let unknown = grant_with_assertion(&p.app, &assertion(&mut rp, &p.app.base, 60, &stranger));
    assert!(unknown.status == 401 && unknown.text.contains("no registered key"), "{}", unknown.text);
    // The refusals are on record.
    let failures = p.app.admin().get("/api/v1/audit-events?action=oauth.token&outcome=failure");
    assert!(failures.text.contains("replayed"), "{}", failures.text);
    // It has no secret to rotate.
    let rotate = p.app.admin().post(&format!("/api/v1/clients/{client_uuid}/secrets"), &json!({}));
    assert_eq!(rotate.status, 409, "{}", rotate.text);

    // By jwks_uri: fetched, cached, fetched again for a kid it does not know (a rotation).
    let jwks = JwksServer::start();
    jwks.set(&[&key]);
    let by_uri = p.app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "publishes its keys", "permissions": ["users:read@customers"], "owner_account_id": owner,
            "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwks.url
        }),
    );
    assert_eq!(by_uri.status, 201, "{}", by_uri.text);
    let by_uri_id = by_uri.json["client_id"].as_str().unwrap().to_owned();
    rp.configure(&p.app, &by_uri_id, json!({ "auth": "private_key_jwt", "kid": kid }));
    rp.ok(json!({ "op": "client_credentials", "scope": "users:read@customers" }));
    let next = rp.ok(json!({ "op": "generate_key", "alg": "RS256" }))["jwk"].clone();
    let next_kid = next["kid"].as_str().unwrap().to_owned();
    jwks.set(&[&key, &next]);
    // The server fetches a set again for an unknown kid at most every 5 s.
    std::thread::sleep(std::time::Duration::from_secs(6));
    rp.configure(&p.app, &by_uri_id, json!({ "auth": "private_key_jwt", "kid": next_kid }));
    rp.ok(json!({ "op": "client_credentials", "scope": "users:read@customers" }));

    // Keys are checked when registered: a private key, or none at all, is refused.
    let private = p.app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "x", "token_endpoint_auth_method": "private_key_jwt",
                 "jwks": { "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k", "x": "a", "y": "b", "d": "c" }] } }),
    );
    assert_eq!(private.status, 400, "{}", private.text);
    let keyless =
        p.app.admin().post("/api/v1/clients", &json!({ "name": "x", "token_endpoint_auth_method": "private_key_jwt" }));
    assert_eq!(keyless.status, 400, "{}", keyless.text);
}
