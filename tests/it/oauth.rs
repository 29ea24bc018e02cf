//! The token service, driven by an independent OpenID Connect client library (`openidconnect`)
//! and a cookie-keeping HTTP client on the hosted sign-in form.

mod keys_and_lockout;

use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessToken, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse,
};
use serde_json::{json, Value};

use crate::support::browser::{location, query_param, Browser};
use crate::support::{creds_of, eventually, Api, ClientCreds, TestApp};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const ALICE_PASSWORD: &str = "alice's long password";

pub type Client_ =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;
type Client = Client_;

/// An authorization URL with PKCE, the basic scopes and `account` (so that its tokens reach the
/// Management API's self-service); its verifier and nonce.
pub fn start_url(client: &Client) -> (String, openidconnect::PkceCodeVerifier, Nonce) {
    let started = start(client, &["email", "phone", "profile", "account"]);
    (started.url, started.verifier, started.nonce)
}

pub struct Provider {
    pub app: TestApp,
    pub alice: String,
    pub web: ClientCreds,
}

/// A provider with namespace `customers`, the account alice and a confidential web app.
pub fn provider(extra_flags: &[&str]) -> Provider {
    let app = TestApp::start_with(extra_flags);
    app.create_namespace("customers");
    let alice = app.admin().post(
        "/api/v1/namespaces/customers/users",
        &json!({
            "username": "alice", "email": "alice@example.com", "email_verified": true,
            "phone_number": "+14155550123", "phone_number_verified": true,
            "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
            "password": ALICE_PASSWORD, "attributes": { "national_id": "NL-123" }
        }),
    );
    assert_eq!(alice.status, 201, "{}", alice.text);
    let web = app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "Web shop",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT],
            "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"],
            "user_namespace": "customers",
            "attribute_claims": { "national_id": "national_id" },
            // The operator's own web app: a first-party application that offers registration.
            "skip_consent": true,
            "registration_enabled": true
        }),
    );
    assert_eq!(web.status, 201, "{}", web.text);
    Provider { alice: alice.json["id"].as_str().unwrap().to_owned(), web: creds_of(&web.json), app }
}

