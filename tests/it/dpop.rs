//! DPoP (RFC 9449) against an attacker: proofs made by hand (Ed25519 keys, signed here) for
//! the wrong URL or method, too old, replayed, by another key than the token's; bound tokens
//! sent as Bearer; bound refresh tokens refreshed with another key or none; codes bound by
//! `dpop_jkt`; a client that must use DPoP. The happy paths are proven by openid-client
//! (`openid_client_flows.rs`).

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::Method;
use serde_json::{json, Value};

use crate::oauth::{claims_of, code_at, provider, rp, start, REDIRECT};
use crate::support::browser::Browser;
use crate::support::{creds_of, eventually, Api, ClientCreds, Reply, TestApp};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A client's DPoP key pair.
struct Key(SigningKey);

impl Key {
    fn new() -> Key {
        Key(SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
    }

    fn jwk(&self) -> Value {
        json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&self.0.verifying_key().to_bytes()) })
    }

    /// RFC 7638 thumbprint.
    fn jkt(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, jwk["x"].as_str().unwrap());
        use sha2::Digest;
        b64(&sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// A proof with these claims (and `header` members over the usual ones).
    fn sign(&self, header: Value, claims: Value) -> String {
        let mut head = json!({ "typ": "dpop+jwt", "alg": "EdDSA", "jwk": self.jwk() });
        head.as_object_mut().unwrap().extend(header.as_object().unwrap().clone());
        let input = format!("{}.{}", b64(head.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let signature = self.0.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    /// A fresh proof for `method` `url`, with a nonce and the hash of an access token if given.
    fn proof(&self, method: &str, url: &str, nonce: Option<&str>, token: Option<&str>) -> String {
        let mut claims = json!({ "jti": uuid::Uuid::new_v4().to_string(), "htm": method, "htu": url, "iat": now() });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = token {
            use sha2::Digest;
            claims["ath"] = json!(b64(&sha2::Sha256::digest(token.as_bytes())));
        }
        self.sign(json!({}), claims)
    }
}

/// The server's current DPoP nonce: every token endpoint answer carries one.
fn nonce(app: &TestApp) -> String {
    let api = app.anonymous();
    let r = api.send(api.request(Method::POST, "/oauth/token").form(&[("grant_type", "client_credentials")]));
    r.header("dpop-nonce").expect("a DPoP-Nonce header").to_owned()
}

fn token_url(app: &TestApp) -> String {
    format!("{}/oauth/token", app.base)
}

/// A token request with Basic authentication and these `DPoP` headers.
fn token_request(app: &TestApp, creds: &ClientCreds, form: &[(&str, &str)], proofs: &[&str]) -> Reply {
    let api = app.anonymous();
    let mut request =
        api.request(Method::POST, "/oauth/token").basic_auth(&creds.client_id, Some(&creds.secret)).form(form);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    api.send(request)
}

fn client_credentials(app: &TestApp, creds: &ClientCreds, key: &Key) -> Reply {
    let proof = key.proof("POST", &token_url(app), Some(&nonce(app)), None);
    token_request(app, creds, &[("grant_type", "client_credentials")], &[&proof])
}

/// A Management API request presenting `token` with `scheme` and these `DPoP` headers.
fn me(app: &TestApp, scheme: &str, token: &str, proofs: &[String]) -> Reply {
    let api = app.anonymous();
    let mut request = api.request(Method::GET, "/api/v1/me").header("authorization", format!("{scheme} {token}"));
    for proof in proofs {
        request = request.header("DPoP", proof.as_str());
    }
    api.send(request)
}

fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.json["error"], json!(error), "{}", reply.text);
}

#[test]
fn client_credentials_with_a_proof_gives_a_bound_token_that_the_management_api_takes_only_with_its_proof() {
    let app = TestApp::start();
    let (_, creds) = app.owner_with_client("dpop-owner", &["users:read@*"], &["users:read@*"]);
    let key = Key::new();
    let url = format!("{}/api/v1/me", app.base);

    // Without a nonce: the server asks for one (and sends it).
    let proof = key.proof("POST", &token_url(&app), None, None);
    let asked = token_request(&app, &creds, &[("grant_type", "client_credentials")], &[&proof]);
    assert_oauth_error(&asked, 400, "use_dpop_nonce");
    assert!(asked.header("dpop-nonce").is_some_and(|n| !n.is_empty()));

    let issued = client_credentials(&app, &creds, &key);
    assert_eq!(issued.status, 200, "{}", issued.text);
    assert_eq!(issued.json["token_type"], json!("DPoP"));
    let token = issued.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&token)["cnf"]["jkt"], json!(key.jkt()));

    // With its proof (method, URL, token hash): accepted.
    let proof = key.proof("GET", &url, None, Some(&token));
    let ok = me(&app, "DPoP", &token, std::slice::from_ref(&proof));
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["client_id"], json!(creds.client_id));

    // The same proof again: a replay.
    let replayed = me(&app, "DPoP", &token, &[proof]);
    replayed.assert_problem(401);
    assert!(replayed.header("www-authenticate").unwrap().starts_with("DPoP error=\"invalid_dpop_proof\""));

    // As Bearer (a stolen token without the key): refused, with a DPoP challenge.
    let as_bearer = me(&app, "Bearer", &token, &[]);
    as_bearer.assert_problem(401);
    let challenge = as_bearer.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("DPoP error=\"invalid_token\"") && challenge.contains("algs=\""), "{challenge}");

    // Another key's proof, a proof for another URL or method, no proof, no ath, an old proof.
    let thief = Key::new();
    let refusals = [
        vec![thief.proof("GET", &url, None, Some(&token))],
        vec![key.proof("GET", &format!("{}/api/v1/clients", app.base), None, Some(&token))],
        vec![key.proof("POST", &url, None, Some(&token))],
        vec![],
        vec![key.proof("GET", &url, None, None)],
        vec![key.sign(
            json!({}),
            json!({ "jti": "old", "htm": "GET", "htu": url, "iat": now() - 600, "ath": b64(&{ use sha2::Digest; sha2::Sha256::digest(token.as_bytes()) }) }),
        )],
        vec![key.proof("GET", &url, None, Some(&token)), key.proof("GET", &url, None, Some(&token))],
    ];
    for proofs in &refusals {
        let refused = me(&app, "DPoP", &token, proofs);
        refused.assert_problem(401);
        assert!(refused.header("www-authenticate").unwrap().starts_with("DPoP "), "{proofs:?}");
    }

    // Each refusal is an authentication failure on record, with its reason.
    let admin = app.admin();
    assert!(eventually(std::time::Duration::from_secs(5), || {
        let events = admin.get("/api/v1/audit-events?action=auth.bearer.failure&page_size=50");
        let reasons: Vec<String> = events.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["changes"]["reason"].as_str().map(str::to_owned))
            .collect();
        reasons.iter().any(|r| r.contains("replayed"))
            && reasons.iter().any(|r| r.contains("another key"))
            && reasons.iter().any(|r| r.contains("Authorization: DPoP"))
    }));
}

