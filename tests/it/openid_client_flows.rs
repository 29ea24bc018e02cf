//! The `claims` parameter, hybrid `code id_token` with `form_post` and `fragment`, pushed
//! authorization requests and signed request objects (JAR), driven by **openid-client 6** (see `openid_client.rs`): the library
//! checks the ID tokens (signature, `iss`, `aud`, `nonce`, `c_hash`, `s_hash`, `at_hash`), the
//! state and the `iss` of the authorization response; these tests only drive it and look at
//! what it accepted.

use serde_json::{json, Value};

use crate::oauth::{claims_of, provider, ALICE_PASSWORD, REDIRECT};
use crate::openid_client::{refused_for, Rp};
use crate::support::browser::{hidden, location, query_param, Browser};
use crate::support::{totp, Reply, TestApp};

const MFA: &str = "urn:gatehouse:acr:mfa";

/// The fields of a hosted page's form_post response: where it posts, and its body.
fn form_post(page: &Reply) -> (String, String) {
    assert_eq!(page.status, 200, "a form_post page: {}", page.text);
    let csp = page.header("content-security-policy").unwrap_or_default().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("form-action 'self' http://127.0.0.1:9"), "{csp}");
    assert!(!page.text.contains("<script>"), "no inline script: {}", page.text);
    let start = page.text.find("action=\"").expect("a form") + "action=\"".len();
    let action = page.text[start..start + page.text[start..].find('"').unwrap()].replace("&amp;", "&");
    let mut body = form_urlencoded::Serializer::new(String::new());
    for name in ["code", "id_token", "state", "iss", "error", "error_description"] {
        if let Some(value) = hidden(&page.text, name) {
            body.append_pair(name, &value);
        }
    }
    (action, body.finish())
}

/// The parameters of a redirect's fragment.
fn fragment(url: &str) -> Vec<(String, String)> {
    let fragment = url::Url::parse(url).unwrap().fragment().unwrap_or_default().to_owned();
    form_urlencoded::parse(fragment.as_bytes()).into_owned().collect()
}

fn fragment_param(url: &str, name: &str) -> Option<String> {
    fragment(url).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// A client of the `customers` namespace, created by the administrator with `extra` settings.
fn web_client(app: &TestApp, extra: Value) -> (String, String, String) {
    let mut body = json!({
        "name": "Relying party",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT],
        "user_namespace": "customers",
        "skip_consent": true
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let created = app.admin().post("/api/v1/clients", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    let j = &created.json;
    (
        j["id"].as_str().unwrap().into(),
        j["client_id"].as_str().unwrap().into(),
        j["client_secret"].as_str().unwrap_or_default().into(),
    )
}

#[test]
fn the_claims_parameter_releases_essential_claims_in_the_id_token_and_from_userinfo() {
    let p = provider(&[]);
    let mut rp = Rp::discover(&p.app, &p.web.client_id, Some(&p.web.secret), "client_secret_basic");
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["claims_parameter_supported"], json!(true));
    let browser = Browser::new(&p.app.base);
    // Scope `openid` alone: only the claims asked for by name come back, the client's mapped
    // attribute (`national_id`) among them; a claim nobody maps is ignored.
    let claims = json!({
        "id_token": { "email": { "essential": true }, "national_id": { "essential": true }, "secret_sauce": null },
        "userinfo": { "phone_number": null, "national_id": null }
    });
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid offline_access",
                             "params": { "claims": claims.to_string() } }));
    let answer = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    let id = &tokens["claims"];
    assert_eq!(id["email"], json!("alice@example.com"), "{id}");
    assert_eq!(id["national_id"], json!("NL-123"), "{id}");
    for absent in ["email_verified", "name", "phone_number", "secret_sauce"] {
        assert!(id.get(absent).is_none(), "{absent} was not asked for: {id}");
    }
    let access = tokens["access_token"].as_str().unwrap();
    let info = rp.ok(json!({ "op": "userinfo", "access_token": access, "subject": p.alice }))["userinfo"].clone();
    assert_eq!(info["phone_number"], json!("+14155550123"), "{info}");
    assert_eq!(info["national_id"], json!("NL-123"), "{info}");
    assert!(info.get("email").is_none() && info.get("name").is_none(), "{info}");
    // A refreshed ID token still answers the claims request.
    let renewed = rp.ok(json!({ "op": "refresh", "refresh_token": tokens["refresh_token"] }));
    assert_eq!(renewed["claims"]["email"], json!("alice@example.com"), "{renewed}");

    // An essential acr of the second factor steps the sign-in up, like acr_values.
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
        "params": { "claims": json!({ "id_token": { "acr": { "essential": true, "values": [MFA] } } }).to_string() } }));
    let page = browser.get(url["url"].as_str().unwrap());
    assert!(page.text.contains("name=\"password\""), "a password session is not enough: {}", page.text);
    let answer = totp::second_step(
        &browser,
        browser.submit(&page, "/oauth/login", &[("login", "alice"), ("password", ALICE_PASSWORD)]),
        "alice",
    );
    let stepped = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    assert_eq!(stepped["claims"]["acr"], json!(MFA), "{stepped}");

    // Malformed claims: invalid_request, back to the application.
    for bad in ["{not json", "[1]", r#"{"id_token":{"acr":{"essential":true,"value":"urn:elsewhere"}}}"#] {
        let url = rp.ok(
            json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid", "params": { "claims": bad } }),
        );
        let refused = browser.get(url["url"].as_str().unwrap());
        let back = location(&refused);
        assert_eq!(query_param(&back, "error").as_deref(), Some("invalid_request"), "{bad}: {back}");
    }
}