pub fn http() -> openidconnect::reqwest::blocking::Client {
    openidconnect::reqwest::blocking::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An OpenID Connect client configured by discovery.
pub fn rp(app: &TestApp, creds: &ClientCreds) -> Client {
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(app.base.clone()).unwrap(), &http()).expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(creds.client_id.clone()),
        Some(ClientSecret::new(creds.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
}

pub struct Started {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: openidconnect::PkceCodeVerifier,
}

pub fn start(client: &Client, scopes: &[&str]) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in scopes {
        request = request.add_scope(Scope::new((*s).to_owned()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    Started { url: url.to_string(), state, nonce, verifier }
}

/// Signs alice in through the hosted form; returns the code.
fn code_for(browser: &Browser, started: &Started, app: &TestApp) -> String {
    code_at(browser, &started.url, started, app)
}

/// Signs alice in through the hosted form for `url` (the request `started` built, amended);
/// returns the code.
pub fn code_at(browser: &Browser, url: &str, started: &Started, app: &TestApp) -> String {
    let answer = browser.sign_in(url, "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
    let back = location(&answer);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some(started.state.secret().as_str()));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(app.base.as_str()), "RFC 9207 iss");
    query_param(&back, "code").expect("a code")
}

pub fn token_endpoint(app: &TestApp, creds: &ClientCreds, form: &[(&str, &str)]) -> crate::support::Reply {
    let api = app.anonymous();
    api.send(
        api.request(reqwest::Method::POST, "/oauth/token").basic_auth(&creds.client_id, Some(&creds.secret)).form(form),
    )
}

pub fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn bearer(app: &TestApp, token: &str) -> Api {
    Api::new(&app.base, None).with_bearer(token)
}

#[test]
fn authorization_code_with_pkce_through_the_hosted_form_then_refresh() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let started = start(&client, &["email", "profile", "phone"]);
    let code = code_for(&browser, &started, &p.app);

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(started.verifier)
        .request(&http())
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims =
        id_token.claims(&client.id_token_verifier(), &started.nonce).expect("ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), p.alice);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(claims.phone_number().map(|n| n.as_str()), Some("+14155550123"));
    assert!(claims.auth_time().is_some());
    let raw = claims_of(&id_token.to_string());
    assert_eq!(raw["national_id"], "NL-123", "a mapped attribute is released as a claim");
    assert_eq!(raw["azp"], p.web.client_id.as_str());
    assert!(raw["at_hash"].is_string());

    let access = claims_of(tokens.access_token().secret());
    assert_eq!(access["sub"], p.alice.as_str());
    assert_eq!(access["client_id"], p.web.client_id.as_str());
    assert!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap() == 300, "5 minutes by default");

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request(&http())
        .expect("userinfo");
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some("alice@example.com"));
    let post_userinfo = bearer(&p.app, tokens.access_token().secret()).post("/oauth/userinfo", &json!({}));
    assert_eq!(post_userinfo.status, 200, "UserInfo also answers POST: {}", post_userinfo.text);
    assert_eq!(post_userinfo.json["national_id"], "NL-123");

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request(&http())
        .expect("refresh");
    assert_ne!(refreshed.refresh_token().unwrap().secret(), tokens.refresh_token().unwrap().secret(), "rotated");
    assert!(refreshed.id_token().is_some());

    // No management scope (nor `account`): the token is for the application alone.
    let me = bearer(&p.app, refreshed.access_token().secret()).get("/api/v1/me");
    me.assert_problem(401);
    assert_eq!(
        claims_of(refreshed.access_token().secret())["aud"],
        p.web.client_id.as_str(),
        "no management scope, no management power"
    );
}

#[test]
fn a_second_authorization_uses_the_sso_session_and_prompt_none_needs_one() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let first = start(&client, &[]);
    code_for(&browser, &first, &p.app);
    // Signed in: the next request is answered without a form.
    let second = start(&client, &[]);
    let answer = browser.get(&second.url);
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert!(query_param(&location(&answer), "code").is_some());
    // prompt=login asks again.
    let forced = browser.get(&format!("{}&prompt=login", start(&client, &[]).url));
    assert_eq!(forced.status, 200);
    // A fresh browser with prompt=none: login_required, back at the application.
    let stranger = Browser::new(&p.app.base);
    let none = stranger.get(&format!("{}&prompt=none", start(&client, &[]).url));
    assert_eq!(none.status, 303);
    assert_eq!(query_param(&location(&none), "error").as_deref(), Some("login_required"));
}

#[test]
fn client_credentials_and_password_grants_through_the_library() {
    let p = provider(&[]);
    let admin = rp(&p.app, &p.app.admin_client);
    let tokens = admin
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("users:read@customers".into()))
        .request(&http())
        .expect("client_credentials");
    let api = bearer(&p.app, tokens.access_token().secret());
    assert_eq!(api.get("/api/v1/namespaces/customers/users").status, 200);
    let refused = api.post("/api/v1/namespaces/customers/users", &json!({ "username": "x9" }));
    refused.assert_problem(403);
    assert_eq!(refused.json["missing_grant"], "users:write@customers", "the scope narrows the token");

    // The password grant is refused until an administrator of all clients enables it.
    let web = rp(&p.app, &p.web);
    let user = ResourceOwnerUsername::new("alice@example.com".into());
    let password = ResourceOwnerPassword::new(ALICE_PASSWORD.into());
    assert!(web.exchange_password(&user, &password).unwrap().request(&http()).is_err());
    let raw = token_endpoint(
        &p.app,
        &p.web,
        &[("grant_type", "password"), ("username", "alice"), ("password", ALICE_PASSWORD)],
    );
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json["error"], "unauthorized_client");
    let enabled =
        p.app.admin().patch(&format!("/api/v1/clients/{}", p.web.id), &json!({ "password_grant_enabled": true }));
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let tokens = web
        .exchange_password(&user, &password)
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .request(&http())
        .expect("password grant once enabled");
    assert!(tokens.id_token().is_some());
    let audit = p.app.admin().get("/api/v1/audit-events?action=client.update");
    assert!(audit.text.contains("password_grant_enabled"), "enabling it is audited");
}

