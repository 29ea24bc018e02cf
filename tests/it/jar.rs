//! Request objects (JAR, RFC 9101) against an attacker: request objects made by hand (Ed25519
//! keys, signed here) with the wrong key, another client's key, the wrong audience, expired,
//! too long-lived, replayed, unsigned (`alg: none`), MAC'd with the client secret, encrypted,
//! contradicted by outer parameters; a client held to signed request objects sending a plain
//! one, by value and through PAR. The happy paths with a library's own JAR support are proven
//! by openid-client (`openid_client_flows.rs`).

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use crate::oauth::{provider, ALICE_PASSWORD, REDIRECT};
use crate::support::browser::{location, query_param, Browser};
use crate::support::{Reply, TestApp};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A client's signing key (Ed25519) and its `kid`.
struct Key(SigningKey, &'static str);

impl Key {
    fn new(kid: &'static str) -> Key {
        Key(SigningKey::from_bytes(&rand::random::<[u8; 32]>()), kid)
    }

    fn jwks(&self) -> Value {
        json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "kid": self.1, "use": "sig",
                           "x": b64(&self.0.verifying_key().to_bytes()) }] })
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "EdDSA", "typ": "oauth-authz-req+jwt", "kid": self.1 });
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        format!("{input}.{}", b64(&self.0.sign(input.as_bytes()).to_bytes()))
    }
}

/// A confidential client of `customers` with `key` registered inline.
struct Registered {
    id: String,
    client_id: String,
    secret: String,
    key: Key,
}

fn signer(app: &TestApp, kid: &'static str) -> Registered {
    let key = Key::new(kid);
    let created = app.admin().post(
        "/api/v1/clients",
        &json!({ "name": format!("Signer {kid}"), "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
                 "user_namespace": "customers", "skip_consent": true, "jwks": key.jwks() }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["require_signed_request_object"], json!(false));
    let j = &created.json;
    Registered {
        id: j["id"].as_str().unwrap().into(),
        client_id: j["client_id"].as_str().unwrap().into(),
        secret: j["client_secret"].as_str().unwrap().into(),
        key,
    }
}

/// The claims of a good request object of `client_id` for `app`.
fn request(app: &TestApp, client_id: &str) -> Value {
    let t = now();
    json!({
        "iss": client_id, "aud": app.base, "client_id": client_id, "exp": t + 300, "nbf": t, "iat": t,
        "jti": uuid::Uuid::new_v4().to_string(), "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid", "state": "inner-state", "nonce": "n-1",
        "code_challenge": "yFuOoI-0oQQ60Tj4jXP36B0EeIjLFVHX_4LhrzOaKvU", "code_challenge_method": "S256",
        "max_age": 600
    })
}

fn by_value(client_id: &str, jwt: &str) -> String {
    format!("/oauth/authorize?client_id={client_id}&request={}", enc(jwt))
}

/// The error a refusal sent back to the application, with its description.
fn refused_back(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, 303, "{}", reply.text);
    let back = location(reply);
    assert!(back.starts_with(REDIRECT), "{back}");
    (query_param(&back, "error").unwrap_or_default(), query_param(&back, "error_description").unwrap_or_default())
}

fn events(app: &TestApp, action: &str) -> Vec<Value> {
    let page = app.admin().get(&format!("/api/v1/audit-events?action={action}"));
    assert_eq!(page.status, 200, "{}", page.text);
    page.json["items"].as_array().unwrap().clone()
}