#[test]
fn the_token_endpoint_refuses_proofs_for_another_request_old_replayed_or_malformed() {
    let app = TestApp::start();
    let (_, creds) = app.owner_with_client("dpop-owner", &["users:read@*"], &["users:read@*"]);
    let key = Key::new();
    let nonce = nonce(&app);
    let token_url = token_url(&app);
    let form = [("grant_type", "client_credentials")];
    let claims = |htm: &str, htu: &str, iat: i64| json!({ "jti": uuid::Uuid::new_v4().to_string(), "htm": htm, "htu": htu, "iat": iat, "nonce": nonce });

    let bad = [
        ("another URL", key.sign(json!({}), claims("POST", &format!("{}/oauth/userinfo", app.base), now()))),
        ("another method", key.sign(json!({}), claims("GET", &token_url, now()))),
        ("an old iat", key.sign(json!({}), claims("POST", &token_url, now() - 600))),
        ("a future iat", key.sign(json!({}), claims("POST", &token_url, now() + 600))),
        ("another typ", key.sign(json!({ "typ": "JWT" }), claims("POST", &token_url, now()))),
        ("a symmetric alg", key.sign(json!({ "alg": "HS256" }), claims("POST", &token_url, now()))),
        (
            "a private key in the header",
            key.sign(
                json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": key.jwk()["x"], "d": "AAAA" } }),
                claims("POST", &token_url, now()),
            ),
        ),
        ("another key's signature", {
            let proof = key.sign(json!({}), claims("POST", &token_url, now()));
            let other = Key::new().sign(json!({}), claims("POST", &token_url, now()));
            format!("{}.{}", proof.rsplit_once('.').unwrap().0, other.rsplit_once('.').unwrap().1)
        }),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (what, proof) in &bad {
        let refused = token_request(&app, &creds, &form, &[proof]);
        assert_oauth_error(&refused, 400, "invalid_dpop_proof");
        assert!(refused.header("dpop-nonce").is_some(), "{what}");
    }

    // Two DPoP headers.
    let (a, b) = (key.proof("POST", &token_url, Some(&nonce), None), key.proof("POST", &token_url, Some(&nonce), None));
    assert_oauth_error(&token_request(&app, &creds, &form, &[&a, &b]), 400, "invalid_dpop_proof");

    // A stale or made-up nonce: asked for a fresh one.
    let made_up = key.proof("POST", &token_url, Some("AAAAAAAAAAAAAAAAAAAAAAAA"), None);
    assert_oauth_error(&token_request(&app, &creds, &form, &[&made_up]), 400, "use_dpop_nonce");

    // The same proof twice: the second is a replay, on any replica (the jti is in the database).
    let once = key.proof("POST", &token_url, Some(&nonce), None);
    let first = token_request(&app, &creds, &form, &[&once]);
    assert_eq!(first.status, 200, "{}", first.text);
    let again = token_request(&app, &creds, &form, &[&once]);
    assert_oauth_error(&again, 400, "invalid_dpop_proof");
    assert!(again.json["error_description"].as_str().unwrap().contains("replayed"));

    // Refused proofs are on record (two DPoP headers are a malformed request, refused before
    // anything is decided, like a malformed form).
    let events = app.admin().get("/api/v1/audit-events?action=oauth.token&outcome=failure&page_size=100");
    let errors: Vec<&str> =
        events.json["items"].as_array().unwrap().iter().filter_map(|e| e["changes"]["error"].as_str()).collect();
    assert!(errors.iter().filter(|e| **e == "invalid_dpop_proof").count() > bad.len(), "{errors:?}");
}

#[test]
fn a_client_with_dpop_bound_access_tokens_is_refused_without_a_proof() {
    let app = TestApp::start();
    let (_, creds) = app.owner_with_client("dpop-owner", &["users:read@*"], &["users:read@*"]);
    let client = app.admin().get(&format!("/api/v1/clients/{}", creds.id));
    assert_eq!(client.json["dpop_bound_access_tokens"], json!(false));
    let form = [("grant_type", "client_credentials")];
    assert_eq!(token_request(&app, &creds, &form, &[]).json["token_type"], json!("Bearer"));

    let patched =
        app.admin().patch(&format!("/api/v1/clients/{}", creds.id), &json!({ "dpop_bound_access_tokens": true }));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["dpop_bound_access_tokens"], json!(true));

    let refused = token_request(&app, &creds, &form, &[]);
    assert_oauth_error(&refused, 400, "invalid_dpop_proof");
    let bound = client_credentials(&app, &creds, &Key::new());
    assert_eq!(bound.status, 200, "{}", bound.text);
    assert_eq!(bound.json["token_type"], json!("DPoP"));

    // Created with it, too.
    let created = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": "bound", "permissions": ["users:read@*"], "dpop_bound_access_tokens": true }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["dpop_bound_access_tokens"], json!(true));
    assert_oauth_error(&token_request(&app, &creds_of(&created.json), &form, &[]), 400, "invalid_dpop_proof");
}