#[test]
fn refresh_token_reuse_revokes_the_whole_family() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let started = start(&client, &["offline_access"]);
    let code = code_for(&Browser::new(&p.app.base), &started, &p.app);
    let first = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(started.verifier)
        .request(&http())
        .unwrap();
    let original = first.refresh_token().unwrap().clone();
    let second = client.exchange_refresh_token(&original).unwrap().request(&http()).expect("first use");
    let newest = second.refresh_token().unwrap().clone();

    let reused =
        token_endpoint(&p.app, &p.web, &[("grant_type", "refresh_token"), ("refresh_token", original.secret())]);
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json["error"], "invalid_grant");
    let after = client.exchange_refresh_token(&newest).unwrap().request(&http());
    assert!(after.is_err(), "the newest token of the family is revoked too");
    let audit = p.app.admin().get("/api/v1/audit-events?action=oauth.token&outcome=denied");
    assert!(audit.text.contains("refresh token reused"), "{}", audit.text);
}

#[test]
fn pkce_failures_are_refused() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    // Wrong verifier.
    let started = start(&client, &[]);
    let code = code_for(&Browser::new(&p.app.base), &started, &p.app);
    let wrong = token_endpoint(
        &p.app,
        &p.web,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"x".repeat(43)),
        ],
    );
    assert_eq!(wrong.json["error"], "invalid_grant", "{}", wrong.text);
    // Missing verifier.
    let started = start(&client, &[]);
    let code = code_for(&Browser::new(&p.app.base), &started, &p.app);
    let missing = token_endpoint(
        &p.app,
        &p.web,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
    );
    assert_eq!(missing.json["error"], "invalid_grant", "{}", missing.text);
    // plain is not accepted, and PKCE is required.
    let base =
        format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&state=s1", p.web.client_id);
    let plain = browser.get(&format!("{base}&code_challenge={}&code_challenge_method=plain", "a".repeat(43)));
    assert_eq!(plain.status, 303);
    assert_eq!(query_param(&location(&plain), "error").as_deref(), Some("invalid_request"));
    let none = browser.get(&base);
    assert_eq!(query_param(&location(&none), "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&location(&none), "state").as_deref(), Some("s1"));
}

#[test]
fn a_code_works_once_and_its_reuse_revokes_what_it_issued() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let started = start(&client, &["account"]);
    let code = code_for(&Browser::new(&p.app.base), &started, &p.app);
    let verifier = started.verifier.secret().to_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let first = token_endpoint(&p.app, &p.web, &form);
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(bearer(&p.app, first.json["access_token"].as_str().unwrap()).get("/api/v1/me").status, 200);
    let again = token_endpoint(&p.app, &p.web, &form);
    assert_eq!(again.json["error"], "invalid_grant");
    bearer(&p.app, first.json["access_token"].as_str().unwrap()).get("/api/v1/me").assert_problem(401);
    let refresh = token_endpoint(
        &p.app,
        &p.web,
        &[("grant_type", "refresh_token"), ("refresh_token", first.json["refresh_token"].as_str().unwrap())],
    );
    assert_eq!(refresh.json["error"], "invalid_grant");
}