#[test]
fn a_request_object_by_value_is_the_request_and_outer_parameters_cannot_change_it() {
    let p = provider(&[]);
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["request_parameter_supported"], json!(true));
    assert_eq!(discovery.json["request_uri_parameter_supported"], json!(false));
    let algs = discovery.json["request_object_signing_alg_values_supported"].as_array().unwrap();
    assert!(algs.contains(&json!("EdDSA")) && !algs.iter().any(|a| a == "none" || a == "HS256"), "{algs:?}");
    let s = signer(&p.app, "k1");
    let browser = Browser::new(&p.app.base);
    // Outer parameters the object does not hold are ignored (a login_hint, a wider scope).
    let jwt = s.key.sign(&request(&p.app, &s.client_id));
    let url = format!("{}&login_hint=mallory", by_value(&s.client_id, &jwt));
    let answer = browser.sign_in(&url, "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
    let back = location(&answer);
    assert_eq!(query_param(&back, "state").as_deref(), Some("inner-state"), "{back}");
    let code = query_param(&back, "code").expect("a code");
    let api = p.app.anonymous();
    let tokens =
        api.send(api.request(reqwest::Method::POST, "/oauth/token").basic_auth(&s.client_id, Some(&s.secret)).form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "dBjftJeZ4CVP-mJ0G3mxmS6R8aXyQWRbiEB1MkWnCPA"),
        ]));
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.json["scope"], json!("openid"), "{}", tokens.text);

    // An outer parameter that contradicts the object is refused, back to the object's address.
    let jwt = s.key.sign(&request(&p.app, &s.client_id));
    let (error, why) = refused_back(&browser.get(&format!("{}&scope=openid%20email", by_value(&s.client_id, &jwt))));
    assert_eq!(error, "invalid_request_object");
    assert!(why.contains("scope"), "{why}");
    // Repeating them unchanged (OpenID Connect Core §6.1) is fine.
    let jwt = s.key.sign(&request(&p.app, &s.client_id));
    let same = browser.get(&format!("{}&response_type=code&scope=openid", by_value(&s.client_id, &jwt)));
    assert_eq!(same.status, 303, "signed in already: {}", same.text);
    assert!(query_param(&location(&same), "code").is_some(), "{}", location(&same));
}