#[test]
fn claims_asked_for_by_name_need_consent_and_never_reach_beyond_the_clients_mapping() {
    let p = provider(&[]);
    // A third-party application: its users are asked; it maps no attribute.
    let (_, client_id, secret) = web_client(&p.app, json!({ "skip_consent": false }));
    let mut rp = Rp::discover(&p.app, &client_id, Some(&secret), "client_secret_basic");
    let browser = Browser::new(&p.app.base);
    let claims = json!({ "userinfo": { "email": { "essential": true }, "national_id": { "essential": true } } });
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
                             "params": { "claims": claims.to_string() } }));
    let consent = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    assert_eq!(consent.status, 200, "{}", consent.text);
    assert!(consent.text.contains("see your email address"), "the claim is on the consent page: {}", consent.text);
    let back = browser.submit(&consent, "/oauth/consent", &[("decision", "allow")]);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&back) }));
    let info = rp.ok(json!({ "op": "userinfo", "access_token": tokens["access_token"], "subject": p.alice }))
        ["userinfo"]
        .clone();
    assert_eq!(info["email"], json!("alice@example.com"), "{info}");
    assert!(info.get("national_id").is_none(), "an attribute this client does not map is not released: {info}");
    // The consent remembered covers the claim's scope: the next request needs no page.
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
                             "params": { "claims": claims.to_string() } }));
    assert_eq!(browser.get(url["url"].as_str().unwrap()).status, 303);
    // Asking for the phone by name asks again.
    let phone = json!({ "id_token": { "phone_number": null } });
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
                             "params": { "claims": phone.to_string() } }));
    let asked = browser.get(url["url"].as_str().unwrap());
    assert!(asked.status == 200 && asked.text.contains("see your phone number"), "{}", asked.text);
}