#[test]
fn redirect_uri_mismatch_is_refused_without_redirecting() {
    let p = provider(&[]);
    let browser = Browser::new(&p.app.base);
    let evil = browser.get(&format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:9/evil&code_challenge={}&code_challenge_method=S256",
        p.web.client_id,
        "a".repeat(43)
    ));
    assert_eq!(evil.status, 400, "an unregistered redirect URI gets a page, not a redirect");
    assert!(evil.header("location").is_none());
    assert!(evil.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
    // At the token endpoint the redirect URI must be the one of the authorization request.
    let client = rp(&p.app, &p.web);
    let started = start(&client, &[]);
    let code = code_for(&browser, &started, &p.app);
    let other = token_endpoint(
        &p.app,
        &p.web,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", started.verifier.secret()),
        ],
    );
    assert_eq!(other.json["error"], "invalid_grant");
    let unsupported = browser
        .get(&format!("/oauth/authorize?response_type=token&client_id={}&redirect_uri={REDIRECT}", p.web.client_id));
    assert_eq!(query_param(&location(&unsupported), "error").as_deref(), Some("unsupported_response_type"));
}

#[test]
fn revoked_and_expired_tokens_are_refused() {
    let p = provider(&["--max-access-token-ttl", "2"]);
    let creds = &p.app.admin_client;
    let issue = || {
        let r = token_endpoint(&p.app, creds, &[("grant_type", "client_credentials")]);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["access_token"].as_str().unwrap().to_owned()
    };
    let token = issue();
    assert_eq!(bearer(&p.app, &token).get("/api/v1/me").status, 200);
    let api = p.app.anonymous();
    let revoke = api.send(
        api.request(reqwest::Method::POST, "/oauth/revoke")
            .basic_auth(&creds.client_id, Some(&creds.secret))
            .form(&[("token", token.as_str())]),
    );
    assert_eq!(revoke.status, 200);
    bearer(&p.app, &token).get("/api/v1/me").assert_problem(401);
    let introspect = |t: &str| {
        api.send(
            api.request(reqwest::Method::POST, "/oauth/introspect")
                .basic_auth(&creds.client_id, Some(&creds.secret))
                .form(&[("token", t)]),
        )
        .json
    };
    assert_eq!(introspect(&token)["active"], false);

    let expiring = issue();
    assert_eq!(introspect(&expiring)["active"], true);
    assert!(
        eventually(Duration::from_secs(10), || bearer(&p.app, &expiring).get("/api/v1/me").status == 401),
        "expired token still accepted"
    );
    assert_eq!(introspect(&expiring)["active"], false);
}

#[test]
fn an_id_token_is_not_an_access_token() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let started = start(&client, &[]);
    let code = code_for(&Browser::new(&p.app.base), &started, &p.app);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(started.verifier)
        .request(&http())
        .unwrap();
    let id_token = tokens.id_token().unwrap().to_string();
    let refused = bearer(&p.app, &id_token).get("/api/v1/me");
    refused.assert_problem(401);
    assert!(refused.header("www-authenticate").unwrap().contains("invalid_token"));
}

#[test]
fn disabling_the_account_or_the_client_stops_tokens_at_once() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let started = start(&client, &["account"]);
    let code = code_for(&Browser::new(&p.app.base), &started, &p.app);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(started.verifier)
        .request(&http())
        .unwrap();
    let access = tokens.access_token().secret().to_owned();
    assert_eq!(bearer(&p.app, &access).get("/api/v1/me").status, 200);
    p.app.admin().patch(&format!("/api/v1/namespaces/customers/users/{}", p.alice), &json!({ "disabled": true }));
    bearer(&p.app, &access).get("/api/v1/me").assert_problem(401);
    assert!(client.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request(&http()).is_err());
    p.app.admin().patch(&format!("/api/v1/namespaces/customers/users/{}", p.alice), &json!({ "disabled": false }));
    p.app.admin().patch(&format!("/api/v1/clients/{}", p.web.id), &json!({ "disabled": true }));
    bearer(&p.app, &access).get("/api/v1/me").assert_problem(401);
    let _ = RefreshToken::new(String::new());
    let _ = AccessToken::new(String::new());
}