#[test]
fn request_objects_an_attacker_could_make_are_refused_and_recorded() {
    let p = provider(&[]);
    let s = signer(&p.app, "k1");
    let other = signer(&p.app, "k2");
    let browser = Browser::new(&p.app.base);
    let good = || request(&p.app, &s.client_id);
    let with = |changes: Value| {
        let mut claims = good();
        claims.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        claims
    };
    let header = |h: Value, claims: &Value, signature: &str| {
        format!("{}.{}.{signature}", b64(h.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
    };
    let hs256 = {
        use hmac::{Mac, SimpleHmac};
        let input = format!(
            "{}.{}",
            b64(json!({"alg": "HS256", "typ": "oauth-authz-req+jwt"}).to_string().as_bytes()),
            b64(good().to_string().as_bytes())
        );
        let mut mac = SimpleHmac::<sha2::Sha256>::new_from_slice(s.secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    };
    let impostor = Key(SigningKey::from_bytes(&rand::random::<[u8; 32]>()), "k1");
    let t = now();
    let cases: Vec<(&str, String, &str)> = vec![
        ("another key with the client's kid", impostor.sign(&good()), "signature does not verify"),
        ("another client's key", other.key.sign(&good()), "no registered key"),
        ("the wrong audience", s.key.sign(&with(json!({"aud": "https://elsewhere.example"}))), "aud"),
        ("expired", s.key.sign(&with(json!({"exp": t - 120, "nbf": t - 600, "iat": t - 600}))), "expired"),
        ("living longer than an hour", s.key.sign(&with(json!({"exp": t + 7200}))), "60 minutes"),
        (
            "without exp",
            s.key.sign(&{
                let mut c = good();
                c.as_object_mut().unwrap().remove("exp");
                c
            }),
            "exp",
        ),
        ("another issuer", s.key.sign(&with(json!({"iss": other.client_id}))), "iss"),
        ("another client_id inside", s.key.sign(&with(json!({"client_id": other.client_id}))), "client_id"),
        ("alg none", header(json!({"alg": "none"}), &good(), ""), "alg none"),
        ("HS256 with the client secret", hs256, "HMAC"),
        ("a request_uri inside", s.key.sign(&with(json!({"request_uri": "urn:x"}))), "request_uri"),
    ];
    for (what, jwt, reason) in &cases {
        let (error, why) = refused_back(&browser.get(&by_value(&s.client_id, jwt)));
        assert_eq!(error, "invalid_request_object", "{what}: {why}");
        assert!(why.contains(reason), "{what}: {why}");
    }
    // Accepted once: the same jti again is a replay.
    let once = s.key.sign(&good());
    assert_eq!(browser.get(&by_value(&s.client_id, &once)).status, 200, "the sign-in page");
    let (error, why) = refused_back(&browser.get(&by_value(&s.client_id, &once)));
    assert_eq!((error.as_str(), why.contains("replayed")), ("invalid_request_object", true), "{why}");
    // Encrypted: nothing can be read, so nowhere to send it back to.
    let page = browser.get(&by_value(&s.client_id, "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"));
    assert_eq!(page.status, 400, "{}", page.text);
    assert!(page.text.contains("JWE"), "{}", page.text);
    // An unregistered redirect_uri inside a forged object is never redirected to.
    let forged = impostor.sign(&with(json!({"redirect_uri": "https://attacker.example/cb"})));
    let page = browser.get(&by_value(&s.client_id, &forged));
    assert_eq!(page.status, 400, "{}", page.text);
    assert!(page.text.contains("request object was refused"), "{}", page.text);

    // Every refusal is on record, with its reason and the client.
    let recorded = events(&p.app, "oauth.request_object");
    assert!(recorded.len() > cases.len(), "{recorded:?}");
    assert!(recorded.iter().all(|e| e["outcome"] == "failure"), "{recorded:?}");
    assert!(
        recorded.iter().any(|e| e["changes"]["reason"].as_str().is_some_and(|r| r.contains("HMAC"))
            && e["changes"]["client_id"] == json!(s.client_id)),
        "{recorded:?}"
    );
}

#[test]
fn a_client_held_to_signed_request_objects_sends_them_by_value_or_pushed() {
    let p = provider(&[]);
    let s = signer(&p.app, "k1");
    let patched =
        p.app.admin().patch(&format!("/api/v1/clients/{}", s.id), &json!({ "require_signed_request_object": true }));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["require_signed_request_object"], json!(true));
    let browser = Browser::new(&p.app.base);
    // A plain request is refused.
    let plain = format!(
        "/oauth/authorize?client_id={}&response_type=code&redirect_uri={}&scope=openid&state=s&code_challenge={}&code_challenge_method=S256",
        s.client_id,
        enc(REDIRECT),
        "yFuOoI-0oQQ60Tj4jXP36B0EeIjLFVHX_4LhrzOaKvU"
    );
    let (error, why) = refused_back(&browser.get(&plain));
    assert_eq!(error, "invalid_request", "{why}");
    assert!(why.contains("signed request objects"), "{why}");
    // By value it works.
    let jwt = s.key.sign(&request(&p.app, &s.client_id));
    assert_eq!(browser.get(&by_value(&s.client_id, &jwt)).status, 200);

    // Pushed: plain parameters are refused at the push; a request object is unpacked there.
    let anonymous = Browser::new(&p.app.base);
    let push = |fields: &[(&str, &str)]| {
        let mut all = vec![("client_id", s.client_id.as_str()), ("client_secret", s.secret.as_str())];
        all.extend_from_slice(fields);
        anonymous.post_form("/oauth/par", &all)
    };
    let refused = push(&[("response_type", "code"), ("redirect_uri", REDIRECT), ("scope", "openid")]);
    assert_eq!((refused.status, refused.json["error"].as_str()), (400, Some("invalid_request")), "{}", refused.text);
    let forged = Key::new("k1").sign(&request(&p.app, &s.client_id));
    let refused = push(&[("request", &forged)]);
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json["error"], json!("invalid_request_object"), "{}", refused.text);
    let jwt = s.key.sign(&request(&p.app, &s.client_id));
    let pushed = push(&[("request", &jwt)]);
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    let uri = pushed.json["request_uri"].as_str().unwrap();
    let answer = browser.get(&format!("/oauth/authorize?client_id={}&request_uri={}", s.client_id, enc(uri)));
    assert_eq!(answer.status, 200, "the sign-in page: {}", answer.text);
    // The pushed object's jti was taken: pushing it again is a replay.
    let again = push(&[("request", &jwt)]);
    assert_eq!(again.json["error"], json!("invalid_request_object"), "{}", again.text);
    assert!(again.json["error_description"].as_str().unwrap().contains("replayed"), "{}", again.text);
}
