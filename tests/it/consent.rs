//! Consent: a third-party application gets a code only once the signed-in account allowed what
//! it asks for; the consent is remembered, asked again for more or with `prompt=consent`, and
//! withdrawn by the account (which also ends the application's refresh tokens). Driven by the
//! `openidconnect` client library, whose validation checks what comes back.

use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope,
    TokenResponse,
};
use serde_json::json;

use crate::oauth::{http, provider, rp, Provider, ALICE_PASSWORD, REDIRECT};
use crate::support::browser::{location, query_param, Browser};
use crate::support::{creds_of, Api, ClientCreds, Reply};

/// A third-party application of the provider, signing in `customers`.
fn third_party(p: &Provider) -> ClientCreds {
    let r = p.app.admin().post(
        "/api/v1/clients",
        &json!({
            "name": "Partner app",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT],
            "user_namespace": "customers",
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["skip_consent"], false, "third-party by default");
    creds_of(&r.json)
}

struct Flow {
    url: String,
    verifier: openidconnect::PkceCodeVerifier,
    nonce: Nonce,
}

fn flow(client: &crate::oauth::Client_, scopes: &[&str], prompt: Option<&str>) -> Flow {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in scopes {
        request = request.add_scope(Scope::new((*s).to_owned()));
    }
    if let Some(prompt) = prompt {
        request = request.add_extra_param("prompt", prompt);
    }
    let (url, _, nonce) = request.set_pkce_challenge(challenge).url();
    Flow { url: url.to_string(), verifier, nonce }
}

fn is_consent_page(page: &Reply) -> bool {
    page.status == 200 && page.text.contains("action=\"/oauth/consent\"")
}

#[test]
fn a_third_party_application_is_allowed_by_the_account_and_the_consent_is_remembered() {
    let p = provider(&[]);
    let partner = third_party(&p);
    let client = rp(&p.app, &partner);
    let browser = Browser::new(&p.app.base);

    // First time: after the password, the consent page says who asks for what.
    let first = flow(&client, &["openid", "email", "account"], None);
    let page = browser.sign_in(&first.url, "alice", ALICE_PASSWORD);
    assert!(is_consent_page(&page), "{}", page.text);
    assert!(page.text.contains("Partner app") && page.text.contains("see your email address"), "{}", page.text);
    assert!(page.text.contains("manage your account"), "{}", page.text);
    let allowed = browser.submit(&page, "/oauth/consent", &[("decision", "allow")]);
    assert_eq!(allowed.status, 303, "{}", allowed.text);
    let code = query_param(&location(&allowed), "code").expect("a code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(first.verifier)
        .request(&http())
        .expect("code exchange");
    let claims =
        tokens.id_token().unwrap().claims(&client.id_token_verifier(), &first.nonce).expect("a valid ID token");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));

    // Remembered: the same (or less) needs no page, even with prompt=none.
    let again = flow(&client, &["openid", "email"], Some("none"));
    let silent = browser.get(&again.url);
    assert_eq!(silent.status, 303, "{}", silent.text);
    assert!(query_param(&location(&silent), "code").is_some());

    // More than was allowed: asked again; with prompt=none, consent_required.
    let more = flow(&client, &["openid", "phone"], Some("none"));
    let refused = browser.get(&more.url);
    assert_eq!(query_param(&location(&refused), "error").as_deref(), Some("consent_required"), "{}", refused.text);
    let more = flow(&client, &["openid", "phone"], None);
    assert!(is_consent_page(&browser.get(&more.url)));
    // prompt=consent always asks.
    let forced = flow(&client, &["openid"], Some("consent"));
    assert!(is_consent_page(&browser.get(&forced.url)));

    // The account lists and withdraws it; the application's refresh token dies with it.
    let me = Api::new(&p.app.base, None).with_bearer(tokens.access_token().secret());
    let listed = me.get("/api/v1/me/consents");
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["items"][0]["client_id"], partner.client_id.as_str());
    assert_eq!(listed.json["items"][0]["client_name"], "Partner app");
    assert_eq!(listed.json["items"][0]["scope"], json!(["openid", "email", "account"]));
    assert_eq!(me.delete(&format!("/api/v1/me/consents/{}", partner.client_id)).status, 204);
    assert!(
        client.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request(&http()).is_err(),
        "refresh token revoked"
    );
    let after = flow(&client, &["openid"], Some("none"));
    assert_eq!(query_param(&location(&browser.get(&after.url)), "error").as_deref(), Some("consent_required"));
    me.delete("/api/v1/me/consents/no-such-client").assert_problem(404);
    let events = p.app.admin().get("/api/v1/audit-events?action=user.consent.withdraw&outcome=success");
    assert_eq!(events.json["items"].as_array().unwrap().len(), 1, "{}", events.text);
}

#[test]
fn a_denied_consent_sends_access_denied_and_gives_nothing() {
    let p = provider(&[]);
    let partner = third_party(&p);
    let client = rp(&p.app, &partner);
    let browser = Browser::new(&p.app.base);
    let started = flow(&client, &["openid"], None);
    let page = browser.sign_in(&started.url, "alice", ALICE_PASSWORD);
    assert!(is_consent_page(&page), "{}", page.text);
    let denied = browser.submit(&page, "/oauth/consent", &[("decision", "deny")]);
    assert_eq!(denied.status, 303, "{}", denied.text);
    let back = location(&denied);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));
    assert!(query_param(&back, "code").is_none());
    // Nothing was remembered; a replayed form is refused.
    let again = flow(&client, &["openid"], Some("none"));
    assert_eq!(query_param(&location(&browser.get(&again.url)), "error").as_deref(), Some("consent_required"));
    let replay = browser.submit(&page, "/oauth/consent", &[("decision", "allow")]);
    assert_eq!(replay.status, 400, "{}", replay.text);
    let events = p.app.admin().get("/api/v1/audit-events?action=oauth.consent&outcome=denied");
    assert_eq!(events.json["items"].as_array().unwrap().len(), 1, "{}", events.text);
}

#[test]
fn a_consent_form_is_good_only_for_the_browser_and_account_it_was_shown_to() {
    let p: Provider = provider(&[]);
    let partner = third_party(&p);
    let client = rp(&p.app, &partner);
    let browser = Browser::new(&p.app.base);
    let page = browser.sign_in(&flow(&client, &["openid"], None).url, "alice", ALICE_PASSWORD);
    assert!(is_consent_page(&page));
    // Another browser with the form's fields but not its cookies gets nothing.
    let other = Browser::new(&p.app.base);
    let stolen = other.submit(&page, "/oauth/consent", &[("decision", "allow")]);
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    assert!(stolen.header("location").is_none());
    // A first-party application (the provider's web shop) asks nothing.
    let shop = rp(&p.app, &p.web);
    let started = flow(&shop, &["openid"], None);
    let answer = Browser::new(&p.app.base).sign_in(&started.url, "alice", ALICE_PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.text);
}