#[test]
fn account_self_service_with_its_own_token() {
    let p = provider(&[]);
    p.app.admin().patch(&format!("/api/v1/clients/{}", p.web.id), &json!({ "password_grant_enabled": true }));
    let tokens = token_endpoint(
        &p.app,
        &p.web,
        &[("grant_type", "password"), ("username", "alice"), ("password", ALICE_PASSWORD), ("scope", "account")],
    );
    let me = bearer(&p.app, tokens.json["access_token"].as_str().unwrap());
    let patched = me.patch("/api/v1/me", &json!({ "name": "Alice L." }));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["name"], "Alice L.");
    me.patch("/api/v1/me", &json!({ "email": "x@example.com" })).assert_problem(400);
    let wrong =
        me.put("/api/v1/me/password", &json!({ "current_password": "not it", "new_password": "brand new password" }));
    wrong.assert_problem(400);
    let changed = me.put(
        "/api/v1/me/password",
        &json!({ "current_password": ALICE_PASSWORD, "new_password": "brand new password" }),
    );
    assert_eq!(changed.status, 204, "{}", changed.text);
    let again = token_endpoint(
        &p.app,
        &p.web,
        &[("grant_type", "password"), ("username", "alice"), ("password", "brand new password")],
    );
    assert_eq!(again.status, 200);
    // A client's own token is not an account.
    let client_token = token_endpoint(&p.app, &p.app.admin_client, &[("grant_type", "client_credentials")]);
    bearer(&p.app, client_token.json["access_token"].as_str().unwrap())
        .patch("/api/v1/me", &json!({ "name": "x" }))
        .assert_problem(403);
}

#[test]
fn logout_ends_the_session_and_returns_to_a_registered_uri() {
    let p = provider(&[]);
    let client = rp(&p.app, &p.web);
    let browser = Browser::new(&p.app.base);
    let started = start(&client, &["openid"]);
    let code = code_for(&browser, &started, &p.app);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(started.verifier)
        .request(&http())
        .unwrap();
    let id_token = tokens.id_token().unwrap().to_string();
    let out = browser.get(&format!(
        "/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri=http://127.0.0.1:9/bye&state=s9"
    ));
    assert_eq!(out.status, 303, "{}", out.text);
    assert_eq!(location(&out), "http://127.0.0.1:9/bye?state=s9");
    // The browser must sign in again, and the session's refresh token is revoked.
    assert_eq!(browser.get(&start(&client, &[]).url).status, 200);
    assert!(client.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request(&http()).is_err());
    // Signed in again: without a hint, the user confirms; an unregistered target is not followed.
    code_for(&browser, &start(&client, &["openid"]), &p.app);
    let confirm = browser.get("/oauth/logout?post_logout_redirect_uri=http://evil.example/");
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("Sign out"));
    // Signed out, a hint does not send the browser anywhere either.
    let csrf = crate::support::browser::hidden(&confirm.text, "csrf").unwrap();
    let out = browser.post_form("/oauth/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 200, "{}", out.text);
    let after =
        browser.get(&format!("/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri=http://127.0.0.1:9/bye"));
    assert_eq!((after.status, after.header("location")), (200, None), "{}", after.text);
}

#[test]
fn discovery_lists_what_is_supported() {
    let p = provider(&[]);
    let doc = p.app.anonymous().get("/.well-known/openid-configuration");
    assert_eq!(doc.json["issuer"], p.app.base.as_str());
    assert_eq!(doc.json["response_types_supported"], json!(["code", "code id_token"]));
    assert_eq!(doc.json["response_modes_supported"], json!(["query", "fragment", "form_post"]));
    assert_eq!(doc.json["claims_parameter_supported"], json!(true));
    assert_eq!(doc.json["code_challenge_methods_supported"], json!(["S256"]));
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "pushed_authorization_request_endpoint",
    ] {
        let url = doc.json[endpoint].as_str().unwrap();
        assert!(url.starts_with(&p.app.base), "{endpoint}");
    }
    let jwks = p.app.anonymous().get("/oauth/jwks");
    let algs: Vec<&str> = jwks.json["keys"].as_array().unwrap().iter().map(|k| k["alg"].as_str().unwrap()).collect();
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert_eq!(algs.iter().filter(|a| **a == alg).count(), 2, "current and next {alg}");
    }
    assert!(!jwks.text.contains("\"d\""), "no private key material");
}