#[test]
fn hybrid_code_id_token_by_fragment_and_form_post_and_code_by_form_post() {
    let p = provider(&[]);
    let (id, client_id, secret) = web_client(&p.app, json!({ "hybrid_enabled": true }));
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["response_types_supported"], json!(["code", "code id_token"]));
    assert_eq!(discovery.json["response_modes_supported"], json!(["query", "fragment", "form_post"]));

    let mut rp = Rp::discover(&p.app, &client_id, Some(&secret), "client_secret_basic");
    rp.ok(json!({ "op": "use_hybrid" }));
    let browser = Browser::new(&p.app.base);
    // Fragment, hybrid's default: openid-client checks the front-channel ID token (nonce,
    // c_hash, s_hash, signature) before it redeems the code.
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid email" }));
    let answer = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    let back = location(&answer);
    assert!(query_param(&back, "code").is_none(), "nothing in the query: {back}");
    let front = claims_of(&fragment_param(&back, "id_token").expect("an ID token in the fragment"));
    assert!(front["c_hash"].is_string() && front["s_hash"].is_string() && front["nonce"].is_string(), "{front}");
    assert!(front.get("email").is_none(), "no account claims through the browser: {front}");
    let forged = back.replace("state=", "state=x");
    assert!(rp.call(json!({ "op": "code_grant", "callback_url": forged })).is_err(), "a changed state is refused");
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": back }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    assert_eq!(tokens["claims"]["email"], json!("alice@example.com"), "the token endpoint's ID token has them");

    // form_post: a page that posts the response to the redirect URI (signed in already).
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
                             "params": { "response_mode": "form_post" } }));
    let (action, body) = form_post(&browser.get(url["url"].as_str().unwrap()));
    assert_eq!(action, REDIRECT);
    let tokens = rp.ok(json!({ "op": "code_grant", "form_post": { "url": action, "body": body } }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    let script = browser.get("/oauth/assets/form_post.js");
    assert!(script.status == 200 && script.text.contains("submit()"), "{}", script.text);

    // Plain code by form_post.
    let mut plain = Rp::discover(&p.app, &client_id, Some(&secret), "client_secret_basic");
    let url = plain.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
                                "params": { "response_mode": "form_post" } }));
    let (action, body) = form_post(&browser.get(url["url"].as_str().unwrap()));
    assert!(!body.contains("id_token"), "{body}");
    let tokens = plain.ok(json!({ "op": "code_grant", "form_post": { "url": action, "body": body } }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));

    // Refused: access tokens through the browser, implicit, hybrid without a nonce or through
    // the query, and hybrid for a client nobody enabled it for.
    let raw = |client: &str, response_type: &str, extra: &str| {
        let url = format!(
            "{}/oauth/authorize?client_id={client}&redirect_uri={}&scope=openid&state=s&code_challenge={}&code_challenge_method=S256&response_type={}{extra}",
            p.app.base,
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            response_type.replace(' ', "%20"),
        );
        let reply = browser.get(&url);
        let back = location(&reply);
        let error = query_param(&back, "error").or_else(|| fragment_param(&back, "error"));
        (error, back)
    };
    for refused in ["token", "code token", "id_token token", "code id_token token"] {
        let (error, back) = raw(&client_id, refused, "&nonce=n");
        assert_eq!(error.as_deref(), Some("unsupported_response_type"), "{refused}: {back}");
        assert!(back.contains("RFC"), "says why: {back}");
    }
    let (error, _) = raw(&client_id, "id_token", "&nonce=n");
    assert_eq!(error.as_deref(), Some("unsupported_response_type"));
    let (error, back) = raw(&client_id, "code id_token", "");
    assert_eq!(error.as_deref(), Some("invalid_request"), "a nonce is required: {back}");
    assert!(fragment_param(&back, "error").is_some(), "hybrid errors go in the fragment: {back}");
    let (error, _) = raw(&client_id, "code id_token", "&nonce=n&response_mode=query");
    assert_eq!(error.as_deref(), Some("invalid_request"));
    let (error, _) = raw(&p.web.client_id, "code id_token", "&nonce=n");
    assert_eq!(error.as_deref(), Some("unauthorized_client"));

    // An owner without clients:write@* cannot turn hybrid on; the administrator can turn it off.
    let (owner, api) = p.app.owner_with_client("app-owner", &["clients:write@system"], &["clients:write@system"]);
    let (owned, _, _) = web_client(&p.app, json!({ "owner_account_id": owner }));
    let patched = p.app.as_client(&api).patch(&format!("/api/v1/clients/{owned}"), &json!({ "hybrid_enabled": true }));
    assert_eq!(patched.status, 403, "{}", patched.text);
    let off = p.app.admin().patch(&format!("/api/v1/clients/{id}"), &json!({ "hybrid_enabled": false }));
    assert_eq!((off.status, off.json["hybrid_enabled"].clone()), (200, json!(false)), "{}", off.text);
}