#[test]
fn refresh_tokens_and_codes_are_bound_to_their_key_and_userinfo_wants_the_proof() {
    let p = provider(&[]);
    let app = &p.app;
    let client = rp(app, &p.web);
    let browser = Browser::new(&app.base);
    let key = Key::new();
    let thief = Key::new();
    let userinfo_url = format!("{}/oauth/userinfo", app.base);

    // A code bound by dpop_jkt: another key cannot redeem it.
    let started = start(&client, &["openid", "profile"]);
    let bound_url = format!("{}&dpop_jkt={}", started.url, key.jkt());
    let code = code_at(&browser, &bound_url, &started, app);
    let verifier = started.verifier.secret().to_owned();
    let redeem = |code: &str, verifier: &str, key: &Key| {
        let proof = key.proof("POST", &token_url(app), Some(&nonce(app)), None);
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ];
        token_request(app, &p.web, &form, &[&proof])
    };
    assert_oauth_error(&redeem(&code, &verifier, &thief), 400, "invalid_grant");

    // Another code (another browser: the first is signed in), redeemed with the right key.
    let started = start(&client, &["openid", "profile"]);
    let bound_url = format!("{}&dpop_jkt={}", started.url, key.jkt());
    let code = code_at(&Browser::new(&app.base), &bound_url, &started, app);
    let tokens = redeem(&code, started.verifier.secret(), &key);
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.json["token_type"], json!("DPoP"));
    let access = tokens.json["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens.json["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access)["cnf"]["jkt"], json!(key.jkt()));

    // UserInfo: as Bearer refused; as DPoP with the key's proof answered.
    let api = Api::new(&app.base, None);
    let as_bearer = api.send(api.request(Method::GET, "/oauth/userinfo").bearer_auth(&access));
    assert_eq!(as_bearer.status, 401, "{}", as_bearer.text);
    assert!(as_bearer.header("www-authenticate").unwrap().starts_with("DPoP "));
    let userinfo = |key: &Key| {
        api.send(
            api.request(Method::GET, "/oauth/userinfo")
                .header("authorization", format!("DPoP {access}"))
                .header("DPoP", key.proof("GET", &userinfo_url, None, Some(&access))),
        )
    };
    let stolen = userinfo(&thief);
    assert_oauth_error(&stolen, 401, "invalid_dpop_proof");
    let answered = userinfo(&key);
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(answered.json["sub"], json!(p.alice));

    // Introspection tells a resource server the key.
    let introspected = {
        let api = app.anonymous();
        api.send(
            api.request(Method::POST, "/oauth/introspect")
                .basic_auth(&p.web.client_id, Some(&p.web.secret))
                .form(&[("token", access.as_str())]),
        )
    };
    assert_eq!(introspected.json["token_type"], json!("DPoP"), "{}", introspected.text);
    assert_eq!(introspected.json["cnf"]["jkt"], json!(key.jkt()));

    // The refresh token: not with another key, not without a proof; these do not spend it.
    let refresh_with = |key: Option<&Key>| {
        let proofs: Vec<String> =
            key.map(|k| k.proof("POST", &token_url(app), Some(&nonce(app)), None)).into_iter().collect();
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        token_request(app, &p.web, &[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())], &proofs)
    };
    assert_oauth_error(&refresh_with(Some(&thief)), 400, "invalid_grant");
    assert_oauth_error(&refresh_with(None), 400, "invalid_grant");
    let refreshed = refresh_with(Some(&key));
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(refreshed.json["token_type"], json!("DPoP"));
    assert_eq!(claims_of(refreshed.json["access_token"].as_str().unwrap())["cnf"]["jkt"], json!(key.jkt()));

    // The successor is bound too.
    let next = refreshed.json["refresh_token"].as_str().unwrap();
    let proof = thief.proof("POST", &token_url(app), Some(&nonce(app)), None);
    let form = [("grant_type", "refresh_token"), ("refresh_token", next)];
    assert_oauth_error(&token_request(app, &p.web, &form, &[&proof]), 400, "invalid_grant");

    // A malformed dpop_jkt is refused at the authorization endpoint.
    let started = start(&client, &["openid"]);
    let refused = browser.get(&format!("{}&dpop_jkt=short", started.url));
    assert!(refused.status == 303 || refused.status == 400, "{}", refused.status);
}

#[test]
fn discovery_lists_the_proof_algorithms() {
    let app = TestApp::start();
    let discovery = app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(
        discovery.json["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "PS256", "EdDSA", "Ed25519"])
    );
}