#[test]
fn pushed_authorization_requests_work_once_for_the_client_that_pushed_them() {
    let p = provider(&[]);
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["pushed_authorization_request_endpoint"], json!(format!("{}/oauth/par", p.app.base)));
    assert_eq!(discovery.json["require_pushed_authorization_requests"], json!(false));
    let (id, client_id, secret) = web_client(&p.app, json!({ "require_pushed_authorization_requests": true }));
    let mut rp = Rp::discover(&p.app, &client_id, Some(&secret), "client_secret_basic");
    let browser = Browser::new(&p.app.base);

    // Without pushing: refused for this client.
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid" }));
    let refused = location(&browser.get(url["url"].as_str().unwrap()));
    assert_eq!(query_param(&refused, "error").as_deref(), Some("invalid_request"), "{refused}");

    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid email", "par": true }));
    let url = url["url"].as_str().unwrap().to_owned();
    let request_uri = query_param(&url, "request_uri").expect("a request_uri");
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{request_uri}");
    assert!(query_param(&url, "scope").is_none(), "only client_id and request_uri travel: {url}");
    let answer = browser.sign_in(&url, "alice", ALICE_PASSWORD);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    assert_eq!(tokens["claims"]["email"], json!("alice@example.com"));
    // Once.
    let again = browser.get(&url);
    assert_eq!(again.status, 400, "{}", again.text);

    // Another client cannot redeem it, and the pushing client no longer can after that.
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid", "par": true }));
    let pushed = query_param(url["url"].as_str().unwrap(), "request_uri").unwrap();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let stolen = browser.get(&format!("/oauth/authorize?client_id={}&request_uri={}", p.web.client_id, enc(&pushed)));
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    let own = browser.get(url["url"].as_str().unwrap());
    assert_eq!(own.status, 303, "a wrong client's attempt does not use it up: {}", own.text);

    // The push authenticates the client and checks the request.
    let anonymous = Browser::new(&p.app.base);
    let unauthenticated = anonymous.post_form("/oauth/par", &[("client_id", &client_id), ("response_type", "code")]);
    assert_eq!(unauthenticated.status, 401, "{}", unauthenticated.text);
    let bad = anonymous.post_form(
        "/oauth/par",
        &[
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("response_type", "code token"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
        ],
    );
    assert_eq!((bad.status, bad.json["error"].as_str()), (400, Some("unsupported_response_type")), "{}", bad.text);
    let nested = anonymous.post_form(
        "/oauth/par",
        &[("client_id", &client_id), ("client_secret", &secret), ("request_uri", &pushed), ("redirect_uri", REDIRECT)],
    );
    assert_eq!(nested.status, 400, "{}", nested.text);
    let turned_off = p
        .app
        .admin()
        .patch(&format!("/api/v1/clients/{id}"), &json!({ "require_pushed_authorization_requests": false }));
    assert_eq!(turned_off.status, 200, "{}", turned_off.text);

    // private_key_jwt clients push with an assertion (openid-client signs it).
    let mut signer = Rp::start();
    let key = signer.ok(json!({ "op": "generate_key", "alg": "ES256" }))["jwk"].clone();
    let (_, signing_id, _) =
        web_client(&p.app, json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [key] } }));
    signer.configure(&p.app, &signing_id, json!({ "auth": "private_key_jwt", "kid": key["kid"] }));
    let url = signer.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid", "par": true }));
    let answer = browser.get(url["url"].as_str().unwrap());
    let tokens = signer.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
}

#[test]
fn require_par_holds_every_client_to_pushed_requests() {
    let p = provider(&["--require-par"]);
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["require_pushed_authorization_requests"], json!(true));
    let mut rp = Rp::discover(&p.app, &p.web.client_id, Some(&p.web.secret), "client_secret_basic");
    let browser = Browser::new(&p.app.base);
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid" }));
    let refused = location(&browser.get(url["url"].as_str().unwrap()));
    assert_eq!(query_param(&refused, "error").as_deref(), Some("invalid_request"), "{refused}");
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid", "par": true }));
    let answer = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    let refused = rp.call(json!({ "op": "authorize_url", "redirect_uri": "http://127.0.0.1:9/elsewhere",
                                   "scope": "openid", "par": true }));
    assert!(
        refused.is_err_and(|e| refused_for(&e, "redirect_uri")),
        "an unregistered redirect_uri is refused at the push"
    );
}

#[test]
fn signed_request_objects_by_value_and_pushed_with_private_key_jwt() {
    let p = provider(&[]);
    let discovery = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(discovery.json["request_parameter_supported"], json!(true));
    let mut rp = Rp::start();
    let key = rp.ok(json!({ "op": "generate_key", "alg": "ES256" }))["jwk"].clone();
    let kid = key["kid"].as_str().unwrap().to_owned();
    let (_, client_id, _) = web_client(
        &p.app,
        json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [key] },
                "require_signed_request_object": true }),
    );
    rp.configure(&p.app, &client_id, json!({ "auth": "private_key_jwt", "kid": kid }));
    let browser = Browser::new(&p.app.base);
    // A plain request is refused for this client.
    let plain = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid" }));
    let refused = location(&browser.get(plain["url"].as_str().unwrap()));
    assert_eq!(query_param(&refused, "error").as_deref(), Some("invalid_request"), "{refused}");

    // By value: openid-client signs the request object (its typ, iss, aud, exp, nbf, jti).
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid email",
                             "jar": kid, "params": { "max_age": "3600" } }));
    let sent = url::Url::parse(url["url"].as_str().unwrap()).unwrap();
    let mut outer: Vec<String> = sent.query_pairs().map(|(n, _)| n.into_owned()).collect();
    outer.sort();
    assert_eq!(outer, ["client_id", "request"], "only the request object carries the request");
    let answer = browser.sign_in(url["url"].as_str().unwrap(), "alice", ALICE_PASSWORD);
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    assert_eq!(tokens["claims"]["email"], json!("alice@example.com"), "{tokens}");

    // Pushed: the request object goes to /oauth/par (with an assertion), the browser gets a
    // request_uri; the library checks the code's ID token as ever.
    let url = rp.ok(json!({ "op": "authorize_url", "redirect_uri": REDIRECT, "scope": "openid",
                             "jar": kid, "par": true }));
    let sent = url::Url::parse(url["url"].as_str().unwrap()).unwrap();
    assert!(sent.query_pairs().any(|(n, _)| n == "request_uri"), "{sent}");
    let answer = browser.get(url["url"].as_str().unwrap());
    let tokens = rp.ok(json!({ "op": "code_grant", "callback_url": location(&answer) }));
    assert_eq!(tokens["claims"]["sub"], json!(p.alice));
    let pushes = rp.ok(json!({ "op": "exchanges" }))["exchanges"].clone();
    let push = pushes.as_array().unwrap().iter().find(|e| e["url"].as_str().unwrap().ends_with("/oauth/par")).unwrap();
    assert!(push["body"].as_str().unwrap().contains("request="), "{push}");
    assert_eq!(push["status"], json!(201), "{push}");
}
